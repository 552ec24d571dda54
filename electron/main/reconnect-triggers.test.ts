import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onlineTransition, watchReconnectTriggers } from './reconnect-triggers';
import { powerMonitor, resetElectronStub, stub } from './test/electron-stub';

function setup(online = true) {
  const reasons: string[] = [];
  let tick: (() => void) | null = null;
  let stopped = false;
  let isOnline = online;
  const pm = new EventEmitter();
  const stop = watchReconnectTriggers({
    reconnect: (r) => reasons.push(r),
    powerMonitor: pm,
    isOnline: () => isOnline,
    every: (_ms, fn) => {
      tick = fn;
      return () => {
        stopped = true;
      };
    },
  });
  return {
    reasons,
    pm,
    stop,
    setOnline: (v: boolean) => {
      isOnline = v;
      tick!();
    },
    get stopped() {
      return stopped;
    },
  };
}

describe('reconnect triggers', () => {
  it('reconnects on resume and on screen unlock', () => {
    const s = setup();
    s.pm.emit('resume');
    s.pm.emit('unlock-screen');
    s.pm.emit('suspend');
    expect(s.reasons).toEqual(['resume', 'unlock-screen']);
  });

  it('reconnects when the network comes back, not while it stays up or goes down', () => {
    const s = setup(true);
    s.setOnline(true);
    s.setOnline(false);
    s.setOnline(false);
    expect(s.reasons).toEqual([]);
    s.setOnline(true);
    expect(s.reasons).toEqual(['network-online']);
  });

  it('stops listening and polling when stopped', () => {
    const s = setup();
    s.stop();
    s.pm.emit('resume');
    expect(s.reasons).toEqual([]);
    expect(s.stopped).toBe(true);
    expect(s.pm.listenerCount('resume')).toBe(0);
  });

  it("uses Electron's powerMonitor and net by default", () => {
    resetElectronStub();
    const reasons: string[] = [];
    const stop = watchReconnectTriggers({ reconnect: (r) => reasons.push(r), every: () => () => {} });
    powerMonitor.emit('resume');
    stop();
    powerMonitor.emit('resume');
    expect(reasons).toEqual(['resume']);
    expect(stub.online).toBe(true);
  });

  it('names transitions', () => {
    expect(onlineTransition(false, true)).toBe('back');
    expect(onlineTransition(true, false)).toBe('gone');
    expect(onlineTransition(true, true)).toBeNull();
  });
});
