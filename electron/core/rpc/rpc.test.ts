// The CLI socket as a transport: a real unix socket, real JSON-RPC, and a
// small in-test agent (what it answers is beside the point here).
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { AGENT_METHOD_NAMES, type AgentConnection, type AgentEventListener } from '../../shared/agent-api';
import { KtrayError } from '../../shared/errors';
import { connectRpc, serveAgent, type RpcAgent, type RpcServer } from './rpc';
import type { AgentEvent } from '../../shared/types';
import { until } from '../../../e2e/harness/wait';

class FakeAgent {
  readonly calls: Array<{ method: string; params: unknown }> = [];
  readonly listeners = new Set<AgentEventListener>();
  readonly impl: Record<string, (params: any) => Promise<unknown>> = {};

  connection(): AgentConnection {
    const api = Object.fromEntries(
      AGENT_METHOD_NAMES.map((m) => [
        m,
        (params: unknown) => {
          this.calls.push({ method: m, params });
          const fn = this.impl[m];
          return fn ? fn(params) : Promise.reject(new Error(`${m} is not part of this test`));
        },
      ]),
    );
    return {
      ...api,
      onEvent: (l: AgentEventListener) => {
        this.listeners.add(l);
        return () => this.listeners.delete(l);
      },
    } as unknown as AgentConnection;
  }

  emit(event: AgentEvent): void {
    for (const l of this.listeners) l(event);
  }
}

/** A bare JSON-RPC client on the socket, to see exactly what the server sends. */
async function rawClient(): Promise<{ conn: MessageConnection; sock: net.Socket }> {
  const sock = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  const conn = createMessageConnection(new SocketMessageReader(sock), new SocketMessageWriter(sock));
  conn.listen();
  raws.push({ conn, sock });
  return { conn, sock };
}


let dir: string;
let socketPath: string;
let fake: FakeAgent;
let server: RpcServer;
const clients: RpcAgent[] = [];
const raws: Array<{ conn: MessageConnection; sock: net.Socket }> = [];

