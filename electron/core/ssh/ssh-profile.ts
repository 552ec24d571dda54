// A Host alias of ~/.ssh/config resolved the way ssh(1) would, so `ktray`
// reaches a host with the same name, user, keys and jumps as a terminal does.
// ssh-config parses and applies first-obtained-value-wins; this module adds
// what it lacks: Include, OpenSSH's exact Host pattern rules, tokens, defaults.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import SSHConfig, { LineType, type Directive, type Line, type Match } from 'ssh-config';
import { KtrayError } from '../../shared/errors';
import { matchPattern, matchPatternList } from './known-hosts';

import { parseProxyJump, type ProxyHop } from './ssh-proxy-jump';
import { a2port, configLines, convtime, knownKeyword, type ConfigLine } from './ssh-config-lines';

export { parseProxyJump, type ProxyHop };

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
  /**
   * ProxyCommand as written (tokens unexpanded, as `ssh -G` prints it), or null
   * for none. It and ProxyJump exclude each other: the first one set wins.
   */
  proxyCommand: string | null;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: 'yes' | 'no' | 'accept-new' | 'ask';
  hostKeyAlias: string | null;
  /** ServerAliveInterval, or 15 when unset (ssh's own default, 0, never notices a dead link). */
  serverAliveIntervalSec: number;
  serverAliveCountMax: number;
  /** NumberOfPasswordPrompts (ssh's default 3): how many times a refused password or keyboard-interactive answer is asked again. */
  numberOfPasswordPrompts: number;
  connectTimeoutSec: number | null;
  /** ControlPath as written (tokens unexpanded), when set and not `none`: a master of the user's may listen there. */
  controlPath?: string;
  /** GSSAPIAuthentication yes: only the OpenSSH transport can do it. */
  gssapiAuthentication?: boolean;
  /** CertificateFile lines, expanded like IdentityFile (ssh2 cannot sign with certificates). */
  certificateFiles?: string[];
  /**
   * The command of the first `Match exec` block whose other criteria hold for
   * this host: ktray never runs it (and so cannot know what ssh would make of it).
   */
  matchExec?: string;
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

function badConfig(message: string): KtrayError {
  return new KtrayError({ code: 'BAD_INPUT', message, hint: 'Fix the line in your ssh config; `ssh -G <alias>` shows what ssh makes of it.' });
}

/** ssh-config's directives whose value it keeps as a list (RE_MULTI_VALUE_DIRECTIVE in its parser). */
const MULTI_VALUE = /^(GlobalKnownHostsFile|Host|IPQoS|SendEnv|UserKnownHostsFile|ProxyCommand|KnownHostsCommand|Match|CanonicalDomains|Include)$/i;

/** Where a directive was read, for the errors found after parsing (an unknown keyword). */
const SOURCE = Symbol('source');
type Sourced = Directive & { [SOURCE]?: { file: string; line: number } };

/** A directive for ssh-config, from a line as ssh reads it. */
function directive(l: ConfigLine): Directive {
  let value: Directive['value'];
  if (/^(proxyjump|proxycommand|knownhostscommand)$/i.test(l.keyword)) value = l.rest.replace(/^[ \t=]+/, '');
  else if (MULTI_VALUE.test(l.keyword) && l.args.length > 1) value = l.args.map((val) => ({ val, separator: ' ', quoted: false }));
  else value = MULTI_VALUE.test(l.keyword) ? l.args[0] : l.args.join(' ');
  return { type: LineType.DIRECTIVE, param: l.keyword, separator: ' ', value, before: '', after: '\n' } as Directive;
}

/** ssh-config's Match criteria (its parser's shape): a keyword, then its value unless all/canonical/final. */
function criteria(args: string[]): Record<string, string | []> {
  const out: Record<string, string | []> = {};
  for (let i = 0; i < args.length; i++) {
    if (/^(all|canonical|final)$/i.test(args[i])) out[args[i]] = [];
    else out[args[i]] = args[++i];
  }
  return out;
}

/**
 * The config as ssh-config's structures, built from the lines as OpenSSH reads
 * them rather than from ssh-config's own parser, which differs from OpenSSH on
 * quotes (it throws "Unexpected line break" without a line number, and keeps
 * `'x'` and `x"y` where ssh unquotes or rejects them) and checks no values.
 */
