// Finding a running agent: all a CLI command needs, without loading ssh2 or
// zeromq (those belong to the agent's own process).
import type { AgentConnection } from '../../shared/agent-api';
import { defaultHome, socketPath } from '../util/paths';
import { connectRpc, type RpcClientOptions } from './rpc';

/** Connects to the agent serving this home's socket, or null when none answers. */
export async function connectAgent(options: { home?: string } & RpcClientOptions): Promise<(AgentConnection & { dispose(): void }) | null> {
  const home = options.home ?? defaultHome();
  try {
    return await connectRpc(socketPath(home), options);
  } catch {
    return null;
  }
}
