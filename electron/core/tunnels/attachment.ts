// Attaching a remote kernel here: five local listeners and a local connection
// file (0600) that points any Jupyter frontend at them. The listeners are unix
// sockets in the user's 0700 runtime dir (`transport: ipc`), so no other local
// user can reach the kernel; 127.0.0.1 ports (tcp) only when asked, for
// frontends that need them, and on Windows.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { serializeConnectionFile, withLocalChannels } from '../jupyter/connection-file';
import type { Host } from '../hosts/host';
import { channelTunnel, IPC_PORTS } from './channel-tunnel';
import { checkForwardable } from './forward-policy';
import { ensurePrivateDir, privateSocketDir, socketPathFits } from '../util/paths';
import type { Tunnel } from './tunnel';
import { CHANNELS, type Channel, type ChannelPorts, type ConnectionInfo, type LocalChannels } from '../../shared/types';

export interface AttachmentOptions {
  host: Host;
  info: ConnectionInfo;
  /** The kernel's id (HOST/NAME), named in errors and hashed into socket names. */
  kernel: string;
  runtimeDir: string;
  fileName: string;
  /** The kernel's connection file on the host (resolves relative ipc paths). */
  connectionFile?: string;
  localTransport: 'tcp' | 'ipc';
  /** Where it was reachable before an agent restart: the same sockets or ports again, where free. */
  wanted?: LocalChannels | null;
  /** Addresses other than the host's loopback the user allowed for this kernel. */
  allowedAddresses?: readonly string[];
  /** A connection through a tunnel could not be forwarded (the host refused, or nothing listens). */
  onError?: (channel: Channel, err: Error) => void;
}

export class Attachment {
  private constructor(
    readonly tunnels: Record<Channel, Tunnel>,
    readonly local: LocalChannels,
    readonly localFile: string,
  ) {}

  get ports(): ChannelPorts {
    return this.local.ports;
  }

  /** Opens the listeners and writes the local file; refuses, before opening anything, an address not allowed. */
  static async open(opts: AttachmentOptions): Promise<Attachment> {
    checkForwardable(opts.info, { kernel: opts.kernel, host: opts.host.id, allowed: opts.allowedAddresses });
    await ensurePrivateDir(opts.runtimeDir, {
      what: 'The local Jupyter runtime dir',
      hint: 'Set JUPYTER_RUNTIME_DIR to a folder of your own (or fix the one `jupyter --runtime-dir` names).',
    });
    const { tunnels, local } = opts.localTransport === 'ipc' ? await listenIpc(opts) : await listenTcp(opts);
    try {
      const localFile = path.join(opts.runtimeDir, opts.fileName);
      await writeFile(localFile, serializeConnectionFile(withLocalChannels(opts.info, local)), { mode: 0o600 });
      // writeFile's mode applies only to new files; an old file keeps its mode.
      await chmod(localFile, 0o600);
      return new Attachment(tunnels, local, localFile);
    } catch (err) {
      await closeAll(tunnels);
      throw err;
    }
  }

  async close(opts: { removeFile: boolean }): Promise<void> {
    await closeAll(this.tunnels);
    if (opts.removeFile) await rm(this.localFile, { force: true });
  }

  /** Sockets a killed agent left behind for an attachment that is not open now. */
  static async removeLeftovers(local: LocalChannels): Promise<void> {
    if (local.transport !== 'ipc') return;
    for (const ch of CHANNELS) {
      const p = `${local.ip}-${local.ports[ch]}`;
      const st = await lstat(p).catch(() => null);
      if (st?.isSocket()) await unlink(p).catch(() => {});
    }
  }
}

type Tunnels = Record<Channel, Tunnel>;

function closeAll(tunnels: Partial<Tunnels>): Promise<unknown> {
  return Promise.all(Object.values(tunnels).map((t) => t.close()));
}

async function listenTcp(opts: AttachmentOptions): Promise<{ tunnels: Tunnels; local: LocalChannels }> {
  const wanted = opts.wanted?.transport === 'tcp' ? opts.wanted.ports : null;
  const ports = {} as ChannelPorts;
  const tunnels = {} as Tunnels;
  try {
    for (const ch of CHANNELS) {
      const t = channelTunnel(opts.host, opts.info, ch, { ...forward(opts), localPort: wanted?.[ch] ?? 0, onError: onError(opts, ch) });
      tunnels[ch] = t;
      ports[ch] = await t.listen();
    }
  } catch (err) {
    await closeAll(tunnels);
    throw err;
  }
  return { tunnels, local: { transport: 'tcp', ip: '127.0.0.1', ports } };
}

async function listenIpc(opts: AttachmentOptions): Promise<{ tunnels: Tunnels; local: LocalChannels }> {
  let lastError: unknown;
  for (const base of await ipcBases(opts)) {
    const tunnels = {} as Tunnels;
    try {
      for (const ch of CHANNELS) {
        const t = channelTunnel(opts.host, opts.info, ch, { ...forward(opts), socketPath: `${base}-${IPC_PORTS[ch]}`, onError: onError(opts, ch) });
        tunnels[ch] = t;
        await t.listen();
      }
      return { tunnels, local: { transport: 'ipc', ip: base, ports: { ...IPC_PORTS } } };
    } catch (err) {
      await closeAll(tunnels);
      // Taken (another agent of this user attached the same kernel) or in the way: the next name.
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      lastError = err;
    }
  }
  throw lastError;
}

/**
 * Where the sockets go, best first: where they were before an agent restart;
 * beside the connection file (`kernel-ktray-HOST-NAME-1` …) when the path is
 * short enough for a unix socket (~107 bytes), else a short private folder of
 * the user's own; then a random name in case those are taken.
 */
async function ipcBases(opts: AttachmentOptions): Promise<string[]> {
  const hash = createHash('sha256').update(opts.kernel).digest('hex').slice(0, 16);
  const fits = (base: string) => socketPathFits(`${base}-${IPC_PORTS.hb}`);
  const named = path.join(opts.runtimeDir, opts.fileName.replace(/\.json$/, ''));
  const plain = /^[A-Za-z0-9._-]+$/.test(path.basename(named));
  let dir = opts.runtimeDir;
  let preferred = plain && fits(named) ? named : path.join(dir, `kt-${hash}`);
  if (!fits(preferred)) {
    dir = await privateSocketDir();
    preferred = path.join(dir, `kt-${hash}`);
  }
  const bases = [preferred, path.join(dir, `kt-${hash}-${randomBytes(3).toString('hex')}`)];
  const before = opts.wanted?.transport === 'ipc' ? opts.wanted.ip : null;
  // Only in one of our own private folders: state.json is ours, but a folder may have changed hands since.
  if (before && fits(before) && [opts.runtimeDir, dir].includes(path.dirname(before))) bases.unshift(before);
  return [...new Set(bases)];
}

function forward(opts: AttachmentOptions) {
  return { connectionFile: opts.connectionFile, kernel: opts.kernel, allowedAddresses: opts.allowedAddresses };
}

function onError(opts: AttachmentOptions, ch: Channel) {
  return opts.onError && ((err: Error) => opts.onError!(ch, err));
}

/** `kernel-ktray-HOST-NAME.json`: found by `jupyter console --existing` and by name. */
export function localFileName(hostId: string, name: string): string {
  return `kernel-ktray-${hostId.replace(/[^A-Za-z0-9._-]/g, '_')}-${name}.json`;
}