async function client(opts?: Parameters<typeof connectRpc>[1]): Promise<RpcAgent> {
  const c = await connectRpc(socketPath, opts);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ktray-rpc-'));
  socketPath = path.join(dir, 'agent.sock');
  fake = new FakeAgent();
  server = await serveAgent(fake.connection(), socketPath);
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.dispose();
  for (const r of raws.splice(0)) {
    r.conn.dispose();
    r.sock.destroy();
  }
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('serveAgent / connectRpc', () => {
  it('makes the socket 0600', async () => {
    const st = await stat(socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('replaces a stale socket file left by a dead agent', async () => {
    await server.close();
    // What a crashed agent leaves behind: the path exists, nothing listens.
    await writeFile(socketPath, '');
    server = await serveAgent(fake.connection(), socketPath);
    fake.impl.getSettings = async () => ({ longRunSeconds: 60, terminal: '' });
    expect(await (await client()).getSettings({})).toEqual({ longRunSeconds: 60, terminal: '' });
  });

  it('round-trips calls with their params and results', async () => {
    fake.impl.kernels = async (p: { host?: string }) => [{ id: `${p.host}/abc`, state: 'idle' }];
    fake.impl.setSettings = async (p) => ({ longRunSeconds: 60, terminal: '', ...p });
    const c = await client();
    expect(await c.kernels({ host: 'gpu1', refresh: true })).toEqual([{ id: 'gpu1/abc', state: 'idle' }]);
    expect(await c.setSettings({ terminal: 'kitty' })).toEqual({ longRunSeconds: 60, terminal: 'kitty' });
    expect(fake.calls).toEqual([
      { method: 'kernels', params: { host: 'gpu1', refresh: true } },
      { method: 'setSettings', params: { terminal: 'kitty' } },
    ]);
  });

  it('answers a void method', async () => {
    fake.impl.removeHost = async () => undefined;
    const c = await client();
    await expect(c.removeHost({ id: 'gpu1' })).resolves.toBeFalsy();
    expect(fake.calls).toEqual([{ method: 'removeHost', params: { id: 'gpu1' } }]);
  });

  it('carries a KtrayError whole: code, message, host, hint, detail', async () => {
    fake.impl.hostKey = async () => {
      throw new KtrayError({
        code: 'HOST_KEY_UNKNOWN',
        host: 'gpu1',
        message: 'gpu1 is not in known_hosts.',
        hint: 'run `ktray trust gpu1`',
        detail: { fingerprint: 'SHA256:abc', port: 2222, nested: { a: [1, 2] } },
      });
    };
    const c = await client();
    const err = await c.hostKey({ host: 'gpu1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KtrayError);
    expect((err as KtrayError).toData()).toEqual({
      code: 'HOST_KEY_UNKNOWN',
      host: 'gpu1',
      message: 'gpu1 is not in known_hosts.',
      hint: 'run `ktray trust gpu1`',
      detail: { fingerprint: 'SHA256:abc', port: 2222, nested: { a: [1, 2] } },
    });
  });

  it('turns any other failure into an INTERNAL KtrayError with its message', async () => {
    fake.impl.status = async () => {
      throw new TypeError('boom in the agent');
    };
    const c = await client();
    await expect(c.status({})).rejects.toMatchObject({ name: 'KtrayError', code: 'INTERNAL', message: 'boom in the agent' });
  });

  it('delivers events to subscribers, and stops after unsubscribe', async () => {
    const c = await client();
    const got: AgentEvent[] = [];
    const off = c.onEvent((e) => got.push(e));
    await until(() => fake.listeners.size === 1);
    const first: AgentEvent = { type: 'notice', at: 1, host: 'gpu1', message: 'Added gpu1 key' };
    fake.emit(first);
    await until(() => got.length === 1);
    expect(got).toEqual([first]);
    off();
    const second: AgentEvent = { type: 'notice', at: 2, host: null, message: 'second' };
    const other: AgentEvent[] = [];
    c.onEvent((e) => other.push(e));
    fake.emit(second);
    await until(() => other.length === 1);
    expect(got).toEqual([first]);
    // One subscription on the server however many listeners the client has.
    expect(fake.listeners.size).toBe(1);
  });

  it('sends events only to clients that subscribed', async () => {
    const quiet = await rawClient();
    const heard: unknown[] = [];
    quiet.conn.onNotification('agent/event', (e: unknown) => void heard.push(e));
    const loud = await client();
    const got: AgentEvent[] = [];
    loud.onEvent((e) => got.push(e));
    await until(() => fake.listeners.size === 1);
    fake.emit({ type: 'notice', at: 3, host: null, message: 'x' });
    await until(() => got.length === 1);
    // A round trip on the quiet client after the event: anything sent to it would have arrived by now.
    fake.impl.status = async () => ({ pid: 1 });
    expect(await quiet.conn.sendRequest('agent/status', {})).toEqual({ pid: 1 });
    expect(heard).toEqual([]);
  });

  it('asks the most recent interactive client for a passphrase', async () => {
    expect(await server.askPassphrase({ host: 'gpu1', keyFile: '/k' })).toBeNull();
    const asked: Array<{ who: string; host: string; keyFile?: string }> = [];
    await client({ askPassphrase: async (p) => (asked.push({ who: 'first', ...p }), 'one') });
    const second = await client({ askPassphrase: async (p) => (asked.push({ who: 'second', ...p }), 'two') });
    await client(); // not interactive
    expect(await server.askPassphrase({ host: 'gpu1', keyFile: '/home/ada/.ssh/id_ed25519' })).toBe('two');
    expect(asked).toEqual([{ who: 'second', host: 'gpu1', keyFile: '/home/ada/.ssh/id_ed25519' }]);
    // Its event subscription tells when the server has dropped it.
    second.onEvent(() => {});
    await until(() => fake.listeners.size === 1);
    second.dispose();
    await until(() => fake.listeners.size === 0);
    expect(await server.askPassphrase({ host: 'gpu2', keyFile: '/k2' })).toBe('one');
    expect(asked.at(-1)).toEqual({ who: 'first', host: 'gpu2', keyFile: '/k2' });
  });

  it('survives a prompter that hangs up just as it is asked', async () => {
    // A write to a socket that is going away must fail that one prompt (null or
    // the next prompter), not leave an unhandled rejection that would kill a
    // headless agent (vscode-jsonrpc rethrows write errors from sendRequest's
    // executor: microsoft/vscode-languageserver-node#1855).
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await client({ askPassphrase: async () => 'one' });
      for (let i = 0; i < 10; i++) {
        const leaving = await client({ askPassphrase: async () => 'leaving' });
        leaving.dispose();
        const answers = await Promise.all([0, 1, 2].map(() => server.askPassphrase({ host: 'gpu1', keyFile: '/k' })));
        for (const a of answers) expect([null, 'one']).toContain(a);
      }
      // Let any stray rejection surface before looking.
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('passes a declined prompt on as null', async () => {
    await client({ askPassphrase: async () => null });
    expect(await server.askPassphrase({ host: 'gpu1', keyFile: '/k' })).toBeNull();
  });

  it('dispose() hangs up: the server drops the client and its subscription', async () => {
    fake.impl.status = async () => ({ pid: 1 });
    const c = await client();
    c.onEvent(() => {});
    await until(() => fake.listeners.size === 1);
    c.dispose();
    await until(() => fake.listeners.size === 0);
    await expect(c.status({})).rejects.toBeInstanceOf(KtrayError);
  });

  it('a call in flight when the agent goes away fails with AGENT_UNAVAILABLE', async () => {
    let started = false;
    fake.impl.restart = () => {
      started = true;
      return new Promise(() => {});
    };
    const c = await client();
    const pending = c.restart({ id: 'gpu1/abc' }).catch((e: unknown) => e);
    await until(() => started);
    await server.close();
    expect(await pending).toMatchObject({ name: 'KtrayError', code: 'AGENT_UNAVAILABLE' });
    expect(existsSync(socketPath)).toBe(false);
    await expect(connectRpc(socketPath)).rejects.toThrow();
  });
});
