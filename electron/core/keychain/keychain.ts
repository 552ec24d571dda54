// The OS keychain, for the passwords and key passphrases a user chose to keep:
// the Secret Service through libsecret's `secret-tool` on Linux (GNOME
// Keyring, KWallet's Secret Service, KeePassXC...), the login keychain through
// `/usr/bin/security` on macOS. A secret goes to and from these tools on a
// pipe, never in an argv; nothing is ever written under KTRAY_HOME.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { KtrayError } from '../../shared/errors';

/** One kept secret: whose (the host alias), what, and for which account or key file. */
export interface KeychainItem {
  host: string;
  kind: 'password' | 'passphrase';
  /** `user@hostname:port` for a password, the key file's path for a passphrase. */
  account: string;
}

export interface Keychain {
  /** Where secrets go, in words for the user ("the Secret Service (secret-tool)"). */
  readonly name: string;
  /** null when secrets can be kept here, else why not, in words for the user. */
  unavailable(): Promise<string | null>;
  get(item: KeychainItem): Promise<string | null>;
  set(item: KeychainItem, secret: string): Promise<void>;
  remove(item: KeychainItem): Promise<void>;
  /** Removes everything kept for a host; how many secrets that was. */
  forgetHost(host: string): Promise<number>;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const TIMEOUT_MS = 15_000;

/** A tool run with `input` on its stdin (the only way a secret reaches it). */
function run(file: string, args: string[], input: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `no answer within ${TIMEOUT_MS / 1000} s (a locked keyring waiting for its password?)`;
    }, TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: err.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

function failed(what: string, keychain: string, r: Run): KtrayError {
  return new KtrayError({
    code: 'BAD_INPUT',
    message: `Could not ${what} in ${keychain}: ${(r.stderr.trim() || `exit status ${r.code}`).replace(/\.$/, '')}.`,
    hint: 'Nothing else was changed; it will be asked for again next time.',
  });
}

/** libsecret's secret-tool (Debian: libsecret-tools), over the session's D-Bus. */
export class SecretToolKeychain implements Keychain {
  readonly name = 'the Secret Service (secret-tool)';
  private checked: Promise<string | null> | null = null;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  private attrs(item: Partial<KeychainItem>): string[] {
    const out = ['application', 'ktray'];
    for (const k of ['host', 'kind', 'account'] as const) if (item[k] !== undefined) out.push(k, item[k]!);
    return out;
  }

  private tool(args: string[], input = ''): Promise<Run> {
    return run(this.toolPath!, args, input, this.env);
  }

  private toolPath: string | null = null;

  unavailable(): Promise<string | null> {
    this.checked ??= (async () => {
      this.toolPath = onPath('secret-tool', this.env);
      if (!this.toolPath) return 'secret-tool is not installed (on Debian and Ubuntu: apt install libsecret-tools)';
      if (!this.env.DBUS_SESSION_BUS_ADDRESS) return 'there is no D-Bus session here (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service can be reached';
      // A search that finds nothing still needs a Secret Service to answer it.
      const r = await this.tool(['search', 'application', 'ktray-probe']);
      if (r.code !== 0 && r.stderr.trim()) return `no Secret Service answers on the D-Bus session (${r.stderr.trim().replace(/\.$/, '')})`;
      return null;
    })();
    return this.checked;
  }

  async get(item: KeychainItem): Promise<string | null> {
    if (await this.unavailable()) return null;
    const r = await this.tool(['lookup', ...this.attrs(item)]);
    return r.code === 0 && r.stdout !== '' ? r.stdout : null;
  }

  async set(item: KeychainItem, secret: string): Promise<void> {
    const why = await this.unavailable();
    if (why) throw new KtrayError({ code: 'BAD_INPUT', message: `Nothing was kept: ${why}.` });
    const label = `Kernel Tray: ${item.kind === 'password' ? 'password for' : 'passphrase of'} ${item.account} (${item.host})`;
    const r = await this.tool(['store', `--label=${label}`, ...this.attrs(item)], secret);
    if (r.code !== 0) throw failed(`keep the ${item.kind} for ${item.host}`, this.name, r);
  }

  async remove(item: KeychainItem): Promise<void> {
    if (await this.unavailable()) return;
    await this.tool(['clear', ...this.attrs(item)]);
  }

