// Where a kernel's channel lives on its host, and a stream to it: a TCP port
// on the host's loopback, or a unix socket (transport ipc, `IP-PORT` paths).
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { Host } from '../hosts/host';
import { Tunnel } from './tunnel';
import type { Channel, ConnectionInfo } from '../../shared/types';

/** The address a tcp kernel listens on, as reachable from its own host. */
export function remoteAddress(info: ConnectionInfo): string {
  return info.ip === '0.0.0.0' || info.ip === '*' || info.ip === '' ? '127.0.0.1' : info.ip;
}

/**
 * ipc kernels name their sockets `IP-PORT`; jupyter writes IP absolute, and a
 * relative one is taken from the connection file's folder.
 */
export function ipcSocketPath(info: ConnectionInfo, channel: Channel, connectionFile?: string): string {
  const base = path.posix.isAbsolute(info.ip) || !connectionFile ? info.ip : path.posix.join(path.posix.dirname(connectionFile), info.ip);
  return `${base}-${info[`${channel}_port`]}`;
}

export function openChannel(host: Host, info: ConnectionInfo, channel: Channel, connectionFile?: string): Promise<Duplex> {
  return info.transport === 'ipc'
    ? host.openUnixStream(ipcSocketPath(info, channel, connectionFile))
    : host.openStream(remoteAddress(info), info[`${channel}_port`]);
}

/** A 127.0.0.1 listener for one of the kernel's channels, through the host's connection. */
export function channelTunnel(
  host: Host,
  info: ConnectionInfo,
  channel: Channel,
  opts: { connectionFile?: string; localPort?: number; onError?: (err: Error) => void } = {},
): Tunnel {
  return new Tunnel({ open: () => openChannel(host, info, channel, opts.connectionFile), localPort: opts.localPort, onError: opts.onError });
}
