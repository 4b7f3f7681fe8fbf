// Draw an avatar's frames with three.js in Debian's chromium (playwright-core, WebGL on SwiftShader, no display):
// the reference the offscreen Python renderer is compared with (tests/test_render_parity.py) and raced against
// (benchmarks/bench_render.py). A small local file server feeds the page three.js, this package and the job's files.
//   node draw_frames.mjs --job job.json [--chromium /usr/bin/chromium]
// job.json: {avatar: "x.glb", width, height, fps, background: "#1e2028",
//   camera: {eye: [x, y, z], target: [x, y, z], up: [0, 1, 0], fov: degrees (vertical), near, far},
//   columns: [channel names], frames: "poses.f32" (float32 little-endian, frames x columns, row-major),
//   passes: [{name, antialias: bool, background (default: the job's),
//             labels: {"mesh/primitive": "colours.f32" (RGB per vertex)} | null,
//             fallback: [r, g, b] (label of the other primitives), save: "dir" | null (PNG per frame: NAME-i.png),
//             time: n | null (draw and read back n frames, timed), warmup: frames drawn before timing}]}
// Prints one JSON line: {passes: [{name, numFrames, profile, glRenderer, files, times}], console, error?}.
import { launchChromium, recordConsole } from './browser.mjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serveStatic } from './static_server.mjs';

const { values: args } = parseArgs({ options: {
  job: { type: 'string' },
  chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
} });
const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PAGE = `<!doctype html><meta charset="utf-8"><title>draw frames</title>
<script type="importmap">{"imports": {"three": "/three/build/three.module.js", "three/addons/": "/three/examples/jsm/",
  "avatarlab-three": "/pkg/index.js"}}</script>
<script type="module" src="/e2e/draw_frames_page.js"></script>`;

const job = JSON.parse(readFileSync(args.job, 'utf8'));
const files = new Map();  // /file/N -> a file of the job
const token = (path) => {
  const url = `/file/${files.size}`;
  files.set(url, resolve(dirname(resolve(args.job)), path));
  return url;
};
// the page, three.js, the package's sources and the job's files, nothing else
const server = await serveStatic({ page: PAGE, files, roots: {
  '/three/': join(PKG, 'node_modules/three/'), '/pkg/': join(PKG, 'src/'), '/e2e/': join(PKG, 'e2e/') } });
const base = `http://127.0.0.1:${server.address().port}`;
const out = { passes: [], console: [] };
const browser = await launchChromium(args.chromium);
try {
  const page = await browser.newPage({ viewport: { width: 320, height: 240 } });
  recordConsole(page, out);
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 60000 });
  const avatar = token(job.avatar);
  const frames = token(job.frames);
  for (const pass of job.passes) {
    const labels = pass.labels ? Object.fromEntries(Object.entries(pass.labels).map(([k, p]) => [k, token(p)])) : null;
    const spec = { width: job.width, height: job.height, fps: job.fps, camera: job.camera,
      background: pass.background || job.background, columns: job.columns, frames, avatar,
      antialias: Boolean(pass.antialias), labels, fallback: pass.fallback || [0, 0, 0] };
    const result = { name: pass.name, ...await page.evaluate((s) => window.setupPass(s), spec), files: [], times: [] };
    if (pass.save) {
      mkdirSync(pass.save, { recursive: true });
      for (let i = 0; i < result.numFrames; i++) {
        const url = await page.evaluate((k) => window.pass.png(k), i);
        const file = join(pass.save, `${pass.name}-${i}.png`);
        writeFileSync(file, Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
        result.files.push(file);
      }
    }
    if (pass.time) {
      await page.evaluate((n) => window.pass.time(n), pass.warmup ?? 3);
      result.times = await page.evaluate((n) => window.pass.time(n), pass.time);
    }
    await page.evaluate(() => window.pass.dispose());
    out.passes.push(result);
  }
} catch (error) {
  out.error = String(error.stack || error);
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(out));
