import { beforeEach, describe, expect, it } from 'vitest';
import { KtrayError } from '../shared/errors';
import { BRIDGE_CHANNELS, EVENT_CHANNEL, createBridgeHandlers, type DesktopApi } from '../shared/ipc-contract';
import { forwardEvents, registerIpc } from './ipc';
import type { RendererLocation } from './navigation-policy';
import { ipcMain, resetElectronStub } from './test/electron-stub';
import { FakeAgent, T0, kernel, samplePlot, server } from './test/fixtures';

const location: RendererLocation = { kind: 'file', url: 'file:///opt/kt/dist/renderer/index.html' };
const OUR_ID = 41;

function event(over: { id?: number; url?: string | null; parent?: object | null } = {}) {
  const url = over.url === undefined ? `${location.url}#kernel=x` : over.url;
  return { sender: { id: over.id ?? OUR_ID }, senderFrame: url === null ? null : { url, parent: over.parent ?? null } };
}

/** Records the desktop actions the window asks for. */
function recordingDesktop() {
  const asked: Array<{ method: string; params: unknown }> = [];
  const desktop: DesktopApi = {
    openFrontend: async (params) => {
      asked.push({ method: 'openFrontend', params });
      return { kernel: kernel('gpu', 'a'), localConnectionFile: '/l/a.json', newlyAttached: true, launched: params.frontend };
    },
    copyConnectionFile: async (params) => {
      asked.push({ method: 'copyConnectionFile', params });
      return '/l/a.json';
    },
    copyPlot: async (params) => {
      asked.push({ method: 'copyPlot', params });
      return { id: params.id, copied: 'image' };
    },
    savePlot: async (params) => {
      asked.push({ method: 'savePlot', params });
      return { id: params.id, path: '/l/a-1.png' };
    },
    openServerInBrowser: async (params) => {
      asked.push({ method: 'openServerInBrowser', params });
      return { server: server('gpu', 'jpserver-1'), localUrl: 'http://127.0.0.1:50123/lab', loginFile: '/s/login.html', note: null };
    },
    copyServerUrl: async (params) => {
      asked.push({ method: 'copyServerUrl', params });
      return 'http://127.0.0.1:50123/lab';
    },
  };
  return { desktop, asked };
}

function setup() {
  const agent = new FakeAgent();
  agent.kernelList = [kernel('gpu', 'a'), kernel('gpu', 'b', { localConnectionFile: '/l/b.json', attached: true })];
  agent.plotList = [samplePlot(1, { id: 'gpu/a#1', kernel: 'gpu/a' })];
  agent.serverList = [server('gpu', 's')];
  const { desktop, asked } = recordingDesktop();
  const warnings: string[] = [];
  const unregister = registerIpc({
    services: { agent, desktop },
    trusted: () => ({ webContentsId: OUR_ID, location }),
    warn: (m) => warnings.push(m),
  });
  return { agent, asked, warnings, unregister };
}

