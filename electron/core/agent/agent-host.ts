// Entry points for a face that needs an agent: connect to a running one, or host one.
import type { AgentConnection } from '../../shared/agent-api';
import type { AuthAnswer, AuthPrompt } from '../../shared/types';
import { Agent } from './agent';
import { KtrayError } from '../../shared/errors';
import { defaultHome, ensurePrivateDir, HOME_DIR, localRuntimeDir, socketPath } from '../util/paths';
import { connectAgent } from '../rpc/connect';
import { serveAgent, type RpcServer } from '../rpc/rpc';

export { connectAgent } from '../rpc/connect';

export interface HostedAgent {
  connection: AgentConnection;
  /** Socket path the CLI talks to. */
  socket: string;
  /** Close tunnels and the socket; remote kernels keep running. */
  close(): Promise<void>;
}

export interface AgentHostOptions {
  /** State directory; default: KTRAY_HOME or the platform's per-user place. */
  home?: string;
  mode: 'electron' | 'headless';
  /** ssh_config to read hosts from instead of ~/.ssh/config (`--ssh-config`). */
  sshConfigFile?: string;
  /** Local Jupyter runtime dir for connection files; default JUPYTER_RUNTIME_DIR or the platform's. */
  runtimeDir?: string;
  /** false: no CLI socket (tests that drive the agent in-process). Default true. */
  serve?: boolean;
  /** Asked when an encrypted key needs its passphrase; null = give up on that key. */
  askPassphrase?: (prompt: AuthPrompt) => Promise<AuthAnswer | null>;
  /** Called when a client asked the agent to shut down. */
  onShutdown?: () => void;
}

/** Runs an agent in this process and serves the CLI socket. Fails if one already serves it. */
export async function hostAgent(options: AgentHostOptions): Promise<HostedAgent> {
  const home = options.home ?? defaultHome();
  await ensurePrivateDir(home, HOME_DIR);
  const socket = socketPath(home);
  const serve = options.serve ?? true;
  if (serve) {
    const running = await connectAgent({ home });
    if (running) {
      running.dispose();
      throw new KtrayError({
        code: 'AGENT_UNAVAILABLE',
        message: `A ktray agent already serves ${socket}.`,
        hint: 'Use it (ktray commands find it by themselves), or stop it first with `ktray agent stop`.',
      });
    }
  }
  let server: RpcServer | null = null;
  const agent = await Agent.create({
    home,
    mode: options.mode,
    runtimeDir: options.runtimeDir ?? (await localRuntimeDir()),
    sshConfigFile: options.sshConfigFile,
    // A passphrase comes from this process's own prompt first, else from a CLI in a terminal.
    askPassphrase: Object.assign(async (prompt: AuthPrompt) => (await options.askPassphrase?.(prompt)) ?? (await server?.askPassphrase(prompt)) ?? null, {
      canAsk: () => Boolean(options.askPassphrase) || (server?.canAsk() ?? false),
    }),
    onShutdown: () => {
      void server?.close().then(() => options.onShutdown?.());
    },
  });
  if (serve) server = await serveAgent(agent, socket);
  await agent.restoreAttachments();
  return {
    connection: agent,
    socket,
    async close() {
      await server?.close();
      await agent.close();
    },
  };
}
