// Which hosts exist (local, ~/.ssh/config, saved in the app), their resolved
// profiles, and the one session per host.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { KtrayError } from '../../shared/errors';
import type { Host } from './host';
import { LocalHost } from './local-host';
import { SshSession } from '../ssh/ssh-session';
import { OpenSshHost } from '../ssh/openssh-host';
import { openSshNeededFor, type TransportSetting } from '../ssh/transport-choice';
import { jumpChain } from '../ssh/ssh-proxy-jump';
import { answersOnly, type AnswerPrompt } from '../keychain/kept-answers';
import type { Keychain } from '../keychain/keychain';
import {
  defaultSshConfigFile,
  listHostAliases,
  resolveProfile,
  type ConfigSource,
  type HostProfile,
  type ProfileContext,
  type ProxyHop,
} from '../ssh/ssh-profile';
import { LOCAL_HOST, type SavedHost } from '../../shared/types';

export interface TransportChoice {
  kind: 'ssh2' | 'openssh';
  /** Why, for `ktray hosts`; empty for ssh2 chosen by default. */
  why: string;
  setting: TransportSetting;
  userControlPath: string | null;
}

export interface HostRegistryOptions {
  sshConfigFile?: string;
  savedHosts: () => SavedHost[];
  /** The transport the user set per host (absent: auto). */
  transports?: () => Record<string, TransportSetting>;
  askPassphrase?: AnswerPrompt;
  /** Where typed answers the user chose to keep are kept. */
  keychain?: Keychain;
  /** Whether anything still needs the host's connection. */
  wanted: (hostId: string) => boolean;
  notice: (hostId: string, message: string, attention?: boolean) => void;
  context?: Partial<ProfileContext>;
  /** Makes the session of a host instead of LocalHost/SshSession (tests hand in their own). */
  createHost?: (id: string) => Host | undefined;
}

export class HostRegistry {
  private readonly sessions = new Map<string, Host>();
  /** The transport each session was made with (the choice is made once per session). */
  private readonly chosen = new Map<string, TransportChoice>();
  readonly configFile: string;
  private readonly ctx: ProfileContext;

  constructor(private readonly opts: HostRegistryOptions) {
    this.ctx = {
      homeDir: os.homedir(),
      localUser: os.userInfo().username,
      env: process.env,
      localHostname: os.hostname(),
      ...opts.context,
    };
    this.configFile = opts.sshConfigFile ?? defaultSshConfigFile(this.ctx.homeDir);
  }

  /**
   * The user's ssh config as it is now. Read on every use, never cached: a
   * file the user just fixed is the one used next (it is small, and ssh
   * reads it on every connection too).
   */
  private config(): ConfigSource {
    let text = '';
    try {
      text = readFileSync(this.configFile, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') {
        throw new KtrayError({
          code: 'SSH_CONFIG_INVALID',
          message: `Cannot read the ssh config ${this.configFile}: ${code ?? (err as Error).message}.`,
          hint: `Check that ${this.configFile} is a file you can read.`,
          detail: { file: this.configFile },
        });
      }
    }
    return { text, file: this.configFile };
  }

  configAliases(): string[] {
    return listHostAliases([this.config()], this.ctx).filter((a) => a !== LOCAL_HOST);
  }

  /** What is wrong with the ssh config right now, if anything (for status, which must always answer). */
  configError(): KtrayError | null {
    try {
      this.configAliases();
      return null;
    } catch (err) {
      return KtrayError.from(err);
    }
  }

  /** Hosts there are even when the ssh config cannot be read: local and the saved ones. */
  knownWithoutConfig(): string[] {
    return [...new Set([LOCAL_HOST, ...this.opts.savedHosts().map((h) => h.id)])];
  }

  /** Every host to show: local, the user's ssh_config hosts, saved ones. */
  ids(): string[] {
    const saved = this.opts.savedHosts().map((h) => h.id);
    return [...new Set([LOCAL_HOST, ...this.configAliases(), ...saved])];
  }

  source(id: string): 'local' | 'ssh-config' | 'saved' {
    if (id === LOCAL_HOST) return 'local';
    return this.opts.savedHosts().some((h) => h.id === id) ? 'saved' : 'ssh-config';
  }

  profile(id: string): HostProfile {
    const saved = this.opts.savedHosts().find((h) => h.id === id);
    const config = this.config();
    return resolveProfile(id, saved ? [{ text: savedHostConfig(saved), file: `the saved host ${id}` }, config] : [config], this.ctx);
  }

  validateId(id: string): void {
    if (!id || /[\s/]/.test(id) || id.startsWith('-')) {
      throw new KtrayError({
        code: 'BAD_INPUT',
        message: `"${id}" is not a host name Kernel Tray can use.`,
        hint: 'Use a Host alias from your ssh config, a saved host, or a plain host name.',
      });
    }
  }

  /** The host's one session, created on first use. */
  get(id: string): Host {
    this.validateId(id);
    let host = this.sessions.get(id);
    if (!host) {
      host =
        this.opts.createHost?.(id) ??
        (id === LOCAL_HOST
          ? new LocalHost()
          : this.openSshHost(id) ??
            new SshSession({
              profile: this.profile(id),
              resolveHop: (hop: ProxyHop) => this.hopProfile(hop),
              askPassphrase: this.opts.askPassphrase,
              keychain: this.opts.keychain,
              wanted: () => this.opts.wanted(id),
              notice: (message, attention) => this.opts.notice(id, message, attention),
            }));
      this.sessions.set(id, host);
    }
    return host;
  }

