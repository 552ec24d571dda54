import { beforeEach, describe, expect, it } from 'vitest';
import { KtrayError } from '../shared/errors';
import { EVENT_CHANNEL, createBridgeHandlers, type IpcChannel } from '../shared/ipc-contract';
import { forwardEvents, registerIpc } from './ipc';
import type { RendererLocation } from './navigation-policy';
import { ipcMain, resetElectronStub } from './test/electron-stub';
import { FakeAgent, T0, kernel } from './test/fixtures';

const location: RendererLocation = { kind: 'file', url: 'file:///opt/kt/dist/renderer/index.html' };
const OUR_ID = 41;

function event(over: { id?: number; url?: string | null; parent?: object | null } = {}) {
  const url = over.url === undefined ? `${location.url}#kernel=x` : over.url;
  return { sender: { id: over.id ?? OUR_ID }, senderFrame: url === null ? null : { url, parent: over.parent ?? null } };
}

function setup() {
  const agent = new FakeAgent();
  agent.kernelList = [kernel('gpu', 'a'), kernel('gpu', 'b', { localConnectionFile: '/l/b.json', attached: true })];
  const clipboard: string[] = [];
  const warnings: string[] = [];
  const unregister = registerIpc({
    services: { agent, writeClipboard: (t) => clipboard.push(t), sshConfigHosts: async () => ['gpu', 'lab'] },
    trusted: () => ({ webContentsId: OUR_ID, location }),
    warn: (m) => warnings.push(m),
  });
  return { agent, clipboard, warnings, unregister };
}

// Every channel, the arguments the window sends, and the agent call it must become.
const CASES: Array<[IpcChannel, unknown[], { method: string; params: unknown } | null]> = [
  ['ktray:agent.status', [], { method: 'status', params: {} }],
  ['ktray:hosts.list', [], { method: 'hosts', params: {} }],
  ['ktray:hosts.hostKey', ['gpu'], { method: 'hostKey', params: { host: 'gpu' } }],
  ['ktray:hosts.trust', ['gpu', 'SHA256:abc'], { method: 'trust', params: { host: 'gpu', fingerprint: 'SHA256:abc' } }],
  ['ktray:hosts.reconnect', ['gpu'], { method: 'reconnect', params: { host: 'gpu' } }],
  ['ktray:hosts.offer', ['gpu'], { method: 'offer', params: { host: 'gpu' } }],
  ['ktray:hosts.save', [{ id: 'new', hostname: 'new.example' }], { method: 'saveHost', params: { id: 'new', hostname: 'new.example' } }],
  ['ktray:hosts.remove', ['new'], { method: 'removeHost', params: { id: 'new' } }],
  ['ktray:hosts.sshConfigHosts', [], null],
  ['ktray:kernels.list', ['gpu', true], { method: 'kernels', params: { host: 'gpu', refresh: true } }],
  ['ktray:kernels.start', [{ host: 'gpu', python: '/opt/py' }], { method: 'start', params: { host: 'gpu', python: '/opt/py' } }],
  ['ktray:kernels.attach', ['gpu/a', 'qtconsole'], { method: 'attach', params: { id: 'gpu/a', frontend: 'qtconsole', newTerminal: true } }],
  ['ktray:kernels.detach', ['gpu/a'], { method: 'detach', params: { id: 'gpu/a' } }],
  ['ktray:kernels.stop', ['gpu/a'], { method: 'stop', params: { id: 'gpu/a' } }],
  ['ktray:kernels.interrupt', ['gpu/a'], { method: 'interrupt', params: { id: 'gpu/a' } }],
  ['ktray:kernels.restart', ['gpu/a'], { method: 'restart', params: { id: 'gpu/a' } }],
  ['ktray:kernels.pin', ['gpu/a', true], { method: 'pin', params: { id: 'gpu/a', pinned: true } }],
  ['ktray:kernels.copyConnectionFile', ['gpu/b'], { method: 'kernels', params: {} }],
  ['ktray:settings.get', [], { method: 'getSettings', params: {} }],
  ['ktray:settings.set', [{ longRunSeconds: 5 }], { method: 'setSettings', params: { longRunSeconds: 5 } }],
];

describe('registerIpc', () => {
  beforeEach(() => resetElectronStub());

  it('registers exactly the channels of the contract', () => {
    setup();
    const contract = Object.keys(createBridgeHandlers({ agent: new FakeAgent(), writeClipboard: () => {}, sshConfigHosts: async () => [] }));
    expect([...ipcMain.handlers.keys()].sort()).toEqual(contract.sort());
    expect(CASES.map((c) => c[0]).sort()).toEqual(contract.sort());
  });

  it.each(CASES)('%s reaches the agent as it should and resolves to a Result', async (channel, args, expected) => {
    const { agent } = setup();
    const result = (await ipcMain.invoke(channel, event(), ...args)) as { ok: boolean };
    expect(result.ok).toBe(true);
    if (expected) expect(agent.calls[0]).toEqual(expected);
    else expect(agent.calls).toEqual([]);
  });

  it('copies the connection file path, attaching first when there is no local file yet', async () => {
    const { agent, clipboard } = setup();
    expect(await ipcMain.invoke('ktray:kernels.copyConnectionFile', event(), 'gpu/b')).toEqual({ ok: true, value: '/l/b.json' });
    expect(await ipcMain.invoke('ktray:kernels.copyConnectionFile', event(), 'gpu/a')).toEqual({ ok: true, value: '/local/gpu-a.json' });
    expect(clipboard).toEqual(['/l/b.json', '/local/gpu-a.json']);
    expect(agent.calls.find((c) => c.method === 'attach')?.params).toEqual({ id: 'gpu/a', frontend: 'none' });
    expect(await ipcMain.invoke('ktray:hosts.sshConfigHosts', event())).toEqual({ ok: true, value: ['gpu', 'lab'] });
  });

  it('turns agent failures into error Results the window can show', async () => {
    const { agent } = setup();
    agent.failWith.stop = new KtrayError({ code: 'HOST_DOWN', message: 'gpu does not answer.', host: 'gpu', hint: 'Check the VPN.' });
    expect(await ipcMain.invoke('ktray:kernels.stop', event(), 'gpu/a')).toEqual({
      ok: false,
      error: { code: 'HOST_DOWN', message: 'gpu does not answer.', host: 'gpu', hint: 'Check the VPN.' },
    });
    agent.failWith.interrupt = new Error('boom') as KtrayError;
    expect(await ipcMain.invoke('ktray:kernels.interrupt', event(), 'gpu/a')).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'boom' } });
  });

  it.each([
    ['another webContents', event({ id: 99 })],
    ['a subframe of our window', event({ parent: {} })],
    ['another page in our window', event({ url: 'https://evil.example/' })],
    ['a frame without URL', event({ url: null })],
  ])('refuses %s on every channel without touching the agent', async (_what, ev) => {
    const { agent, warnings } = setup();
    for (const [channel, args] of CASES) {
      await expect(ipcMain.invoke(channel, ev, ...args)).rejects.toThrow(/^Refused: .* only served to the Kernel Tray window/);
    }
    expect(agent.calls).toEqual([]);
    expect(warnings).toHaveLength(CASES.length);
  });

  it('refuses everything while no window exists', async () => {
    const agent = new FakeAgent();
    registerIpc({
      services: { agent, writeClipboard: () => {}, sshConfigHosts: async () => [] },
      trusted: () => ({ webContentsId: null, location }),
      warn: () => {},
    });
    await expect(ipcMain.invoke('ktray:hosts.list', event())).rejects.toThrow(/Refused/);
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
