// The demo page: the package used as a user would, through an import map (everything served locally).
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { AvatarSpeaker, LiveListener } from 'avatarlab-three';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const wsUrl = params.get('ws') || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(Math.min(2, devicePixelRatio));
renderer.xr.enabled = true;                 // WebXR: the "Enter VR"/"Enter AR" buttons below, shown when a headset is there
renderer.xr.setReferenceSpaceType('local-floor');
$('view').appendChild(renderer.domElement);
const scene = new THREE.Scene();
scene.background = new THREE.Color(0x1d2127);
const camera = new THREE.PerspectiveCamera(28, 1, 0.01, 20);
scene.add(new THREE.HemisphereLight(0xffffff, 0x445566, 1.6));
const key = new THREE.DirectionalLight(0xffffff, 1.8);
key.position.set(0.6, 1.0, 1.4);
scene.add(key);

/** The canvas fills #view, whose size the layout decides (side by side, or stacked in a narrow window). */
function resize() {
  const el = $('view');
  const width = Math.max(1, el.clientWidth);
  const height = Math.max(1, el.clientHeight);
  renderer.setSize(width, height);
  camera.aspect = width / height;
  camera.updateProjectionMatrix();
}
new ResizeObserver(resize).observe($('view'));
resize();

// the speaker's output goes through an analyser so the page can see the sound it makes
const audioContext = new AudioContext({ latencyHint: 'interactive' });
const analyser = audioContext.createAnalyser();
analyser.fftSize = 512;
analyser.connect(audioContext.destination);
const samples = new Float32Array(analyser.fftSize);
// spatial audio (the voice at the mouth, HRTF) in an XR session (VR or AR) only: the flat page keeps plain stereo
const speaker = new AvatarSpeaker({ url: wsUrl, audioContext, destination: analyser, spatial: false });
// live lip sync from the microphone shares the speaker's connection, AudioContext and face
const live = new LiveListener({ speaker, monitorDestination: analyser });
/** instrumentation for tests and the benchmark: one entry per rendered frame while `recording` */
const demo = { speaker, live, ready: false, recording: false, frames: [], results: [], liveFrames: [], liveResults: [],
  avatar: null, error: null, renderer, analyser, xrFrames: 0, updateTimes: [] };
window.demo = demo;

const gltf = await new GLTFLoader().loadAsync('/avatar/default_head.glb');
const avatar = gltf.scene;
scene.add(avatar);
const box = new THREE.Box3().setFromObject(avatar);
const head = avatar.getObjectByName('Head') || avatar;
const center = new THREE.Box3().setFromObject(head).getCenter(new THREE.Vector3());
const size = box.getSize(new THREE.Vector3());
camera.position.set(center.x, center.y + size.y * 0.05, center.z + size.y * 1.9);
camera.lookAt(center.x, center.y + size.y * 0.05, center.z);
speaker.attach(avatar);
speaker.attachTo(renderer, camera);   // the avatar looks at the viewer: this camera, or the headset in VR
demo.avatar = avatar;
demo.head = head;
const flatPosition = avatar.position.clone();

speaker.onFrame = (info) => {
  if (!demo.recording) return;
  analyser.getFloatTimeDomainData(samples);
  let energy = 0;
  for (const x of samples) energy += x * x;
  const rms = Math.sqrt(energy / samples.length);
  if (info.t === null || !speaker.line) {
    demo.frames.push({ wall: info.wall, t: null, line: null, rms, jawOpen: speaker.face.influence('jawOpen'),
      speaking: false, ctx: audioContext.currentTime, xr: renderer.xr.isPresenting });
    return;
  }
  const track = speaker.line.track;
  const frame = info.t * info.fps;
  const ctx = speaker.audioContext;
  const out = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
  // the line position being heard now by the browser's own output clock, for the mouth-to-audio offset
  let heard = null;
  if (out && out.performanceTime > 0 && speaker.line.stream.streamStart !== null) {
    heard = out.contextTime + (info.wall - out.performanceTime) / 1000 - speaker.line.stream.streamStart;
  }
  demo.frames.push({
    wall: info.wall, t: info.t, heard, line: info.line,
    jawOpen: speaker.face.influence('jawOpen'), mouthClose: speaker.face.influence('mouthClose'),
    PP: track ? track.value('PP', frame) : 0, jawCurve: track ? track.value('jawOpen', frame) : 0,
    speaking: info.speaking, rms, ctx: info.contextTime,   // the context time `t` was read at
    xr: renderer.xr.isPresenting, mouth: info.mouth, look: info.look,
  });
  if (demo.frames.length > 20000) demo.frames.splice(0, 10000);
};

