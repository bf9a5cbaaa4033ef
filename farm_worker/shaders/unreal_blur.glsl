// three.js UnrealBloomPass step 2: the separable blur of examples/jsm/postprocessing/
// UnrealBloomPass.js (_getSeparableBlurMaterial of r182-r185: PR #31528, r181+). KERNEL_RADIUS taps
// each side, coefficients 0.39894 * exp(-0.5 i^2 / sigma^2) / sigma with sigma = KERNEL_RADIUS / 3,
// NOT renormalised; offsets are direction * invSize * i, invSize = 1 / the output mip's size.
#if defined VERTEX_SHADER
#include "fullscreen_vertex"
#elif defined FRAGMENT_SHADER
uniform sampler2D colorTexture;
uniform vec2 invSize;
uniform vec2 direction;
uniform float gaussianCoefficients[KERNEL_RADIUS];
in vec2 vUv;
out vec4 frag_color;
void main() {
    float weightSum = gaussianCoefficients[0];
    vec3 diffuseSum = texture(colorTexture, vUv).rgb * weightSum;
    for (int i = 1; i < KERNEL_RADIUS; i++) {
        float x = float(i);
        float w = gaussianCoefficients[i];
        vec2 uvOffset = direction * invSize * x;
        vec3 sample1 = texture(colorTexture, vUv + uvOffset).rgb;
        vec3 sample2 = texture(colorTexture, vUv - uvOffset).rgb;
        diffuseSum += (sample1 + sample2) * w;
    }
    frag_color = vec4(diffuseSum, 1.0);
}
#endif
