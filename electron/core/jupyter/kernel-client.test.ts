// Against real ipykernel processes on this machine (Debian's /usr/bin/python3).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KtrayError } from '../../shared/errors';
import type { ConnectionInfo } from '../../shared/types';
import { KernelClient, type ExecutionState } from './kernel-client';
import type { JupyterMessage } from './message';
import { startRelay, startTestKernel, type Relay, type TestKernel } from './test-kernel';

const START_TIMEOUT = 60_000;

/**
 * Execute, again if the kernel aborted the request: right after an error
 * ipykernel aborts execute requests that reach it before its queue is flushed
 * (kernelbase.py `_abort_queues`, stop_on_error_timeout), a race a fast client can lose.
 */
async function run(client: KernelClient, code: string, opts: { timeoutMs?: number; silent?: boolean } = {}) {
  for (let attempt = 1; ; attempt++) {
    const reply = await client.execute(code, { timeoutMs: 30_000, ...opts });
    if (reply.status !== 'aborted' || attempt === 5) return reply;
  }
}

/** Resolves with the first iopub message `match` accepts. */
function nextIopub(client: KernelClient, match: (m: JupyterMessage) => boolean): Promise<JupyterMessage> {
  return new Promise((resolve) => {
    const off = client.onIopub((m) => {
      if (!match(m)) return;
      off();
      resolve(m);
    });
  });
}