function parseConfig(text: string, file: string): SSHConfig {
  const root = new SSHConfig();
  let section: SSHConfig = root;
  for (const l of configLines(text, file)) {
    const d = directive(l);
    (d as Sourced)[SOURCE] = { file: l.file, line: l.line };
    if (/^(host|match)$/i.test(l.keyword)) {
      const config = new SSHConfig();
      if (/^match$/i.test(l.keyword)) Object.assign(d, { criteria: criteria(l.args) });
      root.push(Object.assign(d, { config }) as Line);
      section = config;
    } else {
      section.push(d);
    }
  }
  return root;
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

const isInclude = (line: Line): boolean => isDirective(line) && /^include$/i.test(line.param);

/** ssh's refusal of a keyword it does not know, with the file and line. */
function unknownKeyword(line: Directive): KtrayError {
  const src = (line as Sourced)[SOURCE] ?? { file: UNNAMED, line: 0 };
  const reason = `Bad configuration option: ${line.param.toLowerCase()}`;
  // In ssh's words: this one of its complaints has a colon after the file name.
  return new KtrayError({
    code: 'SSH_CONFIG_INVALID',
    message: `${src.file}: line ${src.line}: ${reason}`,
    hint: `OpenSSH does not know \`${line.param}\` either (\`ssh -G -F ${src.file} HOST\` refuses it the same way): fix or remove the line, or name it in an \`IgnoreUnknown\` line above it. Kernel Tray reads the file again on every command.`,
    detail: { ...src, problems: [{ ...src, reason }] },
  });
}

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
  /** IgnoreUnknown's patterns once a block that applies set it (first value wins, as for any option). */
  let ignoredUnknown: string[] | null = null;

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
    // readconf.c parse_token: a keyword it does not know is an error in any block, applying or
    // not, unless an IgnoreUnknown read before it lists it (a Match block's IgnoreUnknown counts
    // as applying here: its criteria are decided later).
    const keyword = line.param.toLowerCase();
    if (!knownKeyword(keyword)) {
      if (ignoredUnknown && matchPatternList(ignoredUnknown, keyword, true)) return;
      throw unknownKeyword(line);
    }
    if (keyword === 'ignoreunknown' && cond !== false && ignoredUnknown === null) ignoredUnknown = values(line.value).join(',').split(',');
    // ssh reads (and checks) included files even in blocks that do not apply ("parse only").
    if (isInclude(line)) {
      for (const config of included(line, ctx, depth)) visit(config, cond, depth + 1);
      return;
    }
    if (cond === false) return;
    // Spawning nslookup from a tray is not ours to do; ktray uses HostName as written.
    if (/^canonicalizehostname$/i.test(line.param)) return;
    items.push({ cond, line });
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

/** Config text and the name its errors give it (its path). */
export interface ConfigSource {
  text: string;
  file: string;
}

const UNNAMED = 'ssh config';

function parseSources(config: string | ConfigSource[]): SSHConfig {
  const sources = typeof config === 'string' ? [{ text: config, file: UNNAMED }] : config;
  const out = new SSHConfig();
  for (const src of sources) out.push(...parseConfig(src.text, src.file));
  return out;
}

/** Host names written out in `Host` lines (no patterns, no negations), first appearance first. */
export function listHostAliases(config: string | ConfigSource[], ctx?: Pick<ProfileContext, 'homeDir' | 'includeFiles'>): string[] {
  const seen = new Set<string>();
  /** Once any IgnoreUnknown is read, whether an unknown keyword is an error depends on the host: resolveProfile says. */
  let anyIgnoreUnknown = false;
  const check = (line: Directive) => {
    if (/^ignoreunknown$/i.test(line.param)) anyIgnoreUnknown = true;
    // Without one, ssh refuses the file for every host: so does the list.
    else if (!anyIgnoreUnknown && !knownKeyword(line.param)) throw unknownKeyword(line);
  };
  const walk = (lines: readonly Line[], depth: number): void => {
    for (const line of lines) {
      if (!isDirective(line)) continue;
      check(line);
      if (/^host$/i.test(line.param)) {
        for (const name of values(line.value)) if (!/[*?!]/.test(name)) seen.add(name);
      }
      for (const sub of hasConfig(line) ? line.config : [line]) {
        if (sub !== line && isDirective(sub)) check(sub);
        // Without a context, Include lines are not followed.
        if (ctx && isInclude(sub)) for (const config of included(sub as Directive, ctx, depth)) walk(config, depth + 1);
      }
    }
  };
  walk(parseSources(config), 0);
  return [...seen];
}

/** sshd_config(5) TIME FORMATS: `90`, `1m30s`, `1h` (checked when read: ssh-config-lines.ts). */
function parseTime(value: string, keyword: string, alias: string): number {
  const secs = convtime(value);
  if (secs < 0) throw badConfig(`ssh config for ${alias}: ${keyword} "${value}" is not a time like 30 or 1m30s`);
  return secs;
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
  const n = /^[+]?\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw badConfig(`ssh config for ${alias}: ${keyword} must be a number from ${min} to ${max}, found "${value}"`);
  return n;
}

/**
 * Resolve `alias` from the text of an ssh config (and the files it includes),
 * or from several in order (a saved host's lines, then the user's file).
 */
export function resolveProfile(alias: string, config: string | ConfigSource[], ctx: ProfileContext): HostProfile {
  const flat = flatten(parseSources(config), alias, ctx);
  // Match exec would run commands from the config at every lookup; ktray skips those blocks.
  const raw = flat.compute(alias, { ignoreCase: true, matchExec: false });
  const matchExec = applicableMatchExec(flat, alias);
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
  // Checked when read (ssh-config-lines.ts); a2port also takes a service name, as ssh does.
  const port = one('port') === undefined ? 22 : (a2port(one('port')!) ?? parseInteger(one('port')!, 'Port', alias, 1, 65535));
  const hostKeyAlias = one('hostkeyalias') ?? null;
  const jumpRaw = one('proxyjump');
  const commandRaw = one('proxycommand');
  // readconf.c: a ProxyCommand (even `none`) set first makes later ProxyJump lines no-ops, and a
  // ProxyJump host set first does the same to ProxyCommand; `ProxyJump none` blocks nothing
  // (OpenSSH 9.2, checked with `ssh -G` and by running ssh). compute keeps first-set order.
  const order = Object.keys(raw);
  const jumpWins =
    jumpRaw !== undefined &&
    jumpRaw.trim().toLowerCase() !== 'none' &&
    (commandRaw === undefined || order.indexOf('proxyjump') < order.indexOf('proxycommand'));
  const proxyCommand = !jumpWins && commandRaw !== undefined && commandRaw.trim().toLowerCase() !== 'none' ? commandRaw.trim() : null;
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
    j: jumpWins ? jumpRaw : '',
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
  const passwordPrompts = one('numberofpasswordprompts');

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
    proxyJump: jumpWins ? parseProxyJump(jumpRaw) : [],
    proxyCommand,
    userKnownHostsFiles: paths('userknownhostsfile', ['known_hosts', 'known_hosts2'].map((f) => join(ctx.homeDir, '.ssh', f))),
    globalKnownHostsFiles: paths('globalknownhostsfile', ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']),
    strictHostKeyChecking: one('stricthostkeychecking') === undefined ? 'ask' : parseStrict(one('stricthostkeychecking')!, alias),
    hostKeyAlias,
    // `none`, like unset (readconf.c parse_time): ours then, not ssh's 0 that never notices a dead link.
    serverAliveIntervalSec: alive === undefined || alive === 'none' ? DEFAULT_SERVER_ALIVE_INTERVAL_SEC : parseTime(alive, 'ServerAliveInterval', alias),
    serverAliveCountMax: countMax === undefined ? 3 : parseInteger(countMax, 'ServerAliveCountMax', alias, 0, 2147483647),
    numberOfPasswordPrompts: passwordPrompts === undefined ? 3 : parseInteger(passwordPrompts, 'NumberOfPasswordPrompts', alias, 0, 2147483647),
    connectTimeoutSec,
    ...(one('controlpath') !== undefined && one('controlpath')!.toLowerCase() !== 'none' ? { controlPath: one('controlpath')! } : {}),
    ...(one('gssapiauthentication') !== undefined && parseYesNo(one('gssapiauthentication')!, 'GSSAPIAuthentication', alias) ? { gssapiAuthentication: true } : {}),
    ...(list('certificatefile')?.some((f) => f.toLowerCase() !== 'none')
      ? { certificateFiles: [...new Set(list('certificatefile')!.filter((f) => f.toLowerCase() !== 'none').map(path))] }
      : {}),
    ...(matchExec !== undefined ? { matchExec } : {}),
  };
}

const MATCH_EXEC_PROBE = 'KtrayMatchExecProbe';

/**
 * The command of the first `Match exec` block that would apply if its command
 * succeeded: the same config, each such block's exec criterion dropped and its
 * lines replaced by one probe line, computed without running anything.
 */
function applicableMatchExec(flat: SSHConfig, alias: string): string | undefined {
  let any = false;
  const probe = new SSHConfig();
  for (const line of flat) {
    if (!isDirective(line) || !hasConfig(line) || !/^match$/i.test(line.param)) {
      probe.push(line);
      continue;
    }
    const crit = (line as Match).criteria as Record<string, unknown>;
    const execKey = Object.keys(crit).find((k) => k.toLowerCase() === 'exec');
    if (!execKey) {
      probe.push(line);
      continue;
    }
    any = true;
    const rest = Object.fromEntries(Object.entries(crit).filter(([k]) => k !== execKey));
    const command = values(crit[execKey] as Directive['value']).join(' ');
    const config = new SSHConfig();
    config.push({ type: LineType.DIRECTIVE, param: MATCH_EXEC_PROBE, separator: ' ', value: command, before: '', after: '\n' } as Directive);
    probe.push({ ...(line as Match), criteria: Object.keys(rest).length ? rest : { all: [] }, config } as unknown as Line);
  }
  if (!any) return undefined;
  const v = probe.compute(alias, { ignoreCase: true, matchExec: false })[MATCH_EXEC_PROBE.toLowerCase()];
  return v === undefined ? undefined : Array.isArray(v) ? v.join(' ') : v;
}
