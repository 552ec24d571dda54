// Where a kernel's channel lives on its host, and a stream to it: a TCP port
// on the host's loopback (another address only where allowed, see
// forward-policy.ts), or a unix socket (transport ipc, `IP-PORT` paths).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Host } from '../hosts/host';
import { privateSocketDir, unixSocketsHere } from '../util/paths';
import { forwardAddress } from './forward-policy';
import { Tunnel } from './tunnel';
import { CHANNELS, type Channel, type ChannelPorts, type ConnectionInfo, type LocalChannels } from '../../shared/types';

/**
 * ipc kernels name their sockets `IP-PORT`; jupyter writes IP absolute, and a
 * relative one is taken from the connection file's folder.
 */
export function ipcSocketPath(info: ConnectionInfo, channel: Channel, connectionFile?: string): string {
  const base = path.posix.isAbsolute(info.ip) || !connectionFile ? info.ip : path.posix.join(path.posix.dirname(connectionFile), info.ip);
  return `${base}-${info[`${channel}_port`]}`;
}

export interface ForwardOptions {
  /** The kernel's connection file on the host (resolves relative ipc paths). */
  connectionFile?: string;
  /** The kernel's id, named in a refusal. */
  kernel?: string;
  /** Addresses other than the host's loopback the user allowed for this kernel. */
  allowedAddresses?: readonly string[];
}

export function openChannel(host: Host, info: ConnectionInfo, channel: Channel, opts: ForwardOptions = {}): Promise<Duplex> {
  if (info.transport === 'ipc') return host.openUnixStream(ipcSocketPath(info, channel, opts.connectionFile));
  const address = forwardAddress(info, { kernel: opts.kernel ?? `the kernel on ${host.id}`, host: host.id, allowed: opts.allowedAddresses });
  return host.openStream(address, info[`${channel}_port`]);
}

/** A local listener for one of the kernel's channels (a unix socket at `socketPath`, else a 127.0.0.1 port). */
export function channelTunnel(
  host: Host,
  info: ConnectionInfo,
  channel: Channel,
  opts: ForwardOptions & { socketPath?: string; localPort?: number; onError?: (err: Error) => void } = {},
): Tunnel {
  return new Tunnel({ open: () => openChannel(host, info, channel, opts), socketPath: opts.socketPath, localPort: opts.localPort, onError: opts.onError });
}

/** The port numbers of local ipc sockets (`IP-1` … `IP-5`), in the order jupyter_client would give. */
export const IPC_PORTS: ChannelPorts = { shell: 1, iopub: 2, stdin: 3, control: 4, hb: 5 };

/**
 * Listeners of the agent's own (the monitor's heartbeat and iopub, a stop's
 * control channel) that no frontend is told about: unix sockets under random
 * names in the user's private socket folder, or 127.0.0.1 ports on Windows.
 */
export class PrivateChannels {
  private constructor(
    readonly local: LocalChannels,
    private readonly tunnels: Tunnel[],
  ) {}

  static async open(
    host: Host,
    info: ConnectionInfo,
    channels: readonly Channel[],
    opts: ForwardOptions & { onError?: (channel: Channel, err: Error) => void } = {},
  ): Promise<PrivateChannels> {
    const ipc = unixSocketsHere();
    const base = ipc ? path.join(await privateSocketDir(), `kt-${randomBytes(6).toString('hex')}`) : '127.0.0.1';
    const ports: ChannelPorts = { shell: 0, iopub: 0, stdin: 0, control: 0, hb: 0 };
    const tunnels: Tunnel[] = [];
    try {
      for (const ch of CHANNELS) {
        if (!channels.includes(ch)) continue;
        const t = channelTunnel(host, info, ch, {
          ...opts,
          socketPath: ipc ? `${base}-${IPC_PORTS[ch]}` : undefined,
          onError: opts.onError && ((err: Error) => opts.onError!(ch, err)),
        });
        tunnels.push(t);
        const port = await t.listen();
        ports[ch] = ipc ? IPC_PORTS[ch] : port;
      }
    } catch (err) {
      await Promise.all(tunnels.map((t) => t.close()));
      throw err;
    }
    return new PrivateChannels({ transport: ipc ? 'ipc' : 'tcp', ip: base, ports }, tunnels);
  }

  async close(): Promise<void> {
    await Promise.all(this.tunnels.map((t) => t.close()));
  }
}
