// Drive the demo page in Debian's chromium (playwright-core, no downloaded browser) and print JSON.
//   node drive_page.mjs --url http://127.0.0.1:8765/demo/ --mode test --screenshot out/x.png
//   node drive_page.mjs --url ... --mode bench --lines lines.json --repeat 3
import { bilabialFaces, launchChromium, recordConsole } from './browser.mjs';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: {
  url: { type: 'string' }, mode: { type: 'string', default: 'test' }, screenshot: { type: 'string' },
  lines: { type: 'string' }, repeat: { type: 'string', default: '3' }, 'narrow-screenshot': { type: 'string' },
  chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
} });

const browser = await launchChromium(args.chromium, ['--autoplay-policy=no-user-gesture-required']);
const out = { console: [], websockets: [] };
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  recordConsole(page, out);
  page.on('websocket', (ws) => out.websockets.push(ws.url()));
  await page.goto(args.url);
  await page.waitForFunction(() => window.demo && window.demo.ready, null, { timeout: 60000 });
  // what the first Speak finds ready (warmed up at load)
  out.atReady = await page.evaluate(() => ({ connected: window.demo.speaker.connection.connected,
    welcome: window.demo.speaker.connection.welcome !== null, contextState: window.demo.speaker.audioContext.state }));
  out.atReady.websockets = out.websockets.length;
  if (args.mode === 'bench') out.bench = await bench(page);
  else Object.assign(out, await test(page));
} catch (error) {
  out.error = String(error.stack || error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));

/** Speak one line by pressing the Speak button; returns the page's result and its frames. */
async function pressSpeak(page, text) {
  await page.fill('#text', text);
  await page.evaluate(() => { window.demo.frames = []; window.demo.recording = true; window.demo.results = []; });
  await page.click('#speak');
}

async function waitResult(page, timeout = 60000) {
  await page.waitForFunction(() => window.demo.results.length > 0, null, { timeout });
  return page.evaluate(() => { window.demo.recording = false; return { result: window.demo.results[0], frames: window.demo.frames }; });
}

async function test(page) {
  const result = {};
  // 1. a whole line with bilabials; screenshot mid-word (jaw open while speaking)
  await pressSpeak(page, 'Bob bought a big blue map, maybe more maps, please.');
  await page.waitForFunction(() => window.demo.frames.some((f) => f.speaking && f.jawOpen > 0.25), null, { timeout: 30000 });
  if (args.screenshot) await page.screenshot({ path: args.screenshot });
  result.line = await waitResult(page);
  result.bilabials = await bilabialFaces(page);
  // 2. interrupt a long line after about a second of sound
  await pressSpeak(page, 'This is a much longer line that keeps going for a good while, so that we can stop it in the middle of a word and check that the sound and the mouth both stop at the same moment.');
  await page.waitForFunction(() => window.demo.frames.some((f) => f.t !== null && f.t > 1.0), null, { timeout: 30000 });
  const at = await page.evaluate(() => {
    const s = window.demo.speaker;
    const stream = s.line.stream;
    const wall = performance.now();
    const ctx = s.audioContext.currentTime;
    const heardBefore = stream.position();
    document.getElementById('stop').click();  // the Stop button (its handler runs now)
    return { wall, ctx, heardBefore, sourcesAfter: stream.sources.size, stopped: stream.stopped };
  });
  // frames after the interrupt, until the audio clock is well past it (however slowly this machine renders)
  await page.waitForFunction((t) => window.demo.frames.filter((f) => f.wall > t.wall).length >= 3
    && window.demo.frames.some((f) => f.ctx > t.ctx + 0.1), at, { timeout: 30000 });
  const interrupted = await waitResult(page);
  result.interrupt = { ...at, result: interrupted.result, frames: interrupted.frames,
    metrics: await page.textContent('#metrics'), status: await page.textContent('#status') };
  // 3. a new line after the interrupt works
  await pressSpeak(page, 'Again.');
  result.after = (await waitResult(page)).result;
  result.afterMetrics = await page.textContent('#metrics');
  // 4. an underrun on purpose: the line's second audio chunk is held back until its moment has passed
  result.underrun = await underrun(page);
  // 5. a narrow window (420 px): the face gets the width, the controls go below it
  if (args['narrow-screenshot']) result.narrow = await narrow(page, 420, 800, args['narrow-screenshot']);
  return result;
}