  peek(id: string): Host | undefined {
    return this.sessions.get(id);
  }

  /** Forget a session so the next use re-reads the profile (after trust, or edits). */
  async drop(id: string): Promise<void> {
    const host = this.sessions.get(id);
    this.sessions.delete(id);
    this.chosen.delete(id);
    await host?.close();
  }

  /**
   * Which transport the host goes through, and why: the one the user set, else
   * OpenSSH when its config needs what ssh2 cannot do (a ControlMaster of the
   * user's already listening at its ControlPath: no second login; GSSAPI; a
   * user certificate; a host only @cert-authority vouches for; Match exec; an
   * sk- key), else ssh2. Hosts saved in the app use ssh2 (ssh has no config for them).
   */
  transportChoice(id: string): TransportChoice {
    const made = this.sessions.has(id) ? this.chosen.get(id) : undefined;
    return made ?? this.chooseTransport(id);
  }

  private chooseTransport(id: string): TransportChoice {
    const setting = this.opts.transports?.()[id] ?? 'auto';
    const ssh2 = (why: string) => ({ kind: 'ssh2' as const, why, setting, userControlPath: null });
    if (id === LOCAL_HOST) return ssh2('');
    if (this.source(id) === 'saved') return ssh2(setting === 'auto' ? '' : 'a host saved in Kernel Tray (ssh has no config for it)');
    if (setting === 'ssh2') return ssh2('set by hand');
    const p = this.profile(id);
    // ssh itself expands ControlPath (%C and the rest): ask it, as `ssh -G` prints it.
    let userControlPath: string | null = null;
    if (p.controlPath) {
      const g = spawnSync('ssh', [...(this.customConfigFile() ? ['-F', this.customConfigFile()!] : []), '-G', id], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
      userControlPath = /^controlpath (.+)$/m.exec(g.stdout ?? '')?.[1] ?? null;
      if (userControlPath === 'none') userControlPath = null;
    }
    const open = (why: string) => ({ kind: 'openssh' as const, why, setting, userControlPath });
    if (setting === 'openssh') return open('set by hand');
    if (userControlPath !== null && existsSync(userControlPath)) return open(`your ControlMaster at ${userControlPath}`);
    if (p.gssapiAuthentication) return open('GSSAPIAuthentication yes (ssh2 has no GSSAPI)');
    const need = openSshNeededFor(p);
    if (need) return open(need.why);
    // ssh runs the whole chain: a jump host that needs ssh takes the host with it.
    for (const hop of jumpChain(p, (h) => this.hopProfile(h), id)) {
      const hopNeed = openSshNeededFor(hop);
      if (hopNeed) return open(`its jump host ${hop.alias}, for ${hopNeed.why}`);
    }
    return ssh2('');
  }

  private customConfigFile(): string | null {
    return this.configFile === defaultSshConfigFile(this.ctx.homeDir) ? null : this.configFile;
  }

  private openSshHost(id: string): OpenSshHost | undefined {
    const choice = this.chooseTransport(id);
    this.chosen.set(id, choice);
    if (choice.kind !== 'openssh') return undefined;
    return new OpenSshHost({
      id,
      configFile: this.customConfigFile(),
      userControlPath: choice.userControlPath,
      reason: choice.why,
      wanted: () => this.opts.wanted(id),
      askPassphrase: this.opts.askPassphrase && answersOnly(this.opts.askPassphrase),
      notice: (message, attention) => this.opts.notice(id, message, attention),
    });
  }

  /** The hosts `id` is reached through, first first, its jump hosts' own ProxyJump followed. */
  jumpChain(id: string): HostProfile[] {
    return jumpChain(this.profile(id), (h) => this.hopProfile(h), id);
  }

  private hopProfile(hop: ProxyHop): HostProfile {
    const p = resolveProfile(hop.host, [this.config()], this.ctx);
    return { ...p, user: hop.user ?? p.user, port: hop.port ?? p.port };
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((h) => h.close()));
    this.sessions.clear();
  }
}

function savedHostConfig(h: SavedHost): string {
  const lines = [`Host ${h.id}`, `  HostName ${h.hostname}`];
  if (h.user) lines.push(`  User ${h.user}`);
  if (h.port) lines.push(`  Port ${h.port}`);
  for (const f of h.identityFile ?? []) lines.push(`  IdentityFile ${f}`);
  if (h.proxyJump?.length) lines.push(`  ProxyJump ${h.proxyJump.join(',')}`);
  return lines.join('\n');
}

/** Saved hosts become ssh_config text, so nothing in them may break out of its line. */
export function validateSavedHost(h: SavedHost): void {
  const bad = (field: string) =>
    new KtrayError({ code: 'BAD_INPUT', message: `The host's ${field} is not valid.`, hint: 'Names and host names have no spaces, quotes or line breaks.' });
  if (!h.id || /[\s"'#]/.test(h.id) || h.id === LOCAL_HOST || h.id.includes('/')) throw bad('name');
  if (!h.hostname || /[\s"'#]/.test(h.hostname)) throw bad('host name');
  if (h.user !== undefined && /[\s"'#]/.test(h.user)) throw bad('user');
  if (h.port !== undefined && !(Number.isInteger(h.port) && h.port > 0 && h.port < 65536)) throw bad('port');
  for (const f of [...(h.identityFile ?? []), ...(h.proxyJump ?? [])]) if (/[\n"]/.test(f)) throw bad('key file or jump host');
}
