// Bloom step 1, full resolution: pmndrs postprocessing src/materials/glsl/luminance.frag with COLOR
// and THRESHOLD defined (as BloomEffect configures it). L is three.js's luminance(): Rec.709.
//   6.37.7 and later (the default):  mask = smoothstep(threshold, threshold + smoothing, L);
//                                    out = texel * mask
//   6.37.2 - 6.37.6 (LEGACY_LUMINANCE): l = smoothstep(threshold, threshold + smoothing, L) * L;
//                                    out = vec4(rgb * clamp(l, 0, 1), l)
#if defined VERTEX_SHADER
#include "fullscreen_vertex"
#elif defined FRAGMENT_SHADER
uniform sampler2D inputBuffer;
uniform float threshold;
uniform float smoothing;
uniform bool use_threshold;  // postprocessing defines THRESHOLD only if threshold or smoothing > 0
in vec2 vUv;
out vec4 frag_color;
void main() {
    vec4 texel = texture(inputBuffer, vUv);
    float l = dot(texel.rgb, vec3(0.2126, 0.7152, 0.0722));
    float mask = 1.0;
    if (use_threshold) {
        // smoothstep(t, t, x) is undefined in GLSL; browsers divide by zero, which is a step.
        mask = smoothing > 0.0 ? smoothstep(threshold, threshold + smoothing, l)
                               : float(l > threshold);
    }
#if LEGACY_LUMINANCE
    l = mask * l;
    frag_color = vec4(texel.rgb * clamp(l, 0.0, 1.0), l);
#else
    frag_color = texel * mask;
#endif
}
#endif
