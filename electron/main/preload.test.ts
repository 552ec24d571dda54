import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../shared/types';
import { BRIDGE_CHANNELS, EVENT_CHANNEL, type KtrayBridge } from '../shared/ipc-contract';
import { ipcRenderer, stub } from './test/electron-stub';
import { T0 } from './test/fixtures';

let api: KtrayBridge;

beforeAll(async () => {
  stub.exposed = {};
  await import('./preload');
  api = stub.exposed.ktray as KtrayBridge;
});

beforeEach(() => {
  stub.invoked = [];
  stub.invokeResults.clear();
});

describe('preload', () => {
  it('exposes one object, window.ktray, grouped by domain, with functions only', () => {
    expect(Object.keys(stub.exposed)).toEqual(['ktray']);
    expect(Object.keys(api).sort()).toEqual(['agent', 'hosts', 'kernels', 'onEvent', 'plots', 'servers', 'settings']);
    for (const group of ['agent', 'hosts', 'kernels', 'plots', 'servers', 'settings'] as const) {
      for (const fn of Object.values(api[group])) expect(typeof fn).toBe('function');
    }
    expect(api).not.toHaveProperty('send');
    expect(api).not.toHaveProperty('invoke');
  });

  it('maps every method to its channel with its params, covering the whole contract', async () => {
    const calls: Array<() => Promise<unknown>> = [
      () => api.agent.status({}),
      () => api.hosts.list({}),
      () => api.hosts.hostKey({ host: 'gpu' }),
      () => api.hosts.trust({ host: 'gpu', fingerprint: 'SHA256:x' }),
      () => api.hosts.reconnect({ host: 'gpu' }),
      () => api.hosts.offer({ host: 'gpu' }),
      () => api.hosts.save({ id: 'n', hostname: 'n.example' }),
      () => api.hosts.remove({ id: 'n' }),
      () => api.hosts.setScheduler({ host: 'n', scheduler: null }),
      () => api.hosts.setTransport({ host: 'n', transport: 'ssh2' }),
      () => api.hosts.forgetSecrets({ host: 'n' }),
      () => api.kernels.list({ host: 'gpu', refresh: true }),
      () => api.kernels.start({ host: 'gpu' }),
      () => api.kernels.attach({ id: 'gpu/a' }),
      () => api.kernels.open({ id: 'gpu/a', frontend: 'console' }),
      () => api.kernels.detach({ id: 'gpu/a' }),
      () => api.kernels.stop({ id: 'gpu/a' }),
      () => api.kernels.interrupt({ id: 'gpu/a' }),
      () => api.kernels.restart({ id: 'gpu/a' }),
      () => api.kernels.pin({ id: 'gpu/a', pinned: true }),
      () => api.kernels.copyConnectionFile({ id: 'gpu/a' }),
      () => api.plots.list({ kernel: 'gpu/a' }),
      () => api.plots.get({ id: 'gpu/a#1' }),
      () => api.plots.copy({ id: 'gpu/a#1' }),
      () => api.plots.save({ id: 'gpu/a#1' }),
      () => api.servers.list({ host: 'gpu' }),
      () => api.servers.start({ host: 'gpu', app: 'lab' }),
      () => api.servers.tunnel({ id: 'gpu/jpserver-1' }),
      () => api.servers.open({ id: 'gpu/jpserver-1' }),
      () => api.servers.copyUrl({ id: 'gpu/jpserver-1' }),
      () => api.servers.close({ id: 'gpu/jpserver-1' }),
      () => api.servers.kernels({ id: 'gpu/jpserver-1' }),
      () => api.servers.stop({ id: 'gpu/jpserver-1' }),
      () => api.settings.get({}),
      () => api.settings.set({ terminal: 'kitty' }),
    ];
    for (const c of calls) await c();
    expect(stub.invoked).toEqual([
      { channel: 'ktray:agent.status', args: [{}] },
      { channel: 'ktray:hosts.list', args: [{}] },
      { channel: 'ktray:hosts.hostKey', args: [{ host: 'gpu' }] },
      { channel: 'ktray:hosts.trust', args: [{ host: 'gpu', fingerprint: 'SHA256:x' }] },
      { channel: 'ktray:hosts.reconnect', args: [{ host: 'gpu' }] },
      { channel: 'ktray:hosts.offer', args: [{ host: 'gpu' }] },
      { channel: 'ktray:hosts.save', args: [{ id: 'n', hostname: 'n.example' }] },
      { channel: 'ktray:hosts.remove', args: [{ id: 'n' }] },
      { channel: 'ktray:hosts.setScheduler', args: [{ host: 'n', scheduler: null }] },
      { channel: 'ktray:hosts.setTransport', args: [{ host: 'n', transport: 'ssh2' }] },
      { channel: 'ktray:hosts.forgetSecrets', args: [{ host: 'n' }] },
      { channel: 'ktray:kernels.list', args: [{ host: 'gpu', refresh: true }] },
      { channel: 'ktray:kernels.start', args: [{ host: 'gpu' }] },
      { channel: 'ktray:kernels.attach', args: [{ id: 'gpu/a' }] },
      { channel: 'ktray:kernels.open', args: [{ id: 'gpu/a', frontend: 'console' }] },
      { channel: 'ktray:kernels.detach', args: [{ id: 'gpu/a' }] },
      { channel: 'ktray:kernels.stop', args: [{ id: 'gpu/a' }] },
      { channel: 'ktray:kernels.interrupt', args: [{ id: 'gpu/a' }] },
      { channel: 'ktray:kernels.restart', args: [{ id: 'gpu/a' }] },
      { channel: 'ktray:kernels.pin', args: [{ id: 'gpu/a', pinned: true }] },
      { channel: 'ktray:kernels.copyConnectionFile', args: [{ id: 'gpu/a' }] },
      { channel: 'ktray:plots.list', args: [{ kernel: 'gpu/a' }] },
      { channel: 'ktray:plots.get', args: [{ id: 'gpu/a#1' }] },
      { channel: 'ktray:plots.copy', args: [{ id: 'gpu/a#1' }] },
      { channel: 'ktray:plots.save', args: [{ id: 'gpu/a#1' }] },
      { channel: 'ktray:servers.list', args: [{ host: 'gpu' }] },
      { channel: 'ktray:servers.start', args: [{ host: 'gpu', app: 'lab' }] },
      { channel: 'ktray:servers.tunnel', args: [{ id: 'gpu/jpserver-1' }] },
      { channel: 'ktray:servers.open', args: [{ id: 'gpu/jpserver-1' }] },
      { channel: 'ktray:servers.copyUrl', args: [{ id: 'gpu/jpserver-1' }] },
      { channel: 'ktray:servers.close', args: [{ id: 'gpu/jpserver-1' }] },
      { channel: 'ktray:servers.kernels', args: [{ id: 'gpu/jpserver-1' }] },
      { channel: 'ktray:servers.stop', args: [{ id: 'gpu/jpserver-1' }] },
      { channel: 'ktray:settings.get', args: [{}] },
      { channel: 'ktray:settings.set', args: [{ terminal: 'kitty' }] },
    ]);
    expect(new Set(stub.invoked.map((i) => i.channel))).toEqual(new Set(BRIDGE_CHANNELS.map((c) => c.channel)));
  });

  it('passes the Result from the main process through unchanged', async () => {
    stub.invokeResults.set('ktray:kernels.stop', { ok: false, error: { code: 'HOST_DOWN', message: 'down' } });
    expect(await api.kernels.stop({ id: 'gpu/a' })).toEqual({ ok: false, error: { code: 'HOST_DOWN', message: 'down' } });
  });

  it('delivers events without the IPC event object and unsubscribes', () => {
    const got: unknown[][] = [];
    const off = api.onEvent((...args) => got.push(args));
    const e: AgentEvent = { type: 'notice', at: T0, host: null, message: 'hi' };
    ipcRenderer.emit(EVENT_CHANNEL, { sender: 'secret internals' }, e);
    expect(got).toEqual([[e]]);
    expect(typeof off).toBe('function');
    off();
    ipcRenderer.emit(EVENT_CHANNEL, {}, e);
    expect(got).toHaveLength(1);
    expect(ipcRenderer.listenerCount(EVENT_CHANNEL)).toBe(0);
  });
});
