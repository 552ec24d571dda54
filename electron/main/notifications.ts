// Desktop notifications for the agent's events: a pure mapping, and a small
// service that shows them and routes clicks to the kernel or host concerned.
import { Notification } from 'electron';
import type { AgentEvent } from '../shared/types';
import { formatDuration } from './labels';

export const NOTIFICATION_KINDS = ['kernelDied', 'hostLost', 'hostBack', 'runFinished'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
export type NotificationSwitches = Record<NotificationKind, boolean>;

export const ALL_NOTIFICATIONS_ON: NotificationSwitches = { kernelDied: true, hostLost: true, hostBack: true, runFinished: true };

/** What a click on the notification opens the window on. */
export type FocusTarget = { kernelId: string; host: string } | { host: string };

export interface NotificationSpec {
  kind: NotificationKind;
  title: string;
  body: string;
  target: FocusTarget;
}

const sentence = (s: string) => (/[.!?]$/.test(s.trim()) ? s.trim() : `${s.trim()}.`);

/** The notification an event deserves, or null (other kinds, or switched off). */
export function notificationFor(e: AgentEvent, on: NotificationSwitches): NotificationSpec | null {
  switch (e.type) {
    case 'kernel-died':
      if (!on.kernelDied) return null;
      return {
        kind: 'kernelDied',
        title: `Kernel ${e.kernel.name} died`,
        body: `On ${e.kernel.host}: ${e.reason}`,
        target: { kernelId: e.kernel.id, host: e.kernel.host },
      };
    case 'host-lost':
      if (!on.hostLost) return null;
      return {
        kind: 'hostLost',
        title: `Lost connection to ${e.host.id}`,
        body: `${sentence(e.reason)} Remote kernels keep running; Kernel Tray reconnects when the host answers.`,
        target: { host: e.host.id },
      };
    case 'host-back':
      if (!on.hostBack) return null;
      return {
        kind: 'hostBack',
        title: `${e.host.id} is back`,
        body: `Reconnected after ${formatDuration(e.downSeconds * 1000)}.`,
        target: { host: e.host.id },
      };
    case 'run-finished':
      if (!on.runFinished) return null;
      return {
        kind: 'runFinished',
        title: `Run finished on ${e.kernel.name}`,
        body: `${e.kernel.host}: busy for ${formatDuration(e.seconds * 1000)}, now ${e.kernel.state}.`,
        target: { kernelId: e.kernel.id, host: e.kernel.host },
      };
    default:
      return null;
  }
}

export interface NotifierOptions {
  switches(): NotificationSwitches;
  onClick(target: FocusTarget): void;
  isSupported?: () => boolean;
  create?: (options: { title: string; body: string }) => Notification;
}

export class Notifier {
  // Electron holds notifications weakly; without a reference the click handler
  // can be collected before the user clicks (electron/electron#16922).
  private readonly live = new Set<Notification>();

  constructor(private readonly o: NotifierOptions) {}

  /** Shows the notification for `e`, if any; returns what was shown. */
  handle(e: AgentEvent): NotificationSpec | null {
    const spec = notificationFor(e, this.o.switches());
    if (!spec) return null;
    return this.show(spec) ? spec : null;
  }

  /** For errors of menu actions, which have no event of their own. */
  showMessage(title: string, body: string, target: FocusTarget | null = null): boolean {
    const n = this.create({ title, body });
    if (!n) return false;
    if (target) n.on('click', () => this.o.onClick(target));
    this.keep(n);
    n.show();
    return true;
  }

  private show(spec: NotificationSpec): boolean {
    const n = this.create({ title: spec.title, body: spec.body });
    if (!n) return false;
    n.on('click', () => this.o.onClick(spec.target));
    this.keep(n);
    n.show();
    return true;
  }

  private create(options: { title: string; body: string }): Notification | null {
    if (!(this.o.isSupported ?? (() => Notification.isSupported()))()) return null;
    return (this.o.create ?? ((opt) => new Notification(opt)))(options);
  }

  private keep(n: Notification): void {
    this.live.add(n);
    const release = () => this.live.delete(n);
    n.on('click', release);
    n.on('close', release);
  }

  get pending(): number {
    return this.live.size;
  }
}
