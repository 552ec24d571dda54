// ssh_config text split into lines the way OpenSSH 9.2 reads them
// (readconf.c process_config_line_depth, misc.c strdelim and argv_split), and
// checked the way it checks them: a line ssh rejects is rejected here, in
// ssh's words and naming the file and line (`FILE line 8: invalid quotes`),
// so a config that works for `ssh` works here and one that does not says why.
// Every line is checked, whichever Host block it is in, as ssh does. A keyword
// OpenSSH does not know is refused as ssh refuses it ("Bad configuration
// option") unless an IgnoreUnknown before it lists it: that check needs to know
// which blocks apply, so ssh-profile.ts makes it, with knownKeyword().
import { readFileSync } from 'node:fs';
import { KtrayError } from '../../shared/errors';
import { parseProxyJump } from './ssh-proxy-jump';

export interface ConfigLine {
  file: string;
  /** 1-based. */
  line: number;
  /** As written; compare it without case. */
  keyword: string;
  /** The arguments after quotes and escapes, as ssh's argv_split makes them. */
  args: string[];
  /** The text after the keyword, as ProxyJump and ProxyCommand take it. */
  rest: string;
}

export interface ConfigProblem {
  file: string;
  line: number;
  /** OpenSSH's own words for it. */
  reason: string;
}

const WHITESPACE = ' \t\r\n';

/** misc.c strdelim_internal with split_equals: one token, and what follows it; null for an unclosed quote. */
function strdelim(s: string | null): { token: string; rest: string | null } | null {
  if (s === null) return { token: '', rest: null };
  let i = 0;
  while (i < s.length && !`${WHITESPACE}"=`.includes(s[i])) i++;
  if (i === s.length) return { token: s, rest: null };
  if (s[i] === '"') {
    const close = s.indexOf('"', i + 1);
    if (close < 0) return null;
    let j = close + 1;
    while (j < s.length && WHITESPACE.includes(s[j])) j++;
    return { token: s.slice(0, i) + s.slice(i + 1, close), rest: s.slice(j) };
  }
  const equals = s[i] === '=';
  let j = i + 1;
  while (j < s.length && WHITESPACE.includes(s[j])) j++;
  if (!equals && s[j] === '=') {
    j++;
    while (j < s.length && WHITESPACE.includes(s[j])) j++;
  }
  return { token: s.slice(0, i), rest: s.slice(j) };
}

/** misc.c argv_split with terminate_on_comment; null for an unclosed quote. */
export function argvSplit(s: string): string[] | null {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') {
      i++;
      continue;
    }
    if (s[i] === '#') break;
    let arg = '';
    let quote = '';
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') {
        const n = s[i + 1];
        if (n === "'" || n === '"' || n === '\\' || (quote === '' && n === ' ')) {
          i++;
          arg += n;
        } else {
          arg += c;
        }
      } else if (quote === '' && (c === ' ' || c === '\t')) {
        break;
      } else if (quote === '' && (c === '"' || c === "'")) {
        quote = c;
      } else if (quote !== '' && c === quote) {
        quote = '';
      } else {
        arg += c;
      }
    }
    if (quote !== '') return null;
    args.push(arg);
  }
  return args;
}

/** misc.c convtime: `90`, `1m30s`, `1h`; -1 when it is not a time. */
export function convtime(s: string): number {
  if (s === '') return -1;
  let total = 0;
  const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  const re = /([+-]?\d+)([smhdw]?)/iy;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) return -1;
    const secs = Number(m[1]);
    if (secs < 0) return -1;
    total += secs * units[m[2].toLowerCase()];
    if (total > 2147483647) return -1;
    at = re.lastIndex;
  }
  return total;
}

/** misc.c strtonum's verdict on a decimal number, as atoi_err reports it. */
function strtonum(s: string, min: number, max: number): { value: number } | { error: 'invalid' | 'too small' | 'too large' } {
  if (!/^[ \t]*[+-]?\d+$/.test(s)) return { error: 'invalid' };
  const n = Number(s.trim());
  if (n < min) return { error: 'too small' };
  if (n > max) return { error: 'too large' };
  return { value: n };
}

let services: Map<string, number> | null = null;

/** getservbyname(name, "tcp"), from /etc/services: ssh accepts `Port ssh`. */
function servicePort(name: string): number | null {
  if (!services) {
    services = new Map();
    let text = '';
    try {
      text = readFileSync('/etc/services', 'utf8');
    } catch {
      // No services database: only numbers then.
    }
    for (const raw of text.split('\n')) {
      const [fields] = raw.split('#');
      const [svc, portProto, ...aliases] = fields.trim().split(/\s+/);
      const m = /^(\d+)\/tcp$/.exec(portProto ?? '');
      if (!svc || !m) continue;
      for (const n of [svc, ...aliases]) if (!services.has(n)) services.set(n, Number(m[1]));
    }
  }
  return services.get(name) ?? null;
}

/** misc.c a2port: 1..65535 or a tcp service name; null when ssh says "Bad port". */
export function a2port(s: string): number | null {
  const n = strtonum(s, 0, 65535);
  if ('value' in n) return n.value > 0 ? n.value : null;
  const p = servicePort(s);
  return p !== null && p > 0 ? p : null;
}

