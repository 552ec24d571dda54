// The CLI socket: JSON-RPC 2.0 (vscode-jsonrpc) over a unix socket that only
// the user can open (0700 home, 0600 socket), or a named pipe on Windows.
// Requests are `agent/<method>`; events go to subscribers as `agent/event`;
// an interactive client may answer passphrase prompts (`client/passphrase`).
import { chmod, rm, stat } from 'node:fs/promises';
import type { AuthAnswer, AuthPrompt } from '../../shared/types';
import net from 'node:net';
import {
  createMessageConnection,
  ResponseError,
  SocketMessageReader,
  SocketMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { AGENT_METHOD_NAMES, type AgentApi, type AgentConnection, type AgentEventListener } from '../../shared/agent-api';
import { isKtrayErrorData, KtrayError } from '../../shared/errors';
import { platform } from '../util/platform';
import type { AgentEvent } from '../../shared/types';

const EVENT = 'agent/event';
const SUBSCRIBE = 'agent/subscribe';
const PROMPTER = 'agent/prompter';
const PASSPHRASE = 'client/passphrase';
const KTRAY_ERROR = 1;

export interface RpcServer {
  close(): Promise<void>;
  /** Asks the most recent interactive client for a key's passphrase; null when none can. */
  askPassphrase(prompt: AuthPrompt): Promise<AuthAnswer | null>;
  /** Whether an interactive client is connected to answer. */
  canAsk(): boolean;
}

export async function serveAgent(agent: AgentConnection, socket: string): Promise<RpcServer> {
  const connections = new Set<MessageConnection>();
  const prompters: MessageConnection[] = [];
  const server = net.createServer((sock) => {
    const conn = createMessageConnection(new SocketMessageReader(sock), new SocketMessageWriter(sock));
    connections.add(conn);
    let unsubscribe: (() => void) | null = null;
    for (const method of AGENT_METHOD_NAMES) {
      conn.onRequest(`agent/${method}`, async (params: unknown) => {
        try {
          const fn = agent[method] as (p: unknown) => Promise<unknown>;
          const result = await fn.call(agent, params ?? {});
          return result === undefined ? null : result;
        } catch (err) {
          const e = KtrayError.from(err);
          return new ResponseError(KTRAY_ERROR, e.message, e.toData());
        }
      });
    }
    conn.onRequest(SUBSCRIBE, () => {
      unsubscribe ??= agent.onEvent((event) => void conn.sendNotification(EVENT, event).catch(() => {}));
      return null;
    });
    conn.onRequest(PROMPTER, () => {
      prompters.push(conn);
      return null;
    });
    const drop = () => {
      unsubscribe?.();
      connections.delete(conn);
      const i = prompters.indexOf(conn);
      if (i >= 0) prompters.splice(i, 1);
      conn.dispose();
    };
    conn.onClose(drop);
    sock.on('error', drop);
    conn.listen();
  });
  if (platform() !== 'win32') await rm(socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  const unix = platform() !== 'win32';
  if (unix) await chmod(socket, 0o600);
  const ino = unix ? (await stat(socket)).ino : 0;
  return {
    async close() {
      for (const c of connections) c.dispose();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Only our own socket: another agent may have replaced it meanwhile.
      if (unix && (await stat(socket).catch(() => null))?.ino === ino) await rm(socket, { force: true });
    },
    canAsk: () => prompters.length > 0,
    async askPassphrase(prompt) {
      const conn = prompters[prompters.length - 1];
      if (!conn) return null;
      try {
        return ((await conn.sendRequest(PASSPHRASE, prompt)) as AuthAnswer | null) ?? null;
      } catch {
        return null;
      }
    },
  };
}

export interface RpcClientOptions {
  /** Answer the agent's passphrase prompts (an interactive terminal). */
  askPassphrase?: (prompt: AuthPrompt) => Promise<AuthAnswer | null>;
}

export type RpcAgent = AgentConnection & { dispose(): void };

/** Connects to the agent's socket; rejects when nothing listens there. */
export async function connectRpc(socket: string, opts: RpcClientOptions = {}): Promise<RpcAgent> {
  const sock = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(socket);
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
  const conn = createMessageConnection(new SocketMessageReader(sock), new SocketMessageWriter(sock));
  const listeners = new Set<AgentEventListener>();
  let subscribed = false;
  conn.onNotification(EVENT, (event: AgentEvent) => {
    for (const l of listeners) l(event);
  });
  if (opts.askPassphrase) conn.onRequest(PASSPHRASE, (prompt: AuthPrompt) => opts.askPassphrase!(prompt));
  conn.listen();
  if (opts.askPassphrase) await conn.sendRequest(PROMPTER);
  const closed = new Promise<never>((_, reject) => {
    conn.onClose(() =>
      reject(new KtrayError({ code: 'AGENT_UNAVAILABLE', message: 'The ktray agent closed the connection.', hint: '`ktray agent status` shows whether it runs.' })),
    );
  });
  closed.catch(() => {});
  const call = async (method: string, params: unknown) => {
    try {
      return await Promise.race([conn.sendRequest(`agent/${method}`, params), closed]);
    } catch (err) {
      if (err instanceof ResponseError && isKtrayErrorData(err.data)) throw new KtrayError(err.data);
      throw KtrayError.from(err);
    }
  };
  const api = Object.fromEntries(AGENT_METHOD_NAMES.map((m) => [m, (params: unknown) => call(m, params)])) as unknown as AgentApi;
  return {
    ...api,
    onEvent(listener) {
      listeners.add(listener);
      if (!subscribed) {
        subscribed = true;
        void conn.sendRequest(SUBSCRIBE).catch(() => {});
      }
      return () => listeners.delete(listener);
    },
    dispose() {
      conn.dispose();
      sock.destroy();
    },
  };
}
