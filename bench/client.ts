// The one Jupyter client every approach is measured with: Kernel Tray's own
// zeromq KernelClient, already loaded in this process, so a frontend's start-up
// (identical for all approaches) is not counted against any of them.
import { KernelClient } from '../electron/core/jupyter/kernel-client';
import type { ConnectionInfo } from '../electron/shared/types';

const TIMEOUT_MS = 60_000; // safety net only

/** Connects, runs `1+1`, checks the answer is 2, disconnects. */
export async function firstResult(info: ConnectionInfo, what: string): Promise<void> {
  const client = new KernelClient(info, { host: what });
  try {
    const r = await client.execute('1+1', { timeoutMs: TIMEOUT_MS });
    if (r.status !== 'ok' || r.result !== '2') {
      throw new Error(`${what}: 1+1 gave ${r.status} ${r.result ?? ''} ${r.ename ?? ''} ${r.evalue ?? ''}`);
    }
  } finally {
    client.close();
  }
}

/** A client kept open for many requests (latency, throughput). */
export function openClient(info: ConnectionInfo, what: string): KernelClient {
  return new KernelClient(info, { host: what });
}
