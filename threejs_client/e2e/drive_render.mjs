// Drive the demo page's "Render video" panel (render-panel.js) in Debian's chromium and print one JSON line:
// upload a photo as a new avatar, render the line with it, wait for the job to finish, play the MP4 in the page
// (and seek it: the bridge honours Range), download it through the link, cancel a second job, and show an
// upload the API refuses. With --token, the bridge needs it: the panel asks for it and the driver types it in.
//   node drive_render.mjs --url http://127.0.0.1:8765/demo/ --photo face.png --text "Hello." --screenshot x.png
import { launchChromium, recordConsole } from './browser.mjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: {
  url: { type: 'string' }, photo: { type: 'string' }, text: { type: 'string', default: 'Welcome back, captain.' },
  size: { type: 'string', default: '256x256' }, screenshot: { type: 'string' }, token: { type: 'string' },
  'cancel-text': { type: 'string' }, 'bad-upload': { type: 'boolean', default: false },
  'job-timeout': { type: 'string', default: '300' },
  chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
} });
const jobTimeout = Number(args['job-timeout']) * 1000;

const browser = await launchChromium(args.chromium, ['--autoplay-policy=no-user-gesture-required']);
const out = { console: [], expectedErrors: [] };
const expectations = [];
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 1000 }, acceptDownloads: true });
  recordConsole(page, out);
  if (args.token) expectations.push({ from: 0, pattern: /status of 401/ }); // the panel's first look at /v1/
  await page.goto(args.url);
  await page.waitForFunction(() => window.demo && window.demo.ready && window.demo.render && window.demo.render.ready,
    null, { timeout: 90000 });
  if (args.token) out.token = await enterToken(page);
  out.loaded = await renderState(page);
  if (args.photo) out.upload = await upload(page, args.photo);
  out.job = await renderLine(page, args.text);
  out.video = await playVideo(page);
  if (args.screenshot) await page.screenshot({ path: args.screenshot, fullPage: true });
  out.download = await download(page);
  if (args['cancel-text']) out.cancel = await cancelLine(page, args['cancel-text']);
  if (args['bad-upload']) out.badUpload = await expected(page, /status of 415/, () => badUpload(page));
} catch (error) {
  out.error = String(error.stack || error);
} finally {
  await browser.close();
}
const isExpected = (line, i) => line.startsWith('error') && expectations.some((e) => i >= e.from && e.pattern.test(line));
out.expectedErrors = out.console.filter(isExpected);
out.console = out.console.filter((line, i) => !isExpected(line, i));
console.log(JSON.stringify(out));

/** The panel's state (window.demo.render) and what it shows, as plain data. */
function renderState(page) {
  return page.evaluate(() => {
    const r = window.demo.render;
    const pick = ({ ready, state, jobId, job, videoUrl, downloadUrl, error, avatarId, avatars, needsToken, history }) =>
      ({ ready, state, jobId, job, videoUrl, downloadUrl, error, avatarId, avatars, needsToken, history });
    return { ...JSON.parse(JSON.stringify(pick(r))), status: document.getElementById('render-status').textContent,
      statusIsError: document.getElementById('render-status').className === 'error',
      tokenShown: document.getElementById('render-token-row').checkVisibility(),
      progress: document.getElementById('render-progress').value,
      options: [...document.getElementById('render-avatar').options].map((o) => o.value) };
  });
}

/**
 * Run `step`, which makes the browser log a failed request on purpose (`pattern`, e.g. "status of 415"): the
 * console's error lines from then on that match it move to `out.expectedErrors` (at the end: the browser may log
 * them a little after the page has seen the answer), so the test still fails on any other error in the console.
 */
async function expected(page, pattern, step) {
  expectations.push({ from: out.console.length, pattern });
  return step();
}
/** A bridge with a token answers 401: the panel shows its token field; typing the token in lists the avatars. */
async function enterToken(page) {
  const before = await renderState(page);
  await page.fill('#render-token', args.token);
  await page.press('#render-token', 'Tab'); // commit the field (its change event)
  await page.waitForFunction(() => window.demo.render.state === 'idle', null, { timeout: 30000 });
  return { before, after: await renderState(page) };
}

