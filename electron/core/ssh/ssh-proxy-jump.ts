// ProxyJump values, `ssh -J` syntax: `[user@]host[:port]` or
// `ssh://[user@]host[:port]`, comma-separated, or `none`.
import { KtrayError } from '../../shared/errors';

export interface ProxyHop {
  user?: string;
  host: string;
  port?: number;
}

function parseHop(hop: string): ProxyHop {
  const fail = (why: string) =>
    new KtrayError({
      code: 'BAD_INPUT',
      message: `ProxyJump: cannot use the jump host "${hop}": ${why}`,
      hint: 'Fix the line in your ssh config; `ssh -G <alias>` shows what ssh makes of it.',
    });
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

