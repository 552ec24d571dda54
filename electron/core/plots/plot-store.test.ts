// The plot store on made-up iopub messages (limits, spills, updates: exact and
// fast) and on a real ipykernel with Debian's matplotlib, watched by one client
// while another runs the user's code.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentEvent, PlotLimits } from '../../shared/types';
import { KernelClient } from '../jupyter/kernel-client';
import { makeMessage, type JupyterMessage } from '../jupyter/message';
import { startTestKernel, type TestKernel } from '../jupyter/test-kernel';
import { DEFAULT_PLOT_LIMITS, PlotStore } from './plot-store';

const K = 'gpu/k1';

/** A PNG header for w x h followed by `extra` bytes: enough for the store, which never decodes pixels. */
function png(w: number, h: number, extra = 0, fill = 0): Buffer {
  const b = Buffer.alloc(33 + extra, fill);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  return b;
}

const request = { msg_id: 'req-1', session: 'client-a', username: 'ada' };

function output(type: string, data: Record<string, unknown>, opts: { displayId?: string; parent?: Record<string, string> } = {}): JupyterMessage {
  const content: Record<string, unknown> = { data, metadata: {} };
  if (opts.displayId) content.transient = { display_id: opts.displayId };
  if (type === 'execute_result') content.execution_count = 1;
  return makeMessage(type, content, 'kernel-session', 'kernel', opts.parent ?? request);
}

const image = (b: Buffer, more: Record<string, unknown> = {}) => ({ 'image/png': b.toString('base64'), 'text/plain': '<Figure>', ...more });

function input(code: string, parent = request): JupyterMessage {
  return makeMessage('execute_input', { code, execution_count: 7 }, 'kernel-session', 'kernel', parent);
}