describe('KernelClient with a live kernel', () => {
  let kernel: TestKernel;
  let client: KernelClient;

  beforeAll(async () => {
    kernel = await startTestKernel();
    client = new KernelClient(kernel.info, { username: 'ktray-test' });
  }, START_TIMEOUT);

  afterAll(async () => {
    client?.close();
    await kernel?.kill();
  });

  it('measures the heartbeat round trip', async () => {
    const rtt = await client.heartbeat(10_000);
    expect(rtt).toBeTypeOf('number');
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it('gets kernel_info', async () => {
    const info = await client.kernelInfo(10_000);
    expect(info.language_info.name).toBe('python');
    expect(info.protocol_version).toMatch(/^5\./);
  });

  it('executes an expression', async () => {
    const reply = await run(client, '6*7');
    expect(reply).toMatchObject({ status: 'ok', result: '42', stdout: '', stderr: '' });
    expect(reply.executionCount).toBeGreaterThan(0);
  });

  it('collects stdout and stderr', async () => {
    const reply = await run(client, 'import sys\nprint("hello")\nprint("oops", file=sys.stderr)');
    expect(reply).toMatchObject({ status: 'ok', result: null, stdout: 'hello\n', stderr: 'oops\n' });
  });

  it('reports an error with its name and value', async () => {
    const reply = await run(client, '1/0');
    expect(reply.status).toBe('error');
    expect(reply.ename).toBe('ZeroDivisionError');
    expect(reply.evalue).toMatch(/division by zero/);
    expect(reply.traceback?.length).toBeGreaterThan(0);
  });

  it('does not count a silent execution', async () => {
    const before = await run(client, '1');
    const silent = await run(client, 'x = 5', { silent: true });
    expect(silent.status).toBe('ok');
    const after = await run(client, 'x');
    expect(after.result).toBe('5');
    expect(after.executionCount).toBe((before.executionCount ?? 0) + 1);
  });

  it('sees busy then idle for an execute_request', async () => {
    const seen: Array<[ExecutionState, string | null]> = [];
    const off = client.onStatus((state, parent) => seen.push([state, parent]));
    await run(client, 'pass');
    off();
    const forExecute = seen.filter(([, parent]) => parent === 'execute_request').map(([state]) => state);
    expect(forExecute).toEqual(['busy', 'idle']);
  });

  it('gets a heartbeat from a busy kernel, then interrupts it', async () => {
    const code = 'import time; time.sleep(30)';
    const started = nextIopub(client, (m) => m.header.msg_type === 'execute_input' && m.content.code === code);
    const running = client.execute(code, { timeoutMs: 60_000 });
    await started;
    // ipykernel answers heartbeats from their own thread, sleep or not.
    expect(await client.heartbeat(10_000)).toBeTypeOf('number');
    expect(await client.interrupt(10_000)).toBe(true);
    const reply = await running;
    expect(reply.status).toBe('error');
    expect(reply.ename).toBe('KeyboardInterrupt');
    expect(await run(client, '1+1')).toMatchObject({ status: 'ok', result: '2' });
  });

  it('receives a 5 MB display_data', async () => {
    const code = "from IPython.display import display\ndisplay({'text/plain': 'x' * 5_000_000}, raw=True)";
    const reply = await run(client, code, { timeoutMs: 60_000 });
    expect(reply.status).toBe('ok');
    expect(reply.displayBytes).toBeGreaterThanOrEqual(5_000_000);
  });

  it('gives every subscriber the same iopub stream', async () => {
    const other = new KernelClient(kernel.info);
    try {
      const seenByOther = new Promise<string>((resolve) =>
        other.onIopub((m) => m.header.msg_type === 'stream' && resolve(m.content.text)),
      );
      // The other client confirms its own subscription by executing once.
      await run(other, 'pass');
      await run(client, 'print("to everyone")');
      expect(await seenByOther).toBe('to everyone\n');
    } finally {
      other.close();
    }
  });

  it('carries on after its tunnel connections drop', async () => {
    const relays: Relay[] = [];
    const via = { ...kernel.info } as ConnectionInfo;
    for (const channel of ['shell', 'iopub', 'stdin', 'control', 'hb'] as const) {
      const relay = await startRelay(kernel.info[`${channel}_port`]);
      relays.push(relay);
      via[`${channel}_port`] = relay.port;
    }
    const tunnelled = new KernelClient(via);
    try {
      expect(await run(tunnelled, '2+2')).toMatchObject({ status: 'ok', result: '4' });
      expect(await tunnelled.heartbeat(10_000)).toBeTypeOf('number');
      const before = relays.map((r) => r.accepted);
      for (const r of relays) r.dropAll();
      // zeromq reconnects on its own; wait until shell, iopub and hb are through again.
      await expect
        .poll(() => [0, 1, 4].every((i) => relays[i].accepted > before[i]), { timeout: 30_000, interval: 50 })
        .toBe(true);
      expect(await run(tunnelled, '3+4')).toMatchObject({ status: 'ok', result: '7' });
      expect(await tunnelled.heartbeat(10_000)).toBeTypeOf('number');
    } finally {
      tunnelled.close();
      await Promise.all(relays.map((r) => r.close()));
    }
  });
});

describe('KernelClient when the kernel goes away', () => {
  let stopped: TestKernel;
  let killed: TestKernel;

  beforeAll(async () => {
    [stopped, killed] = await Promise.all([startTestKernel(), startTestKernel()]);
  }, START_TIMEOUT);

  afterAll(async () => {
    await Promise.all([stopped?.kill(), killed?.kill()]);
  });

  it('shuts the kernel down on request', async () => {
    const client = new KernelClient(stopped.info);
    try {
      expect(await client.heartbeat(10_000)).toBeTypeOf('number');
      expect(await client.shutdown({ restart: false, timeoutMs: 10_000 })).toBe(true);
      const { code, signal } = await stopped.exited;
      // It ended by itself, not by a signal. The exit code is ipykernel's business: it was 1
      // once in ~60 runs (not reproduced since), so it is only shown, not asserted.
      expect(signal, `exit code ${code}, output:\n${stopped.output()}`).toBeNull();
      if (code !== 0) console.warn(`ipykernel exited with code ${code} after shutdown:\n${stopped.output()}`);
    } finally {
      client.close();
    }
  });

  it('gets no heartbeat from a killed kernel, and says which channel timed out', async () => {
    const client = new KernelClient(killed.info, { host: 'local' });
    try {
      expect(await client.heartbeat(10_000)).toBeTypeOf('number');
      killed.process.kill('SIGKILL');
      await killed.exited;
      expect(await client.heartbeat(500)).toBeNull();
      // A second try works on a fresh REQ socket and times out again, rather than failing with EFSM.
      expect(await client.heartbeat(500)).toBeNull();
      const err = await client.kernelInfo(500).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KtrayError);
      expect(err).toMatchObject({ code: 'TIMEOUT', host: 'local' });
      expect((err as Error).message).toContain(`shell channel (tcp://127.0.0.1:${killed.info.shell_port})`);
      expect(await client.interrupt(500)).toBe(false);
      expect(await client.shutdown({ restart: false, timeoutMs: 500 })).toBe(false);
    } finally {
      client.close();
    }
  });

  it('ends pending calls on close() and refuses new ones', async () => {
    const client = new KernelClient(killed.info);
    const pendingInfo = client.kernelInfo(60_000);
    const pendingBeat = client.heartbeat(60_000);
    const pendingRun = client.execute('1', { timeoutMs: 60_000 });
    client.close();
    client.close();
    await expect(pendingInfo).rejects.toThrow(/was closed/);
    await expect(pendingBeat).rejects.toThrow(/was closed/);
    await expect(pendingRun).rejects.toThrow(/was closed/);
    await expect(client.heartbeat(100)).rejects.toThrow(/was closed/);
    await expect(client.kernelInfo(100)).rejects.toThrow(/was closed/);
    expect(() => client.onStatus(() => undefined)).toThrow(/was closed/);
  });
});
