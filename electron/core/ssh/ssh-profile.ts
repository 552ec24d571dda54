// A Host alias of ~/.ssh/config resolved the way ssh(1) would, so `ktray`
// reaches a host with the same name, user, keys and jumps as a terminal does.
// ssh-config parses and applies first-obtained-value-wins; this module adds
// what it lacks: Include, OpenSSH's exact Host pattern rules, tokens, defaults.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import SSHConfig, { LineType, type Directive, type Line, type Match } from 'ssh-config';
import { KtrayError } from '../../shared/errors';
import { matchPattern, matchPatternList } from './known-hosts';

export interface ProxyHop {
  user?: string;
  host: string;
  port?: number;
}

export interface HostProfile {
  alias: string;
  hostname: string;
  user: string;
  port: number;
  /** Absolute, with ~, ${VAR} and %tokens expanded; ssh's usual keys when none is configured. */
  identityFiles: string[];
  identityFilesDefault: boolean;
  identitiesOnly: boolean;
  /** Agent socket: IdentityAgent, else SSH_AUTH_SOCK; null for none. */
  identityAgent: string | null;
  /** Why there is no agent socket: `IdentityAgent none`, or no SSH_AUTH_SOCK (say which to the user). */
  identityAgentOff?: 'none' | 'unset';
  proxyJump: ProxyHop[];
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: 'yes' | 'no' | 'accept-new' | 'ask';
  hostKeyAlias: string | null;
  /** ServerAliveInterval, or 15 when unset (ssh's own default, 0, never notices a dead link). */
  serverAliveIntervalSec: number;
  serverAliveCountMax: number;
  connectTimeoutSec: number | null;
}

export interface IncludedFile {
  path: string;
  text: string;
}

export interface ProfileContext {
  homeDir: string;
  localUser: string;
  env: NodeJS.ProcessEnv;
  localHostname?: string;
  /** The files an absolute Include pattern names, in glob order; default: the local file system. */
  includeFiles?: (pattern: string) => IncludedFile[];
}

export const DEFAULT_SERVER_ALIVE_INTERVAL_SEC = 15;
const MAX_INCLUDE_DEPTH = 16; // OpenSSH's READCONF_MAX_DEPTH

export function defaultSshConfigFile(homeDir: string): string {
  return join(homeDir, '.ssh', 'config');
}

/** The text of an ssh config file, '' when it does not exist. */
export async function readSshConfig(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw badConfig(`Cannot read ssh config ${file}: ${(err as Error).message}`);
  }
}

function badConfig(message: string): KtrayError {
  return new KtrayError({ code: 'BAD_INPUT', message, hint: 'Fix the line in your ssh config; `ssh -G <alias>` shows what ssh makes of it.' });
}

function parseConfig(text: string, source: string): SSHConfig {
  try {
    return SSHConfig.parse(text);
  } catch (err) {
    throw badConfig(`Cannot parse ssh config ${source}: ${(err as Error).message}`);
  }
}

function values(value: Directive['value']): string[] {
  return typeof value === 'string' ? [value] : value.map((v) => v.val);
}

const isDirective = (line: Line): line is Directive => line.type === LineType.DIRECTIVE;
const hasConfig = (line: Directive): line is Directive & { config: SSHConfig } => 'config' in line;

/** Glob(3) over the file system, as OpenSSH expands Include: sorted, no hidden names for wildcards. */
function globFiles(pattern: string): IncludedFile[] {
  let paths = [pattern.startsWith('/') ? '/' : ''];
  for (const part of pattern.split('/').filter(Boolean)) {
    if (!/[*?]/.test(part)) {
      paths = paths.map((p) => join(p, part));
      continue;
    }
    paths = paths.flatMap((dir) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return [];
      }
      return names.filter((n) => (part.startsWith('.') || !n.startsWith('.')) && matchPattern(part, n)).sort().map((n) => join(dir, n));
    });
  }
  return paths.flatMap((path) => {
    try {
      return statSync(path).isFile() ? [{ path, text: readFileSync(path, 'utf8') }] : [];
    } catch {
      return [];
    }
  });
}

