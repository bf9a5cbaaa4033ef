"""Unit meshes for the scene's object kinds, as interleaved (position, normal) arrays + indices."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from common.scene.visuals import Kind


@dataclass(frozen=True)
class Mesh:
    vertices: npt.NDArray[np.float32]  # (n, 6): x y z nx ny nz
    indices: npt.NDArray[np.uint32]  # (m,) triangles


def box() -> Mesh:
    """A unit cube centred on the origin (side 1), flat-shaded faces."""
    vertices: list[list[float]] = []
    indices: list[int] = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            normal = [0.0, 0.0, 0.0]
            normal[axis] = sign
            u, v = (axis + 1) % 3, (axis + 2) % 3
            base = len(vertices)
            for a, b in ((-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)):
                p = [0.0, 0.0, 0.0]
                p[axis], p[u], p[v] = 0.5 * sign, a, b
                vertices.append(p + normal)
            indices += [base, base + 1, base + 2, base, base + 2, base + 3]
    return _mesh(vertices, indices)


def ring(inner: float = 0.86, segments: int = 96) -> Mesh:
    """A flat annulus in the xz plane, outer radius 1, facing +y (drawn double-sided)."""
    vertices: list[list[float]] = []
    indices: list[int] = []
    for i in range(segments):
        angle = 2 * math.pi * i / segments
        c, s = math.cos(angle), math.sin(angle)
        vertices.append([c, 0.0, s, 0.0, 1.0, 0.0])
        vertices.append([inner * c, 0.0, inner * s, 0.0, 1.0, 0.0])
        a, b = 2 * i, 2 * ((i + 1) % segments)
        indices += [a, b, a + 1, a + 1, b, b + 1]
    return _mesh(vertices, indices)


def sphere(rings: int = 24, sectors: int = 40) -> Mesh:
    """A UV sphere of radius 1; normals equal positions."""
    vertices: list[list[float]] = []
    indices: list[int] = []
    for r in range(rings + 1):
        phi = math.pi * r / rings
        for s in range(sectors + 1):
            theta = 2 * math.pi * s / sectors
            p = [math.sin(phi) * math.cos(theta), math.cos(phi), math.sin(phi) * math.sin(theta)]
            vertices.append(p + p)
    for r in range(rings):
        for s in range(sectors):
            a = r * (sectors + 1) + s
            b = a + sectors + 1
            indices += [a, b, a + 1, a + 1, b, b + 1]
    return _mesh(vertices, indices)


def mesh_for(kind: Kind) -> Mesh:
    if kind == "box":
        return box()
    if kind == "ring":
        return ring()
    if kind == "sphere":
        return sphere()
    return sphere(rings=6, sectors=10)  # particles: small, so few triangles


def _mesh(vertices: list[list[float]], indices: list[int]) -> Mesh:
    return Mesh(np.array(vertices, dtype=np.float32), np.array(indices, dtype=np.uint32))
