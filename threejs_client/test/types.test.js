// The TypeScript declarations: generated from the sources' JSDoc (tools/build_types.mjs, run by `npm test`'s
// pretest and `npm pack`'s prepack), never committed, shipped in the pack for every export, and enough for a
// typed app (types-test/example.ts, `tsc --noEmit`, strict; its @ts-expect-error lines fail if a type were `any`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (args, command = process.execPath) => spawnSync(command, args, { cwd: PKG, encoding: 'utf8', timeout: 300000 });

test('npm pack builds and ships a declaration for every export', () => {
  const result = run(['pack', '--dry-run', '--json'], 'npm');
  assert.equal(result.status, 0, result.stderr);
  const report = result.stdout.slice(result.stdout.search(/^\[/m)); // after what prepack printed
  const packed = new Set(JSON.parse(report)[0].files.map((f) => f.path));
  const manifest = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8'));
  const declared = Object.values(manifest.exports).filter((t) => typeof t === 'object').map((t) => t.types.slice(2));
  assert.deepEqual(declared.filter((path) => !packed.has(path)), []);
  assert.ok(packed.has(manifest.types.slice(2)));
});

test('the declarations are generated, not committed', (t) => {
  const tracked = run(['ls-files', '--', 'src'], 'git');
  if (tracked.status !== 0) return t.skip('not a git checkout');
  assert.deepEqual(tracked.stdout.split('\n').filter((f) => f.endsWith('.d.ts')), []);
});

test('tsc --noEmit type-checks the example app against the package and three-vrm', () => {
  const built = run(['tools/build_types.mjs']);
  assert.equal(built.status, 0, built.stderr);
  const result = run([join(PKG, 'node_modules/typescript/bin/tsc'), '-p', 'types-test']);
  assert.equal(result.status, 0, result.stdout + result.stderr);
});
