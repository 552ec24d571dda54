import { describe, expect, it } from 'vitest';
import type { HostSummary, KernelSummary, PlotSummary } from '../shared/types';
import { formatHosts, formatKernels, formatPlot, formatServers } from './format';
import { server } from '../main/test/fixtures';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

function kernel(over: Partial<KernelSummary>): KernelSummary {
  return {
    id: 'gpu1/abc',
    host: 'gpu1',
    name: 'abc',
    connectionFile: '/run/user/1000/jupyter/kernel-abc.json',
    kernelName: 'python3',
    pid: 4242,
    alive: true,
    startedAt: NOW - 3 * 3600_000 - 5 * 60_000,
    command: null,
    attached: false,
    localConnectionFile: null,
    localPorts: null,
    localChannels: null,
    listens: 'loopback',
    state: 'idle',
    stateSince: NOW,
    busySince: null,
    watched: false,
    watchError: null,
    server: null,
    notebook: null,
    ...over,
  };
}

function host(over: Partial<HostSummary>): HostSummary {
  return {
    id: 'gpu1',
    source: 'ssh-config',
    hostname: 'gpu1.example.org',
    user: 'ada',
    port: 22,
    proxyJump: [],
    connection: 'connected',
    error: null,
    since: NOW,
    rttMs: 12,
    kernelCount: 2,
    warnings: [],
    ...over,
  };
}

/** The cells of each row, split on the two-space column gap. */
const cells = (text: string) => text.split('\n').map((l) => l.split(/ {2,}/).map((c) => c.trim()));

describe('formatKernels', () => {
  it('says how to start one when there are none', () => {
    expect(formatKernels([], NOW)).toMatch(/No kernels.*ktray start HOST/);
  });

  it('shows one aligned row per kernel, with how long a busy kernel has been busy', () => {
    const text = formatKernels(
      [
        kernel({}),
        kernel({ id: 'local/7f3e', host: 'local', name: '7f3e', state: 'busy', busySince: NOW - 125_000, attached: true, pid: null, startedAt: null, kernelName: 'ir' }),
      ],
      NOW,
    );
    const rows = cells(text);
    expect(rows[0]).toEqual(['ID', 'STATE', 'PID', 'AGE', 'ATTACHED', 'KERNEL']);
    expect(rows[1]).toEqual(['gpu1/abc', 'idle', '4242', '3h 5m', 'no', 'python3']);
    expect(rows[2]).toEqual(['local/7f3e', 'busy 2m', '-', '-', 'yes', 'ir']);
    // Columns line up: every row has its STATE column at the same offset.
    const lines = text.split('\n');
    const col = lines[0].indexOf('STATE');
    expect(lines[1].indexOf('idle')).toBe(col);
    expect(lines[2].indexOf('busy 2m')).toBe(col);
  });

  it('warns under the table of live kernels that listen on all interfaces or another address of their host', () => {
    const text = formatKernels(
      [
        kernel({}),
        kernel({ id: 'gpu1/open', name: 'open', listens: 'all-interfaces' }),
        kernel({ id: 'gpu1/far', name: 'far', listens: 'other-address' }),
        kernel({ id: 'gpu1/gone', name: 'gone', listens: 'all-interfaces', alive: false, state: 'dead' }),
        kernel({ id: 'gpu1/sock', name: 'sock', listens: 'ipc' }),
      ],
      NOW,
    );
    const warnings = text.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([
      "warning: gpu1/open listens on all interfaces of gpu1: anyone on gpu1's network can connect to it and read what it prints (Kernel Tray goes in through gpu1's loopback). Start kernels with --ip=127.0.0.1, or with ktray.",
      "warning: gpu1/far listens on an address that is not gpu1's loopback; Kernel Tray forwards there only if you allow it (`ktray attach gpu1/far --allow-address ADDR`, the address in its connection file).",
    ]);
  });

  it('says under the table which kernels could not be watched, and why', () => {
    const text = formatKernels([kernel({ watchError: 'the SSH server refused to forward' })], NOW);
    expect(text.split('\n').pop()).toBe('note: gpu1/abc is not watched: the SSH server refused to forward');
  });
});

