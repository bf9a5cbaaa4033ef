// three.js UnrealBloomPass step 3, half resolution: the composite material of
// examples/jsm/postprocessing/UnrealBloomPass.js (_getCompositeMaterial, three r182 and later:
// the 3.0 factor and premultiplied blending came in r182): bloom = 3 * strength * sum(lerpBloomFactor(f_i) * tint_i * blur_i), with
// lerpBloomFactor(f) = mix(f, 1.2 - f, radius). The renderer then adds it (blend ONE, ONE).
#if defined VERTEX_SHADER
#include "fullscreen_vertex"
#elif defined FRAGMENT_SHADER
#define NUM_MIPS 5
uniform sampler2D blurTexture1;
uniform sampler2D blurTexture2;
uniform sampler2D blurTexture3;
uniform sampler2D blurTexture4;
uniform sampler2D blurTexture5;
uniform float bloomStrength;
uniform float bloomRadius;
uniform float bloomFactors[NUM_MIPS];
uniform vec3 bloomTintColors[NUM_MIPS];
in vec2 vUv;
out vec4 frag_color;
float lerpBloomFactor(const in float factor) {
    float mirrorFactor = 1.2 - factor;
    return mix(factor, mirrorFactor, bloomRadius);
}
void main() {
    // 3.0 for backwards compatibility with previous alpha-based intensity (three's comment)
    vec3 bloom = 3.0 * bloomStrength * (
        lerpBloomFactor(bloomFactors[0]) * bloomTintColors[0] * texture(blurTexture1, vUv).rgb +
        lerpBloomFactor(bloomFactors[1]) * bloomTintColors[1] * texture(blurTexture2, vUv).rgb +
        lerpBloomFactor(bloomFactors[2]) * bloomTintColors[2] * texture(blurTexture3, vUv).rgb +
        lerpBloomFactor(bloomFactors[3]) * bloomTintColors[3] * texture(blurTexture4, vUv).rgb +
        lerpBloomFactor(bloomFactors[4]) * bloomTintColors[4] * texture(blurTexture5, vUv).rgb);
    float bloomAlpha = max(bloom.r, max(bloom.g, bloom.b));
    frag_color = vec4(bloom, bloomAlpha);
}
#endif