live.onFrame = (info) => {
  if (!demo.recording) return;
  analyser.getFloatTimeDomainData(samples);
  let energy = 0;
  for (const x of samples) energy += x * x;
  const rms = Math.sqrt(energy / samples.length); // the monitored microphone, when "hear the mic" is on
  const track = live.stream && live.stream.track;
  const frame = info.t === null ? null : info.t * info.fps;
  let viseme = 0;
  let visemeName = null;
  if (track && frame !== null) {
    for (const name of ['PP', 'FF', 'TH', 'DD', 'kk', 'CH', 'SS', 'nn', 'RR', 'aa', 'E', 'ih', 'oh', 'ou']) {
      const v = track.value(name, frame);
      if (v > viseme) { viseme = v; visemeName = name; }
    }
  }
  demo.liveFrames.push({ wall: info.wall, t: info.t, newest: info.newest, speaking: info.speaking,
    jawOpen: speaker.face.influence('jawOpen'), mouthClose: speaker.face.influence('mouthClose'),
    jawCurve: track && frame !== null ? track.value('jawOpen', frame) : 0, viseme, visemeName, rms,
    ctx: audioContext.currentTime });
  if (demo.liveFrames.length > 20000) demo.liveFrames.splice(0, 10000);
};

renderer.setAnimationLoop((time, xrFrame) => {
  const start = performance.now();
  if (live.active) live.update(); else speaker.update(time);
  if (demo.recording) demo.updateTimes.push({ ms: performance.now() - start, xr: Boolean(xrFrame) });
  if (xrFrame) demo.xrFrames += 1;
  renderer.render(scene, camera);
});

// VR and AR: each button shows only when the browser says that session can start (a headset, or an
// emulator); in a session the avatar stands 1 m in front of the viewer, its head at 1.6 m, facing them. In AR
// the room shows through where nothing is drawn: three.js clears an 'alpha-blend' session to transparent,
// background colour or not.
const xrButtons = { 'immersive-vr': [$('enter-vr'), 'VR'], 'immersive-ar': [$('enter-ar'), 'AR'] };
demo.xrMode = null;   // the mode of the session running now
if (navigator.xr) {
  for (const [mode, [button]] of Object.entries(xrButtons)) {
    navigator.xr.isSessionSupported(mode).then((ok) => { button.hidden = !ok; }).catch(() => {});
  }
}
/** What the Enter VR / Enter AR buttons do (tests call it too): start an immersive session, or end it. */
demo.enterXR = async (mode = 'immersive-vr') => {
  if (renderer.xr.isPresenting) return renderer.xr.getSession().end();
  if (audioContext.state === 'suspended') audioContext.resume().catch(() => {});
  const session = await navigator.xr.requestSession(mode, { optionalFeatures: ['local-floor'] });
  demo.xrMode = mode;
  await renderer.xr.setSession(session);
  return session;
};
demo.enterVR = () => demo.enterXR('immersive-vr');
for (const [mode, [button, name]] of Object.entries(xrButtons)) {
  button.onclick = () => demo.enterXR(mode).catch((error) => setStatus(`${name}: ${error.message}`, true));
}
renderer.xr.addEventListener('sessionstart', () => {
  avatar.position.copy(flatPosition).add(new THREE.Vector3(0, 1.6, -1).sub(center));
  speaker.spatial = true;
  const [button, name] = xrButtons[demo.xrMode];
  button.textContent = `Exit ${name}`;
  for (const [other] of Object.values(xrButtons)) other.disabled = other !== button;
});
renderer.xr.addEventListener('sessionend', () => {
  avatar.position.copy(flatPosition);
  speaker.spatial = false;
  demo.xrMode = null;
  for (const [button, name] of Object.values(xrButtons)) {
    button.textContent = `Enter ${name}`;
    button.disabled = false;
  }
});

speaker.addEventListener('linestart', () => { demo.lastLine = speaker.line; });
speaker.addEventListener('firstaudio', (e) => { $('metrics').textContent = `time to first audio: ${e.detail.ms.toFixed(0)} ms`; });

/**
 * Voices, then the WebSocket to the bridge opened (and hello said) before the first Speak: opening it
 * on the first press cost that press a few hundred ms more than the later ones.
 */
async function loadVoices() {
  try {
    const voices = await (await fetch('/voices')).json();
    if (!Array.isArray(voices)) throw new Error(voices.message || 'no voices');
    $('voice').replaceChildren(...voices.map((v) => new Option(`${v.name} (${v.language || '?'})`, v.name)));
    await speaker.warmUp();
    setStatus('ready');
    demo.ready = true;
  } catch (error) {
    setStatus(`daemon unavailable: ${error.message}; retrying…`, true);
    setTimeout(loadVoices, 1000);
  }
}

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

/** What the Speak button does (tests call it too): the press time is taken here. */
demo.speak = async (text = $('text').value) => {
  if (live.active) await demo.toggleLive();
  setStatus('speaking…');
  const result = await speaker.speak(text, { voice: $('voice').value || undefined, emotion: $('emotion').value });
  demo.results.push(result);
  if (result.status === 'error') setStatus(`${result.error.code}: ${result.error.message}`, true);
  else setStatus(result.status === 'ok' ? 'ready' : 'interrupted');
  $('metrics').textContent = lineMetrics(result);
  return result;
};

