// Wires the agent to the tray, the menu, the window, notifications and
// settings. Everything OS-facing comes in through options or the adapters.
import path from 'node:path';
import { app, clipboard, dialog, nativeImage, shell, type Rectangle } from 'electron';
import type { AgentConnection } from '../shared/agent-api';
import { KtrayError, formatError } from '../shared/errors';
import type { AgentHostOptions } from '../core/agent/agent-host';
import type { BridgeServices } from '../shared/ipc-contract';
import { extensionOf } from '../core/plots/plot-cache';
import type { PlotMime } from '../shared/types';
import { createDesktop } from './desktop';
import type { AgentLink } from './agent-link';
import { AgentStateHolder, type AgentSnapshot } from './agent-state';
import type { Autostart } from './autostart';
import { forwardEvents, registerIpc } from './ipc';
import { buildMenuTemplate, type MenuIntents } from './menu';
import type { RendererLocation } from './navigation-policy';
import { Notifier, type FocusTarget } from './notifications';
import type { Platform } from './platform';
import { watchReconnectTriggers } from './reconnect-triggers';
import { createSettingsSync, pushSettings, type SettingsSync } from './settings-sync';
import type { Settings } from './settings';
import { TrayController } from './tray';
import { KtrayWindow } from './window';

export interface ControllerOptions {
  settings: Settings;
  autostart: Autostart;
  /** Connects to or hosts the agent; gets the passphrase prompt to hand to a hosted one. */
  linkAgent(askPassphrase: AgentHostOptions['askPassphrase']): Promise<AgentLink>;
  askPassphrase: AgentHostOptions['askPassphrase'];
  /**
   * Forgets what the app itself kept for these key files (safeStorage, from
   * before the agent's keychain); returns how many it removed.
   */
  forgetKeyPassphrases?: (keyFiles: string[]) => number;
  assetsDir: string;
  preload: string;
  renderer: { location: RendererLocation; indexFile: string | null };
  quit(): void;
  platform?: Platform;
  now?: () => number;
  log?: (message: string) => void;
}

/** While something is busy the menu says for how long, so it is redrawn this often. */
const BUSY_REDRAW_MS = 30_000;

const PLOT_FILE_KINDS: Record<PlotMime, string> = { 'image/png': 'PNG image', 'image/jpeg': 'JPEG image', 'image/svg+xml': 'SVG image' };

