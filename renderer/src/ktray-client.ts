// The window's only door to the agent: window.ktray, with Results turned into
// values or thrown KtrayErrorData, so components write plain async code.
import type { AgentEvent, KtrayErrorData } from '../../electron/shared/types';
import type { KtrayBridge, Result } from '../../electron/shared/ipc-contract';

/** A failed bridge call; `data` is what the agent said, ready to show. */
export class BridgeError extends Error {
  readonly data: KtrayErrorData;
  constructor(data: KtrayErrorData) {
    super(data.message);
    this.name = 'BridgeError';
    this.data = data;
  }
}

/** Anything caught in the window, as words a user can act on. */
export function toErrorData(err: unknown): KtrayErrorData {
  if (err instanceof BridgeError) return err.data;
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message };
}

async function unwrap<T>(pending: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await pending;
  } catch (err) {
    // The bridge itself broke (main process gone, handler missing): not the agent's words.
    throw new BridgeError({
      code: 'AGENT_UNAVAILABLE',
      message: `The window lost its link to the agent: ${err instanceof Error ? err.message : String(err)}`,
      hint: 'Close and reopen the Kernel Tray window.',
    });
  }
  if (result.ok) return result.value;
  throw new BridgeError(result.error);
}

type Unwrapped<F> = F extends (...args: infer A) => Promise<Result<infer R>> ? (...args: A) => Promise<R> : never;
type Group<G> = { [K in keyof G]: Unwrapped<G[K]> };

export interface KtrayClient {
  agent: Group<KtrayBridge['agent']>;
  hosts: Group<KtrayBridge['hosts']>;
  kernels: Group<KtrayBridge['kernels']>;
  settings: Group<KtrayBridge['settings']>;
  onEvent(listener: (event: AgentEvent) => void): () => void;
}

export function createClient(b: KtrayBridge): KtrayClient {
  return {
    agent: { status: () => unwrap(b.agent.status()) },
    hosts: {
      list: () => unwrap(b.hosts.list()),
      hostKey: (host) => unwrap(b.hosts.hostKey(host)),
      trust: (host, fingerprint) => unwrap(b.hosts.trust(host, fingerprint)),
      reconnect: (host) => unwrap(b.hosts.reconnect(host)),
      offer: (host) => unwrap(b.hosts.offer(host)),
      save: (host) => unwrap(b.hosts.save(host)),
      remove: (id) => unwrap(b.hosts.remove(id)),
      sshConfigHosts: () => unwrap(b.hosts.sshConfigHosts()),
    },
    kernels: {
      list: (host, refresh) => unwrap(b.kernels.list(host, refresh)),
      start: (options) => unwrap(b.kernels.start(options)),
      attach: (id, frontend) => unwrap(b.kernels.attach(id, frontend)),
      detach: (id) => unwrap(b.kernels.detach(id)),
      stop: (id) => unwrap(b.kernels.stop(id)),
      interrupt: (id) => unwrap(b.kernels.interrupt(id)),
      restart: (id) => unwrap(b.kernels.restart(id)),
      pin: (id, pinned) => unwrap(b.kernels.pin(id, pinned)),
      copyConnectionFile: (id) => unwrap(b.kernels.copyConnectionFile(id)),
    },
    settings: {
      get: () => unwrap(b.settings.get()),
      set: (patch) => unwrap(b.settings.set(patch)),
    },
    onEvent: (listener) => b.onEvent(listener),
  };
}