  async forgetHost(host: string): Promise<number> {
    if (await this.unavailable()) return 0;
    // The count from the items' labels; search prints their secrets too, which stay in this process.
    const found = await this.tool(['search', '--all', ...this.attrs({ host })]);
    const n = (`${found.stdout}\n${found.stderr}`.match(/^label = /gm) ?? []).length;
    const r = await this.tool(['clear', ...this.attrs({ host })]);
    if (r.code !== 0 && n > 0) throw failed(`remove what is kept for ${host}`, this.name, r);
    return n;
  }
}

/**
 * The macOS login keychain through /usr/bin/security. `security -i` reads its
 * commands on stdin, so the secret is in no argv (`add-generic-password -w`
 * would put it there). Not run here: there is no macOS on the machine that built
 * this; the README says what was checked.
 */
export class MacKeychain implements Keychain {
  readonly name = 'the macOS keychain';
  private readonly security: string;

  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    security = '/usr/bin/security',
  ) {
    this.security = security;
  }

  private service(host: string): string {
    return `Kernel Tray: ${host}`;
  }

  private account(item: KeychainItem): string {
    return `${item.kind} ${item.account}`;
  }

  async unavailable(): Promise<string | null> {
    return existsSync(this.security) ? null : `${this.security} is missing`;
  }

  async get(item: KeychainItem): Promise<string | null> {
    const r = await run(this.security, ['find-generic-password', '-s', this.service(item.host), '-a', this.account(item), '-w'], '', this.env);
    return r.code === 0 ? r.stdout.replace(/\n$/, '') : null;
  }

  async set(item: KeychainItem, secret: string): Promise<void> {
    // security's own command-line reader splits on spaces and quotes; these characters would
    // need escapes it was not seen to honour, so such a secret is not kept rather than kept wrong.
    if (/["\\\n\r]/.test(secret)) {
      throw new KtrayError({ code: 'BAD_INPUT', message: `Nothing was kept: the ${item.kind} holds a quote, a backslash or a line break, which Kernel Tray does not pass to /usr/bin/security.` });
    }
    const q = (s: string) => `"${s.replace(/["\\]/g, '')}"`;
    const command = `add-generic-password -U -s ${q(this.service(item.host))} -a ${q(this.account(item))} -l ${q(`${this.service(item.host)} (${item.kind})`)} -w ${q(secret)}\n`;
    const r = await run(this.security, ['-i'], command, this.env);
    if (r.code !== 0 || /error/i.test(r.stderr)) throw failed(`keep the ${item.kind} for ${item.host}`, this.name, r);
  }

  async remove(item: KeychainItem): Promise<void> {
    await run(this.security, ['delete-generic-password', '-s', this.service(item.host), '-a', this.account(item)], '', this.env);
  }

  async forgetHost(host: string): Promise<number> {
    let n = 0;
    // One item per call; stop when none is left (or after a bound, whatever security says).
    while (n < 100 && (await run(this.security, ['delete-generic-password', '-s', this.service(host)], '', this.env)).code === 0) n++;
    return n;
  }
}

/** No keychain: `KTRAY_KEYCHAIN=none`, or a system with none Kernel Tray knows. */
export class NoKeychain implements Keychain {
  readonly name = 'no keychain';
  constructor(private readonly why: string) {}
  async unavailable(): Promise<string | null> {
    return this.why;
  }
  async get(): Promise<string | null> {
    return null;
  }
  async set(): Promise<void> {
    throw new KtrayError({ code: 'BAD_INPUT', message: `Nothing was kept: ${this.why}.` });
  }
  async remove(): Promise<void> {}
  async forgetHost(): Promise<number> {
    return 0;
  }
}

/** This system's keychain; `KTRAY_KEYCHAIN=none` turns it off. */
export function systemKeychain(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Keychain {
  if (env.KTRAY_KEYCHAIN === 'none') return new NoKeychain('KTRAY_KEYCHAIN=none turns the keychain off');
  if (platform === 'darwin') return new MacKeychain(env);
  if (platform === 'linux' || platform === 'freebsd' || platform === 'openbsd') return new SecretToolKeychain(env);
  return new NoKeychain(`Kernel Tray knows no keychain on ${platform}`);
}