/** Choose the photo in the file input; the panel uploads it and selects the new avatar. */
async function upload(page, path) {
  const t0 = Date.now();
  await page.setInputFiles('#render-photo', path);
  await page.waitForFunction(() => ['idle', 'error'].includes(window.demo.render.state)
    && window.demo.render.avatarId !== 'default' || window.demo.render.state === 'error', null, { timeout: 120000 });
  const state = await renderState(page);
  return { ms: Date.now() - t0, ...state, selected: await page.inputValue('#render-avatar') };
}

/** Type the line, press Render video, and wait for the job to end (done, failed or cancelled). */
async function renderLine(page, text) {
  await page.fill('#text', text);
  await page.selectOption('#render-size', args.size);
  const t0 = Date.now();
  await page.click('#render-go');
  await page.waitForFunction(() => ['done', 'failed', 'cancelled', 'error'].includes(window.demo.render.state),
    null, { timeout: jobTimeout, polling: 200 });
  const state = await renderState(page);
  if (state.state !== 'done') throw new Error(`the job ended ${state.state}: ${JSON.stringify(state.error)} (${state.status})`);
  return { ms: Date.now() - t0, ...state };
}

/** Play the video in the page (muted, so autoplay rules do not matter), then seek it back to its middle. */
async function playVideo(page) {
  await page.evaluate(() => {
    const video = document.getElementById('render-video');
    video.muted = true;
    return video.play();
  });
  await page.waitForFunction(() => {
    const v = document.getElementById('render-video');
    return v.currentTime > 0.5 && v.videoWidth > 0;
  }, null, { timeout: 60000 });
  const playing = await page.evaluate(() => {
    const v = document.getElementById('render-video');
    return { currentTime: v.currentTime, videoWidth: v.videoWidth, videoHeight: v.videoHeight, duration: v.duration,
      paused: v.paused, error: v.error && v.error.message, src: v.currentSrc, visible: v.checkVisibility() };
  });
  // seeking asks for bytes at an offset: a server without Range support leaves the video unseekable
  const seek = await page.evaluate(async () => {
    const v = document.getElementById('render-video');
    v.pause();
    const target = v.duration / 2;
    const seeked = new Promise((done) => v.addEventListener('seeked', done, { once: true }));
    v.currentTime = target;
    await seeked;
    return { target, currentTime: v.currentTime, seekableEnd: v.seekable.length ? v.seekable.end(0) : 0 };
  });
  return { ...playing, seek };
}

/** Click the download link; the browser saves the file the bridge sends, whose bytes the test reads. */
async function download(page) {
  const link = await page.evaluate(() => {
    const a = document.getElementById('render-download');
    return { href: a.href, download: a.hasAttribute('download'), visible: a.checkVisibility(), text: a.textContent };
  });
  const [saved] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), page.click('#render-download')]);
  const path = join(tmpdir(), `render-${process.pid}.mp4`);
  await saved.saveAs(path);
  const bytes = readFileSync(path);
  writeFileSync(path, ''); // the test reads only what is reported
  return { ...link, suggestedFilename: saved.suggestedFilename(), size: bytes.length,
    box: bytes.subarray(4, 8).toString('latin1'), failure: await saved.failure() };
}

/** Start a long line, press Cancel as soon as the job has an id, and wait for the panel to say so. */
async function cancelLine(page, text) {
  await page.fill('#text', text);
  await page.click('#render-go');
  await page.waitForFunction(() => window.demo.render.jobId !== null, null, { timeout: 30000 });
  await page.click('#render-cancel');
  await page.waitForFunction(() => ['done', 'failed', 'cancelled', 'error'].includes(window.demo.render.state),
    null, { timeout: 60000 });
  return renderState(page);
}

/** Upload something that is not an image: the API refuses it, and the panel shows its message. */
async function badUpload(page) {
  await page.setInputFiles('#render-photo', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
  await page.waitForFunction(() => window.demo.render.state === 'error', null, { timeout: 30000 });
  return renderState(page);
}