function expandTilde(path: string, homeDir: string): string {
  return path === '~' ? homeDir : path.startsWith('~/') ? join(homeDir, path.slice(2)) : path;
}

/** The configs an Include line pulls in, in glob order; relative paths are under ~/.ssh. */
function included(line: Directive, ctx: Pick<ProfileContext, 'homeDir' | 'includeFiles'>, depth: number): SSHConfig[] {
  if (depth >= MAX_INCLUDE_DEPTH) throw badConfig(`ssh config: Include nested more than ${MAX_INCLUDE_DEPTH} deep`);
  const includeFiles = ctx.includeFiles ?? globFiles;
  return values(line.value).flatMap((pattern) => {
    const tilded = expandTilde(pattern, ctx.homeDir);
    const absolute = isAbsolute(tilded) ? tilded : join(ctx.homeDir, '.ssh', tilded);
    return includeFiles(absolute).map((file) => parseConfig(file.text, file.path));
  });
}

const isInclude = (line: Line): line is Directive => isDirective(line) && /^include$/i.test(line.param);

/**
 * When a block applies: always (true), never (false), or when a Match line
 * holds. Host lines are decided on the spot: they depend only on the alias.
 */
type Condition = boolean | Match;

function both(outer: Condition, inner: Condition): Condition {
  if (outer === false || inner === false) return false;
  if (outer === true) return inner;
  if (inner === true) return outer;
  // Include inside a Match pulling in another Match: both must hold.
  return { ...inner, criteria: { ...outer.criteria, ...inner.criteria } };
}

/**
 * One flat config in which Include is inlined and every Host line already
 * decided for `alias`, so that ssh-config's compute sees OpenSSH's meaning:
 * an included file starts in its Include's block and that block resumes after it.
 */
function flatten(config: SSHConfig, alias: string, ctx: ProfileContext): SSHConfig {
  const items: { cond: Condition; line: Directive }[] = [];

  const visit = (lines: readonly Line[], outer: Condition, depth: number): void => {
    for (const line of lines) {
      if (!isDirective(line)) continue;
      if (hasConfig(line)) {
        // Decided here because ssh-config's glob takes `?` as "at most one"
        // character, where ssh wants exactly one (Host web? must not match web).
        const own: Condition = /^host$/i.test(line.param)
          ? matchPatternList(values(line.value), alias)
          : (line as Match);
        const cond = both(outer, own);
        for (const sub of line.config) if (isDirective(sub)) take(sub, cond, depth);
      } else {
        take(line, outer, depth);
      }
    }
  };

  const take = (line: Directive, cond: Condition, depth: number): void => {
    if (cond === false) return;
    // Spawning nslookup from a tray is not ours to do; ktray uses HostName as written.
    if (/^canonicalizehostname$/i.test(line.param)) return;
    if (isInclude(line)) for (const config of included(line, ctx, depth)) visit(config, cond, depth + 1);
    else items.push({ cond, line });
  };

  visit(config, true, 0);

  const out = new SSHConfig();
  let current: { cond: Condition; config: SSHConfig } | null = null;
  for (const { cond, line } of items) {
    if (!current || current.cond !== cond) {
      const config = new SSHConfig();
      const section =
        cond === true
          ? { type: LineType.DIRECTIVE, param: 'Host', separator: ' ', value: '*', before: '', after: '\n', config }
          : { ...(cond as Match), config };
      out.push(section as Line);
      current = { cond, config };
    }
    current.config.push(line);
  }
  return out;
}

