// What the sections measure and the report prints: samples per approach, phase
// breakdowns, and failures kept with their reason (a failed baseline is a result).
import type { PlotsResult } from './sections/plots';

/**
 * (a) manual ssh recipe, (b) jupyter_client tunnels, (c) Kernel Tray in-process (tray), cli: ktray CLI +
 * background agent, o: Kernel Tray with the host set to the OpenSSH transport (`--transport openssh`).
 */
export type Approach = 'a' | 'b' | 'c' | 'cli' | 'o';
export const APPROACHES: Approach[] = ['a', 'b', 'c', 'cli', 'o'];

export class Measure {
  readonly samples: number[] = [];
  readonly phases = new Map<string, number[]>();
  readonly errors: string[] = [];
  /** Time a failed run had spent when it failed: the figure is at least this. */
  readonly lowerBounds: number[] = [];
  constructor(readonly unit: 'ms' | 'MB/s' | 'MB') {}

  add(total: number, phases?: Record<string, number>): void {
    this.samples.push(total);
    for (const [k, v] of Object.entries(phases ?? {})) {
      if (!this.phases.has(k)) this.phases.set(k, []);
      this.phases.get(k)!.push(v);
    }
  }

  /** Adds a run given as its phases; the total is their sum. */
  addPhases(phases: Record<string, number>): void {
    this.add(Object.values(phases).reduce((s, v) => s + v, 0), phases);
  }

  fail(err: unknown): void {
    this.errors.push(err instanceof Error ? err.message : String(err));
    const spent = (err as { spentMs?: number }).spentMs;
    if (typeof spent === 'number' && Number.isFinite(spent)) this.lowerBounds.push(spent);
  }
}

export type Row = Partial<Record<Approach, Measure>>;

export interface Settings {
  rttMs: number;
  runs: number;
  latencyRequests: number;
  displayMb: number;
  memoryKernels: number;
  discoveryCounts: number[];
  /** Plots that flow through one watched kernel for the plots memory row, and the size of each. */
  plotCount: number;
  plotKb: number;
}

export interface Results {
  settings: Settings;
  cold: Row;
  warm: Row;
  discovery: { count: number; row: Row; processMs: Measure }[];
  latency: Row;
  throughput: Row;
  /** Submit → first `1+1` on an idle Slurm cluster; null when not measured. */
  slurm: Row | null;
  /** OpenSSH forwards from `ssh -tt` (interactive, TCP_NODELAY): the stricter reference for the tunnel targets. */
  latencyTty: Measure | null;
  throughputTty: Measure | null;
  memory: {
    kernels: number;
    idleMb: number;
    rssMb: Measure;
    hwmMb: number;
    /** RSS once the throughput runs have pushed their display_data through the same agent. */
    afterBulkMb: number | null;
    sshForwardMb: number | null;
    jcTunnelMb: number | null;
  } | null;
  /** The agent's memory while plots flow through a watched kernel (bench/sections/plots.ts). */
  plots: PlotsResult | null;
  /** `ktray --version` from the checkout (bin/ktray.js), the bundle alone, and a bare `node -e 0`. */
  startup: {
    runs: number;
    /** The first run, which rebuilds the bundle if its sources changed. */
    firstMs: number;
    /** Whether that first run rebuilt the bundle. */
    rebuilt: boolean;
    nodeMs: Measure;
    ktrayMs: Measure;
    bundleMs: Measure;
  } | null;
  /** Jupyter servers: listing them with their notebooks' names, and opening one through a tunnel. */
  servers: { servers: number; kernels: number; discovery: Row; open: Row } | null;
  /** Facts worth printing beside the table (how a baseline was run, why it failed). */
  notes: string[];
  /** Sections that could not run at all, with why. */
  skipped: string[];
  startedAt: Date;
  seconds: number;
  endLoad: number;
}

export function emptyRow(unit: Measure['unit'], which: Approach[] = APPROACHES): Row {
  const row: Row = {};
  for (const a of which) row[a] = new Measure(unit);
  return row;
}

/** Rotates the order approaches run in, so none always goes first (drift, caches). */
export function rotated<T>(xs: T[], i: number): T[] {
  const k = i % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}
