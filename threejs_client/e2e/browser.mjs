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