/**
 * Speak a line whose second audio chunk (and all after it) the page receives late: held back until the
 * audio clock is 0.2 s past the moment it was due and two frames have rendered in the gap (conditions,
 * not durations: the same on a fast or a busy machine). Returns the result, the frames and the timing.
 */
async function underrun(page) {
  await page.fill('#text', 'Hold on a moment: this line waits for its second piece of sound, then carries on.');
  return page.evaluate(async () => {
    const { demo } = window;
    const speaker = demo.speaker;
    const connection = speaker.connection;
    const context = speaker.audioContext;
    const register = connection.stream.bind(connection);
    const info = { outputLatency: context.outputLatency || 0 };
    connection.stream = (id, handler) => {
      connection.stream = register;  // this line only
      const held = [];
      let holding = false;
      const release = () => {
        const inGap = demo.frames.filter((f) => f.ctx > info.due + info.outputLatency + 0.05).length;
        if (context.currentTime < info.due + 0.2 || inGap < 2) { setTimeout(release, 10); return; }
        info.releasedAt = context.currentTime;
        holding = false;
        for (const [header, payloads] of held.splice(0)) handler(header, payloads);
      };
      register(id, (header, payloads) => {
        if (!holding && info.due === undefined && header.type === 'audio' && header.sample_offset > 0) {
          const line = speaker.line;
          info.offset = header.sample_offset;
          info.due = line.stream.streamStart + header.sample_offset / line.sampleRate;
          holding = true;
          setTimeout(release, 10);
        }
        if (holding) held.push([header, payloads]);
        else handler(header, payloads);
      });
    };
    demo.frames = [];
    demo.results = [];
    demo.recording = true;
    document.getElementById('speak').click();
    const deadline = performance.now() + 60000;
    while (demo.results.length === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    demo.recording = false;
    connection.stream = register;
    return { ...info, result: demo.results[0] ?? null, frames: demo.frames };
  });
}

/** Resize the window; once the canvas has followed, the layout's boxes and a screenshot. */
async function narrow(page, width, height, screenshot) {
  await page.setViewportSize({ width, height });
  await page.waitForFunction((w) => innerWidth === w && document.querySelector('#view canvas').clientWidth
    === document.getElementById('view').clientWidth, width, { timeout: 30000 });
  await page.waitForFunction(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)))));
  await page.screenshot({ path: screenshot, fullPage: true });
  return page.evaluate(() => {
    const box = (el) => { const r = el.getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; };
    return { innerWidth, innerHeight, canvas: box(document.querySelector('#view canvas')),
      panel: box(document.getElementById('panel')), speak: box(document.getElementById('speak')),
      text: box(document.getElementById('text')), scrollWidth: document.documentElement.scrollWidth };
  });
}

async function bench(page) {
  const lines = JSON.parse(readFileSync(args.lines, 'utf8'));
  const rows = [];
  for (const { name, text } of lines) {
    for (let i = 0; i < Number(args.repeat); i++) {
      await pressSpeak(page, text);
      const { result, frames } = await waitResult(page, 120000);
      rows.push({ name, text, status: result.status, firstAudioMs: result.firstAudioMs, firstArrivalMs: result.firstArrivalMs,
        underruns: result.underruns, stats: result.stats,
        offsets: frames.filter((f) => f.t !== null && f.heard !== null && f.t > 0).map((f) => f.t - f.heard),
        frameTimes: frames.filter((f) => f.t !== null).map((f) => f.wall) });
      await page.waitForTimeout(300);
    }
  }
  return rows;
}
