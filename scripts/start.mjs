#!/usr/bin/env node
// `npm start`: build, then run the tray app in Electron. Arguments after `--`
// go to the app (e.g. `npm start -- --open-window`). npm does not fetch
// Electron's binary (package.json allowScripts), so this does, the first time.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { electronBinary, fetchElectron, INSTALLER } from './electron-binary.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const built = spawn(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root });
const buildCode = await new Promise((resolve) => built.on('exit', (code) => resolve(code ?? 1)));
if (buildCode !== 0) process.exit(buildCode);

let electron = electronBinary();
if (!electron) {
  if (!process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) console.log(`Kernel Tray: fetching the Electron binary (${INSTALLER})...`);
  const fetched = await fetchElectron();
  electron = fetched.path;
  if (!electron) {
    // One paragraph: what is missing, why, what works without it, how to get it.
    const paragraph =
      `Kernel Tray: the tray app cannot start here: Electron's binary is not installed and was not fetched ` +
      `(${fetched.reason}). Everything else is installed and built, and works without it from the command line: ` +
      '`npm run ktray -- start local` starts a kernel on this computer, `npm run ktray -- ls` lists kernels, ' +
      '`npm run ktray -- --help` shows the rest (`npx ktray ...` works the same). To get the tray app, run ' +
      `\`${INSTALLER}\` where github.com is reachable (or with ELECTRON_MIRROR set), then \`npm start\` again.`;
    console.error(`\n${wrap(paragraph, 100)}\n`);
    process.exit(1);
  }
}

const app = spawn(electron, ['.', ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => app.kill(sig));
app.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

function wrap(text, width) {
  const lines = [''];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (lines[last] && lines[last].length + 1 + word.length > width) lines.push(word);
    else lines[last] = lines[last] ? `${lines[last]} ${word}` : word;
  }
  return lines.join('\n');
}
