// The TypeScript declarations: current with the sources (tools/build_types.mjs --check) and enough for a typed
// app (types-test/example.ts, `tsc --noEmit`, strict; its @ts-expect-error lines fail if a type were `any`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (args) => spawnSync(process.execPath, args, { cwd: PKG, encoding: 'utf8', timeout: 300000 });

test('the committed .d.ts files are what the sources declare (npm run types)', () => {
  const result = run(['tools/build_types.mjs', '--check']);
  assert.equal(result.status, 0, result.stderr + result.stdout);
});

test('tsc --noEmit type-checks the example app against the package and three-vrm', () => {
  const result = run([join(PKG, 'node_modules/typescript/bin/tsc'), '-p', 'types-test']);
  assert.equal(result.status, 0, result.stdout + result.stderr);
});
