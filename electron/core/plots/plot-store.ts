// The agent's plots: the only writer of plot state and the only emitter of
// plot events. It is told what iopub said (`observe`) and keeps every image
// output of the kernels the agent watches, from any of their clients, within
// bounds: past the memory limits (per kernel, in total) the oldest images
// spill to 0600 files under KTRAY_HOME; past the disk or count limits the
// oldest are dropped. Events carry metadata; bytes are read by id.
import { createHash } from 'node:crypto';
import { KtrayError } from '../../shared/errors';
import type { AgentEvent, PlotLimits, PlotSummary, PlotUsage } from '../../shared/types';
import type { JupyterMessage } from '../jupyter/message';
import { errorText, logger } from '../util/logger';
import { pixelSize } from './image-size';
import { PlotCache } from './plot-cache';
import { plotOutputOf, type PlotOutput, type RequestRef } from './plot-output';

const log = logger('plots');

const MiB = 1024 * 1024;

export const DEFAULT_PLOT_LIMITS: PlotLimits = {
  memoryBytesPerKernel: 16 * MiB,
  memoryBytesTotal: 32 * MiB,
  diskBytesPerKernel: 256 * MiB,
  diskBytesTotal: 1024 * MiB,
  plotsPerKernel: 1000,
  plotsTotal: 2000,
};

/** execute_input remembered per kernel, to name the code behind the outputs that follow. */
const INPUTS_PER_KERNEL = 64;
/** iopub msg_ids remembered per kernel: a watch being replaced and its successor hear the same messages. */
const SEEN_PER_KERNEL = 256;

export interface PlotStoreOptions {
  events: { emit(event: AgentEvent): void };
  /** The spill folder, created 0700 when first needed (KTRAY_HOME/plots). */
  cacheDir: string;
  limits?: Partial<PlotLimits>;
  now?: () => number;
}

type Where = 'memory' | 'spilling' | 'disk';

interface Entry {
  summary: PlotSummary;
  where: Where;
  /** The bytes while in memory (and while being written out). */
  data: Buffer | null;
  file: string | null;
  /** Bumped by every update, so a write of older bytes knows it is stale. */
  generation: number;
  removed: boolean;
}

interface Counters {
  memory: number;
  /** Part of `memory` being written to disk now. */
  inflight: number;
  disk: number;
}

interface KernelPlots {
  seq: number;
  entries: Entry[]; // oldest first
  inputs: Map<string, { code: string; executionCount: number | null }>;
  /** msg_ids of the outputs and inputs lately seen (insertion order = age). */
  seen: Set<string>;
  bytes: Counters;
  tag: string;
}

