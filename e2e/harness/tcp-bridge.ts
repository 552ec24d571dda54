// The only way into the fake remote host: a 127.0.0.1 TCP listener in the test process that
// pipes every connection to sshd. Owning this hop lets tests cut connections (Wi-Fi drop),
// make the host unreachable, and add latency, all without root tricks like tc/netem.
import net from 'node:net';

export interface TcpBridgeOptions {
  /** Opens the upstream connection (a unix socket into the namespace, or sshd's TCP port). */
  connectUpstream: () => net.Socket;
  latencyMs?: number;
}

interface Relay {
  cancel(): void;
  /** src sent FIN; cb runs once that FIN has been passed on to dst (after the latency). */
  afterEnd(cb: () => void): boolean;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  relays: Relay[];
  /** Bytes vanish both ways, the sockets stay open: a link that died without TCP noticing. */
  frozen: boolean;
}

export class TcpBridge {
  private readonly pairs = new Set<Pair>();
  private reachable = true;
  private latencyMs: number;
  private accepted = 0;
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    private readonly opts: TcpBridgeOptions,
  ) {
    this.latencyMs = opts.latencyMs ?? 0;
  }

  static async listen(opts: TcpBridgeOptions): Promise<TcpBridge> {
    const server = net.createServer({ allowHalfOpen: true });
    const bridge = new TcpBridge(server, opts);
    server.on('connection', (socket) => bridge.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return bridge;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get connectionCount(): number {
    return this.pairs.size;
  }

  /** Connections accepted since the bridge started. */
  get acceptedCount(): number {
    return this.accepted;
  }

  /** Every open connection silently stops carrying bytes (a laptop that slept); new ones work. */
  freezeConnections(): void {
    for (const pair of this.pairs) pair.frozen = true;
  }

  dropConnections(): void {
    for (const pair of [...this.pairs]) this.kill(pair);
  }

  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (!reachable) this.dropConnections();
  }

  setLatency(ms: number): void {
    if (!(ms >= 0)) throw new Error(`latency must be a non-negative number of ms, got ${ms}`);
    this.latencyMs = ms;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (!this.reachable || this.closed) {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    this.accepted++;
    const upstream = this.opts.connectUpstream();
    const pair: Pair = { client, upstream, relays: [], frozen: false };
    this.pairs.add(pair);
    const latency = () => this.latencyMs;
    const frozen = () => pair.frozen;
    pair.relays.push(relay(client, upstream, latency, frozen), relay(upstream, client, latency, frozen));
    const [fromClient, fromUpstream] = pair.relays as [Relay, Relay];
    const onError = () => this.kill(pair);
    client.on('error', onError);
    upstream.on('error', onError);
    // A side that closed cleanly may still have data and its FIN in flight towards the other
    // side: pass those on, then close the other side too. Anything abrupt kills the pair.
    const onClose = (from: Relay, into: Relay, other: net.Socket) => (hadError: boolean) => {
      into.cancel();
      if (hadError || !from.afterEnd(() => other.destroySoon())) this.kill(pair);
      if (client.destroyed && upstream.destroyed) this.pairs.delete(pair);
    };
    client.on('close', onClose(fromClient, fromUpstream, upstream));
    upstream.on('close', onClose(fromUpstream, fromClient, client));
  }

  private kill(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    for (const r of pair.relays) r.cancel();
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    pair.upstream.destroy();
  }
}

/**
 * Copies src to dst, holding each chunk back by the current latency. Chunks leave in arrival
 * order even when the latency changes mid-stream (a later chunk never overtakes an earlier one),
 * and many chunks are in flight at once so throughput is not capped by the delay.
 */
function relay(src: net.Socket, dst: net.Socket, latency: () => number, frozen: () => boolean): Relay {
  const queue: { at: number; chunk: Buffer | null }[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;
  let paused = false;
  let srcEnded = false;
  let endDelivered = false;
  let onEndDelivered: (() => void) | undefined;

  const deliver = (chunk: Buffer | null) => {
    if (dst.destroyed) return;
    if (chunk === null) {
      dst.end();
      endDelivered = true;
      onEndDelivered?.();
      return;
    }
    if (!dst.write(chunk) && !paused) {
      paused = true;
      src.pause();
      dst.once('drain', () => {
        paused = false;
        src.resume();
      });
    }
  };
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (head < queue.length && queue[head]!.at <= now) deliver(queue[head++]!.chunk);
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else {
      if (head > 1024) {
        queue.splice(0, head);
        head = 0;
      }
      timer = setTimeout(flush, Math.max(1, Math.ceil(queue[head]!.at - now)));
    }
  };
  const push = (chunk: Buffer | null) => {
    const ms = latency();
    if (ms <= 0 && head === queue.length) {
      deliver(chunk);
      return;
    }
    queue.push({ at: performance.now() + ms, chunk });
    if (!timer) timer = setTimeout(flush, Math.max(1, Math.ceil(ms)));
  };
  src.on('data', (chunk: Buffer) => {
    if (!frozen()) push(chunk);
  });
  src.on('end', () => {
    srcEnded = true;
    push(null);
  });
  return {
    cancel() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      queue.length = 0;
      head = 0;
    },
    afterEnd(cb) {
      if (!srcEnded) return false;
      if (endDelivered) cb();
      else onEndDelivered = cb;
      return true;
    },
  };
}
