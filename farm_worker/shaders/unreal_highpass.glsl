// three.js UnrealBloomPass step 1, half resolution: examples/jsm/shaders/LuminosityHighPassShader.js
// (three r179-r187, unchanged), as UnrealBloomPass sets it up (smoothWidth = 0.01, defaultColor
// black, defaultOpacity 0): alpha = smoothstep(threshold, threshold + smoothWidth, L);
// out = mix(vec4(0), texel, alpha). L is three's injected luminance(): Rec.709 weights.
#if defined VERTEX_SHADER
#include "fullscreen_vertex"
#elif defined FRAGMENT_SHADER
uniform sampler2D tDiffuse;
uniform float luminosityThreshold;
uniform float smoothWidth;
in vec2 vUv;
out vec4 frag_color;
void main() {
    vec4 texel = texture(tDiffuse, vUv);
    float v = dot(texel.xyz, vec3(0.2126, 0.7152, 0.0722));
    vec4 outputColor = vec4(0.0);  // defaultColor 0x000000, defaultOpacity 0
    float alpha = smoothstep(luminosityThreshold, luminosityThreshold + smoothWidth, v);
    frag_color = mix(outputColor, texel, alpha);
}
#endif