/**
 * Every keyword OpenSSH 9.2p1 (Debian 12's, with its GSSAPI patches) takes in
 * ssh_config, deprecated and unsupported ones included (ssh warns and goes on):
 * readconf.c's keywords table, found by offering ssh -G every lowercase string of
 * /usr/bin/ssh and its suffixes and keeping those it did not call a "Bad
 * configuration option" (ssh-profile.test.ts checks a sample against ssh -G).
 */
export const OPENSSH_KEYWORDS: ReadonlySet<string> = new Set([
  'addkeystoagent', 'addressfamily', 'afstokenpassing', 'batchmode', 'bindaddress', 'bindinterface', 'canonicaldomains', 'canonicalizefallbacklocal',
  'canonicalizehostname', 'canonicalizemaxdots', 'canonicalizepermittedcnames', 'casignaturealgorithms', 'certificatefile', 'challengeresponseauthentication', 'checkhostip', 'cipher',
  'ciphers', 'clearallforwardings', 'compression', 'compressionlevel', 'connectionattempts', 'connecttimeout', 'controlmaster', 'controlpath',
  'controlpersist', 'dsaauthentication', 'dynamicforward', 'enableescapecommandline', 'enablesshkeysign', 'escapechar', 'exitonforwardfailure', 'fallbacktorsh',
  'fingerprinthash', 'forkafterauthentication', 'forwardagent', 'forwardx11', 'forwardx11timeout', 'forwardx11trusted', 'gatewayports', 'globalknownhostsfile',
  'globalknownhostsfile2', 'gssapiauthentication', 'gssapiclientidentity', 'gssapidelegatecredentials', 'gssapikexalgorithms', 'gssapikeyexchange', 'gssapirenewalforcesrekey', 'gssapiserveridentity',
  'gssapitrustdns', 'hashknownhosts', 'host', 'hostbasedacceptedalgorithms', 'hostbasedauthentication', 'hostbasedkeytypes', 'hostkeyalgorithms', 'hostkeyalias',
  'hostname', 'identitiesonly', 'identityagent', 'identityfile', 'identityfile2', 'ignoreunknown', 'include', 'ipqos',
  'kbdinteractiveauthentication', 'kbdinteractivedevices', 'keepalive', 'kerberosauthentication', 'kerberostgtpassing', 'kexalgorithms', 'knownhostscommand', 'localcommand',
  'localforward', 'loglevel', 'logverbose', 'macs', 'match', 'nohostauthenticationforlocalhost', 'numberofpasswordprompts', 'passwordauthentication',
  'permitlocalcommand', 'permitremoteopen', 'pkcs11provider', 'port', 'preferredauthentications', 'protocol', 'protocolkeepalives', 'proxycommand',
  'proxyjump', 'proxyusefdpass', 'pubkeyacceptedalgorithms', 'pubkeyacceptedkeytypes', 'pubkeyauthentication', 'rekeylimit', 'remotecommand', 'remoteforward',
  'requesttty', 'requiredrsasize', 'revokedhostkeys', 'rhostsauthentication', 'rhostsrsaauthentication', 'rsaauthentication', 'securitykeyprovider', 'sendenv',
  'serveralivecountmax', 'serveraliveinterval', 'sessiontype', 'setenv', 'setuptimeout', 'skeyauthentication', 'smartcarddevice', 'stdinnull',
  'streamlocalbindmask', 'streamlocalbindunlink', 'stricthostkeychecking', 'syslogfacility', 'tcpkeepalive', 'tisauthentication', 'tunnel', 'tunneldevice',
  'updatehostkeys', 'useblacklistedkeys', 'useprivilegedport', 'user', 'userknownhostsfile', 'userknownhostsfile2', 'useroaming', 'usersh',
  'verifyhostkeydns', 'visualhostkey', 'xauthlocation',
]);

/**
 * Keywords 9.2 refuses but an ssh a user may run takes, so that a file their own
 * ssh reads is never refused here: later OpenSSH releases (from their release
 * notes; none runs here) Tag (9.4), ObscureKeystrokeTiming (9.5), ChannelTimeout
 * (client side), RefuseConnection (10.0), WarnWeakCrypto (10.1); and Apple's ssh
 * on macOS, UseKeychain (common in `Host *` blocks there).
 */
export const OTHER_SSH_KEYWORDS: ReadonlySet<string> = new Set(['tag', 'obscurekeystroketiming', 'channeltimeout', 'refuseconnection', 'warnweakcrypto', 'usekeychain']);

/** A keyword some ssh knows (see the two sets above). */
export function knownKeyword(keyword: string): boolean {
  const k = keyword.toLowerCase();
  return OPENSSH_KEYWORDS.has(k) || OTHER_SSH_KEYWORDS.has(k);
}

const STRICT_VALUES = ['true', 'false', 'yes', 'no', 'ask', 'off', 'accept-new'];
const FLAG_VALUES = ['true', 'false', 'yes', 'no'];
const MATCH_WITHOUT_ARG = ['all', 'canonical', 'final'];

