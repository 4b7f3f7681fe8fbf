// Debian's chromium for the e2e scripts: headless, no display, WebGL on SwiftShader, nothing fetched from outside.
import { chromium } from 'playwright-core';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
  '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

/**
 * Launch chromium at `executablePath` with the common flags and any `extra` ones.
 * @param {string} executablePath
 * @param {string[]} [extra]
 */
export function launchChromium(executablePath, extra = []) {
  return chromium.launch({ executablePath, headless: true, args: [...ARGS, ...extra] });
}

/**
 * Keep the page's console (first 50 lines) and its errors in `out.console`.
 * @param {import('playwright-core').Page} page
 * @param {{console: string[]}} out
 */
export function recordConsole(page, out) {
  page.on('console', (m) => { if (out.console.length < 50) out.console.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => out.console.push(`pageerror: ${e.message}`));
}

/** The demo's face at every curve frame within one frame of each p/b/m of the last line, through the real
 * driver and avatar: the closure each bilabial reached (PP, jaw, mouthClose, mouthPress). */
export function bilabialFaces(page) {
  return page.evaluate(() => {
    const { speaker, lastLine } = window.demo;
    const { track, sampleRate: sr, fps } = lastLine;
    const out = [];
    for (const p of lastLine.events.phonemes.filter((x) => ['p', 'b', 'm'].includes(x.symbol))) {
      let maxPP = 0, minJaw = 1, maxClose = 0, maxPress = 0, closeOverJaw = -1;
      for (let f = Math.floor((p.start / sr) * fps) - 1; f <= Math.ceil((p.end / sr) * fps) + 1; f++) {
        speaker.face.update(track, f / fps, 0, 1);
        const jaw = speaker.face.influence('jawOpen');
        const close = speaker.face.influence('mouthClose');
        maxPP = Math.max(maxPP, track.value('PP', f));
        minJaw = Math.min(minJaw, jaw);
        maxClose = Math.max(maxClose, close);
        maxPress = Math.max(maxPress, speaker.face.influence('mouthPressLeft'), speaker.face.influence('mouthPressRight'));
        closeOverJaw = Math.max(closeOverJaw, close - jaw);
      }
      out.push({ symbol: p.symbol, start: p.start / sr, end: p.end / sr, maxPP, minJaw, maxClose, maxPress, closeOverJaw });
    }
    return out;
  });
}
