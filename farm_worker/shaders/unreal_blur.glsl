// three.js UnrealBloomPass step 2: the separable blur of examples/jsm/postprocessing/
// UnrealBloomPass.js (_getSeparableBlurMaterial, r186+): PR #31528's gaussian (KERNEL_RADIUS taps
// each side, 0.39894 * exp(-0.5 i^2 / sigma^2) / sigma, sigma = KERNEL_RADIUS / 3, NOT
// renormalised), with taps i and i + 1 merged into one bilinear fetch at the weighted offset.
// Offsets are direction * invSize * offset, invSize = 1 / the output mip's size.
#if defined VERTEX_SHADER
#include "fullscreen_vertex"
#elif defined FRAGMENT_SHADER
uniform sampler2D colorTexture;
uniform vec2 invSize;
uniform vec2 direction;
uniform float centerWeight;
uniform float gaussianOffsets[KERNEL_PAIRS];
uniform float gaussianWeights[KERNEL_PAIRS];
in vec2 vUv;
out vec4 frag_color;
void main() {
    vec3 diffuseSum = texture(colorTexture, vUv).rgb * centerWeight;
    for (int i = 0; i < KERNEL_PAIRS; i++) {
        vec2 uvOffset = direction * invSize * gaussianOffsets[i];
        vec3 sample1 = texture(colorTexture, vUv + uvOffset).rgb;
        vec3 sample2 = texture(colorTexture, vUv - uvOffset).rgb;
        diffuseSum += (sample1 + sample2) * gaussianWeights[i];
    }
    frag_color = vec4(diffuseSum, 1.0);
}
#endif
