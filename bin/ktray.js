#!/usr/bin/env node
// The ktray command: always the bundled CLI (dist/cli/ktray.js, which starts
// in a fraction of the time TypeScript through tsx takes). In a checkout the
// bundle is made by `npm install` and rebuilt here, once, when a source it was
// built from has changed (scripts/cli-freshness.mjs: one stat per input). An
// installed package has no sources and runs its bundle as shipped.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = new URL('../dist/cli/ktray.js', import.meta.url);

if (existsSync(`${root}electron/cli/ktray.ts`)) {
  const { cliStaleness } = await import('../scripts/cli-freshness.mjs');
  const stale = cliStaleness(root);
  if (stale) await rebuild(stale);
}
await import(bundle.href);

async function rebuild(why) {
  try {
    const { buildCli } = await import('../scripts/bundle.mjs');
    const t = Date.now();
    await buildCli();
    if (process.stderr.isTTY) process.stderr.write(`ktray: rebuilt dist/cli (${why}) in ${Date.now() - t} ms\n`);
  } catch (err) {
    if (!existsSync(fileURLToPath(bundle))) {
      process.stderr.write(`ktray: cannot bundle the CLI (${err?.message ?? err}); run \`npm install\` in ${root}\n`);
      process.exit(1);
    }
    process.stderr.write(`ktray: the CLI bundle is stale (${why}) and could not be rebuilt (${err?.message ?? err}); running it anyway\n`);
  }
}
