// What every esbuild bundle of this project shares, and the CLI bundle itself:
// built by `npm install` (the `prepare` script), `npm run build`, and by
// bin/ktray.js when cli-freshness.mjs finds its inputs changed. The CLI's files
// are written atomically (temp file + rename, chunks before the entry point), so
// a `ktray` starting while another rebuilds reads either the old build or the new.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST, manifestExtras } from './cli-freshness.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Native addons and packages that must stay real files in node_modules
// (electron-builder unpacks the natives from the asar; electron-store reads `electron`).
export const external = ['electron', 'zeromq', 'ssh2', 'cpu-features', 'electron-store'];

// Bundled CommonJS dependencies call require() for Node built-ins; ESM has none by default.
export const requireShim =
  "import { createRequire as __ktrayCreateRequire } from 'node:module'; const require = __ktrayCreateRequire(import.meta.url);";

export const common = {
  bundle: true,
  sourcemap: true,
  logLevel: 'warning',
  absWorkingDir: root,
  // Remote scripts are real .py/.sh files that TypeScript imports as text.
  loader: { '.py': 'text', '.sh': 'text' },
};

// File times come from a coarse kernel clock (a few ms behind): a file touched this
// close to the build's start may have been read before or after the change.
const MTIME_SLACK_MS = 20;

/**
 * Bundles electron/cli/ktray.ts into OUTDIR/cli and records its inputs (esbuild's own
 * list, with mtime and size) in OUTDIR/cli/MANIFEST for the freshness check.
 */
export async function buildCli(outdir = path.join(root, 'dist')) {
  const dir = path.join(outdir, 'cli');
  const started = Date.now();
  const result = await build({
    ...common,
    // Split, so the agent's own code (ssh2, zeromq) loads only in `ktray agent run`,
    // not in every short command.
    entryPoints: { ktray: path.join(root, 'electron/cli/ktray.ts') },
    outdir: dir,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    banner: { js: requireShim },
    metafile: true,
    write: false,
  });
  const entry = path.join(dir, 'ktray.js');
  // The entry point last: until it is replaced, the old one finds its old chunks.
  for (const f of result.outputFiles) if (f.path !== entry) writeAtomically(f.path, f.contents);
  for (const f of result.outputFiles) if (f.path === entry) writeAtomically(f.path, f.contents);
  removeUnreferencedChunks(dir, new Set(result.outputFiles.map((f) => f.path)));

  const inputs = {};
  for (const rel of [...Object.keys(result.metafile.inputs), ...manifestExtras]) {
    try {
      const st = fs.statSync(path.join(root, rel));
      // Changed while esbuild was reading it: record nothing, so the next run rebuilds.
      inputs[rel] = st.mtimeMs >= started - MTIME_SLACK_MS ? [0, -1] : [st.mtimeMs, st.size];
    } catch {
      inputs[rel] = [0, -1];
    }
  }
  writeAtomically(path.join(dir, MANIFEST), JSON.stringify({ builtBy: 'scripts/bundle.mjs', inputs }) + '\n');
  return { entry, inputs: Object.keys(inputs).length, ms: Date.now() - started };
}

function writeAtomically(file, contents) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

/** Old chunks go once they are a minute old: a ktray started just before may still load one lazily. */
function removeUnreferencedChunks(dir, keep) {
  const chunks = path.join(dir, 'chunks');
  let names = [];
  try {
    names = fs.readdirSync(chunks);
  } catch {
    return;
  }
  const cutoff = Date.now() - 60_000;
  for (const name of names) {
    const file = path.join(chunks, name);
    if (keep.has(file)) continue;
    try {
      if (fs.statSync(file).mtimeMs < cutoff) fs.rmSync(file, { force: true });
    } catch {
      // gone already
    }
  }
}
