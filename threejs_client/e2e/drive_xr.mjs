// Drive the demo page inside an emulated headset (a Quest 3) and print JSON: iwer (Meta's WebXR emulation
// runtime, a devDependency) is injected before the page's scripts, so navigator.xr offers immersive-vr and
// immersive-ar; the demo's "Enter VR" (or, with --xr ar, "Enter AR") button starts the session and the
// avatar speaks in it.
//   node drive_xr.mjs --url http://127.0.0.1:8765/demo/ [--xr vr|ar] [--screenshot out/xr.png]
//   node drive_xr.mjs --url ... --mode bench --lines lines.json --repeat 3
import { bilabialFaces, launchChromium, recordConsole } from './browser.mjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: {
  url: { type: 'string' }, mode: { type: 'string', default: 'test' }, screenshot: { type: 'string' },
  xr: { type: 'string', default: 'vr' },   // the test's session: vr (immersive-vr) or ar (immersive-ar)
  lines: { type: 'string' }, repeat: { type: 'string', default: '3' },
  chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
} });

// iwer's browser build (UMD: window.IWER), from this package's node_modules
const IWER = fileURLToPath(new URL('../node_modules/iwer/build/iwer.min.js', import.meta.url));
const INSTALL = `window.xrDevice = new IWER.XRDevice(IWER.metaQuest3);
window.xrDevice.installRuntime({ forceInstall: true });`;

if (!['vr', 'ar'].includes(args.xr)) throw new Error(`--xr must be vr or ar, not ${args.xr}`);
const BUTTON = `#enter-${args.xr}`;
const NAME = args.xr.toUpperCase();

const BILABIALS = 'Bob bought a big blue map, maybe more maps, please.';

const browser = await launchChromium(args.chromium, ['--autoplay-policy=no-user-gesture-required']);
const out = { console: [] };
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  recordConsole(page, out);
  await page.addInitScript({ path: IWER });
  await page.addInitScript({ content: INSTALL });
  await page.goto(args.url);
  await page.waitForFunction(() => window.demo && window.demo.ready, null, { timeout: 60000 });
  const shown = args.mode === 'bench' ? '#enter-vr' : BUTTON;
  await page.waitForFunction((id) => !document.querySelector(id).hidden, shown, { timeout: 30000 });
  if (args.mode === 'bench') out.bench = await bench(page);
  else Object.assign(out, await test(page));
} catch (error) {
  out.error = String(error.stack || error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));

/** Press Enter VR (or Enter AR); resolves once the session presents and `frames` XR frames have rendered. */
async function enterVR(page, frames = 10, button = '#enter-vr') {
  await page.click(button);
  await page.waitForFunction((n) => window.demo.renderer.xr.isPresenting && window.demo.xrFrames >= n, frames,
    { timeout: 60000 });
}

/** Speak one line by pressing the Speak button (the panel stays clickable: iwer shows the page's canvas only). */
async function speakLine(page, text, timeout = 60000) {
  await page.evaluate((line) => {
    document.getElementById('text').value = line;
    Object.assign(window.demo, { frames: [], results: [], updateTimes: [], recording: true });
    document.getElementById('speak').click();
  }, text);
  await page.waitForFunction(() => window.demo.results.length > 0, null, { timeout });
  return page.evaluate(() => {
    window.demo.recording = false;
    return { result: window.demo.results[0], frames: window.demo.frames, updateTimes: window.demo.updateTimes };
  });
}

/** Per frame while recording: the panner, the head bone, the listener, the headset, and each ear's level. */
async function recordSpatial(page) {
  await page.evaluate(() => {
    const { demo } = window;
    const context = demo.speaker.audioContext;
    const splitter = context.createChannelSplitter(2);
    const ears = [context.createAnalyser(), context.createAnalyser()];
    demo.analyser.connect(splitter);
    ears.forEach((a, i) => { a.fftSize = 512; splitter.connect(a, i); });
    const buffer = new Float32Array(512);
    const level = (a) => { a.getFloatTimeDomainData(buffer); return Math.sqrt(buffer.reduce((s, x) => s + x * x, 0) / buffer.length); };
    const hook = demo.speaker.onFrame;
    demo.spatialFrames = [];
    demo.speaker.onFrame = (info) => {
      hook(info);
      if (!demo.recording) return;
      const voice = demo.speaker.voice;
      const head = demo.head.getWorldPosition(demo.head.position.clone());
      const l = context.listener;
      const d = window.xrDevice.position;
      demo.spatialFrames.push({ xr: demo.renderer.xr.isPresenting, speaking: info.speaking, look: info.look,
        panner: voice ? [voice.panner.positionX.value, voice.panner.positionY.value, voice.panner.positionZ.value] : null,
        panningModel: voice ? voice.panner.panningModel : null,
        head: [head.x, head.y, head.z], listener: [l.positionX.value, l.positionY.value, l.positionZ.value],
        device: [d.x, d.y, d.z], left: level(ears[0]), right: level(ears[1]) });
    };
  });
}

/**
 * The canvas's alpha as drawn (the drawing buffer is preserved): the corner pixel's, and how many pixels are
 * opaque or fully transparent. After `frames` more animation frames, so what is read was drawn now.
 */
