"""The scene pass's geometry against an independent pinhole camera in numpy: where a box's
corners, a ring's rim, a sphere's and a particle's silhouette land in pixels.

Hand-built scenes (one object each, known size) go through the real scene pass and output, with
bloom off. The expected pixels come from the camera maths written here from the definitions
(three.js PerspectiveCamera: vertical field of view; lookAt with +y up), not from
farm_worker/camera.py's matrices: a wrong mesh size, transform or projection moves the edges.
"""

from __future__ import annotations

import math

import moderngl
import numpy as np
import numpy.typing as npt
import pytest

from common.scene.visuals import KINDS, CameraState, Kind, Scene, VisualBatch
from farm_worker.renderer import FrameRenderer, as_image
from tests.factories import project

WIDTH, HEIGHT = 320, 180
CAMERA = CameraState(
    eye=(3.0, 4.0, 11.0), target=(0.0, 1.2, 0.0), up=(0.0, 1.0, 0.0), fov_degrees=50
)
EMISSION = 1.0  # linear; the shader shades faces between 0.55 and 1.0 of it
EDGE_PX = 1.0  # antialiased edges: a silhouette may land a pixel either way


def pinhole(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """World points → pixel coordinates (x right, y down from the top edge), by similar
    triangles on the camera's own axes."""
    eye, target, up = (
        np.array(v, dtype=np.float64) for v in (CAMERA.eye, CAMERA.target, CAMERA.up)
    )
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    above = np.cross(right, forward)
    offsets = points - eye
    depth = offsets @ forward
    half_height = math.tan(math.radians(CAMERA.fov_degrees) / 2)
    half_width = half_height * WIDTH / HEIGHT
    x = (offsets @ right) / (depth * half_width)  # -1 .. 1 across the view
    y = (offsets @ above) / (depth * half_height)
    return np.stack([(x + 1) / 2 * WIDTH, (1 - y) / 2 * HEIGHT], axis=1)


def scene_of(kind: Kind, transform: npt.NDArray[np.float64]) -> Scene:
    def batch(of: Kind) -> VisualBatch:
        count = 1 if of == kind else 0
        return VisualBatch(
            of,
            np.repeat(transform[None].astype(np.float32), count, axis=0),
            np.full((count, 3), EMISSION, dtype=np.float32),
            np.zeros(count, dtype=np.int32),
        )

    return Scene(0.0, 0.0, CAMERA, (0.0, 0.0, 0.0), tuple(batch(k) for k in KINDS), ("t",))


def placed(
    centre: tuple[float, float, float], scale: tuple[float, float, float]
) -> npt.NDArray[np.float64]:
    matrix = np.diag([*scale, 1.0])
    matrix[:3, 3] = centre
    return matrix


def rendered_box(ctx: moderngl.Context, scene: Scene) -> tuple[float, float, float, float]:
    """The lit pixels' extent (left, top, right, bottom edges in pixel units)."""
    renderer = FrameRenderer(ctx, project(visualizer={"bloom": {"intensity": 0}}), WIDTH, HEIGHT)
    try:
        image = as_image(renderer.render_scene(scene), WIDTH, HEIGHT)
    finally:
        renderer.release()
    srgb = image.max(axis=2).astype(np.float64) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    # Half the darkest face's level: a pixel at least half covered by the object.
    rows, columns = np.nonzero(linear > 0.5 * 0.55 * EMISSION)
    assert rows.size, "nothing was drawn"
    return float(columns.min()), float(rows.min()), float(columns.max() + 1), float(rows.max() + 1)


def expected_box(points: npt.NDArray[np.float64]) -> tuple[float, float, float, float]:
    pixels = pinhole(points)
    return (
        float(pixels[:, 0].min()),
        float(pixels[:, 1].min()),
        float(pixels[:, 0].max()),
        float(pixels[:, 1].max()),
    )


def assert_same_extent(
    got: tuple[float, float, float, float], want: tuple[float, float, float, float]
) -> None:
    assert want[2] - want[0] > 20 and want[3] - want[1] > 10, "too small to measure"
    for edge, (a, b) in zip(
        ("left", "top", "right", "bottom"), zip(got, want, strict=True), strict=True
    ):
        assert abs(a - b) <= EDGE_PX, f"{edge} edge at {a:.2f} px, the camera maths say {b:.2f}"


def test_a_boxs_corners_land_where_the_camera_maths_put_them(gl_context: moderngl.Context) -> None:
    centre, scale = (-1.0, 1.0, 0.5), (4.0, 0.6, 1.5)  # a bar: long in x, thin in y
    corners = np.array(
        [
            [centre[i] + sign[i] * scale[i] / 2 for i in range(3)]
            for sign in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).T.reshape(-1, 3)
        ]
    )
    got = rendered_box(gl_context, scene_of("box", placed(centre, scale)))
    assert_same_extent(got, expected_box(corners))


def test_a_rings_rim_has_the_radius_the_camera_maths_give(gl_context: moderngl.Context) -> None:
    radius, centre = 2.5, (0.0, 0.02, 0.0)  # flat on the floor, outer radius = its scale
    angles = np.linspace(0, 2 * np.pi, 2048, endpoint=False)
    rim = np.stack(
        [
            centre[0] + radius * np.cos(angles),
            np.full_like(angles, centre[1]),
            centre[2] + radius * np.sin(angles),
        ],
        axis=1,
    )
    got = rendered_box(gl_context, scene_of("ring", placed(centre, (radius, 1.0, radius))))
    assert_same_extent(got, expected_box(rim))


@pytest.mark.parametrize("kind", ["sphere", "particle"])
def test_a_spheres_silhouette_has_the_radius_the_camera_maths_give(
    gl_context: moderngl.Context, kind: Kind
) -> None:
    radius, centre = 1.2, (0.5, 1.5, -0.5)
    # The silhouette's extent: extreme points over a dense sampling of the sphere's surface.
    theta, phi = np.meshgrid(np.linspace(0, 2 * np.pi, 256), np.linspace(0, np.pi, 128))
    surface = np.stack(
        [np.sin(phi) * np.cos(theta), np.cos(phi), np.sin(phi) * np.sin(theta)], axis=-1
    ).reshape(-1, 3)
    points = np.array(centre) + radius * surface
    got = rendered_box(gl_context, scene_of(kind, placed(centre, (radius,) * 3)))
    # Particles are low-poly spheres (6 rings, 10 sectors): their silhouette sits inside the
    # sphere by up to 1 - cos(pi / 10) of the radius (5 %); allow exactly that.
    slack = 0.0 if kind == "sphere" else (1 - math.cos(math.pi / 10)) * radius
    want = expected_box(points)
    if slack:
        inner = expected_box(np.array(centre) + (radius - slack) * surface)
        for index, (a, lo, hi) in enumerate(zip(got, want, inner, strict=True)):
            low, high = sorted((lo, hi))
            assert low - EDGE_PX <= a <= high + EDGE_PX, (index, a, lo, hi)
        assert want[2] - want[0] > 20
    else:
        assert_same_extent(got, want)
