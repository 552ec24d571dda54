// Which agent the app uses: one a `ktray` command already started (the app
// then is just another client, and leaves it alone), or one hosted here.
import type { AgentConnection } from '../shared/agent-api';
import type { AgentHostOptions, HostedAgent } from '../core/agent/agent-host';

export interface AgentLink {
  connection: AgentConnection;
  mode: 'hosted' | 'client';
  /** Hosted: close tunnels and the CLI socket (remote kernels keep running). Client: drop the socket only. */
  close(): Promise<void>;
}

type AskPassphrase = AgentHostOptions['askPassphrase'];

export interface AgentLinkOptions {
  connectAgent(options: { home?: string; askPassphrase?: AskPassphrase }): Promise<(AgentConnection & { dispose?(): void }) | null>;
  hostAgent(options: AgentHostOptions): Promise<HostedAgent>;
  home?: string;
  /** `--ssh-config FILE`: hosts come from this file instead of ~/.ssh/config (hosted agent only). */
  sshConfigFile?: string;
  /** The app's prompt; a CLI-started agent asks it too, as its passphrase prompter. */
  askPassphrase?: AskPassphrase;
  /** A `ktray agent stop` asked the hosted agent to shut down. */
  onShutdown?: () => void;
}

function asClient(c: AgentConnection & { dispose?(): void }): AgentLink {
  return { connection: c, mode: 'client', close: async () => c.dispose?.() };
}

export async function linkAgent(o: AgentLinkOptions): Promise<AgentLink> {
  const existing = await o.connectAgent({ home: o.home, askPassphrase: o.askPassphrase });
  if (existing) return asClient(existing);
  try {
    const hosted = await o.hostAgent({
      mode: 'electron',
      home: o.home,
      sshConfigFile: o.sshConfigFile,
      askPassphrase: o.askPassphrase,
      onShutdown: o.onShutdown,
    });
    return { connection: hosted.connection, mode: 'hosted', close: () => hosted.close() };
  } catch (err) {
    // A `ktray` command may have started its agent between our two calls: use it then.
    const raced = await o.connectAgent({ home: o.home, askPassphrase: o.askPassphrase }).catch(() => null);
    if (raced) return asClient(raced);
    throw err;
  }
}
