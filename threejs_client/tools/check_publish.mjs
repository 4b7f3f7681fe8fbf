// Run by `npm publish` (prepublishOnly): refuses to publish a manifest that lacks what a registry page needs:
// where the source lives (`repository`), where to read about it (`homepage`) and where to report a bug (`bugs`).
// The project has no public URL yet, so these are not guessed: whoever publishes adds them first.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REQUIRED = ['repository', 'homepage', 'bugs'];

/** The names of the publishing fields that a manifest lacks or leaves empty. */
export function missingPublishFields(manifest) {
  const url = (value) => (typeof value === 'string' ? value : value?.url ?? value?.email ?? '');
  return REQUIRED.filter((field) => !/^(https?:|git\+|git:|ssh:|[\w.+-]+@)/.test(url(manifest[field]).trim()));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
  const missing = missingPublishFields(JSON.parse(readFileSync(path, 'utf8')));
  if (missing.length) {
    console.error(`avatarlab-three: not publishing: package.json has no ${missing.join(', ')}. Add the public `
      + 'repository URL (with "directory": "threejs_client"), the homepage and the issue tracker URL, then publish again.');
    process.exit(1);
  }
}
