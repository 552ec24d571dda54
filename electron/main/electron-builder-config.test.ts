// electron-builder.yml cannot be exercised here (packaging downloads its tools),
// so it is checked against electron-builder's own schema and our file layout.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OVERALL_STATES, trayIconSpec } from './icons';

const require = createRequire(import.meta.url);
const root = path.resolve(__dirname, '../..');
const yaml = require('js-yaml') as { load(text: string): unknown };
const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
  validateConfiguration(config: unknown, logger: unknown): Promise<void>;
};
const { DebugLogger } = require('builder-util/out/DebugLogger.js') as { DebugLogger: new (enabled: boolean) => unknown };

type Config = {
  appId: string;
  productName: string;
  files: string[];
  asarUnpack: string[];
  extraResources: Array<{ from: string; to: string; filter: string[] }>;
  linux: { target: string[]; category: string };
  mac: { target: string };
  win: { target: string };
};
const config = yaml.load(fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as Config;

describe('electron-builder.yml', () => {
  it("passes electron-builder's schema", async () => {
    await expect(validateConfiguration(structuredClone(config), new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('still fails that schema for a misspelt key (the check has teeth)', async () => {
    await expect(validateConfiguration({ ...structuredClone(config), prodcutName: 'x' }, new DebugLogger(false))).rejects.toThrow(/prodcutName/);
  });

  it('names the app and builds AppImage + deb, dmg and nsis', () => {
    expect(config.appId).toBe('org.kerneltray.app');
    expect(config.productName).toBe('Kernel Tray');
    expect(config.linux).toMatchObject({ target: ['AppImage', 'deb'], category: 'Development' });
    expect(config.mac.target).toBe('dmg');
    expect(config.win.target).toBe('nsis');
  });

  it('packs dist and package.json and unpacks the native modules from the asar', () => {
    expect(config.files).toEqual(expect.arrayContaining(['dist/**', 'package.json']));
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['node_modules/zeromq/**', 'node_modules/cpu-features/**', '**/*.node']));
  });

  it('ships every tray picture the app asks for as an extra resource', () => {
    const res = config.extraResources.find((r) => r.from === 'assets');
    expect(res?.to).toBe('assets'); // main.ts reads process.resourcesPath/assets
    const wanted = new Set<string>();
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      for (const state of OVERALL_STATES) {
        const f = trayIconSpec(platform, state).file;
        wanted.add(f);
        if (platform !== 'linux') wanted.add(f.replace('.png', '@2x.png'));
      }
    }
    const shipped = fs.readdirSync(path.join(root, 'assets')).filter((f) => res!.filter.some((g) => new RegExp(`^${g.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`).test(f)));
    for (const f of wanted) expect(shipped).toContain(f);
  });
});