/** The panel's figures for a line: what was heard (all of it, or up to Stop), and how it streamed. */
function lineMetrics(result) {
  const lines = [];
  if (result.firstAudioMs !== null) lines.push(`time to first audio: ${result.firstAudioMs.toFixed(0)} ms`);
  const total = result.stats ? ` of ${result.stats.audio_s.toFixed(2)} s` : '';
  if (result.status === 'ok' && result.stats) {
    lines.push(`audio ${result.stats.audio_s.toFixed(2)} s in ${result.stats.chunks} chunks`);
  } else if (result.firstAudioMs !== null) {
    lines.push(`played ${result.heardS.toFixed(2)} s${total} (${result.status === 'error' ? 'failed' : 'stopped'})`);
  }
  lines.push(`underruns: ${result.underruns}`);
  return lines.join('\n');
}
demo.lineMetrics = lineMetrics;

const ms = (v) => (v === null || v === undefined ? '–' : `${v.toFixed(0)} ms`);

/**
 * The live figures. "face behind the mic" is measured (input clock minus the newest frame, as each
 * arrives); max_delay is only the model's look-ahead, a lower bound: the measured delay adds the
 * 20 ms pieces, the round trip through bridge and daemon, and the daemon's processing time.
 */
function liveMetrics() {
  const st = live.stats;
  if (!st) return '';
  const lines = [
    `live: ${st.status}, ${st.sampleRate} Hz${st.resampled ? ' (resampled)' : ''}, ${st.capture || 'no capture'}`,
    `face behind the mic: ${ms(st.lagMs)} (mean ${ms(st.meanLagMs)}, max ${ms(st.maxLagMs)}), measured`,
    `  of which the model's look-ahead (max_delay): ${ms(st.maxDelayMs)}; the rest is capture, the round trip and processing`,
    `push round trip: ${ms(st.rttMs)} (max ${ms(st.maxRttMs)})`,
    `pushes ${st.pushes}, replies ${st.replies}, frames ${st.frames}, visemes ${st.visemes}`,
  ];
  if (st.monitorDelayMs !== null) lines.splice(3, 0, `mic played back ${ms(st.monitorDelayMs)} late; late frames: ${st.late}`);
  return lines.join('\n');
}

/** The status line while listening: the measured delay once frames come back (never the bound alone). */
function liveStatus() {
  const st = live.stats;
  if (!st || st.lagMs === null || st.lagMs === undefined) return 'listening: measuring how far the face is behind the mic…';
  return `listening: the face is ${ms(st.meanLagMs)} behind the mic on average (measured; `
    + `${ms(st.maxDelayMs)} of it is the model's look-ahead)`;
}

let liveTimer = null;
function setLiveButton(on) {
  $('live').setAttribute('aria-pressed', on ? 'true' : 'false');
  $('live').textContent = on ? 'Stop mic' : 'Live mic';
}
live.addEventListener('end', (e) => {
  setLiveButton(false);
  clearInterval(liveTimer);
  $('metrics').textContent = liveMetrics();
  const r = e.detail;
  demo.liveResults.push(r);
  if (r.status === 'error') setStatus(`live: ${r.error.code}: ${r.error.message}`, true);
  else setStatus('ready');
});

/** What the Live mic toggle does (tests call it too): start listening to the microphone, or stop. */
demo.toggleLive = async () => {
  const button = $('live');
  button.disabled = true;
  try {
    if (live.active) return await live.stop();
    speaker.interrupt();
    live.monitor = $('monitor').checked;
    setStatus('starting the microphone…');
    const info = await live.startMicrophone();
    setLiveButton(true);
    setStatus(liveStatus());
    demo.liveInfo = info;
    clearInterval(liveTimer);
    liveTimer = setInterval(() => { $('metrics').textContent = liveMetrics(); setStatus(liveStatus()); }, 250);
    return info;
  } catch (error) {
    setLiveButton(false);
    setStatus(`live mic: ${error.message}`, true);
    demo.error = String(error.message || error);
    return null;
  } finally {
    button.disabled = false;
  }
};
demo.liveMetrics = liveMetrics;
demo.liveStatus = liveStatus;

// browsers start an AudioContext only from a user gesture: start it at the first one, ahead of Speak
for (const type of ['pointerdown', 'keydown']) {
  addEventListener(type, () => { if (audioContext.state === 'suspended') audioContext.resume().catch(() => {}); },
    { once: true, capture: true });
}
$('speak').onclick = () => demo.speak();
$('live').onclick = () => demo.toggleLive();
$('stop').onclick = () => { speaker.interrupt(); if (live.active) live.stop(); };
await loadVoices();
