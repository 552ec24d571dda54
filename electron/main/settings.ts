// The app's settings: one electron-store file with a JSON schema and
// versioned migrations. This module holds the schema and the rules; the store
// itself is handed in (electron-store in the app, its base `conf` in tests).
import type Conf from 'conf';
import type { Options as ConfOptions } from 'conf';
import { KtrayError } from '../shared/errors';
import type { AgentSettings, Frontend, SavedHost } from '../shared/types';
import { ALL_NOTIFICATIONS_ON, NOTIFICATION_KINDS, type NotificationSwitches } from './notifications';

// A type alias, not an interface: conf wants an index-signature-compatible record.
export type AppSettings = {
  /** Hosts the user added in the app; mirrored to the agent. */
  savedHosts: SavedHost[];
  preferredFrontend: Exclude<Frontend, 'none'>;
  /** Terminal emulator command for `console`; empty = detect. */
  terminal: string;
  notifications: NotificationSwitches;
  longRunSeconds: number;
  /** A batch job's kernel is announced this many minutes before its time limit. */
  jobWarningMinutes: number;
  /** How often a cluster's queue is asked while Kernel Tray's jobs wait or run there (s). */
  jobPollSeconds: number;
  startAtLogin: boolean;
  /** Consoles opened here show other frontends' output (jupyter_console's include_other_output). */
  consoleOtherOutput: boolean;
};

/**
 * Version of the settings file layout, independent of the app's version so
 * that a release without layout changes runs no migration. Bump it together
 * with a new entry in SETTINGS_MIGRATIONS.
 */
export const SETTINGS_VERSION = '0.3.0';

export const DEFAULT_SETTINGS: AppSettings = {
  savedHosts: [],
  preferredFrontend: 'qtconsole',
  terminal: '',
  notifications: { ...ALL_NOTIFICATIONS_ON },
  longRunSeconds: 60,
  jobWarningMinutes: 10,
  jobPollSeconds: 15,
  startAtLogin: false,
  consoleOtherOutput: true,
};

const stringArray = { type: 'array', items: { type: 'string' } } as const;

export const SETTINGS_SCHEMA = {
  savedHosts: {
    type: 'array',
    items: {
      type: 'object',
      required: ['id', 'hostname'],
      additionalProperties: false,
      properties: {
        id: { type: 'string', minLength: 1, pattern: '^[^/\\s]+$' },
        hostname: { type: 'string', minLength: 1 },
        user: { type: 'string' },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        identityFile: stringArray,
        proxyJump: stringArray,
      },
    },
  },
  preferredFrontend: { enum: ['qtconsole', 'console'] },
  terminal: { type: 'string' },
  notifications: {
    type: 'object',
    required: [...NOTIFICATION_KINDS],
    additionalProperties: false,
    properties: Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, { type: 'boolean' }])),
  },
  longRunSeconds: { type: 'integer', minimum: 1, maximum: 7 * 24 * 3600 },
  jobWarningMinutes: { type: 'number', exclusiveMinimum: 0, maximum: 7 * 24 * 60 },
  jobPollSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600 },
  startAtLogin: { type: 'boolean' },
  consoleOtherOutput: { type: 'boolean' },
} as const;

type Store = Conf<AppSettings>;

/**
 * Keyed by SETTINGS_VERSION values. Each runs once, on files written before
 * it, and must cope with keys that are missing (a fresh file runs them too).
 */
