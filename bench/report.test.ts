// The report's arithmetic on made-up figures: ratios to (a), PASS/MISS per
// target, failed baselines shown with their reason. Nothing here is timed.
import { describe, expect, it } from 'vitest';
import { renderMarkdown, renderText, verdicts } from './report';
import { Measure, type Results } from './results';

function m(unit: Measure['unit'], ...xs: number[]): Measure {
  const x = new Measure(unit);
  for (const v of xs) x.add(v);
  return x;
}

function results(): Results {
  const failed = new Measure('ms');
  failed.fail(Object.assign(new Error('only 1 of its 5 tunnels were still running'), { spentMs: 4000 }));
  return {
    settings: { rttMs: 50, runs: 3, latencyRequests: 50, displayMb: 20, memoryKernels: 20, discoveryCounts: [1, 50], plotCount: 500, plotKb: 200 },
    cold: { a: m('ms', 2000, 1900, 2100), b: failed, c: m('ms', 1300, 1400, 1350), cli: m('ms', 1500), o: m('ms', 1700, 1800, 1600) },
    warm: { a: m('ms', 1200), c: m('ms', 320), cli: m('ms', 500), o: m('ms', 420) },
    discovery: [
      { count: 1, row: { a: m('ms', 540), c: m('ms', 160) }, processMs: m('ms', 10) },
      { count: 50, row: { a: m('ms', 560), c: m('ms', 190), cli: m('ms', 400), o: m('ms', 280) }, processMs: m('ms', 100) },
    ],
    latency: { a: m('ms', 95), c: m('ms', 60), o: m('ms', 61.5) },
    throughput: { a: m('MB/s', 20), c: m('MB/s', 11), o: m('MB/s', 15) },
    slurm: { a: m('ms', 4000, 4200, 4100), c: m('ms', 2050), cli: m('ms', 2460) },
    latencyTty: m('ms', 58),
    throughputTty: m('MB/s', 22),
    memory: { kernels: 20, idleMb: 60, rssMb: m('MB', 70, 72, 71), hwmMb: 75, afterBulkMb: 140, sshForwardMb: 3.5, jcTunnelMb: null },
    plots: { count: 500, kb: 200, beforeMb: 71.5, peakMb: 118.26, afterMb: m('MB', 96, 95, 97), inMemoryMb: 30.5, spilledMb: 64.9, dropped: 0, seconds: 21 },
    startup: { runs: 21, firstMs: 400, rebuilt: true, nodeMs: m('ms', 40, 42, 41), ktrayMs: m('ms', 95, 99, 90), bundleMs: m('ms', 93) },
    servers: { servers: 2, kernels: 10, discovery: { a: m('ms', 700), c: m('ms', 210), cli: m('ms', 330) }, open: { a: m('ms', 600, 640), c: m('ms', 120), cli: m('ms', 250) } },
    notes: ['a note'],
    skipped: [],
    startedAt: new Date(0),
    seconds: 100,
    endLoad: 1,
  };
}

const verdict = (r: Results, start: string, path: string) => verdicts(r).find((v) => v.target.startsWith(start) && v.path === path)!;

