import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OVERALL_STATES, overallState, trayIconSpec, trayToolTip } from './icons';
import type { Platform } from './platform';
import { host, kernel } from './test/fixtures';
import { readPng } from './test/png';

const ASSETS = path.resolve(__dirname, '../../assets');

describe('overallState', () => {
  it('is idle when nothing computes and nothing is wrong', () => {
    expect(overallState([host('local')], [kernel('local', 'a')])).toBe('idle');
    expect(overallState([], [])).toBe('idle');
  });
  it('is busy when a kernel computes', () => {
    expect(overallState([host('local')], [kernel('local', 'a'), kernel('local', 'b', { state: 'busy' })])).toBe('busy');
  });
  it('is a problem when a host is lost or has an error, even if something is busy', () => {
    const busy = [kernel('gpu', 'b', { state: 'busy' })];
    expect(overallState([host('gpu', { connection: 'lost' })], busy)).toBe('problem');
    expect(overallState([host('gpu', { connection: 'idle', error: { code: 'AUTH_FAILED', message: 'no' } })], busy)).toBe('problem');
  });
  it('counts dead or unresponsive kernels only when watched', () => {
    expect(overallState([host('gpu')], [kernel('gpu', 'a', { state: 'dead', alive: false, watched: true })])).toBe('problem');
    expect(overallState([host('gpu')], [kernel('gpu', 'a', { state: 'unresponsive', watched: true })])).toBe('problem');
    expect(overallState([host('gpu')], [kernel('gpu', 'a', { state: 'dead', alive: false, watched: false })])).toBe('idle');
  });
});

describe('trayIconSpec', () => {
  it('uses the template image for idle on macOS and coloured ones otherwise', () => {
    expect(trayIconSpec('darwin', 'idle')).toEqual({ file: 'trayTemplate.png', template: true });
    expect(trayIconSpec('darwin', 'busy')).toEqual({ file: 'tray-busy.png', template: false });
    expect(trayIconSpec('win32', 'idle')).toEqual({ file: 'tray-idle.png', template: false });
    expect(trayIconSpec('linux', 'problem')).toEqual({ file: 'tray-linux-problem.png', template: false });
  });

  it('names files that exist in assets/, with @2x where Electron should find one and none on Linux', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as Platform[]) {
      for (const state of OVERALL_STATES) {
        const { file } = trayIconSpec(platform, state);
        const p = path.join(ASSETS, file);
        expect(fs.existsSync(p), p).toBe(true);
        const twoX = p.replace(/\.png$/, '@2x.png');
        expect(fs.existsSync(twoX), twoX).toBe(platform !== 'linux');
        const png = readPng(p);
        expect(png.colourType).toBe(6);
        expect([png.width, png.height]).toEqual(platform === 'linux' ? [32, 32] : [16, 16]);
        if (platform !== 'linux') expect(readPng(twoX).width).toBe(32);
      }
    }
  });

  it('keeps the macOS template black with alpha only, and the state icons coloured', () => {
    for (const file of ['trayTemplate.png', 'trayTemplate@2x.png']) {
      const { pixels } = readPng(path.join(ASSETS, file));
      let opaque = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i + 3] > 0) opaque++;
        expect(pixels[i] + pixels[i + 1] + pixels[i + 2]).toBe(0);
      }
      expect(opaque).toBeGreaterThan(20);
    }
    const colourOf = (file: string) => {
      const { pixels } = readPng(path.join(ASSETS, file));
      for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] === 255) return [pixels[i], pixels[i + 1], pixels[i + 2]];
      return null;
    };
    const busy = colourOf('tray-busy.png');
    const problem = colourOf('tray-problem.png');
    expect(busy).not.toEqual(problem);
    expect(busy![0]).toBeGreaterThan(200); // amber
    expect(problem![0]).toBeGreaterThan(200); // red
    expect(problem![1]).toBeLessThan(100);
  });

  it('has a 512x512 app icon', () => {
    const png = readPng(path.join(ASSETS, 'icon.png'));
    expect([png.width, png.height]).toEqual([512, 512]);
  });
});

describe('trayToolTip', () => {
  it('counts kernels and names lost hosts', () => {
    const hosts = [host('local'), host('gpu', { connection: 'lost' })];
    const kernels = [kernel('local', 'a', { state: 'busy' }), kernel('local', 'b')];
    expect(trayToolTip('problem', hosts, kernels)).toBe('Kernel Tray: 2 kernels, 1 busy, lost: gpu');
    expect(trayToolTip('idle', [host('local')], [kernel('local', 'a')])).toBe('Kernel Tray: 1 kernel');
  });
});
