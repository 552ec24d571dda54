// The Electron binary, which npm does not fetch (package.json allowScripts denies
// electron's postinstall, so `npm install` succeeds where GitHub is unreachable):
// where it is, and one attempt to fetch it with electron's own installer.
// Used by `npm start` (scripts/start.mjs) and `npm test` (scripts/test.mjs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const INSTALLER = 'node node_modules/electron/install.js';

/** The binary's path, or null when its download never happened. */
export function electronBinary() {
  try {
    // A fresh require each time: the package reads path.txt when loaded, and the installer writes it.
    const require = createRequire(import.meta.url);
    delete require.cache[require.resolve('electron')];
    const p = require('electron');
    return typeof p === 'string' && fs.existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

/**
 * Runs electron's installer once, unless ELECTRON_SKIP_BINARY_DOWNLOAD is set.
 * Resolves to { path } or { path: null, reason } (the installer's error line, or why it did not run).
 */
export async function fetchElectron({ timeoutMs } = {}) {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) return { path: null, reason: 'ELECTRON_SKIP_BINARY_DOWNLOAD is set' };
  const installer = path.join(root, 'node_modules', 'electron', 'install.js');
  if (!fs.existsSync(installer)) return { path: null, reason: 'node_modules/electron is not installed (run npm install)' };
  const child = spawn(process.execPath, [installer], { stdio: ['ignore', 'inherit', 'pipe'], cwd: path.dirname(installer) });
  let said = '';
  child.stderr.on('data', (d) => (said += d));
  const timer = timeoutMs ? setTimeout(() => child.kill('SIGTERM'), timeoutMs) : null;
  const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(sig ? `killed after ${timeoutMs} ms` : c)));
  if (timer) clearTimeout(timer);
  const p = electronBinary();
  if (p) return { path: p };
  const line = said.split('\n').find((l) => /error/i.test(l))?.trim();
  return { path: null, reason: line ?? `the installer exited ${code}${said.trim() ? `: ${said.trim().split('\n')[0]}` : ''}` };
}