function parseHop(hop: string): ProxyHop {
  const fail = (why: string) => badConfig(`ProxyJump: cannot use the jump host "${hop}": ${why}`);
  let rest = hop.startsWith('ssh://') ? hop.slice('ssh://'.length).replace(/\/$/, '') : hop;
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at) : undefined;
  if (user === '') throw fail('empty user');
  rest = rest.slice(at + 1);
  // [v6addr]:port, else host:port split at the first colon as OpenSSH's hpdelim does.
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(rest);
  const colon = rest.indexOf(':');
  const host = bracketed ? bracketed[1] : colon >= 0 ? rest.slice(0, colon) : rest;
  const portText = bracketed ? bracketed[2] : colon >= 0 ? rest.slice(colon + 1) : undefined;
  if (host === '' || /[\s/@[\]]/.test(host)) throw fail('no valid host name');
  const result: ProxyHop = { host };
  if (user !== undefined) result.user = user;
  if (portText !== undefined) {
    const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw fail(`port "${portText}" is not 1..65535`);
    result.port = port;
  }
  return result;
}

/** `ssh -J` syntax: `[user@]host[:port]` or `ssh://[user@]host[:port]`, comma-separated; `none` for no jump. */
export function parseProxyJump(value: string): ProxyHop[] {
  const text = value.trim();
  if (text === '' || text.toLowerCase() === 'none') return [];
  return text.split(',').map((hop) => parseHop(hop.trim()));
}

/** Host names written out in `Host` lines (no patterns, no negations), first appearance first. */
export function listHostAliases(configText: string, ctx?: Pick<ProfileContext, 'homeDir' | 'includeFiles'>): string[] {
  const seen = new Set<string>();
  const walk = (lines: readonly Line[], depth: number): void => {
    for (const line of lines) {
      if (!isDirective(line)) continue;
      if (/^host$/i.test(line.param)) {
        for (const name of values(line.value)) if (!/[*?!]/.test(name)) seen.add(name);
      }
      // Without a context, Include lines are not followed.
      if (!ctx) continue;
      for (const sub of hasConfig(line) ? line.config : [line]) {
        if (isInclude(sub)) for (const config of included(sub, ctx, depth)) walk(config, depth + 1);
      }
    }
  };
  walk(parseConfig(configText, 'text'), 0);
  return [...seen];
}

