// Turns results into the table (stdout) and BENCHMARKS.md: medians, ratios to
// (a), PASS/MISS per target with the measured figure, phases, machine, settings.
import type { Machine } from './machine';
import { median } from './util';
import type { Approach, Measure, Results, Row } from './results';

const COLS: { key: Approach; title: string }[] = [
  { key: 'a', title: '(a) manual ssh recipe' },
  { key: 'b', title: '(b) jupyter_client tunnel_to_kernel' },
  { key: 'c', title: '(c) Kernel Tray (agent in-process, as the tray)' },
  { key: 'cli', title: '(c) ktray CLI + background agent' },
  { key: 'o', title: '(o) Kernel Tray over OpenSSH (`--transport openssh`)' },
];

/** The target for the CLI's start: within this much of a bare node. */
export const STARTUP_LIMIT_MS = 60;

export interface Verdict {
  target: string;
  path: string;
  pass: boolean | null;
  measured: string;
}

const med = (m?: Measure) => (m && m.samples.length ? median(m.samples) : NaN);

function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '—';
  if (unit === 'ms') return `${Math.round(v)} ms`;
  return `${v.toFixed(1)} ${unit}`;
}

function cell(m: Measure | undefined, base: number, footnotes: string[]): string {
  if (!m) return 'n/a';
  const v = med(m);
  let text = fmt(v, m.unit);
  if (Number.isFinite(v) && Number.isFinite(base) && base > 0) text += ` (${(v / base).toFixed(2)}×)`;
  if (m.errors.length) {
    footnotes.push(m.errors[0]!);
    const mark = `failed ${m.errors.length}/${m.errors.length + m.samples.length} [${footnotes.length}]`;
    const bound = m.lowerBounds.length ? `≥ ${fmt(median(m.lowerBounds), m.unit)} when failing, ` : '';
    text = m.samples.length ? `${text}, ${mark}` : `${bound}${mark}`;
  }
  return text;
}

function rowLine(label: string, row: Row, footnotes: string[], overrides: Partial<Record<Approach, string>> = {}): string {
  const base = med(row.a);
  const cells = COLS.map(({ key }) => overrides[key] ?? cell(row[key], base, footnotes));
  return `| ${label} | ${cells.join(' | ')} |`;
}

export function verdicts(r: Results): Verdict[] {
  const out: Verdict[] = [];
  const ratio = (target: string, path: string, v: number, base: number, limit: number, atMost: boolean) => {
    const x = v / base;
    const ok = Number.isFinite(x) ? (atMost ? x <= limit : x >= limit) : null;
    out.push({ target, path, pass: ok, measured: Number.isFinite(x) ? `${x.toFixed(2)}× of (a): ${Math.round(v)} ms vs ${Math.round(base)} ms` : 'not measured' });
  };
  ratio('warm attach ≤ 0.25× (a)', 'tray', med(r.warm.c), med(r.warm.a), 0.25, true);
  ratio('warm attach ≤ 0.25× (a)', 'CLI', med(r.warm.cli), med(r.warm.a), 0.25, true);
  ratio('cold ≤ 0.7× (a)', 'tray', med(r.cold.c), med(r.cold.a), 0.7, true);
  ratio('cold ≤ 0.7× (a)', 'CLI', med(r.cold.cli), med(r.cold.a), 0.7, true);
  const d = r.discovery.find((x) => x.count === Math.max(...r.discovery.map((y) => y.count)));
  if (d) {
    const limit = 2 * r.settings.rttMs + med(d.processMs);
    for (const [path, m] of [['tray', d.row.c], ['CLI', d.row.cli]] as const) {
      const v = med(m);
      out.push({
        target: `discovery of ${d.count} ≤ 2 RTT + process time`,
        path,
        pass: Number.isFinite(v) ? v <= limit : null,
        measured: Number.isFinite(v) ? `${Math.round(v)} ms vs limit ${Math.round(limit)} ms (2×${r.settings.rttMs} + ${Math.round(med(d.processMs))} process)` : 'not measured',
      });
    }
  }
  // Against the better of OpenSSH's two forwards (-N, and -tt with TCP_NODELAY): the stricter test.
  const latBase = Math.min(med(r.latency.a), med(r.latencyTty ?? undefined));
  const lat = med(r.latency.c) / latBase;
  out.push({ target: 'request latency ≤ 1.2× OpenSSH -L', path: 'agent process', pass: Number.isFinite(lat) ? lat <= 1.2 : null, measured: Number.isFinite(lat) ? `${lat.toFixed(2)}× (${med(r.latency.c).toFixed(1)} ms vs ${latBase.toFixed(1)} ms, the faster OpenSSH forward)` : 'not measured' });
  const thrBase = Math.max(med(r.throughput.a), med(r.throughputTty ?? undefined));
  const thr = med(r.throughput.c) / thrBase;
  out.push({ target: 'throughput ≥ 0.8× OpenSSH -L', path: 'agent process', pass: Number.isFinite(thr) ? thr >= 0.8 : null, measured: Number.isFinite(thr) ? `${thr.toFixed(2)}× (${med(r.throughput.c).toFixed(1)} vs ${thrBase.toFixed(1)} MB/s, the faster OpenSSH forward)` : 'not measured' });
  const st = r.startup;
  const [ktray, node] = st ? [med(st.ktrayMs), med(st.nodeMs)] : [NaN, NaN];
  out.push({
    target: `\`ktray --version\` ≤ \`node -e 0\` + ${STARTUP_LIMIT_MS} ms`,
    path: 'CLI',
    pass: Number.isFinite(ktray - node) ? ktray - node <= STARTUP_LIMIT_MS : null,
    measured: st && Number.isFinite(ktray - node) ? `+${Math.round(ktray - node)} ms (${Math.round(ktray)} ms vs ${Math.round(node)} ms, ${(ktray / node).toFixed(2)}×; the bundle alone ${Math.round(med(st.bundleMs))} ms)` : 'not measured',
  });
  if (r.memory) {
    const rss = med(r.memory.rssMb.samples.length ? r.memory.rssMb : undefined);
    const after = r.memory.afterBulkMb !== null ? `; ${r.memory.afterBulkMb.toFixed(1)} MB after ${r.settings.runs} × ${r.settings.displayMb} MB display_data went through it` : '';
    out.push({ target: `agent < 150 MB with ${r.settings.memoryKernels} kernels`, path: 'agent process', pass: Number.isFinite(rss) ? rss < 150 : null, measured: `${rss.toFixed(1)} MB RSS with ${r.memory.kernels} attached (peak so far ${r.memory.hwmMb.toFixed(1)} MB)${after}` });
  } else {
    out.push({ target: `agent < 150 MB with ${r.settings.memoryKernels} kernels`, path: 'agent process', pass: null, measured: 'not measured' });
  }
  const p = r.plots;
  out.push({
    target: `agent < 150 MB while ${r.settings.plotCount} plots of ${r.settings.plotKb} kB flow`,
    path: 'agent process',
    pass: p ? p.peakMb < 150 : null,
    measured: p ? `peak ${p.peakMb.toFixed(1)} MB RSS (before ${p.beforeMb.toFixed(1)} MB, after ${med(p.afterMb).toFixed(1)} MB; ${p.inMemoryMb.toFixed(1)} MiB of images in memory, ${p.spilledMb.toFixed(1)} MiB spilled)` : 'not measured',
  });
  return out;
}

