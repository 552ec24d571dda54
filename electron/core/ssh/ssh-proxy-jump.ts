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


/** Hops deeper than this are refused: OpenSSH has no limit, it starts ssh after ssh until one fails. */
const MAX_JUMP_DEPTH = 16;

const hopName = (h: { alias: string; user: string; hostname: string; port: number }) => h.alias;

/**
 * Every host to connect through before `target`, first first, as OpenSSH makes
 * them: `ProxyJump a,b` runs `ssh -J a -W HOST:PORT b`, so b's own ProxyJump and
 * ProxyCommand are overridden by that -J, while a is reached by a plain `ssh a`
 * with its own config: a's ProxyJump is followed the same way, and a's
 * ProxyCommand (or that of the first hop of a's chain) is what carries it.
 * `resolveHop` gives a hop's profile with its own ProxyJump. A loop is refused,
 * naming the chain.
 */
export function jumpChain<P extends { alias: string; user: string; hostname: string; port: number; proxyJump: ProxyHop[]; proxyCommand: string | null }>(
  target: P,
  resolveHop: (hop: ProxyHop) => P,
  hostId = target.alias,
): P[] {
  const walk = (p: P, path: string[]): P[] => {
    if (!p.proxyJump.length) return [];
    const hops = p.proxyJump.map(resolveHop);
    const first = hops[0];
    const next = [...path, hopName(first)];
    if (path.includes(hopName(first)) || next.length > MAX_JUMP_DEPTH) {
      const loop = path.includes(hopName(first));
      throw new KtrayError({
        code: 'SSH_CONFIG_INVALID',
        host: hostId,
        message: loop
          ? `The ProxyJump chain for ${hostId} loops: ${next.join(' → ')} (each host's ProxyJump names the next).`
          : `The ProxyJump chain for ${hostId} is more than ${MAX_JUMP_DEPTH} hosts deep: ${next.join(' → ')}.`,
        hint: `Fix ProxyJump for one of them in your ssh config (a jump host reached directly needs \`ProxyJump none\` in its own Host block before any \`Host *\` that sets one); \`ssh -G ${hopName(first)}\` shows what ssh makes of it.`,
      });
    }
    // The hops after the first ride the -J chain: their own jumps and commands do not apply.
    const rest = hops.slice(1).map((h) => ({ ...h, proxyJump: [], proxyCommand: null }));
    return [...walk(first, next), { ...first, proxyJump: [] }, ...rest];
  };
  return walk(target, [hopName(target)]);
}
