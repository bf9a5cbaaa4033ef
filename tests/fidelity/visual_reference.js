// The app's real post-processing, in the browser, on a given float HDR image: the reference that
// tests/fidelity/test_visual_reference.py compares framefarm's renderer with.
//
// The page's import map decides the releases ("three", "three/addons/", "postprocessing"), so one
// file serves the current set (three 0.187.0, postprocessing 6.39.6) and the older ones.
//
// pmndrs: postprocessing's EffectComposer (HalfFloatType buffers, as @react-three/postprocessing
//   creates it) + RenderPass + EffectPass(BloomEffect with mipmapBlur and BlendFunction.ADD, as
//   <Bloom> sets it; ToneMappingEffect as <ToneMapping mode>), drawn to the canvas (sRGB).
// unreal: three's EffectComposer + RenderPass + UnrealBloomPass + OutputPass, with
//   renderer.toneMapping and toneMappingExposure.
// The source "scene" is one full-screen triangle copying the image texel for texel (texelFetch),
// so both sides start from the same half floats.
import * as THREE from "three";
import * as PP from "postprocessing";
import { EffectComposer } from "three/addons/postprocessing/EffectComposer.js";
import { RenderPass } from "three/addons/postprocessing/RenderPass.js";
import { UnrealBloomPass } from "three/addons/postprocessing/UnrealBloomPass.js";
import { OutputPass } from "three/addons/postprocessing/OutputPass.js";

// The one change made to the reference, applied only when asked (patchBorder): SwiftShader computes
// the downsample's tap coordinates vUv + texelSize * offset from interpolated floats, and taps that
// land exactly on uv = 0 or 1 (edge pixels of an even-sized source) come out a hair outside for
// some sizes, so clampToBorder drops them. The source's test keeps them (uv >= 0.0 && uv <= 1.0),
// as exact arithmetic gives. The patched test accepts 1e-5 beyond the border; a tap that is really
// outside lies at least 1 / (2 * Wd * Ws) away (6.1e-5 for sources up to 128 wide), so only the
// ties change. The Python side checks the size limit.
const BORDER_TEST =
  "float clampToBorder(const in vec2 uv){return float(uv.s>=0.0&&uv.s<=1.0&&uv.t>=0.0&&uv.t<=1.0);}";
const BORDER_TEST_EXACT =
  "float clampToBorder(const in vec2 uv){const float e=1e-5;" +
  "return float(uv.s>=-e&&uv.s<=1.0+e&&uv.t>=-e&&uv.t<=1.0+e);}";

const PMNDRS_TONE_MAPPING = {
  aces: PP.ToneMappingMode.ACES_FILMIC,
  agx: PP.ToneMappingMode.AGX,
  neutral: PP.ToneMappingMode.NEUTRAL,
  reinhard: PP.ToneMappingMode.REINHARD,
  cineon: PP.ToneMappingMode.CINEON,
  linear: PP.ToneMappingMode.LINEAR,
};
const THREE_TONE_MAPPING = {
  none: THREE.NoToneMapping,
  aces: THREE.ACESFilmicToneMapping,
  agx: THREE.AgXToneMapping,
  neutral: THREE.NeutralToneMapping,
  reinhard: THREE.ReinhardToneMapping,
  cineon: THREE.CineonToneMapping,
  linear: THREE.LinearToneMapping,
};

const canvas = document.createElement("canvas");
document.body.appendChild(canvas);
const renderer = new THREE.WebGLRenderer({
  canvas,
  antialias: false,
  alpha: false,
  preserveDrawingBuffer: true,
});
renderer.setPixelRatio(1);

