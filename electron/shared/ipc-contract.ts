// The one contract between the Electron main process and the window, derived
// from the agent's API (agent-api.ts) plus the few things only the desktop can
// do (open a frontend window, the clipboard: text and images, a save dialog). No electron import here: the same
// handlers serve Electron's ipcMain and, in the browser tests, Playwright's
// exposeBinding.
import { AGENT_METHODS, type AgentApi, type AgentConnection, type Domain, type Grouped, type Result } from './agent-api';
import { KtrayError } from './errors';
import type { AgentEvent, OpenedFrontend, ServerOpened } from './types';

export type { Result } from './agent-api';

/** What the main process does for the window itself, beside the agent. */
export interface DesktopApi {
  /** Attaches the kernel and opens qtconsole, or jupyter console in a terminal window. */
  openFrontend(params: { id: string; frontend: 'qtconsole' | 'console' }): Promise<OpenedFrontend>;
  /** Attaches the kernel if need be, puts its local connection file's path on the clipboard, returns it. */
  copyConnectionFile(params: { id: string }): Promise<string>;
  /** Puts a plot on the clipboard: PNG and JPEG as an image, SVG as its text (the clipboard has no SVG image). */
  copyPlot(params: { id: string }): Promise<{ id: string; copied: 'image' | 'svg-text' }>;
  /** Asks where to save a plot (the desktop's own save dialog) and writes its bytes there; path null when cancelled. */
  savePlot(params: { id: string }): Promise<{ id: string; path: string | null }>;
  /** Tunnels the Jupyter server and opens the local browser on the page that logs it in. */
  openServerInBrowser(params: { id: string }): Promise<ServerOpened>;
  /** Tunnels the server if need be and puts its local URL (no token) on the clipboard, returns it. */
  copyServerUrl(params: { id: string }): Promise<string>;
}

export const DESKTOP_METHODS = {
  openFrontend: ['kernels', 'open'],
  copyConnectionFile: ['kernels', 'copyConnectionFile'],
  copyPlot: ['plots', 'copy'],
  savePlot: ['plots', 'save'],
  openServerInBrowser: ['servers', 'open'],
  copyServerUrl: ['servers', 'copyUrl'],
} as const satisfies Record<keyof DesktopApi, readonly [Domain, string]>;

/** What the preload exposes as `window.ktray`: intent-level methods by domain, each resolving to a Result. */
export type KtrayBridge = Grouped<AgentApi, typeof AGENT_METHODS, 'result'> &
  Grouped<DesktopApi, typeof DESKTOP_METHODS, 'result'> & {
    /** Subscribe to the agent's events; returns the unsubscribe function. */
    onEvent(listener: (event: AgentEvent) => void): () => void;
  };

/** The same, unwrapped: what the window's code calls. */
export type KtrayClientApi = Grouped<AgentApi, typeof AGENT_METHODS, 'promise'> & Grouped<DesktopApi, typeof DESKTOP_METHODS, 'promise'>;

/** Main -> window push channel carrying AgentEvents. */
export const EVENT_CHANNEL = 'ktray:event';

export interface BridgeChannel {
  /** `ktray:kernels.start` */
  channel: string;
  domain: Domain;
  name: string;
  /** The agent method or desktop action behind it. */
  target: { kind: 'agent'; method: keyof typeof AGENT_METHODS } | { kind: 'desktop'; method: keyof DesktopApi };
}

/** Every channel of the bridge, from the two tables. */
export const BRIDGE_CHANNELS: readonly BridgeChannel[] = [
  ...Object.entries(AGENT_METHODS)
    .filter(([, place]) => place.length === 2)
    .map(([method, [domain, name]]) => ({
      channel: `ktray:${domain}.${name}`,
      domain,
      name,
      target: { kind: 'agent' as const, method: method as keyof typeof AGENT_METHODS },
    })),
  ...Object.entries(DESKTOP_METHODS).map(([method, [domain, name]]) => ({
    channel: `ktray:${domain}.${name}`,
    domain,
    name,
    target: { kind: 'desktop' as const, method: method as keyof DesktopApi },
  })),
];

export interface BridgeServices {
  agent: AgentConnection;
  desktop: DesktopApi;
}

export type BridgeHandler = (params: unknown) => Promise<unknown>;

/** The main-side implementation of every channel. */
export function createBridgeHandlers(s: BridgeServices): Record<string, BridgeHandler> {
  const handlers: Record<string, BridgeHandler> = {};
  for (const c of BRIDGE_CHANNELS) {
    const target = c.target;
    handlers[c.channel] =
      target.kind === 'agent'
        ? (params) => (s.agent[target.method] as (p: unknown) => Promise<unknown>).call(s.agent, params ?? {})
        : (params) => (s.desktop[target.method] as (p: unknown) => Promise<unknown>).call(s.desktop, params ?? {});
  }
  return handlers;
}

/** Builds a grouped object from the channel list: `call(channel, params)` does the transport. */
export function groupChannels<T>(call: (channel: string, params: unknown) => T): Record<Domain, Record<string, (params?: unknown) => T>> {
  const grouped = { agent: {}, hosts: {}, kernels: {}, plots: {}, servers: {}, settings: {} } as Record<Domain, Record<string, (params?: unknown) => T>>;
  for (const c of BRIDGE_CHANNELS) grouped[c.domain][c.name] = (params?: unknown) => call(c.channel, params ?? {});
  return grouped;
}

/** Runs a handler and folds any failure into a Result, so the window gets words, not a stack. */
export async function toResult<T>(run: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    return { ok: false, error: KtrayError.from(err).toData() };
  }
}