/** sshd_config(5) TIME FORMATS: `90`, `1m30s`, `1h`. */
function parseTime(value: string, keyword: string, alias: string): number {
  const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  const parts = [...value.toLowerCase().matchAll(/(\d+)([smhdw]?)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value.toLowerCase()) {
    throw badConfig(`ssh config for ${alias}: ${keyword} "${value}" is not a time like 30 or 1m30s`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
}

function parseYesNo(value: string, keyword: string, alias: string): boolean {
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw badConfig(`ssh config for ${alias}: ${keyword} must be yes or no, found "${value}"`);
}

function parseStrict(value: string, alias: string): HostProfile['strictHostKeyChecking'] {
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'true') return 'yes';
  if (v === 'no' || v === 'false' || v === 'off') return 'no';
  if (v === 'accept-new' || v === 'ask') return v;
  throw badConfig(`ssh config for ${alias}: StrictHostKeyChecking must be yes, no, accept-new or ask, found "${value}"`);
}

function parseInteger(value: string, keyword: string, alias: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw badConfig(`ssh config for ${alias}: ${keyword} must be a number from ${min} to ${max}, found "${value}"`);
  return n;
}

/** Resolve `alias` from the text of an ssh config (and the files it includes). */
export function resolveProfile(alias: string, configText: string, ctx: ProfileContext): HostProfile {
  const flat = flatten(parseConfig(configText, 'text'), alias, ctx);
  // Match exec would run commands from the config at every lookup; ktray skips those blocks.
  const raw = flat.compute(alias, { ignoreCase: true, matchExec: false });
  const one = (key: string): string | undefined => {
    const v = raw[key];
    return Array.isArray(v) ? v.join(' ') : v;
  };
  const list = (key: string): string[] | undefined => {
    const v = raw[key];
    return v === undefined ? undefined : Array.isArray(v) ? v : [v];
  };

  const hostnameRaw = one('hostname');
  const hostname = (hostnameRaw === undefined ? alias : hostnameRaw.replace(/%([%h])/g, (_m, t: string) => (t === 'h' ? alias : '%'))).toLowerCase();
  const user = one('user') ?? ctx.localUser;
  const port = one('port') === undefined ? 22 : parseInteger(one('port')!, 'Port', alias, 1, 65535);
  const hostKeyAlias = one('hostkeyalias') ?? null;
  const jumpRaw = one('proxyjump');
  const localHostname = ctx.localHostname ?? osHostname();

  const tokens: Record<string, string> = {
    '%': '%',
    d: ctx.homeDir,
    u: ctx.localUser,
    l: localHostname,
    L: localHostname.split('.')[0],
    h: hostname,
    n: alias,
    r: user,
    p: String(port),
    k: hostKeyAlias ?? hostname,
    j: jumpRaw ?? '',
  };
  /** A path as ssh reads it: ~, then ${VAR}, then %tokens; relative ones taken from home. */
  const path = (value: string): string => {
    const expanded = expandTilde(value, ctx.homeDir)
      .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string) => ctx.env[name] ?? m)
      .replace(/%(.)/g, (m, t: string) => tokens[t] ?? m);
    return isAbsolute(expanded) ? expanded : join(ctx.homeDir, expanded);
  };
  const paths = (key: string, fallback: string[]): string[] => {
    const v = list(key);
    if (v === undefined) return fallback;
    return v.length === 1 && v[0].toLowerCase() === 'none' ? [] : v.map(path);
  };

  const configuredIds = list('identityfile');
  const identityFiles = configuredIds
    ? [...new Set(configuredIds.filter((f) => f.toLowerCase() !== 'none').map(path))]
    : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(ctx.homeDir, '.ssh', f));

  const agentRaw = one('identityagent');
  let identityAgent: string | null = ctx.env.SSH_AUTH_SOCK || null;
  if (agentRaw !== undefined) {
    if (agentRaw.toLowerCase() === 'none') identityAgent = null;
    else if (agentRaw === 'SSH_AUTH_SOCK') identityAgent = ctx.env.SSH_AUTH_SOCK || null;
    else if (agentRaw.startsWith('$')) identityAgent = ctx.env[agentRaw.slice(1).replace(/^\{(.*)\}$/, '$1')] || null;
    else identityAgent = path(agentRaw);
  }

  const timeout = one('connecttimeout');
  const connectTimeoutSec = timeout === undefined || timeout.toLowerCase() === 'none' ? null : parseTime(timeout, 'ConnectTimeout', alias) || null;
  const alive = one('serveraliveinterval');
  const countMax = one('serveralivecountmax');

  return {
    alias,
    hostname,
    user,
    port,
    identityFiles,
    identityFilesDefault: configuredIds === undefined,
    identitiesOnly: one('identitiesonly') === undefined ? false : parseYesNo(one('identitiesonly')!, 'IdentitiesOnly', alias),
    identityAgent,
    ...(identityAgent === null ? { identityAgentOff: agentRaw?.toLowerCase() === 'none' ? ('none' as const) : ('unset' as const) } : {}),
    proxyJump: jumpRaw === undefined ? [] : parseProxyJump(jumpRaw),
    userKnownHostsFiles: paths('userknownhostsfile', ['known_hosts', 'known_hosts2'].map((f) => join(ctx.homeDir, '.ssh', f))),
    globalKnownHostsFiles: paths('globalknownhostsfile', ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']),
    strictHostKeyChecking: one('stricthostkeychecking') === undefined ? 'ask' : parseStrict(one('stricthostkeychecking')!, alias),
    hostKeyAlias,
    serverAliveIntervalSec: alive === undefined ? DEFAULT_SERVER_ALIVE_INTERVAL_SEC : parseTime(alive, 'ServerAliveInterval', alias),
    serverAliveCountMax: countMax === undefined ? 3 : parseInteger(countMax, 'ServerAliveCountMax', alias, 0, 1_000_000),
    connectTimeoutSec,
  };
}