describe('verdicts', () => {
  it('compares with (a) by ratio, at the limits the issue sets', () => {
    const r = results();
    expect(verdict(r, 'cold', 'tray')).toMatchObject({ pass: true }); // 1350 / 2000 = 0.675
    expect(verdict(r, 'cold', 'CLI')).toMatchObject({ pass: false, measured: expect.stringContaining('0.75×') });
    expect(verdict(r, 'warm', 'tray')).toMatchObject({ pass: false, measured: expect.stringContaining('0.27×') });
  });

  it('holds discovery of the largest count to two round trips plus process time', () => {
    const v = verdict(results(), 'discovery of 50', 'tray');
    expect(v).toMatchObject({ pass: true, measured: expect.stringContaining('limit 200 ms') });
    expect(verdict(results(), 'discovery of 50', 'CLI').pass).toBe(false);
  });

  it('judges the tunnel against the faster OpenSSH forward, not the Nagle-slowed one', () => {
    const r = results();
    expect(verdict(r, 'request latency', 'agent process')).toMatchObject({ pass: true, measured: expect.stringContaining('58.0 ms') });
    r.latency.c = m('ms', 75); // 75 / 58 > 1.2, though 75 / 95 would pass
    expect(verdict(r, 'request latency', 'agent process').pass).toBe(false);
    expect(verdict(r, 'throughput', 'agent process')).toMatchObject({ pass: false, measured: expect.stringContaining('0.50×') });
  });

  it('holds `ktray --version` to a bare node plus 60 ms, by the difference of the medians', () => {
    const r = results();
    expect(verdict(r, '`ktray --version`', 'CLI')).toMatchObject({ pass: true, measured: '+54 ms (95 ms vs 41 ms, 2.32×; the bundle alone 93 ms)' });
    r.startup!.ktrayMs = m('ms', 101, 102, 103); // 102 - 41 = 61 > 60
    expect(verdict(r, '`ktray --version`', 'CLI')).toMatchObject({ pass: false, measured: expect.stringContaining('+61 ms') });
  });

  it('says when a figure was not measured instead of passing it', () => {
    const r = results();
    r.memory = null;
    r.latency = {};
    r.startup = null;
    expect(verdict(r, 'agent <', 'agent process').pass).toBeNull();
    expect(verdict(r, 'request latency', 'agent process')).toMatchObject({ pass: null, measured: 'not measured' });
    r.throughput = {};
    expect(verdict(r, 'throughput', 'agent process')).toMatchObject({ pass: null, measured: 'not measured' });
    expect(renderText(r)).not.toContain('NaN');
    expect(verdict(r, '`ktray --version`', 'CLI')).toMatchObject({ pass: null, measured: 'not measured' });
    expect(renderText(r)).not.toContain('CLI start:');
  });
});

describe('memory while plots flow', () => {
  it('holds the peak RSS under 150 MB, and says what the store held', () => {
    const r = results();
    expect(verdict(r, 'agent < 150 MB while 500 plots of 200 kB flow', 'agent process')).toEqual({
      target: 'agent < 150 MB while 500 plots of 200 kB flow',
      path: 'agent process',
      pass: true,
      measured: 'peak 118.3 MB RSS (before 71.5 MB, after 96.0 MB; 30.5 MiB of images in memory, 64.9 MiB spilled)',
    });
    r.plots!.peakMb = 150; // at the target is a miss: the target is "under"
    expect(verdict(r, 'agent < 150 MB while', 'agent process').pass).toBe(false);
    r.plots = null;
    expect(verdict(r, 'agent < 150 MB while', 'agent process')).toMatchObject({ pass: null, measured: 'not measured' });
    expect(renderText(r)).not.toContain('plots of 200 kB flow through');
  });

  it('prints its row in the Kernel Tray column', () => {
    expect(renderText(results())).toContain(
      '| Memory while 500 plots of 200 kB flow through one attached kernel (RSS) | — | — | before 71.5 MB, peak 118.3 MB, after 96.0 MB (agent process; 30.5 MiB of images in memory, 64.9 MiB spilled to its cache) | same agent as (c) |',
    );
    expect(renderText(results())).toMatch(/PASS {2}agent < 150 MB while 500 plots of 200 kB flow \[agent process\]: peak 118\.3 MB/);
  });
});

