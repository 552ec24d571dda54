#!/usr/bin/env node
// The ktray command: the bundled CLI when built (npm run build, packages),
// else the TypeScript source through tsx, as in a fresh checkout.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/ktray.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../scripts/register-text.mjs', import.meta.url).href);
  await import(new URL('../electron/cli/ktray.ts', import.meta.url).href);
}
