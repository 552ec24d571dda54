#!/usr/bin/env node
// The Debian packages the test suite runs against (the one list: `npm test`
// and .ci/run both come here), and what to do when some are missing: as root
// with apt, install them and say so; otherwise stop before anything runs, with
// the one command that installs them. `node scripts/test-prereqs.mjs` alone
// does just that; `--list` prints the list with the reasons.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** [package, why the tests need it]. All in Debian 12 (bookworm). */
export const PACKAGES = [
  ['openssh-server', 'a real sshd is the e2e "remote" host'],
  ['openssh-client', 'ssh -G and ssh-keygen -F check ssh_config and known_hosts handling; ssh-agent; the manual baseline'],
  ['python3-ipykernel', 'real kernels, here and on the remote'],
  ['python3-jupyter-client', 'real Jupyter clients execute code through the tunnels and read connection files back'],
  ['jupyter-console', '`jupyter console` as a frontend, and discovery of kernels it started'],
  ['python3-gi', "GLib's own Desktop Entry parser reads back the autostart file"],
  ['chromium', 'the React window and the passphrase page in a real browser, through Playwright'],
  ['xvfb', 'a private X display for the Electron app tests'],
  ['xauth', 'X authority for Xvfb displays, as xvfb-run uses it'],
  ['procps', 'ps, pgrep, pkill: the remote scripts and the harness'],
  ['iproute2', '`ip netns`: the remote host in its own network namespace'],
  ['socat', 'the bridge into the remote host\'s namespace'],
  // For the features being built next; installed now so a machine set up once stays ready.
  ['jupyter-qtconsole', 'qtconsole as a frontend'],
  ['jupyter-notebook', 'remote Jupyter servers'],
  ['python3-jupyter-server', 'remote Jupyter servers'],
  ['python3-matplotlib', 'plots from kernels, inline and in Qt'],
  ['slurm-wlm', 'kernels on Slurm compute nodes behind a login node'],
  ['munge', "Slurm's authentication"],
  ['libpam-google-authenticator', 'one-time-password logins (keyboard-interactive) on sshd'],
  ['oathtool', 'the one-time passwords for those logins'],
  ['libsecret-tools', "secret-tool: Kernel Tray's opt-in keychain on Linux, and the tests reading back what it kept"],
  ['gnome-keyring', 'a real Secret Service for the keychain tests (on a D-Bus session of their own, in a private HOME)'],
  ['dbus-daemon', 'that D-Bus session bus'],
  ['xdotool', 'driving frontend windows on the X display'],
  ['imagemagick', 'screenshots of the X display'],
  ['tmux', '`jupyter console` attached in a tmux pane'],
];

const APT = '--no-install-recommends';

/** Packages of PACKAGES not installed here, or null where there is no dpkg to ask. */
export function missingPackages(names = PACKAGES.map(([p]) => p)) {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Package}\\t${db:Status-Abbrev}\\n', ...names], { encoding: 'utf8' });
  if (r.error) return null;
  const installed = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .filter(([, status]) => status?.startsWith('ii'))
      .map(([name]) => name.split(':')[0]),
  );
  return names.filter((n) => !installed.has(n));
}

export function installCommand(missing, { sudo = true } = {}) {
  const s = sudo ? 'sudo ' : '';
  return `${s}apt-get update && ${s}apt-get install -y ${APT} ${missing.join(' ')}`;
}

const say = (line) => process.stderr.write(`npm test: ${line}\n`);

/** Resolves true when the packages are there (or were just installed), false when the caller must stop. */
export function ensurePackages() {
  const missing = missingPackages();
  if (missing === null) {
    say(`no dpkg-query here, so the Debian packages the tests run against cannot be checked (${PACKAGES.map(([p]) => p).join(', ')}); going on.`);
    return true;
  }
  if (!missing.length) return true;
  const n = missing.length;
  const them = n > 1 ? 'them' : 'it';
  const root = process.getuid?.() === 0;
  const apt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!root || !apt) {
    say(
      `stopped before running anything: ${n} Debian package${n > 1 ? 's' : ''} the tests run against ${n > 1 ? 'are' : 'is'} ` +
        `not installed: ${missing.join(', ')} (\`node scripts/test-prereqs.mjs --list\` says what each is for). ` +
        `Install ${them} with\n\n    ${installCommand(missing, { sudo: !root })}\n\n` +
        `and run npm test again${root ? '' : ` (as root, npm test installs ${them} itself)`}.`,
    );
    return false;
  }
  const log = path.join(os.tmpdir(), `ktray-test-apt-${process.pid}.log`);
  const width = Math.max(...missing.map((m) => m.length));
  say(`installing ${n} Debian package${n > 1 ? 's' : ''} the tests run against, missing here:`);
  for (const m of missing) process.stderr.write(`    ${m.padEnd(width)}  ${PACKAGES.find(([p]) => p === m)[1]}\n`);
  say(`running: ${installCommand(missing, { sudo: false })} (output in ${log})`);
  const started = Date.now();
  const out = fs.openSync(log, 'w');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', APT, ...missing]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', out, out], env });
    if (r.status !== 0) {
      fs.closeSync(out);
      const tail = fs.readFileSync(log, 'utf8').trim().split('\n').slice(-15).join('\n');
      say(`apt-get ${args[0]} failed (exit ${r.status ?? r.signal}); the end of ${log}:\n${tail}`);
      return false;
    }
  }
  fs.closeSync(out);
  const still = missingPackages(missing);
  if (still?.length) {
    say(`apt-get finished but ${still.join(', ')} ${still.length > 1 ? 'are' : 'is'} still not installed; see ${log}`);
    return false;
  }
  say(`installed in ${Math.round((Date.now() - started) / 1000)} s.`);
  fs.rmSync(log, { force: true });
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--list')) {
    for (const [p, why] of PACKAGES) console.log(`${p.padEnd(28)} ${why}`);
  } else {
    process.exit(ensurePackages() ? 0 : 1);
  }
}
