// Bloom step 2b: pmndrs postprocessing (6.37.2 - 6.39.6, unchanged) src/materials/glsl/convolution.upsampling.frag.
// A 3x3 tent (1/16 corners, 1/8 edges, 1/4 centre) in texels of the smaller input, then
// mix(support, tent, radius) where support is the downsampled level of this size.
#if defined VERTEX_SHADER
#include "fullscreen_vertex"
#elif defined FRAGMENT_SHADER
uniform sampler2D inputBuffer;
uniform sampler2D supportBuffer;
uniform vec2 texelSize;
uniform float radius;
in vec2 vUv;
out vec4 frag_color;
vec4 tap(const in vec2 offset) {
    return texture(inputBuffer, vUv + texelSize * offset);
}
void main() {
    vec4 c = vec4(0.0);
    c += tap(vec2(-1.0, 1.0)) * 0.0625;
    c += tap(vec2(0.0, 1.0)) * 0.125;
    c += tap(vec2(1.0, 1.0)) * 0.0625;
    c += tap(vec2(-1.0, 0.0)) * 0.125;
    c += texture(inputBuffer, vUv) * 0.25;
    c += tap(vec2(1.0, 0.0)) * 0.125;
    c += tap(vec2(-1.0, -1.0)) * 0.0625;
    c += tap(vec2(0.0, -1.0)) * 0.125;
    c += tap(vec2(1.0, -1.0)) * 0.0625;
    vec4 baseColor = texture(supportBuffer, vUv);
    frag_color = mix(baseColor, c, radius);
}
#endif