function phaseTable(title: string, row: Row): string[] {
  const lines = [`**${title}** (median ms per phase)`, ''];
  for (const { key, title: col } of COLS) {
    const m = row[key];
    if (!m || !m.phases.size) continue;
    const parts = [...m.phases].map(([k, v]) => `${k} ${Math.round(median(v))}`);
    lines.push(`- ${col}: ${parts.join(' · ')}`);
  }
  return [...lines, ''];
}

export function renderTable(r: Results): { table: string; footnotes: string[] } {
  const s = r.settings;
  const fn: string[] = [];
  const lines = [
    `| Metric (median of ${s.runs} unless said) | ${COLS.map((c) => c.title).join(' | ')} |`,
    `|---|${COLS.map(() => '---').join('|')}|`,
    rowLine('Cold: nothing → first `1+1` of a new kernel', r.cold, fn),
    rowLine('Warm attach: running kernel → first `1+1`', r.warm, fn),
  ];
  for (const d of r.discovery) {
    lines.push(rowLine(`Discovery: list ${d.count} running kernel${d.count > 1 ? 's' : ''} (process time ${Math.round(med(d.processMs))} ms)`, d.row, fn, { b: 'n/a (no listing in jupyter_client)' }));
  }
  const withTty = (row: Row, tty: Measure | null) => {
    const a = cell(row.a, med(row.a), fn);
    return tty && tty.samples.length ? `${a}; with \`-tt\` ${fmt(med(tty), tty.unit)}` : a;
  };
  lines.push(rowLine(`Request latency: execute round trip, median of ${s.latencyRequests} (OpenSSH \`-N -L\`, and \`-tt -L\`)`, r.latency, fn, { a: withTty(r.latency, r.latencyTty), cli: 'same tunnels as (c)' }));
  lines.push(rowLine(`Throughput: one ${s.displayMb} MB display_data`, r.throughput, fn, { a: withTty(r.throughput, r.throughputTty), cli: 'same tunnels as (c)' }));
  if (r.slurm) lines.push(rowLine('Slurm: submit → first `1+1` on an idle cluster (kernel on the compute node)', r.slurm, fn, { b: 'n/a (no batch jobs in jupyter_client)', o: 'n/a (not measured)' }));
  if (r.startup) {
    const st = r.startup;
    const node = med(st.nodeMs);
    const ktray = med(st.ktrayMs);
    lines.push(
      `| CLI start: \`ktray --version\` from the checkout, median of ${st.runs} (bare \`node -e 0\`: ${fmt(node, 'ms')}) | — | — | — | ` +
        `${fmt(ktray, 'ms')} (+${Math.round(ktray - node)} ms, ${(ktray / node).toFixed(2)}× node; the bundle alone ${fmt(med(st.bundleMs), 'ms')}) | — |`,
    );
  }
  if (r.servers) {
    const sv = r.servers;
    lines.push(rowLine(`Servers: list ${sv.servers} Jupyter servers and the notebooks of their ${sv.kernels} kernels`, sv.discovery, fn, { b: 'n/a', o: 'n/a (not measured)' }));
    lines.push(rowLine('Open a server: command → it answers through a tunnel here (`GET /api`)', sv.open, fn, { b: 'n/a', o: 'n/a (not measured)' }));
  }
  if (r.memory) {
    const m = r.memory;
    const perKernel = m.sshForwardMb !== null ? `≈ ${(m.sshForwardMb * m.kernels).toFixed(0)} MB (${m.kernels} × one \`ssh -N\`, ${m.sshForwardMb.toFixed(1)} MB each)` : 'n/a';
    const jc = m.jcTunnelMb !== null ? `≈ ${(m.jcTunnelMb * m.kernels).toFixed(0)} MB (${m.kernels} × five \`ssh -f\`, ${m.jcTunnelMb.toFixed(1)} MB per kernel, had they all lived)` : 'n/a';
    const after = m.afterBulkMb !== null ? `; ${m.afterBulkMb.toFixed(1)} MB after the throughput runs` : '';
    lines.push(`| Memory with ${m.kernels} kernels attached (RSS) | ${perKernel} | ${jc} | ${med(m.rssMb).toFixed(1)} MB (agent process; idle ${m.idleMb.toFixed(1)} MB${after}) | same agent as (c) | n/a (not measured) |`);
  }
  if (r.plots) {
    const p = r.plots;
    lines.push(
      `| Memory while ${p.count} plots of ${p.kb} kB flow through one attached kernel (RSS) | — | — | ` +
        `before ${p.beforeMb.toFixed(1)} MB, peak ${p.peakMb.toFixed(1)} MB, after ${med(p.afterMb).toFixed(1)} MB (agent process; ${p.inMemoryMb.toFixed(1)} MiB of images in memory, ${p.spilledMb.toFixed(1)} MiB spilled to its cache) | same agent as (c) | n/a (not measured) |`,
    );
  }
  return { table: lines.join('\n'), footnotes: fn };
}

