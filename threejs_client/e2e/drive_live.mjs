// Drive the demo's "Live mic" toggle in Debian's chromium (playwright-core, no downloaded browser), with
// a fake microphone that plays a WAV file, and print JSON: the listener's stats, the page's metrics
// text, the stream's result and one entry per rendered frame.
//   node drive_live.mjs --url http://127.0.0.1:8765/demo/ --wav speech.wav --seconds 4 [--monitor-seconds 2]
// The first round shows the face as soon as frames arrive; the optional second one ticks "hear the mic"
// (the microphone played back delayed by the lip-sync delay).
import { launchChromium, recordConsole } from './browser.mjs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: {
  url: { type: 'string' }, wav: { type: 'string' }, seconds: { type: 'string', default: '4' },
  'monitor-seconds': { type: 'string', default: '0' }, screenshot: { type: 'string' },
  chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
} });

const browser = await launchChromium(args.chromium, ['--autoplay-policy=no-user-gesture-required', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${args.wav}`]);
const out = { console: [] };
try {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 }, permissions: ['microphone'] });
  const page = await context.newPage();
  recordConsole(page, out);
  await page.goto(args.url);
  await page.waitForFunction(() => window.demo && window.demo.ready, null, { timeout: 60000 });
  Object.assign(out, await round(page, Number(args.seconds), args.screenshot));
  if (Number(args['monitor-seconds']) > 0) {
    await page.check('#monitor');
    out.monitor = await round(page, Number(args['monitor-seconds']));
  }
} catch (error) {
  out.error = String(error.stack || error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));

/** Press Live mic, listen for `seconds`, press it again; what the page showed and recorded. */
async function round(page, seconds, screenshot) {
  const out = {};
  await page.evaluate(() => { window.demo.liveFrames = []; window.demo.liveResults = []; window.demo.recording = true; });
  const pressed = await page.evaluate(() => performance.now());
  await page.click('#live');
  await page.waitForFunction(() => window.demo.live.active && window.demo.live.stats.frames > 0, null, { timeout: 30000 });
  out.firstFrameMs = await page.evaluate((t0) => performance.now() - t0, pressed);
  out.buttonWhileOn = await page.textContent('#live');
  out.info = await page.evaluate(() => window.demo.liveInfo);
  await page.waitForTimeout(seconds * 1000);
  if (screenshot) await page.screenshot({ path: screenshot });
  out.during = await page.evaluate(() => ({ stats: window.demo.live.stats, metrics: document.getElementById('metrics').textContent,
    status: document.getElementById('status').textContent }));
  await page.click('#live');
  await page.waitForFunction(() => window.demo.liveResults.length > 0, null, { timeout: 30000 });
  Object.assign(out, await page.evaluate(() => {
    window.demo.recording = false;
    return { result: window.demo.liveResults[0], frames: window.demo.liveFrames, button: document.getElementById('live').textContent,
      metrics: document.getElementById('metrics').textContent, contextRate: window.demo.speaker.audioContext.sampleRate,
      active: window.demo.live.active };
  }));
  return out;
}
