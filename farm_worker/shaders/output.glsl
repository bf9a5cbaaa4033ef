// Final pass: scene + bloom, tone mapping, sRGB encoding, 8-bit quantisation, rows flipped.
// Composite: pmndrs postprocessing src/effects/glsl/bloom.frag (texel.rgb * intensity) with
// BlendFunction.ADD at opacity 1 (src/effects/blending/glsl/add.frag: mix(x, x + y, opacity)).
// Tone mapping: three.js src/renderers/shaders/ShaderChunk/tonemapping_pars_fragment.glsl.js (r187;
// the same functions postprocessing's ToneMappingEffect and three's OutputPass call).
// sRGB: three.js colorspace_pars_fragment.glsl.js sRGBTransferOETF (note its 0.41666 exponent).
#if defined VERTEX_SHADER
#include "fullscreen_vertex"
#elif defined FRAGMENT_SHADER
uniform sampler2D scene;
uniform sampler2D bloom;
uniform float bloom_scale;
uniform float toneMappingExposure;
in vec2 vUv;
out vec4 frag_color;

#define saturate(a) clamp(a, 0.0, 1.0)

vec3 LinearToneMapping(vec3 color) {
    return saturate(toneMappingExposure * color);
}

// filmic operator by Jim Hejl and Richard Burgess-Dawson (three r168+; postprocessing's CINEON)
vec3 CineonToneMapping(vec3 color) {
    color *= toneMappingExposure;
    color = max(vec3(0.0), color - 0.004);
    return pow((color * (6.2 * color + 0.5)) / (color * (6.2 * color + 1.7) + 0.06), vec3(2.2));
}

vec3 ReinhardToneMapping(vec3 color) {
    color *= toneMappingExposure;
    return saturate(color / (vec3(1.0) + color));
}

vec3 RRTAndODTFit(vec3 v) {
    vec3 a = v * (v + 0.0245786) - 0.000090537;
    vec3 b = v * (0.983729 * v + 0.4329510) + 0.238081;
    return a / b;
}

vec3 ACESFilmicToneMapping(vec3 color) {
    const mat3 ACESInputMat = mat3(
        vec3(0.59719, 0.07600, 0.02840), vec3(0.35458, 0.90834, 0.13383),
        vec3(0.04823, 0.01566, 0.83777));
    const mat3 ACESOutputMat = mat3(
        vec3(1.60475, -0.10208, -0.00327), vec3(-0.53108, 1.10813, -0.07276),
        vec3(-0.07367, -0.00605, 1.07602));
    color *= toneMappingExposure / 0.6;
    color = ACESInputMat * color;
    color = RRTAndODTFit(color);
    color = ACESOutputMat * color;
    return saturate(color);
}

const mat3 LINEAR_REC2020_TO_LINEAR_SRGB = mat3(
    vec3(1.6605, -0.1246, -0.0182), vec3(-0.5876, 1.1329, -0.1006), vec3(-0.0728, -0.0083, 1.1187));
const mat3 LINEAR_SRGB_TO_LINEAR_REC2020 = mat3(
    vec3(0.6274, 0.0691, 0.0164), vec3(0.3293, 0.9195, 0.0880), vec3(0.0433, 0.0113, 0.8956));

vec3 agxDefaultContrastApprox(vec3 x) {
    vec3 x2 = x * x;
    vec3 x4 = x2 * x2;
    return + 15.5 * x4 * x2 - 40.14 * x4 * x + 31.96 * x4 - 6.868 * x2 * x + 0.4298 * x2
           + 0.1191 * x - 0.00232;
}

vec3 AgXToneMapping(vec3 color) {
    const mat3 AgXInsetMatrix = mat3(
        vec3(0.856627153315983, 0.137318972929847, 0.11189821299995),
        vec3(0.0951212405381588, 0.761241990602591, 0.0767994186031903),
        vec3(0.0482516061458583, 0.101439036467562, 0.811302368396859));
    const mat3 AgXOutsetMatrix = mat3(
        vec3(1.1271005818144368, -0.1413297634984383, -0.14132976349843826),
        vec3(-0.11060664309660323, 1.157823702216272, -0.11060664309660294),
        vec3(-0.016493938717834573, -0.016493938717834257, 1.2519364065950405));
    const float AgxMinEv = -12.47393;
    const float AgxMaxEv = 4.026069;
    color *= toneMappingExposure;
    color = LINEAR_SRGB_TO_LINEAR_REC2020 * color;
    color = AgXInsetMatrix * color;
    color = max(color, 1e-10);
    color = log2(color);
    color = (color - AgxMinEv) / (AgxMaxEv - AgxMinEv);
    color = clamp(color, 0.0, 1.0);
    color = agxDefaultContrastApprox(color);
    color = AgXOutsetMatrix * color;
    color = pow(max(vec3(0.0), color), vec3(2.2));
    color = LINEAR_REC2020_TO_LINEAR_SRGB * color;
    color = clamp(color, 0.0, 1.0);
    return color;
}

vec3 NeutralToneMapping(vec3 color) {
    const float StartCompression = 0.8 - 0.04;
    const float Desaturation = 0.15;
    color *= toneMappingExposure;
    float x = min(color.r, min(color.g, color.b));
    float offset = x < 0.08 ? x - 6.25 * x * x : 0.04;
    color -= offset;
    float peak = max(color.r, max(color.g, color.b));
    if (peak < StartCompression) return color;
    float d = 1. - StartCompression;
    float newPeak = 1. - d * d / (peak + d - StartCompression);
    color *= newPeak / peak;
    float g = 1. - 1. / (Desaturation * (peak - newPeak) + 1.);
    return mix(color, vec3(newPeak), g);
}

vec3 sRGBTransferOETF(vec3 value) {
    return mix(pow(value, vec3(0.41666)) * 1.055 - vec3(0.055), value * 12.92,
               vec3(lessThanEqual(value, vec3(0.0031308))));
}

void main() {
    // Rows are flipped here, once, so the bytes read back start with the top row.
    ivec2 size = textureSize(scene, 0);
    ivec2 pixel = ivec2(gl_FragCoord.xy);
    pixel.y = size.y - 1 - pixel.y;
    vec3 color = texelFetch(scene, pixel, 0).rgb;
#if BLOOM
    vec2 uv = (vec2(pixel) + 0.5) / vec2(size);
    color += texture(bloom, uv).rgb * bloom_scale;
#endif
#if TONE_MAPPING == 1
    color = ACESFilmicToneMapping(color);
#elif TONE_MAPPING == 2
    color = AgXToneMapping(color);
#elif TONE_MAPPING == 3
    color = NeutralToneMapping(color);
#elif TONE_MAPPING == 4
    color = ReinhardToneMapping(color);
#elif TONE_MAPPING == 5
    color = CineonToneMapping(color);
#elif TONE_MAPPING == 6
    color = LinearToneMapping(color);
#endif
    color = saturate(sRGBTransferOETF(max(color, vec3(0.0))));
    frag_color = vec4(floor(color * 255.0 + 0.5) / 255.0, 1.0);
}
#endif
