// Where plots go when they leave the agent's memory: files of 0600 in a 0700
// folder under KTRAY_HOME. They are this agent's alone: an agent removes what
// an earlier one left (no index survives it), and its own files when it closes.
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir } from '../util/paths';

const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/svg+xml': 'svg' };

export function extensionOf(mime: string): string {
  return EXTENSIONS[mime] ?? 'bin';
}

/**
 * `train-3.png` for plot 3 of kernel gpu/train (`-v2` once its display was updated): the
 * kernel's name without its host, safe as a file name anywhere.
 */
export function plotFileName(plot: { kernel: string; seq: number; version: number; mime: string }): string {
  const name = (plot.kernel.split('/').pop() ?? '').replace(/^kernel-/, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '').slice(0, 60) || 'kernel';
  return `${name}-${plot.seq}${plot.version > 1 ? `-v${plot.version}` : ''}.${extensionOf(plot.mime)}`;
}

export class PlotCache {
  private readonly ready: Promise<void>;
  private made: Promise<void> | null = null;

  constructor(readonly dir: string) {
    // Files of an agent that did not close (killed, crashed): nobody can name them any more.
    this.ready = rm(dir, { recursive: true, force: true }).catch(() => {});
  }

  /** Writes a new file (never over an existing one) and returns its path. */
  async write(tag: string, mime: string, data: Buffer): Promise<string> {
    await this.ready;
    this.made ??= ensurePrivateDir(this.dir, { what: 'The plot cache', hint: 'Set KTRAY_HOME to a folder of your own.' });
    try {
      await this.made;
    } catch (err) {
      this.made = null;
      throw err;
    }
    const file = path.join(this.dir, `${tag}-${randomBytes(4).toString('hex')}.${extensionOf(mime)}`);
    await writeFile(file, data, { mode: 0o600, flag: 'wx' });
    return file;
  }

  read(file: string): Promise<Buffer> {
    return readFile(file);
  }

  /** Never rejects: a file that will not go is left for the next agent's start to remove. */
  async remove(file: string): Promise<void> {
    await rm(file, { force: true }).catch(() => {});
  }

  async clear(): Promise<void> {
    await this.ready;
    await rm(this.dir, { recursive: true, force: true });
    this.made = null;
  }
}
