#!/usr/bin/env node
// `npm test` (with --typecheck) and `npm run test:unit` / `test:e2e`: first the
// system the suite runs against (scripts/test-prereqs.mjs: Debian packages,
// installed as root or asked for, before anything runs; the Electron binary,
// fetched once where it can be, else its tests skip and say why), then tsc,
// then vitest with the remaining arguments (`npm test -- e2e/cli.test.ts`).
//
// No display is arranged here: the tests that need one (the Electron app)
// start their own Xvfb when DISPLAY is unset, so this runs the same in CI, in
// a terminal over SSH, and on a desktop.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { electronBinary, fetchElectron, INSTALLER } from './electron-binary.mjs';
import { ensurePackages } from './test-prereqs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Through node, not node_modules/.bin: the same on every platform.
const tool = (file) => [process.execPath, [path.join(root, 'node_modules', file)]];
const say = (line) => process.stderr.write(`npm test: ${line}\n`);

const args = process.argv.slice(2);
const typecheck = args[0] === '--typecheck';
if (typecheck) args.shift();

if (!ensurePackages()) process.exit(1);

if (!electronBinary()) {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    say('no Electron binary and ELECTRON_SKIP_BINARY_DOWNLOAD is set: the Electron app tests will skip.');
  } else {
    say(`no Electron binary yet; fetching it for the Electron app tests (${INSTALLER})`);
    const got = await fetchElectron({ timeoutMs: 10 * 60_000 });
    say(got.path ? `fetched ${path.relative(root, got.path)}` : `could not fetch it (${got.reason}): the Electron app tests will skip.`);
  }
}

function run([cmd, pre], argv) {
  return new Promise((resolve) => {
    const child = spawn(cmd, [...pre, ...argv], { stdio: 'inherit', cwd: root });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? 128 + (os.constants.signals[signal] ?? 0));
    });
  });
}

if (typecheck) {
  const code = await run(tool('typescript/bin/tsc'), ['--noEmit', '-p', 'tsconfig.json']);
  if (code !== 0) process.exit(code);
}
process.exit(await run(tool('vitest/vitest.mjs'), ['run', ...args]));
