// bin/ktray.js in a copy of the checkout (bin, scripts, electron copied;
// node_modules linked): the bundle is built on first use, reused while its
// inputs are unchanged, rebuilt once when a source or a remote script changes,
// and used as shipped where there are no sources.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// Inside node_modules, so the bundle's externals resolve as they do in the checkout.
const COPY = path.join(ROOT, 'node_modules/.cache', `kt-cli-bundle-test-${process.pid}`);
const MANIFEST = path.join(COPY, 'dist/cli/.inputs.json');
const VERSION_TS = path.join(COPY, 'electron/shared/version.ts');

function node(...args: string[]) {
  const r = spawnSync(process.execPath, args, { cwd: COPY, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}
const ktray = (...args: string[]) => node('bin/ktray.js', ...args);
const builtAt = () => fs.statSync(MANIFEST).mtimeMs;

beforeAll(() => {
  fs.rmSync(COPY, { recursive: true, force: true });
  fs.mkdirSync(COPY, { recursive: true });
  for (const d of ['bin', 'scripts', 'electron']) fs.cpSync(path.join(ROOT, d), path.join(COPY, d), { recursive: true });
  for (const f of ['package.json', 'tsconfig.json']) fs.copyFileSync(path.join(ROOT, f), path.join(COPY, f));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(COPY, 'node_modules'));
});
afterAll(() => fs.rmSync(COPY, { recursive: true, force: true }));

describe('bin/ktray.js in a checkout', () => {
  it('builds the bundle on first use, then runs it without rebuilding', () => {
    expect(fs.existsSync(MANIFEST)).toBe(false);
    expect(ktray('--version')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ktray \d+\.\d+\.\d+/) });
    const manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as { inputs: Record<string, [number, number]> };
    expect(Object.keys(manifest.inputs)).toEqual(expect.arrayContaining(['electron/cli/ktray.ts', 'electron/shared/version.ts', 'package.json']));
    const t = builtAt();
    expect(ktray('--version').code).toBe(0);
    expect(builtAt()).toBe(t);
  });

  it('rebuilds once when a source changes, and runs the new code', () => {
    const t = builtAt();
    fs.writeFileSync(VERSION_TS, "export const VERSION = '9.9.9-changed';\n");
    expect(ktray('--version')).toMatchObject({ code: 0, stdout: 'ktray 9.9.9-changed' });
    const t2 = builtAt();
    expect(t2).toBeGreaterThan(t);
    expect(ktray('--version').stdout).toBe('ktray 9.9.9-changed');
    expect(builtAt()).toBe(t2);
  });

  it('bundles remote scripts imported as text and rebuilds when one changes', () => {
    const script = path.join(COPY, 'electron/shared/probe.py');
    fs.writeFileSync(script, '9.9.9-from-python\n');
    fs.writeFileSync(VERSION_TS, "import text from './probe.py';\nexport const VERSION: string = text.trim();\n");
    expect(ktray('--version').stdout).toBe('ktray 9.9.9-from-python');
    fs.writeFileSync(script, '9.9.9-python-changed\n');
    expect(ktray('--version').stdout).toBe('ktray 9.9.9-python-changed');
  });

  it('rebuilds when the bundle has no record of its inputs (an older build)', () => {
    fs.rmSync(MANIFEST);
    expect(ktray('--version').code).toBe(0);
    expect(fs.existsSync(MANIFEST)).toBe(true);
  });

  it('npm install builds it (prepare), and says when it is up to date', () => {
    fs.rmSync(path.join(COPY, 'dist'), { recursive: true });
    expect(node('scripts/prepare.mjs')).toMatchObject({ code: 0, stdout: expect.stringContaining('bundled the ktray CLI into dist/cli/ktray.js (not built yet;') });
    expect(node('scripts/prepare.mjs')).toMatchObject({ code: 0, stdout: 'prepare: dist/cli/ktray.js is up to date' });
  });

  it('runs the bundle as shipped where there are no sources (an installed package)', () => {
    fs.rmSync(path.join(COPY, 'electron'), { recursive: true });
    const t = builtAt();
    expect(ktray('--version')).toMatchObject({ code: 0, stdout: 'ktray 9.9.9-python-changed' });
    expect(builtAt()).toBe(t);
  });
});
