#!/usr/bin/env node
// `npm start`: build, then run the tray app in Electron. Arguments after `--`
// go to the app (e.g. `npm start -- --open-window`).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function electronBinary() {
  try {
    // The electron package exports the binary's path, and throws when its download never happened.
    const p = createRequire(import.meta.url)('electron');
    return typeof p === 'string' && fs.existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

const built = spawn(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root });
const buildCode = await new Promise((resolve) => built.on('exit', (code) => resolve(code ?? 1)));
if (buildCode !== 0) process.exit(buildCode);

let electron = electronBinary();
if (!electron && !process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
  // npm no longer runs dependencies' install scripts unless allowed, so the
  // binary may never have been fetched: try once, where the network allows.
  console.log('Kernel Tray: fetching the Electron binary (node node_modules/electron/install.js)...');
  const installer = path.join(root, 'node_modules', 'electron', 'install.js');
  if (fs.existsSync(installer)) {
    const fetched = spawn(process.execPath, [installer], { stdio: ['ignore', 'inherit', 'pipe'], cwd: path.dirname(installer) });
    let said = '';
    fetched.stderr.on('data', (d) => (said += d));
    await new Promise((resolve) => fetched.on('exit', resolve));
    electron = electronBinary();
    const reason = said.split('\n').find((l) => /error/i.test(l));
    if (!electron && reason) console.error(`Kernel Tray: the download failed: ${reason.trim()}`);
  }
}
if (!electron) {
  console.error(
    [
      '',
      'Kernel Tray: the Electron binary is not installed (node_modules/electron/dist is missing;',
      'this happens when npm ran with ELECTRON_SKIP_BINARY_DOWNLOAD=1 or without internet).',
      '',
      'To get it, on a machine with internet access run:',
      '    node node_modules/electron/install.js',
      '',
      'Everything except the tray works without it, from the command line:',
      '    npx ktray --help',
      '    npm run ktray -- <command>      e.g. npm run ktray -- ls',
      '',
    ].join('\n'),
  );
  process.exit(1);
}

const app = spawn(electron, ['.', ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => app.kill(sig));
app.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
