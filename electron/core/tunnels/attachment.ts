// Attaching a remote kernel here: five tunnels on 127.0.0.1 and a local
// connection file (0600) that points any Jupyter frontend at them.
import { chmod, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { serializeConnectionFile, withLocalPorts } from '../jupyter/connection-file';
import type { Host } from '../hosts/host';
import { channelTunnel } from './channel-tunnel';
import { ensurePrivateDir } from '../util/paths';
import type { Tunnel } from './tunnel';
import { CHANNELS, type Channel, type ChannelPorts, type ConnectionInfo } from '../../shared/types';

export class Attachment {
  private constructor(
    readonly tunnels: Record<keyof ChannelPorts, Tunnel>,
    readonly ports: ChannelPorts,
    readonly localFile: string,
  ) {}

  /**
   * Opens the tunnels (on `wantedPorts` where free, so frontends attached
   * before an agent restart find them again) and writes the local file.
   */
  static async open(opts: {
    host: Host;
    info: ConnectionInfo;
    runtimeDir: string;
    fileName: string;
    /** The kernel's connection file on the host (resolves relative ipc paths). */
    connectionFile?: string;
    wantedPorts?: ChannelPorts | null;
    /** A connection through a tunnel could not be forwarded (the host refused, or nothing listens). */
    onError?: (channel: Channel, err: Error) => void;
  }): Promise<Attachment> {
    const { host, info } = opts;
    const tunnels = {} as Record<keyof ChannelPorts, Tunnel>;
    const ports = {} as ChannelPorts;
    try {
      for (const ch of CHANNELS) {
        // An ipc kernel's unix sockets become TCP listeners here: frontends on this computer speak tcp.
        const t = channelTunnel(host, info, ch, {
          connectionFile: opts.connectionFile,
          localPort: opts.wantedPorts?.[ch] ?? 0,
          onError: opts.onError && ((err: Error) => opts.onError!(ch, err)),
        });
        tunnels[ch] = t;
        ports[ch] = await t.listen();
      }
      await ensurePrivateDir(opts.runtimeDir);
      const localFile = path.join(opts.runtimeDir, opts.fileName);
      await writeFile(localFile, serializeConnectionFile(withLocalPorts(info, ports)), { mode: 0o600 });
      // writeFile's mode applies only to new files; an old file keeps its mode.
      await chmod(localFile, 0o600);
      return new Attachment(tunnels, ports, localFile);
    } catch (err) {
      await Promise.all(Object.values(tunnels).map((t) => t.close()));
      throw err;
    }
  }

  async close(opts: { removeFile: boolean }): Promise<void> {
    await Promise.all(Object.values(this.tunnels).map((t) => t.close()));
    if (opts.removeFile) await rm(this.localFile, { force: true });
  }
}

/** `kernel-ktray-HOST-NAME.json`: found by `jupyter console --existing` and by name. */
export function localFileName(hostId: string, name: string): string {
  return `kernel-ktray-${hostId.replace(/[^A-Za-z0-9._-]/g, '_')}-${name}.json`;
}
