"""View and projection matrices as three.js builds them (PerspectiveCamera, lookAt), in numpy."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from common.scene.visuals import CameraState

NEAR, FAR = 0.1, 1000.0

Matrix = npt.NDArray[np.float64]


def perspective(fov_degrees: float, aspect: float, near: float = NEAR, far: float = FAR) -> Matrix:
    """OpenGL clip-space projection for a vertical field of view."""
    f = 1.0 / math.tan(math.radians(fov_degrees) / 2)
    return np.array(
        [
            [f / aspect, 0, 0, 0],
            [0, f, 0, 0],
            [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
            [0, 0, -1, 0],
        ],
        dtype=np.float64,
    )


def look_at(
    eye: tuple[float, float, float],
    target: tuple[float, float, float],
    up: tuple[float, float, float],
) -> Matrix:
    e, t, u = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    forward = t - e
    forward /= np.linalg.norm(forward)
    side = np.cross(forward, u)
    side /= np.linalg.norm(side)
    true_up = np.cross(side, forward)
    view = np.identity(4)
    view[0, :3], view[1, :3], view[2, :3] = side, true_up, -forward
    view[:3, 3] = -view[:3, :3] @ e
    return view


def view_projection(camera: CameraState, aspect: float) -> Matrix:
    return perspective(camera.fov_degrees, aspect) @ look_at(camera.eye, camera.target, camera.up)
