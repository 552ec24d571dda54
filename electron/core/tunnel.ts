// A local listener on 127.0.0.1 whose every accepted socket becomes its own
// stream to the kernel's port through the host's one connection. The listener
// outlives SSH drops: ZeroMQ clients reconnect to the same port by themselves
// and get a fresh stream once the host is back.
import net from 'node:net';
import type { Duplex } from 'node:stream';

export interface TunnelOptions {
  /** Opens one stream to the kernel's socket on the host (a TCP port or a unix socket). */
  open: () => Promise<Duplex>;
  /** Wanted local port (kept across restarts); 0 or busy: any free port. */
  localPort?: number;
  /**
   * For this long after listen(), keep one stream opened in advance, so the
   * frontends about to connect do not wait a round trip for their channel.
   * Keep it well under ZeroMQ's 30 s handshake limit, after which the kernel
   * drops a connection that has not spoken.
   */
  prewarmMs?: number;
  onError?: (err: Error) => void;
}

export class Tunnel {
  private readonly server = net.createServer();
  private readonly sockets = new Set<net.Socket>();
  private readonly streams = new Set<Duplex>();
  private _port = 0;
  private spare: Promise<Duplex> | null = null;
  private spareUntil = 0;
  private spareTimer: NodeJS.Timeout | null = null;
  private closed = false;

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
    if (this.opts.prewarmMs) {
      this.spareUntil = Date.now() + this.opts.prewarmMs;
      this.spareTimer = setTimeout(() => this.dropSpare(), this.opts.prewarmMs);
      this.spareTimer.unref?.();
      this.fillSpare();
    }
    return this._port;
  }

  private fillSpare(): void {
    if (this.closed || Date.now() >= this.spareUntil) return;
    const opening = this.opts.open();
    opening.catch(() => {});
    this.spare = opening;
  }

  private dropSpare(): void {
    const spare = this.spare;
    this.spare = null;
    this.spareUntil = 0;
    void spare?.then((s) => s.destroy(), () => {});
  }

  /** The stream opened in advance if there is a live one (and open the next), else a new one. */
  private stream(): Promise<Duplex> {
    const spare = this.spare;
    if (!spare) return this.opts.open();
    this.spare = null;
    this.fillSpare();
    return spare.then(
      (s) => (s.destroyed || !s.readable ? this.opts.open() : s),
      () => this.opts.open(),
    );
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.pause();
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    this.stream().then(
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
    this.closed = true;
    if (this.spareTimer) clearTimeout(this.spareTimer);
    this.dropSpare();
    for (const s of this.sockets) s.destroy();
    for (const s of this.streams) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
