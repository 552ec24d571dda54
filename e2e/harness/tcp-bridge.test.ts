// The bridge's own guarantees, against a plain TCP echo server (no SSH needed for these).
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpBridge } from './tcp-bridge';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function echoBridge(latencyMs = 0) {
  const echo = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const port = (echo.address() as net.AddressInfo).port;
  const bridge = await TcpBridge.listen({ connectUpstream: () => net.createConnection({ host: '127.0.0.1', port }), latencyMs });
  cleanups.push(() => new Promise<void>((r) => echo.close(() => r())), () => bridge.close());
  return bridge;
}

function connect(port: number) {
  const s = net.createConnection({ host: '127.0.0.1', port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<string>((resolve) => {
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    s.on('end', () => resolve('end'));
  });
  return { s, closed, received: () => Buffer.concat(chunks) };
}

describe('TcpBridge', () => {
  it('keeps byte order while the latency changes mid-stream, then passes the FIN on', async () => {
    const bridge = await echoBridge(30);
    const c = connect(bridge.port);
    const sent: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const chunk = Buffer.from(`chunk-${i};`.repeat(50));
      sent.push(chunk);
      c.s.write(chunk);
      if (i % 50 === 0) bridge.setLatency([0, 40, 5, 0, 25][(i / 50) % 5]!);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    c.s.end();
    expect(await c.closed).toBe('end');
    expect(c.received().equals(Buffer.concat(sent))).toBe(true);
  });

  it('dropConnections() resets open connections but accepts new ones', async () => {
    const bridge = await echoBridge();
    const c = connect(bridge.port);
    c.s.write('x');
    await new Promise((r) => c.s.once('data', r));
    bridge.dropConnections();
    expect(await c.closed).toBe('ECONNRESET');
    const again = connect(bridge.port);
    again.s.end('y');
    expect(await again.closed).toBe('end');
    expect(again.received().toString()).toBe('y');
  });

  it('setReachable(false) resets existing and new connections until set back', async () => {
    const bridge = await echoBridge();
    const c = connect(bridge.port);
    c.s.write('x');
    await new Promise((r) => c.s.once('data', r));
    bridge.setReachable(false);
    expect(await c.closed).toBe('ECONNRESET');
    expect(await connect(bridge.port).closed).toBe('ECONNRESET');
    bridge.setReachable(true);
    const back = connect(bridge.port);
    back.s.end('z');
    expect(await back.closed).toBe('end');
    expect(back.received().toString()).toBe('z');
  });
});

describe('TcpBridge freezing', () => {
  it('lets frozen connections carry nothing while they stay open, and serves new ones', async () => {
    const bridge = await echoBridge();
    const old = connect(bridge.port);
    await new Promise<void>((r) => old.s.once('connect', () => r()));
    expect(bridge.acceptedCount).toBe(1);
    bridge.freezeConnections();
    old.s.write('lost');
    const fresh = connect(bridge.port);
    fresh.s.write('kept');
    await new Promise<void>((resolve) => {
      const check = () => (fresh.received().toString() === 'kept' ? resolve() : setTimeout(check, 10));
      check();
    });
    expect(old.received().toString()).toBe('');
    expect(old.s.destroyed).toBe(false);
    expect(bridge.acceptedCount).toBe(2);
    old.s.destroy();
    fresh.s.destroy();
  });
});