// Every channel, the params the window sends, and the agent call or desktop action it must become.
const CASES: Array<[string, unknown, { method: string; params: unknown }, 'agent' | 'desktop']> = [
  ['ktray:agent.status', {}, { method: 'status', params: {} }, 'agent'],
  ['ktray:hosts.list', {}, { method: 'hosts', params: {} }, 'agent'],
  ['ktray:hosts.hostKey', { host: 'gpu' }, { method: 'hostKey', params: { host: 'gpu' } }, 'agent'],
  ['ktray:hosts.trust', { host: 'gpu', fingerprint: 'SHA256:abc' }, { method: 'trust', params: { host: 'gpu', fingerprint: 'SHA256:abc' } }, 'agent'],
  ['ktray:hosts.reconnect', { host: 'gpu' }, { method: 'reconnect', params: { host: 'gpu' } }, 'agent'],
  ['ktray:hosts.offer', { host: 'gpu' }, { method: 'offer', params: { host: 'gpu' } }, 'agent'],
  ['ktray:hosts.save', { id: 'new', hostname: 'new.example' }, { method: 'saveHost', params: { id: 'new', hostname: 'new.example' } }, 'agent'],
  ['ktray:hosts.remove', { id: 'new' }, { method: 'removeHost', params: { id: 'new' } }, 'agent'],
  [
    'ktray:hosts.setScheduler',
    { host: 'hpc', scheduler: { kind: 'slurm', args: '-p gpu' } },
    { method: 'setScheduler', params: { host: 'hpc', scheduler: { kind: 'slurm', args: '-p gpu' } } },
    'agent',
  ],
  ['ktray:hosts.setTransport', { host: 'hpc', transport: 'openssh' }, { method: 'setTransport', params: { host: 'hpc', transport: 'openssh' } }, 'agent'],
  ['ktray:hosts.forgetSecrets', { host: 'hpc' }, { method: 'forgetSecrets', params: { host: 'hpc' } }, 'agent'],
  ['ktray:kernels.list', { host: 'gpu', refresh: true }, { method: 'kernels', params: { host: 'gpu', refresh: true } }, 'agent'],
  ['ktray:kernels.start', { host: 'gpu', python: '/opt/py' }, { method: 'start', params: { host: 'gpu', python: '/opt/py' } }, 'agent'],
  ['ktray:kernels.attach', { id: 'gpu/a' }, { method: 'attach', params: { id: 'gpu/a' } }, 'agent'],
  ['ktray:kernels.detach', { id: 'gpu/a' }, { method: 'detach', params: { id: 'gpu/a' } }, 'agent'],
  ['ktray:kernels.stop', { id: 'gpu/a' }, { method: 'stop', params: { id: 'gpu/a' } }, 'agent'],
  ['ktray:kernels.interrupt', { id: 'gpu/a' }, { method: 'interrupt', params: { id: 'gpu/a' } }, 'agent'],
  ['ktray:kernels.restart', { id: 'gpu/a' }, { method: 'restart', params: { id: 'gpu/a' } }, 'agent'],
  ['ktray:kernels.pin', { id: 'gpu/a', pinned: true }, { method: 'pin', params: { id: 'gpu/a', pinned: true } }, 'agent'],
  ['ktray:plots.list', { kernel: 'gpu/a' }, { method: 'plots', params: { kernel: 'gpu/a' } }, 'agent'],
  ['ktray:plots.get', { id: 'gpu/a#1' }, { method: 'plot', params: { id: 'gpu/a#1' } }, 'agent'],
  ['ktray:plots.copy', { id: 'gpu/a#1' }, { method: 'copyPlot', params: { id: 'gpu/a#1' } }, 'desktop'],
  ['ktray:plots.save', { id: 'gpu/a#1' }, { method: 'savePlot', params: { id: 'gpu/a#1' } }, 'desktop'],
  ['ktray:settings.get', {}, { method: 'getSettings', params: {} }, 'agent'],
  ['ktray:settings.set', { longRunSeconds: 5 }, { method: 'setSettings', params: { longRunSeconds: 5 } }, 'agent'],
  ['ktray:kernels.open', { id: 'gpu/a', frontend: 'qtconsole' }, { method: 'openFrontend', params: { id: 'gpu/a', frontend: 'qtconsole' } }, 'desktop'],
  ['ktray:kernels.copyConnectionFile', { id: 'gpu/b' }, { method: 'copyConnectionFile', params: { id: 'gpu/b' } }, 'desktop'],
  ['ktray:servers.list', { host: 'gpu' }, { method: 'servers', params: { host: 'gpu' } }, 'agent'],
  ['ktray:servers.start', { host: 'gpu', app: 'notebook' }, { method: 'startServer', params: { host: 'gpu', app: 'notebook' } }, 'agent'],
  ['ktray:servers.tunnel', { id: 'gpu/s' }, { method: 'openServer', params: { id: 'gpu/s' } }, 'agent'],
  ['ktray:servers.close', { id: 'gpu/s' }, { method: 'closeServer', params: { id: 'gpu/s' } }, 'agent'],
  ['ktray:servers.kernels', { id: 'gpu/s' }, { method: 'serverKernels', params: { id: 'gpu/s' } }, 'agent'],
  ['ktray:servers.stop', { id: 'gpu/s' }, { method: 'stopServer', params: { id: 'gpu/s' } }, 'agent'],
  ['ktray:servers.open', { id: 'gpu/s' }, { method: 'openServerInBrowser', params: { id: 'gpu/s' } }, 'desktop'],
  ['ktray:servers.copyUrl', { id: 'gpu/s' }, { method: 'copyServerUrl', params: { id: 'gpu/s' } }, 'desktop'],
];

