// Against real TCP: a local echo server stands in for the kernel's port, and
// open() connects to it the way LocalHost does.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tunnel } from './tunnel';
import { connectTcp, freePort } from '../../../e2e/harness/net';
import { until } from '../../../e2e/harness/wait';

interface Echo {
  port: number;
  /** Server-side sockets, in accept order. */
  accepted: net.Socket[];
  /** Resolves with the next accepted socket. */
  next(): Promise<net.Socket>;
  close(): Promise<void>;
}

async function startEcho(): Promise<Echo> {
  const accepted: net.Socket[] = [];
  const waiting: Array<(s: net.Socket) => void> = [];
  const server = net.createServer((s) => {
    accepted.push(s);
    s.on('error', () => s.destroy());
    s.pipe(s);
    waiting.shift()?.(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted,
    next: () => new Promise((r) => waiting.push(r)),
    close: () => {
      for (const s of accepted) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Resolves when the stream has closed; fails the test if it does not within the timeout. */
const closed = (s: Duplex, what = 'the stream to close') => until(() => s.closed || s.destroyed, { what });

function readBytes(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= n) {
        s.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    s.on('data', onData);
    s.once('close', () => (got < n ? reject(new Error(`closed after ${got} of ${n} bytes`)) : undefined));
  });
}


let echo: Echo;
const tunnels: Tunnel[] = [];
const clients: net.Socket[] = [];

function tunnelTo(port: number, extra: Partial<ConstructorParameters<typeof Tunnel>[0]> = {}): Tunnel {
  const t = new Tunnel({
    open: () => connectTcp(port, '127.0.0.1'),
    ...extra,
  });
  tunnels.push(t);
  return t;
}

async function client(port: number): Promise<net.Socket> {
  const s = await connectTcp(port);
  s.on('error', () => {});
  clients.push(s);
  return s;
}

beforeEach(async () => {
  echo = await startEcho();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(tunnels.splice(0).map((t) => t.close()));
  await echo.close();
});

describe('Tunnel', () => {
  it('listens on 127.0.0.1 only', async () => {
    const t = tunnelTo(echo.port);
    const port = await t.listen();
    expect(port).toBe(t.port);
    const address = (t as unknown as { server: net.Server }).server.address() as net.AddressInfo;
    expect(address).toMatchObject({ address: '127.0.0.1', family: 'IPv4', port });
    // Reaching it through any other address of this machine is refused.
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    for (const ip of others) {
      await expect(connectTcp(port, ip)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }
  });

  it('carries 1 MB both ways intact', async () => {
    const t = tunnelTo(echo.port);
    const s = await client(await t.listen());
    const payload = randomBytes(1024 * 1024);
    const back = readBytes(s, payload.length);
    s.write(payload);
    const got = await back;
    expect(got.length).toBe(payload.length);
    expect(got.equals(payload)).toBe(true);
    expect(t.connections).toBe(1);
  });

  it('gives every accepted socket its own stream', async () => {
    const t = tunnelTo(echo.port);
    const port = await t.listen();
    const a = await client(port);
    const b = await client(port);
    const aBack = readBytes(a, 1);
    const bBack = readBytes(b, 1);
    a.write('a');
    b.write('b');
    expect((await aBack).toString()).toBe('a');
    expect((await bBack).toString()).toBe('b');
    expect(echo.accepted).toHaveLength(2);
  });

  it('keeps bytes a client sends before its stream is open', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const t = tunnelTo(echo.port, { open: async () => (await gate, connectTcp(echo.port, '127.0.0.1')) });
    const s = await client(await t.listen());
    const back = readBytes(s, 5);
    s.write('early');
    await until(() => t.connections === 1);
    release();
    expect((await back).toString()).toBe('early');
  });

  it('closes the remote stream when the client closes', async () => {
    const t = tunnelTo(echo.port);
    const port = await t.listen();
    const remote = echo.next();
    const s = await client(port);
    const r = await remote;
    expect(t.connections).toBe(1);
    s.end();
    await closed(r, 'the remote end to close after the client did');
    expect(r.destroyed || r.closed).toBe(true);
    await until(() => t.connections === 0, { what: 'the tunnel to forget the connection' });
    expect(t.connections).toBe(0);
  });

  it('closes the client when the remote stream closes', async () => {
    const t = tunnelTo(echo.port);
    const port = await t.listen();
    const remote = echo.next();
    const s = await client(port);
    expect(t.connections).toBe(1);
    (await remote).destroy();
    await closed(s, 'the client to be closed after the remote end closed');
    expect(s.destroyed || s.closed).toBe(true);
    await until(() => t.connections === 0, { what: 'the tunnel to forget the connection' });
    expect(t.connections).toBe(0);
  });

  it('destroys a stream that opens after its client already left', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let stream: net.Socket | null = null;
    const t = tunnelTo(echo.port, {
      open: async () => {
        await gate;
        stream = await connectTcp(echo.port, "127.0.0.1");
        return stream;
      },
    });
    const s = await client(await t.listen());
    await until(() => t.connections === 1);
    s.destroy();
    await until(() => t.connections === 0);
    release();
    await until(() => stream !== null);
    await closed(stream!);
    expect(stream!.destroyed).toBe(true);
  });

  it('refuses the socket and reports when opening the stream fails', async () => {
    const errors: Error[] = [];
    const t = tunnelTo(echo.port, {
      open: () => Promise.reject(new Error('host gpu1 is down')),
      onError: (e) => errors.push(e),
    });
    const s = await client(await t.listen());
    await closed(s);
    expect(errors.map((e) => e.message)).toEqual(['host gpu1 is down']);
    await until(() => t.connections === 0);
    // The listener itself stays up for the client's next try.
    const again = await client(t.port);
    await closed(again);
    expect(errors).toHaveLength(2);
  });

  it('takes the wanted local port when it is free', async () => {
    const wanted = await freePort();
    const t = tunnelTo(echo.port, { localPort: wanted });
    expect(await t.listen()).toBe(wanted);
    const s = await client(wanted);
    const back = readBytes(s, 2);
    s.write('ok');
    expect((await back).toString()).toBe('ok');
  });

  it('falls back to another port when the wanted one is busy', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const wanted = (busy.address() as net.AddressInfo).port;
    try {
      const t = tunnelTo(echo.port, { localPort: wanted });
      const port = await t.listen();
      expect(port).not.toBe(wanted);
      expect(port).toBeGreaterThan(0);
      const s = await client(port);
      const back = readBytes(s, 2);
      s.write('ok');
      expect((await back).toString()).toBe('ok');
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  it('close() ends every connection, every stream and the listener', async () => {
    const t = tunnelTo(echo.port);
    const port = await t.listen();
    const remotes = [echo.next(), echo.next()];
    const a = await client(port);
    const b = await client(port);
    const [ra, rb] = await Promise.all(remotes);
    await t.close();
    await Promise.all([closed(a), closed(b), closed(ra), closed(rb)]);
    await expect(connectTcp(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

