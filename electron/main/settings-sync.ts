// Keeps the app's settings and the agent in step: the agent acts on some of
// them (long-run threshold, terminal, consoles' other output) and keeps the saved hosts it is given.
import { AGENT_METHOD_NAMES, type AgentApi, type AgentConnection } from '../shared/agent-api';
import type { AgentSettings, SavedHost } from '../shared/types';
import { AGENT_SETTING_KEYS, type Settings } from './settings';

/** On start: the agent gets the app's settings, and saved hosts it does not know yet. */
export async function pushSettings(agent: AgentConnection, settings: Settings): Promise<void> {
  await agent.setSettings(settings.agentSettings());
  const known = new Set((await agent.hosts({})).map((h) => h.id));
  for (const h of settings.get('savedHosts')) {
    if (!known.has(h.id)) await agent.saveHost(h);
  }
}

export interface SettingsSync {
  /** The agent as the window's bridge should see it: changes made through it are saved in the app's settings too. */
  agent: AgentConnection;
  dispose(): void;
}

export function createSettingsSync(agent: AgentConnection, settings: Settings, onError: (err: unknown) => void): SettingsSync {
  let fromAgent = false;
  const saveFromAgent = (patch: Parameters<Settings['update']>[0]) => {
    fromAgent = true;
    try {
      settings.update(patch);
    } finally {
      fromAgent = false;
    }
  };

  // Settings changed in the app (menu, file) reach the agent.
  const unsubscribe = settings.onChange((_next, changed) => {
    if (fromAgent || !changed.some((k) => (AGENT_SETTING_KEYS as readonly string[]).includes(k))) return;
    agent.setSettings(settings.agentSettings()).catch(onError);
  });

  // Delegate method by method: the connection may be a class whose methods live on its prototype.
  const delegate = Object.fromEntries(
    AGENT_METHOD_NAMES.map((m) => [m, (params: unknown) => (agent[m] as (p: unknown) => Promise<unknown>).call(agent, params)]),
  ) as unknown as AgentApi;

  const synced: AgentConnection = {
    ...delegate,
    onEvent: (listener) => agent.onEvent(listener),
    setSettings: async (patch: Partial<AgentSettings>) => {
      const next = await agent.setSettings(patch);
      saveFromAgent({ longRunSeconds: next.longRunSeconds, terminal: next.terminal, jobWarningMinutes: next.jobWarningMinutes, jobPollSeconds: next.jobPollSeconds, consoleOtherOutput: next.consoleOtherOutput });
      return next;
    },
    saveHost: async (host: SavedHost) => {
      const summary = await agent.saveHost(host);
      saveFromAgent({ savedHosts: [...settings.get('savedHosts').filter((h) => h.id !== host.id), host] });
      return summary;
    },
    removeHost: async (params: { id: string }) => {
      await agent.removeHost(params);
      saveFromAgent({ savedHosts: settings.get('savedHosts').filter((h) => h.id !== params.id) });
    },
  };
  return { agent: synced, dispose: unsubscribe };
}
