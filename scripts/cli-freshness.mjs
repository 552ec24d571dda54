// Is dist/cli/ktray.js built from the sources as they are now? One stat per
// input the last build read (esbuild's metafile: the CLI's .ts files, the
// remote .py/.sh scripts it imports as text, bundled packages) plus the build's
// own settings, compared by mtime and size: about a millisecond, so bin/ktray.js
// can ask on every run. Only node:fs here, so asking costs no esbuild load.
import fs from 'node:fs';
import path from 'node:path';

export const MANIFEST = '.inputs.json';
/** Files that shape the bundle without being its inputs. */
export const manifestExtras = ['scripts/bundle.mjs', 'tsconfig.json', 'package.json', 'node_modules/esbuild/package.json'];

/** Null when CLI_DIR's bundle matches its recorded inputs under ROOT, else why not. */
export function cliStaleness(root, cliDir = path.join(root, 'dist', 'cli')) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(cliDir, MANIFEST), 'utf8'));
  } catch {
    return fs.existsSync(path.join(cliDir, 'ktray.js')) ? 'built without a record of its inputs' : 'not built yet';
  }
  if (!fs.existsSync(path.join(cliDir, 'ktray.js'))) return 'not built yet';
  for (const [rel, [mtimeMs, size]] of Object.entries(manifest.inputs ?? {})) {
    const st = fs.statSync(path.join(root, rel), { throwIfNoEntry: false });
    if (!st) return `${rel} is gone`;
    if (st.mtimeMs !== mtimeMs || st.size !== size) return `${rel} changed`;
  }
  return null;
}
