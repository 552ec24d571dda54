// Electron entry: one instance, a tray and no window until asked. Quitting
// closes tunnels and the CLI socket; remote kernels keep running.
import { app, dialog, safeStorage } from 'electron';
import ElectronStore from 'electron-store';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connectAgent, hostAgent } from '../core/agent/agent-host';
import { logger } from '../core/util/logger';
import { linkAgent } from './agent-link';
import { AppController } from './app-controller';
import { createAutostart } from './autostart';
import type { RendererLocation } from './navigation-policy';
import { PassphrasePrompt } from './passphrase-prompt';
import { isMac, isWindows } from './platform';
import { Secrets, secretsStoreOptions, type SecretsFile } from './secrets';
import { Settings, settingsStoreOptions, type AppSettings } from './settings';

export const APP_ID = 'org.kerneltray.app';
const log = logger('app');
const OPEN_WINDOW_ARG = '--open-window';

/** `--ssh-config FILE` or `--ssh-config=FILE`, as the CLI takes it. */
export function sshConfigArg(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--ssh-config') return argv[i + 1] ? path.resolve(argv[i + 1]) : undefined;
    if (argv[i].startsWith('--ssh-config=')) return path.resolve(argv[i].slice('--ssh-config='.length));
  }
  return undefined;
}
/** Safety net only: quitting must not hang on a stuck SSH close. */
const SHUTDOWN_LIMIT_MS = 10_000;

const here = path.dirname(fileURLToPath(import.meta.url));

function rendererLocation(): { location: RendererLocation; indexFile: string | null } {
  const dev = !app.isPackaged ? process.env.KTRAY_RENDERER_URL : undefined;
  if (dev) return { location: { kind: 'dev', url: dev }, indexFile: null };
  const indexFile = path.join(app.getAppPath(), 'dist', 'renderer', 'index.html');
  return { location: { kind: 'file', url: pathToFileURL(indexFile).href }, indexFile };
}

function assetsDir(): string {
  // Tray pictures ship as extraResources, outside the asar, in packaged builds.
  return app.isPackaged ? path.join(process.resourcesPath, 'assets') : path.join(app.getAppPath(), 'assets');
}

function openStores(): { settings: Settings; secrets: Secrets } {
  const settings = new Settings(new ElectronStore<AppSettings>(settingsStoreOptions()));
  const secrets = new Secrets({ store: new ElectronStore<SecretsFile>(secretsStoreOptions()), safeStorage });
  return { settings, secrets };
}

async function main(): Promise<void> {
  await app.whenReady();
  if (isMac()) app.dock?.hide();
  if (isWindows()) app.setAppUserModelId(APP_ID);

  let stores: ReturnType<typeof openStores>;
  try {
    stores = openStores();
  } catch (err) {
    // Never reset a user's settings file behind their back: say where it is and stop.
    dialog.showErrorBox(
      'Kernel Tray cannot read its settings',
      `${err instanceof Error ? err.message : String(err)}\n\nThe files are in ${app.getPath('userData')}. Fix or move config.json there, then start Kernel Tray again.`,
    );
    app.exit(1);
    return;
  }
  const { settings, secrets } = stores;

  const autostart = createAutostart({ appPath: app.isPackaged ? null : app.getAppPath() });
  // The OS is the truth for autostart (the user may have removed the entry there).
  settings.update({ startAtLogin: autostart.isEnabled() });

  let controller: AppController | null = null;
  const prompt = new PassphrasePrompt({
    secrets,
    htmlFile: path.join(here, 'passphrase.html'),
    preload: path.join(here, 'passphrase-preload.cjs'),
    onSaveError: (message) => controller?.notifier.showMessage('Passphrase not saved', message),
  });

  controller = new AppController({
    settings,
    autostart,
    askPassphrase: prompt.ask,
    forgetKeyPassphrases: (keyFiles) => secrets.forgetAll(keyFiles),
    linkAgent: (askPassphrase) =>
      linkAgent({ connectAgent, hostAgent, askPassphrase, sshConfigFile: sshConfigArg(process.argv), onShutdown: () => app.quit() }),
    assetsDir: assetsDir(),
    preload: path.join(here, 'preload.cjs'),
    renderer: rendererLocation(),
    quit: () => app.quit(),
    log: (message) => log.info(message),
  });

  wireQuit(controller);
  app.on('second-instance', () => void controller?.openWindow());
  await controller.start();
  if (process.argv.includes(OPEN_WINDOW_ARG)) await controller.openWindow();
}

function wireQuit(controller: AppController): void {
  // A tray app lives on with no window; listening is enough to keep Electron from quitting.
  app.on('window-all-closed', () => {});
  let closing: Promise<void> | null = null;
  let closed = false;
  app.on('before-quit', (event) => {
    if (closed) return;
    event.preventDefault();
    closing ??= Promise.race([
      controller.shutdown(),
      new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_LIMIT_MS).unref()),
    ])
      .catch((err) => log.error(`shutdown: ${String(err)}`))
      .finally(() => {
        closed = true;
        app.quit();
      });
  });
}

if (!app.requestSingleInstanceLock()) {
  // Another Kernel Tray runs; it got our 'second-instance' and shows its window.
  app.quit();
} else {
  main().catch((err) => {
    log.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    dialog.showErrorBox('Kernel Tray could not start', err instanceof Error ? err.message : String(err));
    app.exit(1);
  });
}