let dir: string;
let events: AgentEvent[];
let store: PlotStore;
const open = (limits: Partial<PlotLimits> = {}) => {
  events = [];
  store = new PlotStore({ events: { emit: (e) => events.push(e) }, cacheDir: path.join(dir, 'plots'), limits });
  return store;
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ktray-plots-'));
});
afterEach(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('PlotStore: what iopub said', () => {
  it('keeps an image output with the code, the client and the size, and announces it without its bytes', async () => {
    open();
    const pic = png(640, 480, 100);
    store.observe(K, input('plt.plot([1,2,3])\nplt.show()'));
    store.observe(K, output('display_data', image(pic, { 'image/svg+xml': '<svg/>' })));
    const [plot] = store.list(K);
    expect(plot).toMatchObject({
      id: `${K}#1`,
      kernel: K,
      mime: 'image/png',
      otherMimes: ['image/svg+xml'],
      bytes: pic.length,
      width: 640,
      height: 480,
      source: 'display_data',
      code: 'plt.plot([1,2,3])\nplt.show()',
      executionCount: 7,
      client: { session: 'client-a', username: 'ada' },
      version: 1,
    });
    expect((await store.read(plot!.id)).equals(pic)).toBe(true);
    expect(events).toEqual([{ type: 'plot-added', at: expect.any(Number), plot }]);
    expect(JSON.stringify(events)).not.toContain(pic.toString('base64'));
  });

  it('keeps jpeg and svg, prefers png when an output offers several, ignores outputs without an image', async () => {
    open();
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x20, 0x00, 0x40, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff, 0xd9]);
    store.observe(K, output('execute_result', { 'image/jpeg': jpeg.toString('base64'), 'text/plain': 'x' }));
    store.observe(K, output('display_data', { 'image/svg+xml': '<svg xmlns="http://www.w3.org/2000/svg">é</svg>' }));
    store.observe(K, output('display_data', { 'text/plain': 'hello', 'text/html': '<b>hello</b>' }));
    store.observe(K, makeMessage('stream', { name: 'stdout', text: 'x' }, 's', 'k', request));
    const [svg, jpg] = store.list(K);
    expect(store.list(K)).toHaveLength(2);
    expect(jpg).toMatchObject({ mime: 'image/jpeg', width: 64, height: 32, source: 'execute_result' });
    expect((await store.read(jpg!.id)).equals(jpeg)).toBe(true);
    expect(svg).toMatchObject({ mime: 'image/svg+xml', width: null, height: null });
    expect((await store.read(svg!.id)).toString('utf8')).toBe('<svg xmlns="http://www.w3.org/2000/svg">é</svg>');
  });

  it('replaces the image of an updated display (transient.display_id), keeping its id', async () => {
    open();
    const first = png(10, 10, 5, 1);
    const second = png(20, 20, 5, 2);
    store.observe(K, output('display_data', image(first), { displayId: 'd1' }));
    store.observe(K, output('display_data', image(png(1, 1)), { displayId: 'other' }));
    store.observe(K, input('h.update(Image(second))', { ...request, msg_id: 'req-2' }));
    store.observe(K, output('update_display_data', image(second), { displayId: 'd1', parent: { ...request, msg_id: 'req-2' } }));
    const plots = store.list(K);
    expect(plots).toHaveLength(2);
    const updated = plots.find((p) => p.displayId === 'd1')!;
    expect(updated).toMatchObject({ id: `${K}#1`, version: 2, width: 20, source: 'update_display_data', code: 'h.update(Image(second))' });
    expect((await store.read(updated.id)).equals(second)).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['plot-added', 'plot-added', 'plot-updated']);
  });

  it('an update of a display it never saw is a new plot; an update to a non-image removes the image', () => {
    open();
    store.observe(K, output('update_display_data', image(png(3, 3)), { displayId: 'before-we-watched' }));
    expect(store.list(K)).toHaveLength(1);
    store.observe(K, output('update_display_data', { 'text/plain': 'done' }, { displayId: 'before-we-watched' }));
    expect(store.list(K)).toHaveLength(0);
    expect(events.at(-1)).toMatchObject({ type: 'plots-removed', kernel: K, ids: [`${K}#1`] });
    expect(store.usage()).toMatchObject({ plots: 0, memoryBytes: 0, dropped: 0 });
  });

  it('keeps a message heard twice (two watches overlapping while one replaces the other) once', () => {
    open();
    const msg = output('display_data', image(png(5, 5)));
    store.observe(K, msg);
    store.observe(K, msg);
    store.observe(K, output('display_data', image(png(5, 5))));
    expect(store.list(K).map((p) => p.seq)).toEqual([2, 1]);
    expect(events).toHaveLength(2);
  });

  it('lists newest first, per kernel or all; an unknown id is PLOT_NOT_FOUND', async () => {
    let t = 1000;
    events = [];
    store = new PlotStore({ events: { emit: (e) => events.push(e) }, cacheDir: path.join(dir, 'plots'), now: () => t++ });
    store.observe(K, output('display_data', image(png(1, 1))));
    store.observe('gpu/k2', output('display_data', image(png(2, 2))));
    store.observe(K, output('display_data', image(png(3, 3))));
    expect(store.list().map((p) => p.id)).toEqual([`${K}#2`, 'gpu/k2#1', `${K}#1`]);
    expect(store.list(K).map((p) => p.width)).toEqual([3, 1]);
    await expect(store.read('gpu/k9#1')).rejects.toMatchObject({ code: 'PLOT_NOT_FOUND' });
  });
});

