// `npm publish` runs tools/check_publish.mjs first: a manifest without repository, homepage and bugs is refused
// with a message that says what to add, and a complete one passes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missingPublishFields } from '../tools/check_publish.mjs';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8'));
const complete = {
  ...manifest,
  repository: { type: 'git', url: 'git+https://example.org/avatarlab.git', directory: 'threejs_client' },
  homepage: 'https://example.org/avatarlab#readme',
  bugs: { url: 'https://example.org/avatarlab/issues' },
};

const check = (json) => {
  const path = join(mkdtempSync(join(tmpdir(), 'avatarlab-publish-')), 'package.json');
  writeFileSync(path, JSON.stringify(json));
  return spawnSync(process.execPath, [join(PKG, 'tools/check_publish.mjs'), path], { encoding: 'utf8' });
};

test('npm publish runs the check first', () => {
  assert.equal(manifest.scripts.prepublishOnly, 'node tools/check_publish.mjs');
});

test('a manifest lacking the publishing fields is refused, naming them', () => {
  const { repository, homepage, bugs, ...bare } = complete;
  const result = check(bare);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /no repository, homepage, bugs\. Add the public repository URL/);
  assert.deepEqual(missingPublishFields({ ...complete, homepage: '  ' }), ['homepage']);
  assert.deepEqual(missingPublishFields({ ...complete, bugs: { url: 'issues' } }), ['bugs']);
});

test('a complete manifest passes, with a URL or an e-mail address for bugs', () => {
  assert.equal(check(complete).status, 0);
  assert.deepEqual(missingPublishFields({ ...complete, bugs: { email: 'bugs@example.org' } }), []);
  assert.deepEqual(missingPublishFields({ ...complete, repository: 'git+ssh://git@example.org/a.git' }), []);
});
