// Desktop notifications for the agent's events: a pure mapping, and a small
// service that shows them and routes clicks to the kernel or host concerned.
import { Notification } from 'electron';
import type { AgentEvent } from '../shared/types';
import { formatDuration } from './labels';

export const NOTIFICATION_KINDS = ['kernelDied', 'hostLost', 'hostBack', 'runFinished', 'jobStarted', 'jobTimeWarning', 'jobEnded', 'newPlot'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
export type NotificationSwitches = Record<NotificationKind, boolean>;

export const ALL_NOTIFICATIONS_ON: NotificationSwitches = {
  kernelDied: true,
  hostLost: true,
  hostBack: true,
  runFinished: true,
  jobStarted: true,
  jobTimeWarning: true,
  jobEnded: true,
  newPlot: true,
};

/** What a click on the notification opens the window on (`view: 'plots'`: that kernel's plots). */
export type FocusTarget = { kernelId: string; host: string; view?: 'plots' } | { host: string };

/** At most one New plot notification per kernel in this time: a loop drawing 50 figures is one notice. */
export const PLOT_NOTIFICATION_QUIET_MS = 30_000;

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
      if (e.kernel.job) {
        // A batch job's end, with the scheduler's reason (time limit, preempted, cancelled...).
        if (!on.jobEnded) return null;
        return {
          kind: 'jobEnded',
          title: `Job ${e.kernel.job.jobId} of kernel ${e.kernel.name} ended`,
          body: `On ${e.kernel.host}: ${e.kernel.job.ended ?? e.reason.split('\n')[0]}.`,
          target: { kernelId: e.kernel.id, host: e.kernel.host },
        };
      }
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
    case 'notice':
      // Only what needs the user (a reconnect waiting for a code), under the lost-connection switch.
      if (!e.attention || !e.host || !on.hostLost) return null;
      return { kind: 'hostLost', title: `${e.host} needs you to reconnect`, body: sentence(e.message), target: { host: e.host } };
    case 'run-finished':
      if (!on.runFinished) return null;
      return {
        kind: 'runFinished',
        title: `Run finished on ${e.kernel.name}`,
        body: `${e.kernel.host}: busy for ${formatDuration(e.seconds * 1000)}, now ${e.kernel.state}.`,
        target: { kernelId: e.kernel.id, host: e.kernel.host },
      };
    case 'job-started':
      if (!on.jobStarted) return null;
      return {
        kind: 'jobStarted',
        title: `Kernel ${e.kernel.name} is running`,
        body: `Its job ${e.kernel.job?.jobId ?? ''} on ${e.kernel.host} left the queue${e.kernel.job?.node ? ` and runs on ${e.kernel.job.node}` : ''}.`,
        target: { kernelId: e.kernel.id, host: e.kernel.host },
      };
    case 'job-time-warning':
      if (!on.jobTimeWarning) return null;
      return {
        kind: 'jobTimeWarning',
        title: `Kernel ${e.kernel.name}: ${e.minutesLeft} min left`,
        body: `Its job ${e.kernel.job?.jobId ?? ''} on ${e.kernel.host} reaches its time limit${e.kernel.job?.timeLimit ? ` (${e.kernel.job.timeLimit})` : ''} in ${e.minutesLeft} min; the kernel ends with it. Save your work.`,
        target: { kernelId: e.kernel.id, host: e.kernel.host },
      };
    case 'plot-added': {
      if (!on.newPlot) return null;
      const p = e.plot;
      const host = p.kernel.slice(0, p.kernel.indexOf('/'));
      const size = p.width !== null && p.height !== null ? `${p.width}×${p.height} ` : '';
      const type = { 'image/png': 'PNG', 'image/jpeg': 'JPEG', 'image/svg+xml': 'SVG' }[p.mime];
      // Never the code: a notification shows on a locked screen, and code can hold a password.
      return {
        kind: 'newPlot',
        title: `New plot on ${p.kernel.slice(host.length + 1)}`,
        body: `${host}: a ${size}${type} from ${p.client.session ? `client ${p.client.session.slice(0, 8)}` : 'the kernel'}. Click to see it.`,
        target: { kernelId: p.kernel, host, view: 'plots' },
      };
    }
    default:
      return null;
  }
}

export interface NotifierOptions {
  switches(): NotificationSwitches;
  onClick(target: FocusTarget): void;
  isSupported?: () => boolean;
  create?: (options: { title: string; body: string }) => Notification;
  now?: () => number;
}

export class Notifier {
  // Electron holds notifications weakly; without a reference the click handler
  // can be collected before the user clicks (electron/electron#16922).
  private readonly live = new Set<Notification>();
  /** When a New plot notification was last shown, per kernel. */
  private readonly lastPlot = new Map<string, number>();

  constructor(private readonly o: NotifierOptions) {}

  /** Shows the notification for `e`, if any; returns what was shown. */
  handle(e: AgentEvent): NotificationSpec | null {
    const spec = notificationFor(e, this.o.switches());
    if (!spec) return null;
    if (spec.kind === 'newPlot' && 'kernelId' in spec.target) {
      const now = (this.o.now ?? Date.now)();
      const last = this.lastPlot.get(spec.target.kernelId);
      if (last !== undefined && now - last < PLOT_NOTIFICATION_QUIET_MS) return null;
      this.lastPlot.set(spec.target.kernelId, now);
    }
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