describe('registerIpc', () => {
  beforeEach(() => resetElectronStub());

  it('registers exactly the channels of the contract', () => {
    setup();
    const contract = Object.keys(createBridgeHandlers({ agent: new FakeAgent(), desktop: recordingDesktop().desktop }));
    expect([...ipcMain.handlers.keys()].sort()).toEqual(contract.sort());
    expect(CASES.map((c) => c[0]).sort()).toEqual(contract.sort());
    expect(BRIDGE_CHANNELS.map((c) => c.channel).sort()).toEqual(contract.sort());
  });

  it('does not offer the window what only the CLI may ask (shutting the agent down)', () => {
    setup();
    expect([...ipcMain.handlers.keys()].some((c) => /shutdown/.test(c))).toBe(false);
  });

  it.each(CASES)('%s reaches its target as it should and resolves to a Result', async (channel, params, expected, target) => {
    const { agent, asked } = setup();
    const result = (await ipcMain.invoke(channel, event(), params)) as { ok: boolean };
    expect(result.ok).toBe(true);
    expect(target === 'agent' ? agent.calls : asked).toEqual([expected]);
    expect(target === 'agent' ? asked : agent.calls).toEqual([]);
  });

  it('turns agent failures into error Results the window can show', async () => {
    const { agent } = setup();
    agent.failWith.stop = new KtrayError({ code: 'HOST_DOWN', message: 'gpu does not answer.', host: 'gpu', hint: 'Check the VPN.' });
    expect(await ipcMain.invoke('ktray:kernels.stop', event(), { id: 'gpu/a' })).toEqual({
      ok: false,
      error: { code: 'HOST_DOWN', message: 'gpu does not answer.', host: 'gpu', hint: 'Check the VPN.' },
    });
    agent.failWith.interrupt = new Error('boom') as KtrayError;
    expect(await ipcMain.invoke('ktray:kernels.interrupt', event(), { id: 'gpu/a' })).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'boom' } });
  });

  it.each([
    ['another webContents', event({ id: 99 })],
    ['a subframe of our window', event({ parent: {} })],
    ['another page in our window', event({ url: 'https://evil.example/' })],
    ['a frame without URL', event({ url: null })],
  ])('refuses %s on every channel without touching the agent', async (_what, ev) => {
    const { agent, warnings } = setup();
    for (const [channel, params] of CASES) {
      await expect(ipcMain.invoke(channel, ev, params)).rejects.toThrow(/^Refused: .* only served to the Kernel Tray window/);
    }
    expect(agent.calls).toEqual([]);
    expect(warnings).toHaveLength(CASES.length);
  });

  it('refuses everything while no window exists', async () => {
    const agent = new FakeAgent();
    registerIpc({
      services: { agent, desktop: recordingDesktop().desktop },
      trusted: () => ({ webContentsId: null, location }),
      warn: () => {},
    });
    await expect(ipcMain.invoke('ktray:hosts.list', event(), {})).rejects.toThrow(/Refused/);
  });

  it('unregisters every handler', () => {
    const { unregister } = setup();
    unregister();
    expect(ipcMain.handlers.size).toBe(0);
  });
});

describe('forwardEvents', () => {
  it('pushes each agent event on the event channel until unsubscribed', () => {
    const agent = new FakeAgent();
    const sent: unknown[][] = [];
    const stop = forwardEvents(agent, (channel, e) => sent.push([channel, e]));
    const e = { type: 'notice' as const, at: T0, host: null, message: 'hello' };
    agent.emit(e);
    stop();
    agent.emit(e);
    expect(sent).toEqual([[EVENT_CHANNEL, e]]);
  });
});
