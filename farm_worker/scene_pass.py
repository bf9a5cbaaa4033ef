"""Scene pass: draw the scene's instanced objects into a multisampled half-float HDR target."""

from __future__ import annotations

import moderngl
import numpy as np

from common.scene.visuals import KINDS, Kind, Scene, VisualBatch
from farm_worker.camera import view_projection
from farm_worker.gl import program, uniform
from farm_worker.meshes import mesh_for
from farm_worker.targets import MultisampleTarget, Target

FLOATS_PER_INSTANCE = 16 + 3  # model matrix (column-major) + emission
R3F_MULTISAMPLING = 4
"""@react-three/postprocessing's ``<EffectComposer multisampling>`` default: 4 from 3.2.0 (current
3.2.2), 8 up to 3.1.x. Clamped to the driver's maximum, as three's getSafeSamples does."""


class _KindDrawer:
    """Mesh, instance buffer and vertex array of one object kind; the buffer grows as needed."""

    def __init__(self, ctx: moderngl.Context, prog: moderngl.Program, kind: Kind) -> None:
        mesh = mesh_for(kind)
        self.ctx, self.prog = ctx, prog
        self.vertices = ctx.buffer(mesh.vertices.tobytes())
        self.indices = ctx.buffer(mesh.indices.tobytes())
        self.capacity = 0
        self.instances: moderngl.Buffer | None = None
        self.vao: moderngl.VertexArray | None = None
        self._grow(256)

    def _grow(self, count: int) -> None:
        self.release_instances()
        self.capacity = max(count, 2 * self.capacity)
        self.instances = self.ctx.buffer(reserve=self.capacity * FLOATS_PER_INSTANCE * 4)
        self.vao = self.ctx.vertex_array(
            self.prog,
            [
                (self.vertices, "3f 3f", "in_position", "in_normal"),
                (self.instances, "16f 3f/i", "in_model", "in_emission"),
            ],
            index_buffer=self.indices,
            index_element_size=4,
        )

    def draw(self, batch: VisualBatch) -> None:
        count = len(batch)
        if count == 0:
            return
        if count > self.capacity:
            self._grow(count)
        data = np.empty((count, FLOATS_PER_INSTANCE), dtype=np.float32)
        data[:, :16] = batch.transforms.transpose(0, 2, 1).reshape(count, 16)  # to column-major
        data[:, 16:] = batch.emission
        assert self.instances is not None and self.vao is not None
        self.instances.write(data.tobytes())
        self.vao.render(moderngl.TRIANGLES, instances=count)

    def release_instances(self) -> None:
        if self.vao is not None:
            self.vao.release()
        if self.instances is not None:
            self.instances.release()
        self.vao = self.instances = None

    def release(self) -> None:
        self.release_instances()
        self.vertices.release()
        self.indices.release()


class ScenePass:
    """Owns the scene program, one drawer per kind and the MSAA target; ``render`` resolves it."""

    def __init__(
        self, ctx: moderngl.Context, size: tuple[int, int], samples: int | None = None
    ) -> None:
        self.ctx = ctx
        self.size = size
        wanted = R3F_MULTISAMPLING if samples is None else samples
        self.samples = max(0, min(wanted, ctx.max_samples))
        self.prog = program(ctx, "scene")
        self.drawers = {kind: _KindDrawer(ctx, self.prog, kind) for kind in KINDS}
        self.target = MultisampleTarget(ctx, size, self.samples)

    @property
    def output(self) -> Target:
        """The resolved single-sample HDR image of the last render."""
        return self.target.resolved

    def render(self, scene: Scene) -> Target:
        width, height = self.size
        matrix = view_projection(scene.camera, width / height)
        uniform(self.prog, "view_projection").write(matrix.T.astype(np.float32).tobytes())
        uniform(self.prog, "eye").value = scene.camera.eye
        with self.target:
            self.ctx.viewport = (0, 0, width, height)
            self.ctx.clear(*scene.background, 1.0, depth=1.0)
            self.ctx.enable(moderngl.DEPTH_TEST)
            self.ctx.disable(moderngl.CULL_FACE)
            for batch in scene.batches:
                self.drawers[batch.kind].draw(batch)
            self.ctx.disable(moderngl.DEPTH_TEST)
        return self.output

    def release(self) -> None:
        for drawer in self.drawers.values():
            drawer.release()
        self.target.release()
        self.prog.release()
