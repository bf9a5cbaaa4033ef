// Plays a framefarm project plan with the real Tone.js in an OfflineContext (48 kHz stereo).
// The plan is the project's own JSON (instrument and effect options are Tone.js options) with
// notes in beats; note times come from Tone's Transport (its bpm TickParam), so a tempo map is
// read by Tone itself. Returns each channel as base64 float32.
/* global Tone */
// mulberry32: Math.random made repeatable, so a noise case gives the same run for the same seed.
const seeded = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const nativeRandom = Math.random;

window.renderWithTone = async (plan) => {
  Math.random = seeded(plan.seed);
  try {
    return await render(plan);
  } finally {
    Math.random = nativeRandom;
  }
};

const render = async (plan) => {
  const buffer = await Tone.Offline(async (context) => {
    const transport = context.transport;
    const ppq = transport.PPQ;
    transport.bpm.value = plan.bpm;
    for (const change of plan.tempoChanges) {
      transport.bpm.setValueAtTime(change.bpm, transport.bpm.getTimeOfTick(change.beat * ppq));
    }
    const at = (beat) => transport.bpm.getTimeOfTick(beat * ppq);
    for (const track of plan.tracks) {
      const spec = track.instrument;
      const params = spec.params || {};
      let instrument;
      if (spec.type === "PolySynth") {
        const { voice, options, maxPolyphony } = params;
        instrument = new Tone.PolySynth({
          voice: Tone[voice || "Synth"],
          options: options || {},
          maxPolyphony: maxPolyphony || 32,
        });
      } else {
        instrument = new Tone[spec.type](params);
      }
      const chain = [];
      for (const effect of track.effects) {
        const node = new Tone[effect.type](effect.params || {});
        if (effect.type === "Reverb") await node.ready;
        if (effect.type === "Chorus") node.start(0);
        chain.push(node);
      }
      const volume = new Tone.Volume(track.volume);
      const panner = new Tone.Panner({ pan: track.pan, channelCount: track.pannerChannels });
      instrument.chain(...chain, volume, panner, context.destination);
      const voice = spec.type === "PolySynth" ? params.voice || "Synth" : spec.type;
      for (const note of track.notes) {
        const start = at(note.beat);
        const gate = at(note.beat + note.beats) - start;
        const hertz = Tone.Frequency(note.pitch, "midi").toFrequency();
        if (voice === "NoiseSynth") {
          instrument.triggerAttackRelease(gate, start, note.velocity);
        } else {
          instrument.triggerAttackRelease(hertz, gate, start, note.velocity);
        }
      }
    }
  }, plan.seconds, 2, 48000);
  const channels = [];
  for (let c = 0; c < 2; c++) {
    const data = buffer.getChannelData(c);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    channels.push(btoa(text));
  }
  return { version: Tone.version, rate: buffer.sampleRate, channels };
};