export const SETTINGS_MIGRATIONS: Record<string, (store: Store) => void> = {
  // Development builds before 0.1.0 wrote `frontend`, `longRunThreshold` (ms)
  // and `notify: { died, lost, back, finished }`.
  '0.1.0': (store) => {
    const raw = store as unknown as Conf<Record<string, unknown>>;
    if (raw.has('frontend')) {
      const f = raw.get('frontend');
      if (f === 'qtconsole' || f === 'console') store.set('preferredFrontend', f);
      raw.delete('frontend');
    }
    if (raw.has('longRunThreshold')) {
      const ms = raw.get('longRunThreshold');
      if (typeof ms === 'number' && ms >= 1000) store.set('longRunSeconds', Math.round(ms / 1000));
      raw.delete('longRunThreshold');
    }
    if (raw.has('notify')) {
      const old = raw.get('notify') as Record<string, unknown> | undefined;
      const pick = (k: string, d: boolean) => (typeof old?.[k] === 'boolean' ? (old[k] as boolean) : d);
      store.set('notifications', {
        kernelDied: pick('died', true),
        hostLost: pick('lost', true),
        hostBack: pick('back', true),
        runFinished: pick('finished', true),
        newPlot: true,
      });
      raw.delete('notify');
    }
  },
  // 0.2.0 adds the batch job notifications (on, like the others), which the schema requires.
  '0.2.0': (store) => {
    const raw = store as unknown as Conf<Record<string, unknown>>;
    const now = raw.get('notifications') as Partial<NotificationSwitches> | undefined;
    store.set('notifications', { ...ALL_NOTIFICATIONS_ON, ...(now ?? {}) });
  },
  // 0.3.0 adds the New plot notification (on, like the others): files already at 0.2.0 lack it.
  '0.3.0': (store) => {
    const raw = store as unknown as Conf<Record<string, unknown>>;
    const now = raw.get('notifications') as Partial<NotificationSwitches> | undefined;
    store.set('notifications', { ...ALL_NOTIFICATIONS_ON, ...(now ?? {}) });
  },
};

/** Options for the store; electron-store adds `cwd` (userData) itself. */
export function settingsStoreOptions(): ConfOptions<AppSettings> & { name: string } {
  return {
    name: 'config',
    schema: SETTINGS_SCHEMA as unknown as ConfOptions<AppSettings>['schema'],
    defaults: structuredClone(DEFAULT_SETTINGS),
    migrations: SETTINGS_MIGRATIONS,
    projectVersion: SETTINGS_VERSION,
    // A broken file is the user's: fail loudly rather than silently reset it.
    clearInvalidConfig: false,
  };
}

export type SettingsListener = (next: AppSettings, changed: (keyof AppSettings)[]) => void;

export class Settings {
  private readonly listeners = new Set<SettingsListener>();

  constructor(private readonly store: Store) {}

  /** The known keys only (the file also holds conf's own bookkeeping). */
  get all(): AppSettings {
    const keys = Object.keys(DEFAULT_SETTINGS) as (keyof AppSettings)[];
    return Object.fromEntries(keys.map((k) => [k, this.get(k)])) as AppSettings;
  }

  get<K extends keyof AppSettings>(key: K): AppSettings[K] {
    return this.store.get(key) ?? DEFAULT_SETTINGS[key];
  }

  /** Validates against the schema and writes; listeners hear which keys changed. */
  update(patch: Partial<AppSettings>): AppSettings {
    const before = this.all;
    const changed = (Object.keys(patch) as (keyof AppSettings)[]).filter(
      (k) => patch[k] !== undefined && JSON.stringify(patch[k]) !== JSON.stringify(before[k]),
    );
    if (changed.length === 0) return before;
    try {
      this.store.set(Object.fromEntries(changed.map((k) => [k, patch[k]])) as AppSettings);
    } catch (err) {
      throw new KtrayError(
        { code: 'BAD_INPUT', message: `Settings not saved: ${err instanceof Error ? err.message : String(err)}` },
        { cause: err },
      );
    }
    const next = this.all;
    for (const l of this.listeners) l(next, changed);
    return next;
  }

  onChange(listener: SettingsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The part of the settings the agent acts on. */
  agentSettings(): AgentSettings {
    return {
      longRunSeconds: this.get('longRunSeconds'),
      terminal: this.get('terminal'),
      jobWarningMinutes: this.get('jobWarningMinutes'),
      jobPollSeconds: this.get('jobPollSeconds'),
      consoleOtherOutput: this.get('consoleOtherOutput'),
    };
  }

  get path(): string {
    return this.store.path;
  }
}

export const AGENT_SETTING_KEYS: readonly (keyof AgentSettings & keyof AppSettings)[] = ['longRunSeconds', 'terminal', 'jobWarningMinutes', 'jobPollSeconds', 'consoleOtherOutput'];
