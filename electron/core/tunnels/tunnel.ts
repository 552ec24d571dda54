// A local listener whose every accepted socket becomes its own stream to the
// kernel's socket through the host's one connection: a unix socket (mode 0600,
// in a folder only this user can enter) or a 127.0.0.1 port. The listener
// outlives SSH drops: ZeroMQ clients reconnect to the same place by
// themselves and get a fresh stream once the host is back.
import { chmod, lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import type { Duplex } from 'node:stream';

export interface TunnelOptions {
  /** Opens one stream to the kernel's socket on the host (a TCP port or a unix socket). */
  open: () => Promise<Duplex>;
  /**
   * Listen on this unix socket (its folder must be private: see ensurePrivateDir).
   * A stale socket there (nobody listening) is replaced; a live one, or any
   * other file, fails with EADDRINUSE.
   */
  socketPath?: string;
  /** Else 127.0.0.1: the wanted port (kept across restarts); 0 or busy: any free port. */
  localPort?: number;
  onError?: (err: Error) => void;
}

export class Tunnel {
  private readonly server = net.createServer();
  private readonly sockets = new Set<net.Socket>();
  private readonly streams = new Set<Duplex>();
  private _port = 0;

  constructor(private readonly opts: TunnelOptions) {
    this.server.on('connection', (socket) => this.accept(socket));
  }

  /** The 127.0.0.1 port, 0 for a unix socket. */
  get port(): number {
    return this._port;
  }

  get socketPath(): string | null {
    return this.opts.socketPath ?? null;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Resolves with the port (0 for a unix socket). */
  async listen(): Promise<number> {
    const listenOn = (where: net.ListenOptions) =>
      new Promise<number>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        this.server.once('error', onError);
        this.server.listen({ ...where, exclusive: true }, () => {
          this.server.removeListener('error', onError);
          const address = this.server.address();
          resolve(typeof address === 'object' && address ? address.port : 0);
        });
      });
    if (this.opts.socketPath) {
      const p = this.opts.socketPath;
      await clearStaleSocket(p);
      await listenOn({ path: p });
      // The folder already keeps others out; the socket's own mode says so too.
      await chmod(p, 0o600);
      return 0;
    }
    const tryPort = (port: number) => listenOn({ host: '127.0.0.1', port });
    const wanted = this.opts.localPort ?? 0;
    try {
      this._port = await tryPort(wanted);
    } catch (err) {
      if (wanted === 0) throw err;
      this._port = await tryPort(0);
    }
    return this._port;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.pause();
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    this.opts.open().then(
      (stream) => {
        if (socket.destroyed) {
          stream.destroy();
          return;
        }
        this.streams.add(stream);
        const done = () => {
          this.streams.delete(stream);
          socket.destroy();
          stream.destroy();
        };
        stream.on('close', done);
        stream.on('error', done);
        socket.on('close', done);
        socket.pipe(stream);
        stream.pipe(socket);
        socket.resume();
      },
      (err: Error) => {
        // The host is down: refuse this socket; the client retries later.
        socket.destroy();
        this.opts.onError?.(err);
      },
    );
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const s of this.streams) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A socket file nobody listens on (an agent that was killed) is removed; anything else is left alone. */
async function clearStaleSocket(p: string): Promise<void> {
  let st;
  try {
    st = await lstat(p);
  } catch {
    return;
  }
  const inUse = (what: string) => Object.assign(new Error(`${p} ${what}`), { code: 'EADDRINUSE' });
  if (!st.isSocket()) throw inUse('exists and is not a socket');
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path: p });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'ECONNREFUSED'));
  });
  if (live) throw inUse('is in use by another listener');
  await unlink(p);
}