describe('formatServers', () => {
  it('says how to start one when there are none', () => {
    expect(formatServers([], NOW)).toMatch(/No Jupyter servers.*ktray server start HOST/);
  });

  it('shows id, app and version, state, pid, age, root, where it listens, here, and its kernels; then what to know', () => {
    const text = formatServers(
      [
        server('gpu1', 'nbserver-777', { startedAt: NOW - 600_000, version: '6.4.12', kernels: ['gpu1/k1'], tunnelled: true, localUrl: 'http://127.0.0.1:50123/', localPort: 50123 }),
        server('gpu1', 'jpserver-9', { app: 'jupyter-server', version: '1.23.3', command: 'python3 -m jupyter_server', pid: 9, startedAt: NOW - 60_000, endpoint: { kind: 'unix', path: '/run/user/1000/jupyter/ktray-1.sock' }, rootDir: '' }),
        server('gpu1', 'nbserver-1', { alive: false, pid: 1, auth: 'password', startedAt: null, endpoint: { kind: 'tcp', address: '0.0.0.0', port: 8891 }, listens: 'all-interfaces', warnings: ['It listens on 0.0.0.0:8891, so the network can reach it.'] }),
      ],
      NOW,
    );
    const rows = cells(text);
    expect(rows[0]).toEqual(['ID', 'APP', 'STATE', 'PID', 'AGE', 'ROOT', 'REMOTE', 'LOCAL', 'KERNELS']);
    expect(rows[1]).toEqual(['gpu1/nbserver-777', 'Notebook 6.4.12', 'running', '777', '10m', '/home/ada/proj', '127.0.0.1:8887', 'http://127.0.0.1:50123/', '1']);
    expect(rows[2]).toEqual(['gpu1/jpserver-9', 'Jupyter Server 1.23.3', 'running', '9', '1m', '-', 'unix:/run/user/1000/jupyter/ktray-1.sock', '-', '0']);
    expect(rows[3]).toEqual(['gpu1/nbserver-1', 'Notebook', 'dead', '1', '-', '/home/ada/proj', '0.0.0.0:8891', '-', '0']);
    expect(text.split('\n').slice(4)).toEqual([
      'note: gpu1/nbserver-1 is not running: /run/user/1000/jupyter/nbserver-1.json is a stale file (`ktray server stop gpu1/nbserver-1` removes it).',
      'note: gpu1/nbserver-1 uses a password: `ktray open` opens it and the browser asks for the password.',
      'warning: gpu1/nbserver-1: It listens on 0.0.0.0:8891, so the network can reach it.',
    ]);
  });

  it('adds the notebook of each server kernel to `ktray ls`', () => {
    const rows = cells(formatKernels([kernel({ server: 'gpu1/nbserver-777', notebook: 'reports/analysis.ipynb' }), kernel({ id: 'gpu1/x', name: 'x' })], NOW));
    expect(rows[0].at(-1)).toBe('NOTEBOOK');
    expect(rows[1].at(-1)).toBe('reports/analysis.ipynb on nbserver-777');
    expect(rows[2].at(-1)).toBe('-');
  });
});

describe('formatHosts', () => {
  it('shows the address with user, port and proxy jumps, and local as this computer', () => {
    const text = formatHosts([
      host({ id: 'local', source: 'local', hostname: 'localhost', user: '', kernelCount: 1 }),
      host({ id: 'gpu2', hostname: '10.0.0.7', port: 2222, proxyJump: ['bastion', 'ada@login:2200'], connection: 'idle', kernelCount: 0 }),
      host({ id: 'plain', hostname: 'plain.example', user: '', source: 'saved' }),
    ], NOW);
    const rows = cells(text);
    expect(rows[0]).toEqual(['HOST', 'CONNECTION', 'ADDRESS', 'KERNELS', 'SOURCE']);
    expect(rows[1]).toEqual(['local', 'connected', 'this computer', '1', 'local']);
    expect(rows[2]).toEqual(['gpu2', 'not connected', 'ada@10.0.0.7:2222 via bastion,ada@login:2200', '0', 'ssh-config']);
    expect(rows[3]).toEqual(['plain', 'connected', 'plain.example:22', '2', 'saved']);
  });

  it('shows the error of a host that is not connected, not of one that is', () => {
    const error = { code: 'HOST_UNREACHABLE' as const, message: 'Cannot reach gpu1: connection refused.' };
    const rows = cells(formatHosts([host({ connection: 'lost', error, since: NOW - 120_000 }), host({ id: 'ok', connection: 'connected', error, rttMs: null })], NOW));
    expect(rows[1][1]).toBe('lost 2m ago: Cannot reach gpu1: connection refused.');
    expect(rows[2][1]).toBe('connected');
  });
});

describe('formatPlot', () => {
  const plot: PlotSummary = {
    id: 'gpu/k#3', kernel: 'gpu/k', seq: 3, at: 0, updatedAt: 0, version: 2, mime: 'image/png', otherMimes: [], bytes: 14_321,
    width: 534, height: 413, source: 'update_display_data', displayId: 'd', code: 'import matplotlib.pyplot as plt\n\nplt.plot([1,2,3,4,4,5,6])\nplt.show()',
    executionCount: 1, client: { session: 's', username: 'u' },
  };
  it('puts a plot on one line: id, size, type, bytes, time, version and the first line of code that is not an import', () => {
    const line = formatPlot(plot);
    expect(line).toMatch(/^gpu\/k#3  534×413 PNG  14 kB  .+ \(v2\)  plt\.plot\(\[1,2,3,4,4,5,6\]\)$/);
    expect(formatPlot({ ...plot, code: null, width: null, height: null, mime: 'image/svg+xml', version: 1, bytes: 90 })).toMatch(/^gpu\/k#3  SVG  90 B  \S(.*\S)?$/);
  });
});
