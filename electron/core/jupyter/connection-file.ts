// Jupyter connection files: parsed and checked where they enter (a remote
// host's runtime dir, a user's path), written back in jupyter_client's layout.
import { getHashes } from 'node:crypto';
import { KtrayError } from '../../shared/errors';
import { CHANNELS, type ConnectionInfo, type LocalChannels } from '../../shared/types';

const PORT_KEYS = CHANNELS.map((c) => `${c}_port` as const);

// jupyter_client reads files without these two and falls back to the same values.
const DEFAULT_TRANSPORT = 'tcp';
const DEFAULT_SIGNATURE_SCHEME = 'hmac-sha256';

function bad(source: string, what: string): KtrayError {
  return new KtrayError({
    code: 'BAD_INPUT',
    message: `Connection file ${source}: ${what}`,
    hint: 'A connection file is the JSON a Jupyter kernel writes (kernel-*.json in `jupyter --runtime-dir`).',
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Hash names usable in `hmac-<hash>`, as node:crypto knows them. */
function supportedScheme(scheme: string): boolean {
  const m = /^hmac-(.+)$/.exec(scheme);
  return m !== null && getHashes().includes(m[1]);
}

/** Check a parsed value and copy out exactly the fields of a ConnectionInfo. */
export function validateConnectionInfo(value: unknown, source: string): ConnectionInfo {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(source, `expected a JSON object, found ${describe(value)}`);
  }
  const raw = value as Record<string, unknown>;
  const missing = ['ip', ...PORT_KEYS, 'key'].filter((k) => !(k in raw));
  if (missing.length > 0) throw bad(source, `missing key${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);

  const ports = {} as Record<(typeof PORT_KEYS)[number], number>;
  for (const k of PORT_KEYS) {
    const port = raw[k];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw bad(source, `${k} must be an integer from 1 to 65535, found ${describe(port)}`);
    }
    ports[k] = port;
  }
  if (typeof raw.ip !== 'string' || raw.ip === '') {
    throw bad(source, `ip must be a non-empty string, found ${describe(raw.ip)}`);
  }
  // An empty key is legal: the kernel then neither signs nor checks messages.
  if (typeof raw.key !== 'string') throw bad(source, `key must be a string, found ${describe(raw.key)}`);

  const transport = raw.transport ?? DEFAULT_TRANSPORT;
  if (transport !== 'tcp' && transport !== 'ipc') {
    throw bad(source, `transport must be "tcp" or "ipc", found ${describe(transport)}`);
  }
  const scheme = raw.signature_scheme ?? DEFAULT_SIGNATURE_SCHEME;
  if (typeof scheme !== 'string' || !supportedScheme(scheme)) {
    throw bad(source, `signature_scheme must be hmac-<hash> with a hash such as sha256, found ${describe(scheme)}`);
  }
  if (raw.kernel_name !== undefined && typeof raw.kernel_name !== 'string') {
    throw bad(source, `kernel_name must be a string, found ${describe(raw.kernel_name)}`);
  }

  const info: ConnectionInfo = {
    ...ports,
    ip: raw.ip,
    key: raw.key,
    transport,
    signature_scheme: scheme,
  };
  if (typeof raw.kernel_name === 'string') info.kernel_name = raw.kernel_name;
  return info;
}

/** Parse the text of a connection file; `source` names it in errors (path, `host:path`). */
export function parseConnectionFile(text: string, source: string): ConnectionInfo {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bad(source, `not JSON (${(err as Error).message})`);
  }
  return validateConnectionInfo(value, source);
}

/** The file's text, in the key order and indentation jupyter_client writes. */
export function serializeConnectionFile(info: ConnectionInfo): string {
  const ordered: Record<string, unknown> = {
    shell_port: info.shell_port,
    iopub_port: info.iopub_port,
    stdin_port: info.stdin_port,
    control_port: info.control_port,
    hb_port: info.hb_port,
    ip: info.ip,
    key: info.key,
    transport: info.transport,
    signature_scheme: info.signature_scheme,
  };
  if (info.kernel_name !== undefined) ordered.kernel_name = info.kernel_name;
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** `.../kernel-abc.json` -> `abc`; `.../foo.json` -> `foo`. */
export function kernelNameFromPath(path: string): string {
  // Split on both separators: remote paths are POSIX, local ones may be Windows.
  const base = path.split(/[\\/]/).pop() ?? path;
  return base
    .replace(/\.json$/i, '')
    .replace(/^kernel-(?=.)/, '');
}

/**
 * The same kernel as seen through local tunnels: its key and scheme with the
 * local ends' transport, address and ports (unix sockets `IP-PORT`, or
 * 127.0.0.1), whatever transport the kernel itself uses on its host.
 */
export function withLocalChannels(info: ConnectionInfo, local: LocalChannels): ConnectionInfo {
  return {
    ...info,
    transport: local.transport,
    ip: local.ip,
    shell_port: local.ports.shell,
    iopub_port: local.ports.iopub,
    stdin_port: local.ports.stdin,
    control_port: local.ports.control,
    hb_port: local.ports.hb,
  };
}
