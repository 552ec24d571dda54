// Wake-ups that should make the agent check its SSH connections at once,
// instead of waiting for keepalives to time out: resume from sleep, screen
// unlock, and the network coming back.
import { net, powerMonitor as electronPowerMonitor } from 'electron';

export interface ReconnectTriggerOptions {
  reconnect(reason: string): void;
  powerMonitor?: Pick<NodeJS.EventEmitter, 'on' | 'removeListener'>;
  isOnline?: () => boolean;
  /** Runs `fn` every `ms`; returns the stop function. Electron has no "online" event in main. */
  every?: (ms: number, fn: () => void) => () => void;
  pollMs?: number;
}

/** 'back' when the network returned since the last look, else null. */
export function onlineTransition(before: boolean, now: boolean): 'back' | 'gone' | null {
  if (before === now) return null;
  return now ? 'back' : 'gone';
}

const defaultEvery = (ms: number, fn: () => void) => {
  const t = setInterval(fn, ms);
  t.unref?.();
  return () => clearInterval(t);
};

export function watchReconnectTriggers(o: ReconnectTriggerOptions): () => void {
  const pm = o.powerMonitor ?? electronPowerMonitor;
  const isOnline = o.isOnline ?? (() => net.isOnline());
  const onResume = () => o.reconnect('resume');
  const onUnlock = () => o.reconnect('unlock-screen');
  pm.on('resume', onResume);
  pm.on('unlock-screen', onUnlock);

  let online = isOnline();
  const stopPolling = (o.every ?? defaultEvery)(o.pollMs ?? 5_000, () => {
    const now = isOnline();
    if (onlineTransition(online, now) === 'back') o.reconnect('network-online');
    online = now;
  });

  return () => {
    pm.removeListener('resume', onResume);
    pm.removeListener('unlock-screen', onUnlock);
    stopPolling();
  };
}
