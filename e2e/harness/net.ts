// Ports and connections in tests.
import net from 'node:net';

/** n ports free right now on 127.0.0.1 (held all at once while picked, so they differ). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** A port where nothing listens (the "unreachable" path). */
export const closedPort = freePort;

export function connectTcp(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** 'connected', or the error code of the attempt (e.g. ECONNREFUSED). */
export function tryConnect(port: number, host = '127.0.0.1'): Promise<'connected' | string> {
  return connectTcp(port, host).then(
    (s) => {
      s.destroy();
      return 'connected';
    },
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
}

export function connectUnix(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path });
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** 'connected', or the error code of the attempt on a unix socket (ENOENT, ECONNREFUSED, EACCES). */
export function tryConnectUnix(path: string): Promise<'connected' | string> {
  return connectUnix(path).then(
    (s) => {
      s.destroy();
      return 'connected';
    },
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
}
