// Pythons for tests: one without ipykernel, made here rather than assumed (a
// fresh machine has no pyenv).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The Debian python: it has ipykernel and jupyter_client (python3-ipykernel). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

let bare: string | null = null;

/** A venv of the system python with no packages at all (no pip needed): no ipykernel, no jupyter_core. */
export function pythonWithoutIpykernel(): string {
  if (bare && existsSync(bare)) return bare;
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-bare-venv-'));
  execFileSync(SYSTEM_PYTHON, ['-m', 'venv', '--without-pip', dir], { stdio: 'ignore' });
  bare = path.join(dir, 'bin', 'python3');
  return bare;
}