function decodeFloats(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

function encodeBytes(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function sourceScene(width, height, pixels) {
  const texture = new THREE.DataTexture(pixels, width, height, THREE.RGBAFormat, THREE.FloatType);
  texture.minFilter = THREE.NearestFilter;
  texture.magFilter = THREE.NearestFilter;
  texture.needsUpdate = true;
  const material = new THREE.ShaderMaterial({
    uniforms: { map: { value: texture } },
    vertexShader: "void main(){gl_Position=vec4(position.xy,0.0,1.0);}",
    fragmentShader:
      "uniform highp sampler2D map;void main(){gl_FragColor=texelFetch(map,ivec2(gl_FragCoord.xy),0);}",
    depthTest: false,
    depthWrite: false,
    toneMapped: false,
  });
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute(
    "position",
    new THREE.Float32BufferAttribute([-1, -1, 0, 3, -1, 0, -1, 3, 0], 3),
  );
  const mesh = new THREE.Mesh(geometry, material);
  mesh.frustumCulled = false;
  const scene = new THREE.Scene();
  scene.add(mesh);
  const camera = new THREE.OrthographicCamera(-1, 1, 1, -1, 0, 1);
  return {
    scene,
    camera,
    dispose() {
      texture.dispose();
      material.dispose();
      geometry.dispose();
    },
  };
}

function patchDownsampling(bloom) {
  const material = bloom.mipmapBlurPass.downsamplingMaterial;
  if (!material.fragmentShader.includes(BORDER_TEST)) {
    throw new Error("postprocessing's downsampling shader has no clampToBorder to patch");
  }
  material.fragmentShader = material.fragmentShader.replace(BORDER_TEST, BORDER_TEST_EXACT);
  material.needsUpdate = true;
}

function pmndrsComposer(spec, source) {
  renderer.toneMapping = THREE.NoToneMapping; // <ToneMapping> is an effect, not the renderer's
  const composer = new PP.EffectComposer(renderer, {
    frameBufferType: THREE.HalfFloatType,
    multisampling: 0,
  });
  composer.addPass(new PP.RenderPass(source.scene, source.camera));
  const bloom = new PP.BloomEffect({
    blendFunction: PP.BlendFunction.ADD,
    mipmapBlur: true,
    intensity: spec.intensity,
    luminanceThreshold: spec.threshold,
    luminanceSmoothing: spec.smoothing,
    radius: spec.radius,
    levels: spec.levels,
  });
  if (spec.patchBorder) {
    patchDownsampling(bloom);
  }
  const effects = [bloom];
  if (spec.toneMapping !== "none") {
    effects.push(new PP.ToneMappingEffect({ mode: PMNDRS_TONE_MAPPING[spec.toneMapping] }));
  }
  composer.addPass(new PP.EffectPass(source.camera, ...effects));
  return composer;
}

function unrealComposer(spec, source) {
  renderer.toneMapping = THREE_TONE_MAPPING[spec.toneMapping];
  const composer = new EffectComposer(renderer);
  composer.setPixelRatio(1);
  composer.setSize(spec.width, spec.height);
  composer.addPass(new RenderPass(source.scene, source.camera));
  composer.addPass(
    new UnrealBloomPass(
      new THREE.Vector2(spec.width, spec.height),
      spec.strength,
      spec.radius,
      spec.threshold,
    ),
  );
  composer.addPass(new OutputPass());
  return composer;
}

const kept = [];

// One frame: spec {mode, width, height, toneMapping, exposure, ...bloom settings}, pixels as
// base64 little-endian float32 RGBA rows, bottom row first. Returns base64 RGBA8, bottom row first.
window.renderReference = (spec, pixelsBase64) => {
  const { width, height } = spec;
  renderer.setSize(width, height, false);
  renderer.toneMappingExposure = spec.exposure;
  const source = sourceScene(width, height, decodeFloats(pixelsBase64));
  const composer =
    spec.mode === "unreal" ? unrealComposer(spec, source) : pmndrsComposer(spec, source);
  composer.render();
  const gl = renderer.getContext();
  renderer.setRenderTarget(null);
  const out = new Uint8Array(width * height * 4);
  gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, out);
  // Kept, not disposed: disposing its materials would release their programs, and SwiftShader
  // takes most of a second to compile them again for the next case. The images are tiny.
  kept.push(composer, source);
  return encodeBytes(out);
};

window.referenceInfo = () => {
  const gl = renderer.getContext();
  const debug = gl.getExtension("WEBGL_debug_renderer_info");
  return {
    three: THREE.REVISION,
    webgl2: gl instanceof WebGL2RenderingContext,
    renderer: debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
  };
};
window.referenceReady = true;