async function canvasAlpha(page, frames = 3) {
  return page.evaluate(async (n) => {
    const { demo } = window;
    const start = demo.renderer.info.render.frame;
    await new Promise((resolve) => { const poll = () => (demo.renderer.info.render.frame - start >= n ? resolve() : setTimeout(poll, 20)); poll(); });
    const canvas = demo.renderer.domElement;
    const copy = Object.assign(document.createElement('canvas'), { width: canvas.width, height: canvas.height });
    const g = copy.getContext('2d');
    g.drawImage(canvas, 0, 0);
    const data = g.getImageData(0, 0, copy.width, copy.height).data;
    let opaque = 0, clear = 0;
    for (let i = 3; i < data.length; i += 4) { if (data[i] === 255) opaque += 1; else if (data[i] === 0) clear += 1; }
    return { corner: data[3], opaque, clear, pixels: data.length / 4 };
  }, frames);
}

async function test(page) {
  const result = { buttonVisible: await page.isVisible(BUTTON), buttons: await page.evaluate(() => ({
    vr: !document.getElementById('enter-vr').hidden, ar: !document.getElementById('enter-ar').hidden })) };
  result.flatAvatar = await page.evaluate(() => window.demo.avatar.position.toArray());
  result.flatAlpha = await canvasAlpha(page);
  await enterVR(page, 10, BUTTON);
  result.session = await page.evaluate((id) => {
    const { demo } = window;
    const session = demo.renderer.xr.getSession();
    const head = demo.head.getWorldPosition(demo.head.position.clone());
    return { mode: demo.xrMode, blendMode: demo.renderer.xr.getEnvironmentBlendMode() ?? null,
      frameRate: session.frameRate ?? null, button: document.querySelector(id).textContent,
      head: [head.x, head.y, head.z], xrFrames: demo.xrFrames, device: window.xrDevice.position.toArray?.()
        ?? [window.xrDevice.position.x, window.xrDevice.position.y, window.xrDevice.position.z] };
  }, BUTTON);
  result.sessionAlpha = await canvasAlpha(page);
  if (args.screenshot) await page.screenshot({ path: args.screenshot });
  // 1. the flat page's line, in the session: mouth and sound, bilabials, through the real driver and avatar
  await recordSpatial(page);
  const before = await page.evaluate(() => window.demo.xrFrames);
  result.line = await speakLine(page, BILABIALS);
  result.line.spatial = await page.evaluate(() => window.demo.spatialFrames);
  result.xrFramesDuringLine = (await page.evaluate(() => window.demo.xrFrames)) - before;
  result.bilabials = await bilabialFaces(page);
  // 2. the avatar moved 0.8 m to the viewer's left, the headset 0.3 m to the right: the voice, the listener
  // and the gaze follow; the left ear hears more
  const moved = await page.evaluate(() => {
    window.demo.avatar.position.x -= 0.8;
    window.xrDevice.position.x += 0.3;
    return window.demo.avatar.position.toArray();
  });
  await page.evaluate(() => { window.demo.spatialFrames = []; });
  const left = await speakLine(page, 'Over here, on your left: can you hear where my voice comes from?');
  result.left = { avatar: moved, result: left.result, spatial: await page.evaluate(() => window.demo.spatialFrames) };
  // 3. Exit VR / AR (the same button; iwer's full-window view covers the page, as a headset would, so it is
  // clicked from the page): the flat page again, the avatar where it was
  await page.evaluate((id) => document.querySelector(id).click(), BUTTON);
  await page.waitForFunction(() => !window.demo.renderer.xr.isPresenting, null, { timeout: 30000 });
  result.after = await page.evaluate((id) => ({ avatar: window.demo.avatar.position.toArray(), spatial: window.demo.speaker.spatial,
    button: document.querySelector(id).textContent }), BUTTON);
  result.afterAlpha = await canvasAlpha(page);
  return result;
}

/** The same lines on the flat page, then in the session: offsets (mouth minus heard) and update() cost per frame. */
async function bench(page) {
  const lines = JSON.parse(readFileSync(args.lines, 'utf8'));
  const rows = [];
  const run = async (where) => {
    for (const { name, text } of lines) {
      for (let i = 0; i < Number(args.repeat); i++) {
        const { result, frames, updateTimes } = await speakLine(page, text, 120000);
        const mine = frames.filter((f) => f.t !== null && f.xr === (where === 'xr'));
        rows.push({ where, name, status: result.status, underruns: result.underruns, audioS: result.stats ? result.stats.audio_s : null,
          offsets: mine.filter((f) => f.heard !== null && f.t > 0).map((f) => f.t - f.heard),
          frameTimes: mine.map((f) => f.wall),
          updateMs: updateTimes.filter((u) => u.xr === (where === 'xr')).map((u) => u.ms) });
        await page.waitForTimeout(300);
      }
    }
  };
  await run('flat');
  await enterVR(page);
  const session = await page.evaluate(() => ({ frameRate: window.demo.renderer.xr.getSession().frameRate ?? null }));
  await run('xr');
  const hrtf = await page.evaluate(hrtfDelay);
  return { rows, session, hrtf };
}

/** Samples an impulse takes through the HRTF panner straight ahead at 1 m (OfflineAudioContext, 48 kHz). */
async function hrtfDelay() {
  const context = new OfflineAudioContext(2, 4800, 48000);
  const buffer = context.createBuffer(1, 4800, 48000);
  buffer.getChannelData(0)[0] = 1;
  const source = context.createBufferSource();
  source.buffer = buffer;
  const panner = new PannerNode(context, { panningModel: 'HRTF', positionZ: -1 });
  source.connect(panner).connect(context.destination);
  source.start(0);
  const rendered = await context.startRendering();
  const peak = (data) => data.reduce((best, x, i) => (Math.abs(x) > Math.abs(data[best]) ? i : best), 0);
  const samples = Math.min(peak(rendered.getChannelData(0)), peak(rendered.getChannelData(1)));
  return { samples, ms: (samples / 48000) * 1000 };
}
