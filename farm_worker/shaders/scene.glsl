// Instanced emissive objects (boxes, rings, spheres, particles) in linear HDR.
// Per instance: a model matrix and an emission colour. Light is emission only, as the app's
// visualizer uses emissive materials; a soft view-facing term gives round things some depth.
#if defined VERTEX_SHADER
uniform mat4 view_projection;
uniform vec3 eye;
in vec3 in_position;
in vec3 in_normal;
in mat4 in_model;
in vec3 in_emission;
out vec3 v_normal;
out vec3 v_to_eye;
out vec3 v_emission;
void main() {
    vec4 world = in_model * vec4(in_position, 1.0);
    v_normal = normalize(mat3(in_model) * in_normal);
    v_to_eye = eye - world.xyz;
    v_emission = in_emission;
    gl_Position = view_projection * world;
}
#elif defined FRAGMENT_SHADER
in vec3 v_normal;
in vec3 v_to_eye;
in vec3 v_emission;
out vec4 frag_color;
void main() {
    vec3 n = normalize(v_normal);
    float facing = abs(dot(n, normalize(v_to_eye)));
    frag_color = vec4(v_emission * (0.55 + 0.45 * facing), 1.0);
}
#endif
