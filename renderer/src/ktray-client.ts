// The window's only door to the agent: window.ktray, with Results turned into
// values or thrown KtrayErrorData, so components write plain async code.
import type { AgentEvent, KtrayErrorData } from '../../electron/shared/types';
import type { Result } from '../../electron/shared/agent-api';
import type { KtrayBridge, KtrayClientApi } from '../../electron/shared/ipc-contract';

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

export type KtrayClient = KtrayClientApi & { onEvent(listener: (event: AgentEvent) => void): () => void };

/** Every method of the bridge, unwrapped; the shape follows the bridge, which follows the agent's API. */
export function createClient(b: KtrayBridge): KtrayClient {
  const client: Record<string, unknown> = {};
  for (const [domain, group] of Object.entries(b)) {
    if (typeof group !== 'object' || group === null) continue;
    const methods: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(group as Record<string, (p?: unknown) => Promise<Result<unknown>>>)) {
      methods[name] = (params?: unknown) => unwrap(fn(params ?? {}));
    }
    client[domain] = methods;
  }
  client.onEvent = (listener: (event: AgentEvent) => void) => b.onEvent(listener);
  return client as unknown as KtrayClient;
}