export class PlotStore {
  readonly limits: PlotLimits;
  private readonly cache: PlotCache;
  private readonly kernels = new Map<string, KernelPlots>();
  private readonly byId = new Map<string, Entry>();
  /** Every entry, oldest first (for the limits in total). */
  private readonly all: Entry[] = [];
  private readonly total: Counters = { memory: 0, inflight: 0, disk: 0 };
  private dropped = 0;
  /** Writes and removals in the cache under way. */
  private readonly work = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly opts: PlotStoreOptions) {
    this.limits = { ...DEFAULT_PLOT_LIMITS, ...opts.limits };
    this.cache = new PlotCache(opts.cacheDir);
  }

  // ---- reading -------------------------------------------------------------------

  /** Newest first; one kernel's or all. */
  list(kernel?: string): PlotSummary[] {
    const entries = kernel ? (this.kernels.get(kernel)?.entries ?? []) : this.all;
    return entries
      .map((e) => ({ ...e.summary }))
      .sort((a, b) => b.at - a.at || b.seq - a.seq);
  }

  get(id: string): PlotSummary {
    return { ...this.entry(id).summary };
  }

  /** The image's bytes, as the kernel sent them (decoded from base64; SVG as UTF-8). */
  async read(id: string): Promise<Buffer> {
    const e = this.entry(id);
    if (e.data) return e.data;
    const generation = e.generation;
    const data = await this.cache.read(e.file!).catch((err: unknown) => {
      throw new KtrayError({ code: 'PLOT_NOT_FOUND', message: `Plot ${id} could not be read from the cache: ${errorText(err)}` });
    });
    // Updated or dropped while we read: what we read is not this plot any more.
    if (e.removed || e.generation !== generation) return this.read(id);
    return data;
  }

  usage(): PlotUsage {
    const kernels: PlotUsage['kernels'] = {};
    for (const [id, k] of this.kernels) {
      if (k.entries.length) kernels[id] = { plots: k.entries.length, memoryBytes: k.bytes.memory, diskBytes: k.bytes.disk };
    }
    return {
      plots: this.all.length,
      memoryBytes: this.total.memory,
      diskBytes: this.total.disk,
      dropped: this.dropped,
      cacheDir: this.cache.dir,
      limits: { ...this.limits },
      kernels,
    };
  }

  /** Resolves once every write and removal in the cache under way has finished. */
  async idle(): Promise<void> {
    while (this.work.size) await Promise.all([...this.work]);
  }

  // ---- what iopub said ----------------------------------------------------------

  /** One iopub message of a watched kernel. Cheap for everything that is not an output. */
  observe(kernel: string, msg: JupyterMessage): void {
    if (this.closed) return;
    let out: PlotOutput | null;
    try {
      out = plotOutputOf(msg);
    } catch (err) {
      log.warn(`an iopub message of ${kernel} could not be read for plots: ${errorText(err)}`);
      return;
    }
    if (!out) return;
    const k = this.kernelPlots(kernel);
    const msgId = msg.header?.msg_id;
    if (typeof msgId === 'string' && msgId) {
      if (k.seen.has(msgId)) return; // heard twice (two watches overlapping while one replaces the other)
      k.seen.add(msgId);
      if (k.seen.size > SEEN_PER_KERNEL) k.seen.delete(k.seen.values().next().value!);
    }
    if (out.kind === 'input') {
      if (!out.request.msgId) return;
      k.inputs.set(out.request.msgId, { code: out.code, executionCount: out.executionCount });
      if (k.inputs.size > INPUTS_PER_KERNEL) k.inputs.delete(k.inputs.keys().next().value!);
      return;
    }
    if (out.kind === 'not-an-image') {
      // The display now shows something else: its image is gone from it.
      const gone = k.entries.filter((e) => e.summary.displayId === out.displayId);
      for (const e of gone) this.drop(e, { counted: false });
      if (gone.length) this.announceRemoved(kernel, gone);
      return;
    }
    if (out.data.length > this.limits.diskBytesPerKernel) {
      this.dropped++;
      log.warn(`a ${out.mime} of ${out.data.length} bytes from ${kernel} is over the plot limit of ${this.limits.diskBytesPerKernel} bytes per kernel: not kept`);
      return;
    }
    if (out.source === 'update_display_data' && out.displayId) {
      const shown = k.entries.filter((e) => e.summary.displayId === out.displayId);
      if (shown.length) {
        for (const e of shown) this.update(k, e, out);
        this.enforce();
        return;
      }
      // The display was made before the agent watched the kernel: its new image is still news.
    }
    this.add(kernel, k, out);
    this.enforce();
  }

  /** Closes the store: its cache files go (plots live as long as the agent). */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    await this.cache.clear().catch((err: unknown) => log.warn(`could not remove the plot cache ${this.cache.dir}: ${errorText(err)}`));
  }

  // ---- inside ----------------------------------------------------------------------

  private entry(id: string): Entry {
    const e = this.byId.get(id);
    if (!e) {
      throw new KtrayError({
        code: 'PLOT_NOT_FOUND',
        message: `No plot ${id}: the agent has none by that id (dropped past its limits, or from before it started).`,
        hint: '`ktray plots ID` lists the plots of a kernel.',
      });
    }
    return e;
  }

  private kernelPlots(kernel: string): KernelPlots {
    let k = this.kernels.get(kernel);
    if (!k) {
      const tag = createHash('sha256').update(kernel).digest('hex').slice(0, 12);
      k = { seq: 0, entries: [], inputs: new Map(), seen: new Set(), bytes: { memory: 0, inflight: 0, disk: 0 }, tag };
      this.kernels.set(kernel, k);
    }
    return k;
  }

  private describe(k: KernelPlots, out: Extract<PlotOutput, { kind: 'image' }>): Pick<PlotSummary, 'code' | 'executionCount' | 'client'> | null {
    const input = out.request.msgId ? k.inputs.get(out.request.msgId) : undefined;
    const client = clientOf(out.request);
    return input ? { code: input.code, executionCount: input.executionCount, client } : null;
  }

  private add(kernel: string, k: KernelPlots, out: Extract<PlotOutput, { kind: 'image' }>): void {
    const now = (this.opts.now ?? Date.now)();
    const seq = ++k.seq;
    const size = pixelSize(out.mime, out.data);
    const summary: PlotSummary = {
      id: `${kernel}#${seq}`,
      kernel,
      seq,
      at: now,
      updatedAt: now,
      version: 1,
      mime: out.mime,
      otherMimes: out.otherMimes,
      bytes: out.data.length,
      width: size?.width ?? null,
      height: size?.height ?? null,
      source: out.source,
      displayId: out.displayId,
      code: null,
      executionCount: null,
      client: clientOf(out.request),
      ...this.describe(k, out),
    };
    const e: Entry = { summary, where: 'memory', data: out.data, file: null, generation: 0, removed: false };
    k.entries.push(e);
    this.all.push(e);
    this.byId.set(summary.id, e);
    this.account(k, e, +1);
    this.opts.events.emit({ type: 'plot-added', at: now, plot: { ...summary } });
    // Too big for memory at all: straight to disk, leaving the smaller ones where they are.
    if (out.data.length > this.limits.memoryBytesPerKernel) this.spill(k, e);
  }

  private update(k: KernelPlots, e: Entry, out: Extract<PlotOutput, { kind: 'image' }>): void {
    const now = (this.opts.now ?? Date.now)();
    this.account(k, e, -1);
    if (e.file) this.track(this.cache.remove(e.file));
    e.generation++;
    e.where = 'memory';
    e.data = out.data;
    e.file = null;
    const size = pixelSize(out.mime, out.data);
    Object.assign(e.summary, {
      updatedAt: now,
      version: e.summary.version + 1,
      mime: out.mime,
      otherMimes: out.otherMimes,
      bytes: out.data.length,
      width: size?.width ?? null,
      height: size?.height ?? null,
      source: out.source,
      ...this.describe(k, out),
    });
    this.account(k, e, +1);
    this.opts.events.emit({ type: 'plot-updated', at: now, plot: { ...e.summary } });
    if (out.data.length > this.limits.memoryBytesPerKernel) this.spill(k, e);
  }

  private account(k: KernelPlots, e: Entry, sign: 1 | -1): void {
    const n = sign * e.summary.bytes;
    for (const c of [k.bytes, this.total]) {
      if (e.where === 'disk') c.disk += n;
      else c.memory += n;
      if (e.where === 'spilling') c.inflight += n;
    }
  }

  /**
   * Memory first: the oldest images in memory spill to disk until the kernel and the
   * total are under their memory limits. Then disk and counts: the oldest are dropped.
   */
  private enforce(): void {
    const L = this.limits;
    for (const k of this.kernels.values()) {
      for (const e of k.entries) {
        if (k.bytes.memory - k.bytes.inflight <= L.memoryBytesPerKernel) break;
        if (e.where === 'memory') this.spill(k, e);
      }
    }
    for (const e of this.all) {
      if (this.total.memory - this.total.inflight <= L.memoryBytesTotal) break;
      if (e.where === 'memory') this.spill(this.kernels.get(e.summary.kernel)!, e);
    }
    // Bytes being written count as on disk already: the limits hold once they land.
    const removed = new Map<string, Entry[]>();
    const dropOldest = (entries: Entry[], over: () => boolean) => {
      while (entries.length && over()) {
        const e = entries[0]!;
        this.drop(e, { counted: true });
        removed.set(e.summary.kernel, [...(removed.get(e.summary.kernel) ?? []), e]);
      }
    };
    for (const k of this.kernels.values()) {
      dropOldest(k.entries, () => k.entries.length > L.plotsPerKernel || k.bytes.disk + k.bytes.inflight > L.diskBytesPerKernel);
    }
    dropOldest(this.all, () => this.all.length > L.plotsTotal || this.total.disk + this.total.inflight > L.diskBytesTotal);
    for (const [kernel, entries] of removed) this.announceRemoved(kernel, entries);
  }

  private spill(k: KernelPlots, e: Entry): void {
    if (e.where !== 'memory' || !e.data) return;
    this.account(k, e, -1);
    e.where = 'spilling';
    this.account(k, e, +1);
    const generation = e.generation;
    const data = e.data;
    const write = this.cache.write(`${k.tag}-${e.summary.seq}-v${e.summary.version}`, e.summary.mime, data).then(
      (file) => {
        if (e.removed || e.generation !== generation) {
          this.track(this.cache.remove(file)); // dropped or replaced meanwhile; counters already moved
          return;
        }
        this.account(k, e, -1);
        e.where = 'disk';
        e.file = file;
        e.data = null;
        this.account(k, e, +1);
      },
      (err: unknown) => {
        if (e.removed || e.generation !== generation) return;
        // Memory stays bounded even when the disk fails: such a plot is dropped.
        log.warn(`could not write plot ${e.summary.id} to ${this.cache.dir}, dropping it: ${errorText(err)}`);
        this.drop(e, { counted: true });
        this.announceRemoved(e.summary.kernel, [e]);
      },
    );
    this.track(write);
  }

  private track(p: Promise<void>): void {
    const tracked = p.finally(() => this.work.delete(tracked));
    this.work.add(tracked);
  }

  private drop(e: Entry, opts: { counted: boolean }): void {
    if (e.removed) return;
    const k = this.kernels.get(e.summary.kernel)!;
    this.account(k, e, -1);
    e.removed = true;
    e.data = null;
    if (e.file) this.track(this.cache.remove(e.file));
    e.file = null;
    k.entries.splice(k.entries.indexOf(e), 1);
    this.all.splice(this.all.indexOf(e), 1);
    this.byId.delete(e.summary.id);
    if (opts.counted) this.dropped++;
  }

  private announceRemoved(kernel: string, entries: Entry[]): void {
    this.opts.events.emit({ type: 'plots-removed', at: (this.opts.now ?? Date.now)(), kernel, ids: entries.map((e) => e.summary.id) });
  }
}

function clientOf(r: RequestRef): PlotSummary['client'] {
  return { session: r.session, username: r.username };
}
