// The built bundles, run: scripts/build.mjs output for the main process boots
// in plain Node with `electron` resolved to the stub, hosts a real agent, and
// the built CLI talks to that same agent. Catches ESM/CJS and externals
// mistakes that the TypeScript tests cannot see.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectAgent } from '../core/agent/agent-host';

const ROOT = path.resolve(__dirname, '../..');
// Inside the project, so the bundle finds the external packages in node_modules.
const OUT = path.join(ROOT, '.ktray-test', `bundle-${randomBytes(4).toString('hex')}`);
const HOME = path.join(OUT, 'home');

let app: ChildProcess | null = null;
let appLog = '';

beforeAll(async () => {
  const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--outdir', OUT], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed:\n${built.stdout}\n${built.stderr}`);
  await build({ entryPoints: [path.join(__dirname, 'test/electron-stub.ts')], bundle: true, format: 'esm', platform: 'node', outfile: path.join(OUT, 'electron-stub.mjs'), logLevel: 'warning' });
  const stubUrl = pathToFileURL(path.join(OUT, 'electron-stub.mjs')).href;
  fs.writeFileSync(
    path.join(OUT, 'hooks.mjs'),
    `export async function resolve(s, c, next) { return s === 'electron' ? { url: ${JSON.stringify(stubUrl)}, shortCircuit: true } : next(s, c); }\n`,
  );
  fs.writeFileSync(path.join(OUT, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
}, 120_000);

afterAll(async () => {
  if (app && app.exitCode === null) {
    const exited = new Promise((r) => app!.once('exit', r));
    app.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(OUT, { recursive: true, force: true });
});

const env = () => ({
  ...process.env,
  KTRAY_HOME: path.join(HOME, 'state'),
  JUPYTER_RUNTIME_DIR: path.join(HOME, 'runtime'),
  XDG_CONFIG_HOME: path.join(HOME, 'config'),
  KTRAY_STUB_USER_DATA: path.join(HOME, 'user-data'),
});

describe('built bundles', () => {
  it('main.js boots, hosts the agent in electron mode, and the built CLI uses the same agent', async () => {
    app = spawn(process.execPath, ['--import', path.join(OUT, 'register.mjs'), path.join(OUT, 'main/main.js')], { cwd: ROOT, env: env() });
    app.stdout!.on('data', (d) => (appLog += d));
    app.stderr!.on('data', (d) => (appLog += d));

    const home = path.join(HOME, 'state');
    const agent = await vi.waitFor(
      async () => {
        if (app!.exitCode !== null) throw new Error(`the app exited (${app!.exitCode}):\n${appLog}`);
        const a = await connectAgent({ home });
        if (!a) throw new Error('no agent yet');
        return a;
      },
      { timeout: 30_000, interval: 200 },
    );
    try {
      expect((await agent.status({})).mode).toBe('electron');
    } finally {
      agent.dispose();
    }

    const ktray = (...args: string[]) => spawnSync(process.execPath, [path.join(OUT, 'cli/ktray.js'), ...args, '--json'], { cwd: ROOT, env: env(), encoding: 'utf8' });
    const status = ktray('agent', 'status');
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, mode: 'electron', pid: app.pid });
    const hosts = ktray('hosts');
    expect((JSON.parse(hosts.stdout) as Array<{ id: string }>).map((h) => h.id)).toContain('local');
    // The app wrote its settings through electron-store into the (stub) userData.
    expect(fs.existsSync(path.join(HOME, 'user-data', 'config.json'))).toBe(true);
  }, 60_000);
});
