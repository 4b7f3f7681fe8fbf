// Writes the package's TypeScript declarations (src/**/*.d.ts) from the sources' JSDoc with the typescript
// devDependency. They are generated, never committed (.gitignore): `npm test` (pretest), `npm pack` and
// `npm publish` (prepack) and `make test` write them, so a packed package always has them current. A file is
// rewritten only when its text changes, so readers running beside a rebuild never see one half written.
// The sources are copied to a scratch folder first: beside an existing .d.ts, tsc would
// read the old declaration instead of the .js (and under node_modules it would emit nothing).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(PKG, 'src');
const ENTRIES = ['index.js', 'PcmCaptureProcessor.js'];

function files(root, ending) {
  return readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith(ending)).sort();
}

function build() {
  const SCRATCH = mkdtempSync(join(tmpdir(), 'avatarlab-three-types-'));
  mkdirSync(join(SCRATCH, 'src'));
  symlinkSync(join(PKG, 'node_modules'), join(SCRATCH, 'node_modules'), 'dir'); // three's types, typescript
  for (const file of files(SRC, '.js')) cpSync(join(SRC, file), join(SCRATCH, 'src', file));
  writeFileSync(join(SCRATCH, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { allowJs: true, declaration: true, emitDeclarationOnly: true, outDir: 'types', rootDir: 'src',
      target: 'es2022', lib: ['es2022', 'dom'], module: 'nodenext', moduleResolution: 'nodenext',
      skipLibCheck: true, types: [], newLine: 'lf' },
    files: ENTRIES.map((f) => `src/${f}`),
  }));
  execFileSync(process.execPath, [join(PKG, 'node_modules/typescript/bin/tsc'), '-p', SCRATCH], { stdio: 'inherit' });
  const out = join(SCRATCH, 'types');
  const built = new Map(files(out, '.d.ts').map((f) => [f, readFileSync(join(out, f), 'utf8')]));
  rmSync(SCRATCH, { recursive: true, force: true });
  return built;
}

const built = build();
for (const f of files(SRC, '.d.ts')) if (!built.has(f)) rmSync(join(SRC, f));
let written = 0;
for (const [f, text] of built) {
  const path = join(SRC, f);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
  const scratch = `${path}.${process.pid}.tmp`;
  writeFileSync(scratch, text);
  renameSync(scratch, path);
  written += 1;
}
console.log(`${built.size} declaration files under ${relative(process.cwd(), SRC) || '.'} (${written} rewritten)`);
