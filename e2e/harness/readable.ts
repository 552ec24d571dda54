// Harness scripts that another user runs (nobody, a second local user) cannot be
// read where the checkout is only its owner's (/root on a fresh CI machine, a
// 0700 home): they run from a copy any user can read, made once per process in
// /tmp, which every namespace of the harness shares, and removed at exit.
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';

const copies = new Map<string, string>();
let dir: string | null = null;

export function readableByAll(file: string): string {
  const done = copies.get(file);
  if (done) return done;
  if (!dir) {
    const made = mkdtempSync('/tmp/kt-harness-');
    chmodSync(made, 0o755);
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    dir = made;
  }
  const copy = path.join(dir, path.basename(file));
  copyFileSync(file, copy);
  chmodSync(copy, 0o644);
  copies.set(file, copy);
  return copy;
}
