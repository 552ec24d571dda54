// A local listener on 127.0.0.1 whose every accepted socket becomes its own
// stream to the kernel's socket through the host's one connection. The
// listener outlives SSH drops: ZeroMQ clients reconnect to the same port by
// themselves and get a fresh stream once the host is back.
import net from 'node:net';
import type { Duplex } from 'node:stream';

export interface TunnelOptions {
  /** Opens one stream to the kernel's socket on the host (a TCP port or a unix socket). */
  open: () => Promise<Duplex>;
  /** Wanted local port (kept across restarts); 0 or busy: any free port. */
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

  get port(): number {
    return this._port;
  }

  get connections(): number {
    return this.sockets.size;
  }

  async listen(): Promise<number> {
    const tryPort = (port: number) =>
      new Promise<number>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        this.server.once('error', onError);
        this.server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
          this.server.removeListener('error', onError);
          resolve((this.server.address() as net.AddressInfo).port);
        });
      });
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
