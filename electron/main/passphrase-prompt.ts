// The agent's askPassphrase for the tray app: a saved passphrase first (once
// per key and run, in case it is stale), else a small sandboxed window. The
// same window asks a server's password and keyboard-interactive prompts, with
// the server's own words. Where the agent's keychain layer offers to keep an
// answer (a password or a passphrase, never a code: prompt.keep), the window's
// checkbox says so and the wish goes back with the answer; the agent keeps it
// after the login worked. Otherwise a key passphrase may still be remembered
// here through safeStorage, as before.
import { BrowserWindow, ipcMain as electronIpcMain, type BrowserWindowConstructorOptions, type IpcMain, type IpcMainEvent } from 'electron';
import { pathToFileURL } from 'node:url';
import { isRendererUrl } from './navigation-policy';
import { PASSPHRASE_CHANNEL, parseAnswer } from './passphrase-shared';
import type { Secrets } from './secrets';
import type { AuthAnswer, AuthPrompt } from '../shared/types';
import { guardWebContents } from './window';

export interface PassphrasePromptOptions {
  secrets: Secrets;
  htmlFile: string;
  preload: string;
  createWindow?: (options: BrowserWindowConstructorOptions) => BrowserWindow;
  ipcMain?: Pick<IpcMain, 'on' | 'removeListener'>;
  /** The user asked to remember the passphrase and it could not be saved; says why. */
  onSaveError?: (message: string) => void;
}

export type PassphraseRequest = AuthPrompt;

/** A key's passphrase (the only thing the keychain may keep), by its file. */
const keyFileOf = (req: PassphraseRequest): string | null => ((req.kind ?? 'passphrase') === 'passphrase' && req.keyFile ? req.keyFile : null);

export class PassphrasePrompt {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly usedSaved = new Set<string>();

  constructor(private readonly o: PassphrasePromptOptions) {}

  /** Fits AgentHostOptions.askPassphrase; prompts one at a time. */
  readonly ask = (req: PassphraseRequest): Promise<AuthAnswer | null> => {
    const keyFile = keyFileOf(req);
    const saved = keyFile === null || this.usedSaved.has(keyFile) ? null : this.o.secrets.passphrase(keyFile);
    if (keyFile !== null && saved !== null) {
      // If it is asked for again this run, the saved one did not work: ask the user.
      this.usedSaved.add(keyFile);
      return Promise.resolve(saved);
    }
    const next = this.queue.then(() => this.prompt(req));
    this.queue = next.catch(() => undefined);
    return next;
  };

  private prompt(req: PassphraseRequest): Promise<AuthAnswer | null> {
    const ipc = this.o.ipcMain ?? electronIpcMain;
    const win = (this.o.createWindow ?? ((x) => new BrowserWindow(x)))({
      width: 420,
      height: 250,
      title: keyFileOf(req) !== null ? 'Key passphrase — Kernel Tray' : `${req.host} asks — Kernel Tray`,
      resizable: false,
      minimizable: false,
      maximizable: false,
      fullscreenable: false,
      alwaysOnTop: true,
      show: false,
      webPreferences: {
        preload: this.o.preload,
        contextIsolation: true,
        nodeIntegration: false,
        sandbox: true,
        // A session of its own (in memory): the main window's session rules do not apply to this page.
        partition: 'ktray-passphrase',
      },
    });
    const page = { kind: 'file' as const, url: pathToFileURL(this.o.htmlFile).href };
    guardWebContents(win.webContents, page, () => undefined);
    win.webContents.session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

    return new Promise<AuthAnswer | null>((resolve) => {
      let done = false;
      const finish = (value: AuthAnswer | null) => {
        if (done) return;
        done = true;
        ipc.removeListener(PASSPHRASE_CHANNEL, onAnswer);
        if (!win.isDestroyed()) win.destroy();
        resolve(value);
      };
      const onAnswer = (event: IpcMainEvent, raw: unknown) => {
        const frameUrl = event.senderFrame?.url ?? '';
        if (event.sender.id !== win.webContents.id || !isRendererUrl(frameUrl, page)) return;
        const answer = parseAnswer(raw);
        if (!answer) return;
        if (answer.passphrase !== null && req.keep?.offered) {
          // The agent's keychain keeps it, once the login worked.
          finish({ answer: answer.passphrase, keep: answer.remember });
          return;
        }
        const keyFile = keyFileOf(req);
        if (answer.passphrase !== null && answer.remember && keyFile !== null) this.remember(keyFile, answer.passphrase);
        finish(answer.passphrase);
      };
      ipc.on(PASSPHRASE_CHANNEL, onAnswer);
      win.on('closed', () => finish(null));
      const availability = this.o.secrets.availability();
      const keyFile = keyFileOf(req);
      const query: Record<string, string> = { host: req.host };
      if (req.keep?.offered) query.keep = req.keep.keychain;
      if (keyFile !== null) {
        query.keyFile = keyFile;
        // "Wrong passphrase; try again." when the last one did not open the key.
        if (req.instructions) query.instructions = req.instructions;
        if (req.keep && !req.keep.offered) query.cannotRemember = req.keep.reason;
        else if (!req.keep && !availability.ok) query.cannotRemember = availability.reason;
      } else {
        if (req.keep && !req.keep.offered) query.cannotRemember = req.keep.reason;
        query.kind = req.kind ?? 'server';
        for (const k of ['prompt', 'name', 'instructions'] as const) if (req[k]) query[k] = req[k]!;
        if (req.echo) query.echo = '1';
      }
      win.loadFile(this.o.htmlFile, { query }).then(
        () => {
          if (!win.isDestroyed()) win.show();
        },
        () => finish(null),
      );
    });
  }

  private remember(keyFile: string, passphrase: string): void {
    try {
      this.o.secrets.savePassphrase(keyFile, passphrase);
      // Typed just now: if the agent asks again this run, it was wrong, so ask the user.
      this.usedSaved.add(keyFile);
    } catch (err) {
      this.o.onSaveError?.(err instanceof Error ? err.message : String(err));
    }
  }
}
