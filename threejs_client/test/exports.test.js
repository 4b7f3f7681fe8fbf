// The package's export map: every key resolves (with and without `.js` for the worklet), every module the
// package has is reachable and typed, and the package loads and drives a head with the oldest three the peer
// range allows (0.150.0, the `three-0150` devDependency alias) and the newest (the `three` devDependency).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8'));
const resolved = (key) => fileURLToPath(import.meta.resolve(`avatarlab-three${key.slice(1)}`));

test('every export key resolves to a file, with its types condition first (the declarations: types.test.js)', () => {
  for (const [key, target] of Object.entries(manifest.exports)) {
    assert.ok(existsSync(resolved(key)), key);
    if (typeof target === 'object') {
      assert.deepEqual(Object.keys(target), ['types', 'default'], `${key}: types first, as TypeScript needs`);
      assert.equal(target.types, target.default.replace(/\.js$/, '.d.ts'), key);
    }
  }
  assert.equal(manifest.types, manifest.main.replace(/\.js$/, '.d.ts'));
});

test('the AudioWorklet module resolves with and without its .js extension', () => {
  const file = join(PKG, 'src/PcmCaptureProcessor.js');
  assert.equal(resolved('./PcmCaptureProcessor'), file);
  assert.equal(resolved('./PcmCaptureProcessor.js'), file);
});

test('every source module is exported under its own name', () => {
  const exported = new Set(Object.keys(manifest.exports).map((key) => relative(PKG, resolved(key))));
  const modules = readdirSync(join(PKG, 'src')).filter((f) => f.endsWith('.js')).map((f) => `src/${f}`);
  assert.deepEqual(modules.filter((m) => m !== 'src/index.js' && !exported.has(m)), []);
  for (const m of modules) {
    const key = `./${m.slice(4, -3)}`;
    if (m !== 'src/index.js') assert.equal(relative(PKG, resolved(key)), m, key);
  }
});

for (const [label, args, revision] of [['the newest three (the devDependency)', [], manifest.devDependencies.three],
  ['the oldest three the peer range allows', ['--import', './test-support/three-0150.mjs'], '0.150.0']]) {
  test(`the package loads and drives an avatar with ${label}`, () => {
    assert.equal(manifest.peerDependencies.three, '>=0.150.0');
    const out = execFileSync(process.execPath, [...args, 'test-support/smoke.mjs'], { cwd: PKG, encoding: 'utf8' });
    const report = JSON.parse(out.trim().split('\n').pop());
    assert.equal(report.revision, revision.split('.')[1], 'the three the package was loaded with');
    assert.ok(Math.abs(report.influence - 0.7) < 1e-6 && report.headTurned && report.aa === 0.5, out);
    assert.ok(Object.values(report.modules).every((n) => n > 0), out);
  });
}