export class AppController {
  readonly state: AgentStateHolder;
  readonly tray: TrayController;
  readonly window: KtrayWindow;
  readonly notifier: Notifier;
  private link: AgentLink | null = null;
  private sync: SettingsSync | null = null;
  private services_: BridgeServices | null = null;
  private cleanups: Array<() => void> = [];
  private renderQueued = false;
  private busyTimer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly o: ControllerOptions) {
    this.state = new AgentStateHolder(() => this.scheduleRender());
    this.window = new KtrayWindow({
      location: o.renderer.location,
      indexFile: o.renderer.indexFile,
      preload: o.preload,
      platform: o.platform,
    });
    this.tray = new TrayController({
      assetsDir: o.assetsDir,
      platform: o.platform,
      onToggleWindow: (bounds) => void this.window.toggle(bounds),
    });
    this.notifier = new Notifier({
      switches: () => o.settings.get('notifications'),
      onClick: (target) => void this.openWindow(target),
    });
    this.render();
  }

  get agent(): AgentConnection | null {
    return this.sync?.agent ?? null;
  }

  get mode(): AgentLink['mode'] | 'none' {
    return this.link?.mode ?? 'none';
  }

  /** Links the agent and wires it everywhere; a failure shows in the menu with "Try again". */
  async start(): Promise<void> {
    if (this.link) return;
    let link: AgentLink;
    try {
      link = await this.o.linkAgent(this.o.askPassphrase);
    } catch (err) {
      const e = KtrayError.from(err);
      this.state.fail(`Agent not available: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      this.render();
      return;
    }
    this.link = link;
    const sync = createSettingsSync(link.connection, this.o.settings, (err) => this.report('Settings not applied', err));
    this.sync = sync;
    this.services_ = this.services(sync.agent);
    this.cleanups.push(
      sync.dispose,
      registerIpc({
        services: this.services_,
        trusted: () => ({ webContentsId: this.window.webContentsId, location: this.o.renderer.location }),
      }),
      forwardEvents(link.connection, (channel, event) => this.window.send(channel, event)),
      link.connection.onEvent((event) => this.notifier.handle(event)),
      watchReconnectTriggers({ reconnect: (reason) => void this.reconnect(reason) }),
    );
    await pushSettings(link.connection, this.o.settings).catch((err) => this.report('Settings not applied', err));
    await this.state.attach(link.connection);
    this.render();
  }

  async openWindow(target: FocusTarget | null = null, trayBounds: Rectangle | null = null): Promise<void> {
    await this.window.show({ target, trayBounds: trayBounds ?? this.tray.bounds() });
  }

  /** Closes a hosted agent (tunnels, socket); remote kernels keep running. Safe to call twice. */
  async shutdown(): Promise<void> {
    if (this.busyTimer) clearInterval(this.busyTimer);
    this.busyTimer = null;
    await this.unlink();
    this.window.destroy();
    this.tray.destroy();
  }

  /** Drops the agent and starts over: used by "Try again" and when a CLI-started agent went away. */
  async relink(): Promise<void> {
    await this.unlink();
    this.state.reset();
    await this.start();
  }

  private async unlink(): Promise<void> {
    for (const c of this.cleanups.splice(0)) c();
    this.state.detach();
    const link = this.link;
    this.link = null;
    this.sync = null;
    this.services_ = null;
    await link?.close().catch((err) => this.o.log?.(`closing the agent link: ${String(err)}`));
  }

  async reconnect(reason: string): Promise<void> {
    const agent = this.agent;
    if (!agent) return;
    this.o.log?.(`checking connections (${reason})`);
    await agent.reconnect({}).catch((err) => this.report(`Could not check connections after ${reason}`, err));
  }

  /** The menu's clicks. Each failure becomes a notification that says what to do. */
  intents(): MenuIntents {
    const run = (what: string, fn: (s: BridgeServices) => Promise<unknown>) => {
      const s = this.services_;
      if (!s) return;
      fn(s).catch((err) => this.report(what, err));
    };
    return {
      attach: (id, frontend) => run(`Could not attach ${frontend} to ${id}`, (s) => s.desktop.openFrontend({ id, frontend })),
      copyConnectionFile: (id) => run(`Could not copy the connection file of ${id}`, (s) => s.desktop.copyConnectionFile({ id })),
      interrupt: (id) => run(`Could not interrupt ${id}`, (s) => s.agent.interrupt({ id })),
      restart: (id) => run(`Could not restart ${id}`, (s) => s.agent.restart({ id })),
      stop: (id) => run(`Could not stop ${id}`, (s) => s.agent.stop({ id })),
      startKernel: (host) => run(`Could not start a kernel on ${host}`, (s) => s.agent.start({ host })),
      startServer: (host) => run(`Could not start a Jupyter server on ${host}`, (s) => s.agent.startServer({ host })),
      openServer: (id) =>
        run(`Could not open ${id}`, async (s) => {
          const opened = await s.desktop.openServerInBrowser({ id });
          if (opened.note) this.notifier.showMessage(`Opened ${id}`, opened.note, { host: opened.server.host });
        }),
      copyServerUrl: (id) => run(`Could not copy the URL of ${id}`, (s) => s.desktop.copyServerUrl({ id })),
      closeServer: (id) => run(`Could not close the tunnel of ${id}`, (s) => s.agent.closeServer({ id })),
      stopServer: (id) => run(`Could not stop ${id}`, (s) => s.agent.stopServer({ id })),
      reconnect: (host) => run(`Could not reconnect to ${host}`, (s) => s.agent.reconnect({ host })),
      openWindow: () => void this.openWindow(),
      openPlots: (id) => void this.openWindow({ kernelId: id, host: id.slice(0, id.indexOf('/')), view: 'plots' }),
      setStartAtLogin: (on) => {
        try {
          this.o.autostart.setEnabled(on);
          this.o.settings.update({ startAtLogin: this.o.autostart.isEnabled() });
        } catch (err) {
          this.report(on ? 'Could not turn on start at login' : 'Could not turn off start at login', err);
        }
        this.render();
      },
      setNotification: (kind, on) => {
        this.o.settings.update({ notifications: { ...this.o.settings.get('notifications'), [kind]: on } });
        this.render();
      },
      setPreferredFrontend: (frontend) => {
        this.o.settings.update({ preferredFrontend: frontend });
        this.render();
      },
      retryAgent: () => void this.relink(),
      quit: () => this.o.quit(),
    };
  }

  private services(agent: AgentConnection): BridgeServices {
    return {
      agent: this.withAppSecrets(agent),
      desktop: createDesktop(agent, {
        writeClipboard: (text) => clipboard.writeText(text),
        openUrl: (url) => shell.openExternal(url),
        writeClipboardImage: (bytes) => {
          const image = nativeImage.createFromBuffer(bytes);
          if (image.isEmpty()) throw new KtrayError({ code: 'BAD_INPUT', message: 'This image could not be decoded for the clipboard; save it instead.' });
          clipboard.writeImage(image);
        },
        chooseSavePath: async (suggested, plot) => {
          const options = {
            title: 'Save plot',
            defaultPath: path.join(app.getPath('pictures'), suggested),
            filters: [{ name: PLOT_FILE_KINDS[plot.mime], extensions: [extensionOf(plot.mime)] }],
          };
          // On the window when it is open, so the dialog stays in front of it.
          const parent = this.window.current;
          const r = parent ? await dialog.showSaveDialog(parent, options) : await dialog.showSaveDialog(options);
          return r.canceled || !r.filePath ? null : r.filePath;
        },
      }),
    };
  }

  /**
   * The agent, except that forgetting a host's secrets also forgets the key
   * passphrases the app kept for it in its own store: Forget secrets leaves
   * none of them behind.
   */
  private withAppSecrets(agent: AgentConnection): AgentConnection {
    const forget = this.o.forgetKeyPassphrases;
    if (!forget) return agent;
    const forgetSecrets: AgentConnection['forgetSecrets'] = async (p) => {
      const r = await agent.forgetSecrets(p);
      const here = forget(r.keyFiles ?? []);
      return here ? { ...r, removed: r.removed + here } : r;
    };
    return new Proxy(agent, {
      get(target, key) {
        if (key === 'forgetSecrets') return forgetSecrets;
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  private scheduleRender(): void {
    // Events come in bursts (a refresh touches every kernel): draw once per burst.
    if (this.renderQueued) return;
    this.renderQueued = true;
    setImmediate(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  /** Rebuilds the menu and the icon from the current snapshot. */
  render(): void {
    const snapshot: AgentSnapshot = this.state.current;
    const template = buildMenuTemplate(
      {
        snapshot,
        preferredFrontend: this.o.settings.get('preferredFrontend'),
        startAtLogin: this.o.autostart.isEnabled(),
        notifications: this.o.settings.get('notifications'),
        agentMode: this.mode,
        now: (this.o.now ?? Date.now)(),
      },
      this.intents(),
    );
    this.tray.render(snapshot, template);
    this.keepBusyLabelsFresh(snapshot);
  }

  private keepBusyLabelsFresh(s: AgentSnapshot): void {
    const busy = s.kernels.some((k) => k.state === 'busy' || k.state === 'unresponsive');
    if (busy && !this.busyTimer) {
      this.busyTimer = setInterval(() => this.render(), BUSY_REDRAW_MS);
      this.busyTimer.unref?.();
    } else if (!busy && this.busyTimer) {
      clearInterval(this.busyTimer);
      this.busyTimer = null;
    }
  }

  private report(what: string, err: unknown): void {
    const e = KtrayError.from(err);
    if (e.code === 'AGENT_UNAVAILABLE' && this.link?.mode === 'client') {
      // The CLI-started agent we used has gone (`ktray agent stop`): say so, offer to start one here.
      void this.unlink().then(() => this.state.fail(`The ktray agent stopped: ${e.message}`));
      return;
    }
    const body = formatError(e.toData());
    this.o.log?.(`${what}: ${body}`);
    const target = e.host ? { host: e.host } : null;
    if (!this.notifier.showMessage(what, body, target)) dialog.showErrorBox(what, body);
  }
}
