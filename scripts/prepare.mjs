#!/usr/bin/env node
// The project's own step of `npm install` (package.json `prepare`): bundles the
// ktray CLI, so the first `ktray` right after the install starts as fast as any
// later one. Never fails the install: bin/ktray.js builds on first use what is
// not built here, and says why if it cannot.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliStaleness } from './cli-freshness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stale = cliStaleness(root);
if (!stale) {
  console.log('prepare: dist/cli/ktray.js is up to date');
} else {
  try {
    const { buildCli } = await import('./bundle.mjs');
    const r = await buildCli();
    console.log(`prepare: bundled the ktray CLI into dist/cli/ktray.js (${stale}; ${r.inputs} inputs, ${r.ms} ms)`);
  } catch (err) {
    const why = err?.code === 'ERR_MODULE_NOT_FOUND' ? 'esbuild is not installed (npm install --omit=dev?)' : String(err?.message ?? err);
    console.warn(`prepare: the ktray CLI was not bundled: ${why}. ktray will try again on first use.`);
  }
}