export function renderText(r: Results): string {
  const { table, footnotes } = renderTable(r);
  const v = verdicts(r);
  return [
    table,
    '',
    ...footnotes.map((f, i) => `[${i + 1}] ${f}`),
    '',
    'Targets for Kernel Tray:',
    ...v.map((x) => `  ${x.pass === null ? 'N/A ' : x.pass ? 'PASS' : 'MISS'}  ${x.target} [${x.path}]: ${x.measured}`),
  ].join('\n');
}

export function renderMarkdown(r: Results, m: Machine): string {
  const { table, footnotes } = renderTable(r);
  const v = verdicts(r);
  const s = r.settings;
  return [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/bench.ts) on ${m.date}, in ${Math.round(r.seconds)} s. Do not edit by hand; run it again.`,
    '',
    `Kernel Tray against the ways people reach remote kernels today, in the same run, on the test harness's remote host (Debian OpenSSH sshd in its own network namespace, real ipykernel) with ${s.rttMs} ms of added round-trip time (${s.rttMs / 2} ms each way in the TCP bridge in front of sshd). Ratios are to (a).`,
    '',
    table,
    '',
    ...footnotes.map((f, i) => `[${i + 1}] ${f}`),
    ...(footnotes.length ? [''] : []),
    '## Targets',
    '',
    ...v.map((x) => `- **${x.pass === null ? 'N/A' : x.pass ? 'PASS' : 'MISS'}** ${x.target} (${x.path}): ${x.measured}`),
    '',
    '## Where the time goes',
    '',
    ...phaseTable('Cold', r.cold),
    ...phaseTable('Warm attach', r.warm),
    ...(r.slurm ? phaseTable('Slurm submit', r.slurm) : []),
    '## How each was run',
    '',
    ...r.notes.map((n) => `- ${n}`),
    ...r.skipped.map((n) => `- Skipped: ${n}`),
    '',
    '## Machine and settings',
    '',
    `- CPU: ${m.cpu}, ${m.cores} cores; memory ${m.memoryGb} GiB; ${m.kernel}; 1-min load ${m.load.toFixed(2)} at the start, ${r.endLoad.toFixed(2)} at the end`,
    `- Node ${m.node} (ssh2 ${m.ssh2}); Python ${m.python} (jupyter_client ${m.jupyterClient}, ipykernel ${m.ipykernel}); ${m.openssh}`,
    `- Added RTT ${s.rttMs} ms; ${s.runs} runs per figure; ${s.latencyRequests} requests for latency; ${s.displayMb} MB display_data; discovery of ${s.discoveryCounts.join(', ')} kernels; ${s.memoryKernels} kernels for memory; ${s.plotCount} plots of ${s.plotKb} kB for memory while plots flow`,
    `- Command: \`npm run bench -- --rtt-ms ${s.rttMs} --runs ${s.runs}\` (or BENCH_RTT_MS, BENCH_RUNS)`,
    '',
  ].join('\n');
}