describe('PlotStore: bounded memory', () => {
  it('spills the oldest to 0600 files in a 0700 folder past the memory limits, and reads them back', async () => {
    open({ memoryBytesPerKernel: 1000, memoryBytesTotal: 1500 });
    const pics = Array.from({ length: 6 }, (_, i) => png(i + 1, 1, 300 - 33, i));
    for (const p of pics) store.observe(K, output('display_data', image(p)));
    await store.idle();
    const u = store.usage();
    expect(u.memoryBytes).toBeLessThanOrEqual(1000);
    expect(u.memoryBytes + u.diskBytes).toBe(6 * 300);
    expect(u.kernels[K]).toEqual({ plots: 6, memoryBytes: u.memoryBytes, diskBytes: u.diskBytes });
    const cache = path.join(dir, 'plots');
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
    const files = await readdir(cache);
    expect(files.length * 300).toBe(u.diskBytes);
    for (const f of files) expect((await stat(path.join(cache, f))).mode & 0o777).toBe(0o600);
    // The oldest went first, and every image reads back as it came.
    for (const [i, p] of store.list(K).reverse().entries()) expect((await store.read(p.id)).equals(pics[i]!)).toBe(true);
    expect(events.filter((e) => e.type !== 'plot-added')).toEqual([]);
  });

  it('holds the total across kernels', async () => {
    open({ memoryBytesPerKernel: 1000, memoryBytesTotal: 1000 });
    for (let i = 0; i < 4; i++) for (const k of ['a/1', 'b/1']) store.observe(k, output('display_data', image(png(1, 1, 200 - 33))));
    await store.idle();
    expect(store.usage()).toMatchObject({ plots: 8, memoryBytes: 1000, diskBytes: 600 });
  });

  it('sends an image too big for memory straight to disk, leaving the small ones in memory', async () => {
    open({ memoryBytesPerKernel: 1000, memoryBytesTotal: 2000 });
    store.observe(K, output('display_data', image(png(1, 1, 100))));
    const big = png(2, 2, 5000, 7);
    store.observe(K, output('display_data', image(big)));
    await store.idle();
    expect(store.usage()).toMatchObject({ memoryBytes: 133, diskBytes: big.length });
    expect((await store.read(`${K}#2`)).equals(big)).toBe(true);
  });

  it('drops the oldest past the disk and count limits, and says which', async () => {
    open({ memoryBytesPerKernel: 100, memoryBytesTotal: 100, diskBytesPerKernel: 1000, plotsPerKernel: 100 });
    for (let i = 0; i < 8; i++) store.observe(K, output('display_data', image(png(i + 1, 1, 200 - 33))));
    await store.idle();
    const u = store.usage();
    expect(u.diskBytes).toBeLessThanOrEqual(1000);
    expect(u.plots).toBe(5);
    expect(u.dropped).toBe(3);
    expect(store.list(K).map((p) => p.seq)).toEqual([8, 7, 6, 5, 4]);
    const removed = events.filter((e) => e.type === 'plots-removed').flatMap((e) => (e.type === 'plots-removed' ? e.ids : []));
    expect(removed).toEqual([`${K}#1`, `${K}#2`, `${K}#3`]);
    // Each is over the memory limit, so each went straight to disk: five files, the dropped ones removed.
    expect(u).toMatchObject({ memoryBytes: 0, diskBytes: 1000 });
    expect((await readdir(path.join(dir, 'plots'))).length).toBe(5);
    open({ plotsPerKernel: 3, plotsTotal: 4 });
    for (let i = 0; i < 5; i++) store.observe(K, output('display_data', image(png(1, 1))));
    for (let i = 0; i < 2; i++) store.observe('other/k', output('display_data', image(png(1, 1))));
    expect(store.usage()).toMatchObject({ plots: 4, dropped: 3 });
    expect(store.list(K).map((p) => p.seq)).toEqual([5, 4]);
  });

  it('does not keep an image over the per-kernel disk limit at all', () => {
    open({ diskBytesPerKernel: 100 });
    store.observe(K, output('display_data', image(png(1, 1, 200))));
    expect(store.usage()).toMatchObject({ plots: 0, dropped: 1, memoryBytes: 0 });
    expect(events).toEqual([]);
  });

  it('removes what an earlier agent left in its cache, and its own files when it closes', async () => {
    open({ memoryBytesPerKernel: 10, memoryBytesTotal: 10 });
    store.observe(K, output('display_data', image(png(1, 1, 100))));
    await store.idle();
    const cache = path.join(dir, 'plots');
    expect(await readdir(cache)).toHaveLength(1);
    // A new agent on the same home (the old one crashed, say): no index, so the files are of no use.
    const next = new PlotStore({ events: { emit: () => {} }, cacheDir: cache });
    next.observe(K, output('display_data', image(png(1, 1))));
    await next.close();
    await expect(stat(cache)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('with the default limits, 500 small images and one of 20 MB keep memory under its cap, every image readable as sent', async () => {
    open();
    const small = Array.from({ length: 500 }, (_, i) => png(64, 48, 40_000, i % 251));
    for (const [i, p] of small.entries()) {
      store.observe(K, output('display_data', image(p)));
      if (i === 250) store.observe(K, output('display_data', image(png(4000, 3000, 20 * 1000 * 1000, 9))));
    }
    await store.idle();
    const u = store.usage();
    expect(u.plots).toBe(501);
    expect(u.dropped).toBe(0);
    expect(u.memoryBytes).toBeLessThanOrEqual(DEFAULT_PLOT_LIMITS.memoryBytesPerKernel);
    expect(u.memoryBytes + u.diskBytes).toBe(small.reduce((n, p) => n + p.length, 0) + 20 * 1000 * 1000 + 33);
    const big = store.list(K).find((p) => p.width === 4000)!;
    expect((await store.read(big.id)).length).toBe(20 * 1000 * 1000 + 33);
    expect((await store.read(`${K}#1`)).equals(small[0]!)).toBe(true);
  }, 60_000);

  it('has limits a 20-kernel agent can afford', () => {
    expect(DEFAULT_PLOT_LIMITS.memoryBytesTotal).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(DEFAULT_PLOT_LIMITS.memoryBytesPerKernel).toBeLessThanOrEqual(DEFAULT_PLOT_LIMITS.memoryBytesTotal);
  });
});

describe('PlotStore on a real ipykernel with matplotlib', () => {
  let kernel: TestKernel;
  let watcher: KernelClient;
  let user: KernelClient;
  const seen: JupyterMessage[] = [];

  beforeAll(async () => {
    kernel = await startTestKernel();
    // The agent's view: a client of its own that only listens (as the monitor does).
    watcher = new KernelClient(kernel.info, { username: 'ktray' });
    // The user's frontend: another client, another session.
    user = new KernelClient(kernel.info, { username: 'ada' });
    user.onIopub((m) => seen.push(m));
    await watcher.execute('None', { silent: true }); // its iopub subscription is confirmed
  }, 60_000);

  afterAll(async () => {
    watcher?.close();
    user?.close();
    await kernel?.kill();
  });

  it('keeps the figure of plt.plot(...); plt.show() run by another client, byte for byte, with its code', async () => {
    open();
    watcher.onIopub((m) => store.observe(K, m));
    const code = 'import matplotlib.pyplot as plt\nplt.plot([1,2,3,4,4,5,6])\nplt.show()';
    const reply = await user.execute(code, { timeoutMs: 60_000 });
    expect(reply.status).toBe('ok');
    const sent = seen.find((m) => m.header.msg_type === 'display_data' && m.parent_header.session === user.session);
    expect(sent?.content.data['image/png']).toBeTypeOf('string');
    const [plot] = store.list(K);
    expect(plot).toMatchObject({ mime: 'image/png', code, client: { session: user.session, username: 'ada' } });
    expect(plot!.width).toBeGreaterThan(100);
    expect((await store.read(plot!.id)).equals(Buffer.from(sent!.content.data['image/png'], 'base64'))).toBe(true);

    const update = [
      'from IPython.display import display, Image',
      'import io',
      'def fig(n):',
      '    f = plt.figure(); plt.plot(range(n)); b = io.BytesIO(); f.savefig(b, format="png"); plt.close(f); return b.getvalue()',
      'h = display(Image(fig(3)), display_id=True)',
      'h.update(Image(fig(9)))',
    ].join('\n');
    expect((await user.execute(update, { timeoutMs: 60_000 })).status).toBe('ok');
    const last = seen.filter((m) => m.header.msg_type === 'update_display_data').at(-1)!;
    const plots = store.list(K);
    expect(plots).toHaveLength(2);
    expect(plots[0]).toMatchObject({ version: 2, displayId: last.content.transient.display_id });
    expect((await store.read(plots[0]!.id)).equals(Buffer.from(last.content.data['image/png'], 'base64'))).toBe(true);
  }, 120_000);
});
