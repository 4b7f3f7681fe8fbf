// Speak through VRM models in Debian's chromium: each .vrm is loaded by @pixiv/three-vrm and attached to an
// AvatarSpeaker (which drives it with VrmDriver, through three-vrm's expression manager), a line is spoken by
// the real daemon through the bridge, and every frame records the curves the speaker sampled and the expression
// values three-vrm holds (tests/test_web_vrm.py compares them).
//   node drive_vrm.mjs --url http://127.0.0.1:PORT/demo/ --vrm a.vrm --vrm b.vrm [--text T] [--chromium PATH]
// Prints one JSON line: {models: [{file, metaVersion, expressions, driver, result, frames: [{t, channels, values}]}],
//   all: [every frame of the line, driven after it], channels: [names], console: [...], error?}
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launchChromium, recordConsole } from './browser.mjs';

const { values: args } = parseArgs({ options: {
  url: { type: 'string' },
  vrm: { type: 'string', multiple: true },
  text: { type: 'string', default: 'Hello there! I blink, I open my mouth wide, and I go oh so slowly.' },
  chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
} });
const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const origin = new URL(args.url).origin;
const RECORDED = ['aa', 'ih', 'ou', 'ee', 'oh', 'blink', 'blinkLeft', 'blinkRight', 'happy', 'sad'];
// Added to the bridge's demo page (a real local origin, whose import map names three and avatarlab-three; a
// page of our own would be refused the bridge's WebSocket by Chromium's local network access checks).
const MODULE = `
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { VRMLoaderPlugin } from '/vrmtest/three-vrm.module.js';
import { ALL_CHANNELS, AvatarSpeaker, VrmDriver, clock } from 'avatarlab-three';
window.speakWith = async (index, text, recorded) => {
  const loader = new GLTFLoader();
  loader.register((parser) => new VRMLoaderPlugin(parser));
  const gltf = await loader.parseAsync(await (await fetch('/vrmtest/model/' + index)).arrayBuffer(), '');
  const vrm = gltf.userData.vrm;
  const speaker = new AvatarSpeaker({ url: location.origin.replace('http', 'ws') + '/ws', idle: false });
  speaker.attach(vrm);
  const frames = [];
  const channels = new Float32Array(ALL_CHANNELS.length);
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const info = speaker.update(now);
    vrm.update((now - last) / 1000);
    last = now;
    const line = speaker.line;
    if (info.t === null || info.t < 0 || !line || !line.track) return; // before its first sample: at rest
    channels.fill(0);
    if (!line.track.sampleInto(clock.frameAt(info.t, line.track.fps), channels)) return;
    frames.push({ t: info.t, channels: Array.from(channels),
      values: Object.fromEntries(recorded.map((n) => [n, vrm.expressionManager.getValue(n)])) });
  }, 10);
  let track = null;
  speaker.addEventListener('linestart', () => { track = speaker.line && speaker.line.track; });
  const result = await speaker.speak(text);
  clearInterval(timer);
  // every frame of the line, through the same driver (the live frames above are as many as the page's speed allows)
  const all = [];
  for (let f = 0; track && f < track.numFrames; f += 1) {
    const t = f / track.fps;
    speaker.face.update(track, t, 0, 1);
    vrm.update(0);
    channels.fill(0);
    track.sampleInto(clock.frameAt(t, track.fps), channels);
    all.push({ t, channels: Array.from(channels),
      values: Object.fromEntries(recorded.map((n) => [n, vrm.expressionManager.getValue(n)])) });
  }
  speaker.dispose();
  return { metaVersion: vrm.meta.metaVersion, expressions: vrm.expressionManager.expressions.map((e) => e.expressionName),
    driver: speaker.face.constructor.name, isVrmDriver: speaker.face instanceof VrmDriver,
    result: { status: result.status, error: result.error }, frames, all };
};
window.vrmReady = true;
`;

const out = { console: [], models: [] };
const browser = await launchChromium(args.chromium, ['--autoplay-policy=no-user-gesture-required']);
try {
  const page = await browser.newPage();
  recordConsole(page, out);
  await page.route(`${origin}/vrmtest/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/vrmtest/three-vrm.module.js') {
      return route.fulfill({ contentType: 'text/javascript',
        body: readFileSync(join(PKG, 'node_modules/@pixiv/three-vrm/lib/three-vrm.module.js')) });
    }
    const model = /^\/vrmtest\/model\/(\d+)$/.exec(path);
    if (model) return route.fulfill({ contentType: 'model/gltf-binary', body: readFileSync(args.vrm[Number(model[1])]) });
    return route.fulfill({ status: 404, body: 'not found' });
  });
  await page.goto(args.url);
  await page.addScriptTag({ type: 'module', content: MODULE });
  await page.waitForFunction(() => window.vrmReady === true, null, { timeout: 60000 });
  out.channels = await page.evaluate(async () => (await import('avatarlab-three')).ALL_CHANNELS);
  for (const [index, file] of args.vrm.entries()) {
    const model = await page.evaluate(([i, text, recorded]) => window.speakWith(i, text, recorded),
      [index, args.text, RECORDED]);
    out.models.push({ file, ...model });
  }
} catch (error) {
  out.error = String(error && error.stack || error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
