// Bloom step 2a: pmndrs postprocessing v6.37 src/materials/glsl/convolution.downsampling.frag.
// 13 taps in texels of the source: (+-1,+-1) weigh 0.125; (+-2,+-2), (0,+-2), (+-2,0) and the
// centre weigh 0.0555555; taps outside [0,1] contribute 0 and are not renormalised.
#if defined VERTEX_SHADER
#include "fullscreen_vertex"
#elif defined FRAGMENT_SHADER
#define WEIGHT_INNER 0.125
#define WEIGHT_OUTER 0.0555555
uniform sampler2D inputBuffer;
uniform vec2 texelSize;
in vec2 vUv;
out vec4 frag_color;
float clampToBorder(const in vec2 uv) {
    return float(uv.s >= 0.0 && uv.s <= 1.0 && uv.t >= 0.0 && uv.t <= 1.0);
}
vec4 tap(const in vec2 offset, const in float weight) {
    vec2 uv = vUv + texelSize * offset;
    return weight * clampToBorder(uv) * texture(inputBuffer, uv);
}
void main() {
    vec4 c = vec4(0.0);
    c += tap(vec2(-1.0, 1.0), WEIGHT_INNER);
    c += tap(vec2(1.0, 1.0), WEIGHT_INNER);
    c += tap(vec2(-1.0, -1.0), WEIGHT_INNER);
    c += tap(vec2(1.0, -1.0), WEIGHT_INNER);
    c += tap(vec2(-2.0, 2.0), WEIGHT_OUTER);
    c += tap(vec2(0.0, 2.0), WEIGHT_OUTER);
    c += tap(vec2(2.0, 2.0), WEIGHT_OUTER);
    c += tap(vec2(-2.0, 0.0), WEIGHT_OUTER);
    c += tap(vec2(2.0, 0.0), WEIGHT_OUTER);
    c += tap(vec2(-2.0, -2.0), WEIGHT_OUTER);
    c += tap(vec2(0.0, -2.0), WEIGHT_OUTER);
    c += tap(vec2(2.0, -2.0), WEIGHT_OUTER);
    c += WEIGHT_OUTER * texture(inputBuffer, vUv);
    frag_color = c;
}
#endif