describe('rendering', () => {
  it('shows a failed baseline with its reason and the time it had spent', () => {
    const text = renderText(results());
    expect(text).toContain('≥ 4000 ms when failing, failed 1/1 [1]');
    expect(text).toContain('[1] only 1 of its 5 tunnels were still running');
    expect(text).toMatch(/MISS {2}cold ≤ 0.7× \(a\) \[CLI\]: 0\.75×/);
  });

  it('shows the CLI start-up row beside a bare node, and its verdict', () => {
    const text = renderText(results());
    expect(text).toContain('| CLI start: `ktray --version` from the checkout, median of 21 (bare `node -e 0`: 41 ms) | — | — | — | 95 ms (+54 ms, 2.32× node; the bundle alone 93 ms) |');
    expect(text).toMatch(/PASS {2}`ktray --version` ≤ `node -e 0` \+ 60 ms \[CLI\]: \+54 ms/);
  });

  it('shows the Slurm row with ratios to the manual recipe, or no row when it was not measured', () => {
    const text = renderText(results());
    expect(text).toContain('| Slurm: submit → first `1+1` on an idle cluster (kernel on the compute node) | 4100 ms (1.00×) | n/a (no batch jobs in jupyter_client) | 2050 ms (0.50×) | 2460 ms (0.60×) |');
    expect(renderText({ ...results(), slurm: null })).not.toContain('Slurm:');
  });

  it('shows the servers rows: listing with notebook names, and open, as ratios to (a)', () => {
    const text = renderText(results());
    expect(text).toContain('| Servers: list 2 Jupyter servers and the notebooks of their 10 kernels | 700 ms (1.00×) | n/a | 210 ms (0.30×) | 330 ms (0.47×) |');
    expect(text).toContain('| Open a server: command → it answers through a tunnel here (`GET /api`) | 620 ms (1.00×) | n/a | 120 ms (0.19×) | 250 ms (0.40×) |');
    const r = results();
    r.servers = null;
    expect(renderText(r)).not.toContain('Open a server');
  });

  it('shows the OpenSSH transport as its own column, with ratios to (a), and says which rows it was not measured in', () => {
    const text = renderText(results());
    expect(text).toContain('| (c) ktray CLI + background agent | (o) Kernel Tray over OpenSSH (`--transport openssh`) |');
    expect(text).toContain('| Cold: nothing → first `1+1` of a new kernel | 2000 ms (1.00×) | ≥ 4000 ms when failing, failed 1/1 [1] | 1350 ms (0.68×) | 1500 ms (0.75×) | 1700 ms (0.85×) |');
    expect(text).toContain('| Warm attach: running kernel → first `1+1` | 1200 ms (1.00×) | n/a | 320 ms (0.27×) | 500 ms (0.42×) | 420 ms (0.35×) |');
    expect(text).toContain('| Discovery: list 50 running kernels (process time 100 ms) | 560 ms (1.00×) | n/a (no listing in jupyter_client) | 190 ms (0.34×) | 400 ms (0.71×) | 280 ms (0.50×) |');
    // A count it was not measured at reads n/a, never NaN.
    expect(text).toContain('| Discovery: list 1 running kernel (process time 10 ms) | 540 ms (1.00×) | n/a (no listing in jupyter_client) | 160 ms (0.30×) | n/a | n/a |');
    expect(text).toContain('| 60 ms (0.63×) | same tunnels as (c) | 62 ms (0.65×) |');
    expect(text).toContain('| 11.0 MB/s (0.55×) | same tunnels as (c) | 15.0 MB/s (0.75×) |');
    expect(text).toContain('| 2460 ms (0.60×) | n/a (not measured) |');
    expect(text).toMatch(/\| Memory with 20 kernels attached \(RSS\) \|.*\| same agent as \(c\) \| n\/a \(not measured\) \|$/m);
    // Every row has a cell for each column.
    for (const line of text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('|---'))) expect(line.split(' | ').length).toBe(6);
    // A failed OpenSSH run is shown like a failed baseline, with its reason.
    const r = results();
    r.warm.o = new Measure('ms');
    r.warm.o.fail(new Error('bench-host went through ssh2, not openssh (auto)'));
    const failed = renderText(r);
    expect(failed).toMatch(/\| Warm attach: running kernel → first `1\+1` \|.*\| failed 1\/1 \[2\] \|$/m);
    expect(failed).toContain('[2] bench-host went through ssh2, not openssh (auto)');
  });

  it('lists the OpenSSH column\'s phases beside the others in BENCHMARKS.md', () => {
    const r = results();
    r.cold.o = new Measure('ms');
    r.cold.o.addPhases({ 'ssh master up': 700, 'launch kernel': 800, attach: 150, '1+1': 50 });
    const md = renderMarkdown(r, {
      cpu: 'Test CPU', cores: 2, memoryGb: 24, kernel: 'Linux 6', node: 'v20', python: '3.11', jupyterClient: '7.4.9',
      ipykernel: '6.17', openssh: 'OpenSSH_9.2p1', ssh2: '1.17.0', date: '2026-01-01T00:00:00Z', load: 0.5,
    });
    expect(md).toContain('- (o) Kernel Tray over OpenSSH (`--transport openssh`): ssh master up 700 · launch kernel 800 · attach 150 · 1+1 50');
  });

  it('writes the machine and settings into BENCHMARKS.md', () => {
    const md = renderMarkdown(results(), {
      cpu: 'Test CPU', cores: 2, memoryGb: 24, kernel: 'Linux 6', node: 'v20', python: '3.11', jupyterClient: '7.4.9',
      ipykernel: '6.17', openssh: 'OpenSSH_9.2p1', ssh2: '1.17.0', date: '2026-01-01T00:00:00Z', load: 0.5,
    });
    expect(md).toContain('Test CPU, 2 cores; memory 24 GiB');
    expect(md).toContain('Added RTT 50 ms; 3 runs per figure');
    expect(md).toContain('- **MISS** warm attach');
  });
});
