// Vertex stage shared by the full-screen passes (included as "fullscreen_vertex"): one triangle
// from gl_VertexID covering the viewport, vUv = position * 0.5 + 0.5 as in pmndrs postprocessing.
out vec2 vUv;
void main() {
    vec2 position = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);
    vUv = position * 0.5 + 0.5;
    gl_Position = vec4(position, 0.0, 1.0);
}