/** What ssh says about one line's arguments, or null when it takes them (readconf.c, per keyword). */
function checkArgs(keyword: string, args: string[], rest: string): string | null {
  const first = args[0];
  const extra = (n: number) => (args.length > n ? `keyword ${keyword} extra arguments at end of line` : null);
  const missing = first === undefined || first === '';
  switch (keyword) {
    case 'host':
      return args.some((a) => a === '') ? `keyword ${keyword} empty argument` : null;
    case 'match': {
      const why = matchProblem(args);
      return why ? `${why} (Bad Match condition)` : null;
    }
    case 'hostname':
    case 'user':
    case 'hostkeyalias':
    case 'identityfile':
    case 'identityagent':
      return missing ? 'Missing argument.' : extra(1);
    case 'port':
      if (missing) return 'Missing argument.';
      return a2port(first) === null ? `Bad port '${first}'.` : extra(1);
    case 'stricthostkeychecking':
    case 'identitiesonly': {
      if (missing) return 'missing argument.';
      const allowed = keyword === 'identitiesonly' ? FLAG_VALUES : STRICT_VALUES;
      return allowed.includes(first.toLowerCase()) ? extra(1) : `unsupported option "${first}".`;
    }
    case 'connecttimeout':
    case 'serveraliveinterval':
      if (missing) return 'missing time value.';
      return first === 'none' || convtime(first) >= 0 ? extra(1) : 'invalid time value.';
    case 'serveralivecountmax':
    case 'numberofpasswordprompts': {
      if (missing) return 'integer value missing.';
      const n = strtonum(first, 0, 2147483647);
      return 'error' in n ? `integer value ${n.error}.` : extra(1);
    }
    case 'userknownhostsfile':
    case 'globalknownhostsfile':
      if (args.some((a) => a === '')) return `keyword ${keyword} empty argument`;
      return args.length > 1 && args.some((a) => a.toLowerCase() === 'none') ? `keyword ${keyword} "none" argument must appear alone.` : null;
    case 'include':
      return args.some((a) => a === '') ? `keyword ${keyword} empty argument` : null;
    case 'proxyjump': {
      const value = rest.replace(/^[ \t\r\n=]+/, '');
      try {
        parseProxyJump(value);
        return null;
      } catch {
        return `Invalid ProxyJump "${value}"`;
      }
    }
    default:
      return null;
  }
}

/** readconf.c match_cfg_line's complaints about the shape of a Match line. */
function matchProblem(args: string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const attr = args[i].replace(/^!/, '').toLowerCase();
    if (MATCH_WITHOUT_ARG.includes(attr)) {
      if (attr === 'all' && args.length > 1) return "'all' cannot be combined with other Match attributes";
      continue;
    }
    if (i + 1 >= args.length || args[i + 1] === '') return `Missing Match criteria for ${attr}`;
    i++;
  }
  return null;
}

/** Every line of `text` ssh would act on, or the lines it rejects with its reasons. */
export function scanConfig(text: string, file: string): { lines: ConfigLine[]; problems: ConfigProblem[] } {
  const lines: ConfigLine[] = [];
  const problems: ConfigProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    const n = i + 1;
    // Trailing whitespace (and a form feed) go; the first character always stays, as in ssh.
    let line = raw;
    while (line.length > 1 && `${WHITESPACE}\f`.includes(line[line.length - 1])) line = line.slice(0, -1);
    if (line === '') return;
    let kw = strdelim(line);
    if (kw === null) return; // ssh skips a line whose keyword has an unclosed quote
    if (kw.token === '') kw = strdelim(kw.rest);
    if (kw === null || kw.token === '' || kw.token.startsWith('#')) return;
    const keyword = kw.token;
    const lower = keyword.toLowerCase();
    const rest = (kw.rest ?? '').replace(/^[ \t\r\n]+/, '');
    if (rest === '') {
      problems.push({ file, line: n, reason: `no argument after keyword "${lower}"` });
      return;
    }
    const args = argvSplit(rest);
    if (args === null) {
      problems.push({ file, line: n, reason: 'invalid quotes' });
      return;
    }
    const why = checkArgs(lower, args, rest);
    if (why) problems.push({ file, line: n, reason: why });
    else lines.push({ file, line: n, keyword, args, rest });
  });
  return { lines, problems };
}

/** The lines of a config, or the error for its first bad line (ssh refuses the whole file too). */
export function configLines(text: string, file: string): ConfigLine[] {
  const { lines, problems } = scanConfig(text, file);
  if (problems.length) throw configError(problems);
  return lines;
}

export function configError(problems: ConfigProblem[], hint?: string): KtrayError {
  const [p] = problems;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more bad ${problems.length === 2 ? 'line' : 'lines'})` : '';
  return new KtrayError({
    code: 'SSH_CONFIG_INVALID',
    message: `${p.file} line ${p.line}: ${p.reason}${more}`,
    hint: hint ?? `Fix that line; \`ssh -G -F ${p.file} HOST\` checks the file the same way. Kernel Tray reads it again on every command.`,
    detail: { file: p.file, line: p.line, problems },
  });
}
