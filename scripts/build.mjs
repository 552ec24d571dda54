#!/usr/bin/env node
// Builds what Electron and the CLI run: esbuild bundles for the main process,
// the preloads and the CLI; vite for the React window. `node scripts/build.mjs`
// (flags: --no-renderer skips vite; --outdir DIR builds main, preloads and CLI
// into DIR instead of dist/, for tests of the bundle).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { buildCli, common, external, requireShim, root } from './bundle.mjs';

const at = (...p) => path.join(root, ...p);
const argv = process.argv.slice(2);
const args = new Set(argv);
const outdirAt = argv.indexOf('--outdir');
const outdir = outdirAt >= 0 ? path.resolve(argv[outdirAt + 1]) : at('dist');
const out = (...p) => path.join(outdir, ...p);

async function step(name, fn) {
  const t = Date.now();
  await fn();
  console.log(`build: ${name} (${Date.now() - t} ms)`);
}

await step(path.relative(root, out('main/main.js')), () =>
  build({
    ...common,
    entryPoints: [at('electron/main/main.ts')],
    outfile: out('main/main.js'),
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external,
    banner: { js: requireShim },
  }),
);

// Sandboxed preloads run without Node and cannot be ES modules: CommonJS for a
// browser platform, so a Node built-in creeping in fails the build, not the window.
for (const [entry, file] of [
  ['electron/main/preload.ts', 'main/preload.cjs'],
  ['electron/main/passphrase-preload.ts', 'main/passphrase-preload.cjs'],
]) {
  await step(path.relative(root, out(file)), () =>
    build({ ...common, entryPoints: [at(entry)], outfile: out(file), platform: 'browser', format: 'cjs', target: 'chrome120', external: ['electron'] }),
  );
}
fs.copyFileSync(at('electron/main/passphrase.html'), out('main/passphrase.html'));

if (fs.existsSync(at('electron/cli/ktray.ts'))) {
  await step(path.relative(root, out('cli/ktray.js')), () => buildCli(outdir));
} else {
  console.log('build: electron/cli/ktray.ts not there yet, CLI bundle skipped');
}

if (args.has('--no-renderer') || outdirAt >= 0) {
  console.log('build: renderer skipped (--no-renderer or --outdir)');
} else if (fs.existsSync(at('renderer/vite.config.ts'))) {
  const { build: viteBuild } = await import('vite');
  await step('dist/renderer', () => viteBuild({ configFile: at('renderer/vite.config.ts'), logLevel: 'warn' }));
} else {
  console.log('build: renderer/vite.config.ts not there yet, window skipped');
}
