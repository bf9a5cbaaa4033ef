// Bloom step 2a: pmndrs postprocessing src/materials/glsl/convolution.downsampling.frag.
// 13 taps in texels of the source: (+-1,+-1) weigh 0.125; (+-2,+-2), (0,+-2), (+-2,0) and the
// centre weigh WEIGHT_OUTER (0.05556 from 6.38.3, 0.0555555 before; set by
// bloom.py); taps outside [0,1] contribute 0 and are not renormalised.
// clampToBorder is decided in integers: for even source sizes the edge taps land exactly on
// uv = 0 or 1, where float rounding would make the result driver-dependent. Tap k of output
// pixel i is inside iff 0 <= (2i + 1) * Ws + 2k * Wd <= 2 * Wd * Ws (the exact form of
// 0 <= (i + 0.5) / Wd + k / Ws <= 1, with Ws the source and Wd the target size).
#if defined VERTEX_SHADER
#include "fullscreen_vertex"
#elif defined FRAGMENT_SHADER
#define WEIGHT_INNER 0.125
uniform sampler2D inputBuffer;
uniform vec2 texelSize;
uniform ivec2 targetSize;
in vec2 vUv;
out vec4 frag_color;
float clampToBorder(const in ivec2 offset) {
    ivec2 source = textureSize(inputBuffer, 0);
    ivec2 position = (2 * ivec2(gl_FragCoord.xy) + 1) * source + 2 * offset * targetSize;
    ivec2 limit = 2 * targetSize * source;
    return float(all(greaterThanEqual(position, ivec2(0))) && all(lessThanEqual(position, limit)));
}
vec4 tap(const in vec2 offset, const in float weight) {
    vec2 uv = vUv + texelSize * offset;
    return weight * clampToBorder(ivec2(offset)) * texture(inputBuffer, uv);
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
