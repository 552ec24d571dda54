// A Jupyter client over zeromq for the agent's own needs: liveness, status,
// kernel_info, interrupt, shutdown (and execute, for tests and benchmarks).
// It connects to whatever ConnectionInfo says, in practice the local end of a tunnel.
import { randomUUID } from 'node:crypto';
import * as zmq from 'zeromq';
import { KtrayError } from '../../shared/errors';
import type { ConnectionInfo } from '../../shared/types';
import { ExecuteCollector, type ExecuteReply } from './execute-collector';
import { deserialize, makeMessage, serialize, type JupyterMessage } from './message';
import { pending, type Settle } from './pending';
import { endpointOf, ZmqChannel } from './zmq-channel';
import { errorText, logger } from '../util/logger';

const log = logger('kernel-client');

export type { ExecuteReply } from './execute-collector';
export type ExecutionState = 'starting' | 'idle' | 'busy';
type RequestChannel = 'shell' | 'control';

const EXECUTION_STATES = new Set<string>(['starting', 'idle', 'busy']);
// Bounds how long a send may wait at the high-water mark before failing the request.
const SEND_TIMEOUT_MS = 10_000;
// Bounds the wait for iopub's ZMTP handshake before the first request (a safety net).
const HANDSHAKE_WAIT_MS = 3000;

/** One listener's bug must not starve the others or stop the receive loop. */
function notify(call: () => void): void {
  try {
    call();
  } catch (err) {
    log.error(`an iopub listener threw: ${errorText(err)}`);
  }
}

export interface KernelClientOptions {
  username?: string;
  /** Host the kernel runs on, named in errors. */
  host?: string;
}

export class KernelClient {
  readonly session = randomUUID();
  private readonly username: string;
  private closed = false;
  private readonly channels: Partial<Record<RequestChannel | 'iopub', ZmqChannel>> = {};
  private hb: zmq.Request | null = null;
  private hbChain: Promise<unknown> = Promise.resolve();
  /** Waiting requests by msg_id; their replies carry it as parent msg_id. */
  private readonly replies = new Map<string, (msg: JupyterMessage) => void>();
  private readonly collectors = new Map<string, ExecuteCollector>();
  /** Every pending wait, so close() can end them all. */
  private readonly aborts = new Set<(err: unknown) => void>();
  /** An iopub message arrived since (re)connecting: our subscription reached the kernel. */
  private iopubSeen = false;
  /** ZMTP handshake done on iopub: our subscription is on its way to the kernel. */
  private iopubHandshaken = false;
  private readonly iopubHandshakeWaiters = new Set<() => void>();
  private readonly iopubSeenWaiters = new Set<() => void>();
  private readonly statusListeners = new Set<(s: ExecutionState, parent: string | null) => void>();
  private readonly iopubListeners = new Set<(msg: JupyterMessage) => void>();
  private rejectedMessages = 0;

  constructor(
    private readonly info: ConnectionInfo,
    private readonly opts: KernelClientOptions = {},
  ) {
    this.username = opts.username ?? 'ktray';
  }

  async heartbeat(timeoutMs: number): Promise<number | null> {
    const run = () => this.beat(timeoutMs);
    const result = this.hbChain.then(run, run);
    this.hbChain = result.catch(() => undefined);
    return result;
  }

  async kernelInfo(timeoutMs: number): Promise<Record<string, any>> {
    return (await this.request('shell', 'kernel_info_request', {}, timeoutMs)).content;
  }

  async execute(code: string, opts: { timeoutMs?: number; silent?: boolean } = {}): Promise<ExecuteReply> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    await this.iopubReady(deadline, timeoutMs);
    const silent = opts.silent ?? false;
    const content = { code, silent, store_history: !silent, user_expressions: {}, allow_stdin: false, stop_on_error: true };
    const msg = makeMessage('execute_request', content, this.session, this.username);
    const id = msg.header.msg_id;
    const collector = new ExecuteCollector();
    const ms = Math.max(0, deadline - Date.now());
    const onTimeout = ({ reject }: Settle<ExecuteReply>) =>
      reject(
        collector.replied
          ? this.timeoutError('iopub', 'idle status after execute_request', timeoutMs)
          : this.timeoutError('shell', 'execute_reply', timeoutMs),
      );
    return this.guarded<ExecuteReply>(ms, onTimeout, ({ resolve, reject }) => {
      collector.onDone = () => resolve(collector.toReply());
      this.collectors.set(id, collector);
      this.replies.set(id, (reply) => collector.addReply(reply.content));
      this.sendOn('shell', msg).catch(reject);
      return () => {
        this.collectors.delete(id);
        this.replies.delete(id);
      };
    });
  }

  /** shutdown_request on control; false if no reply came in time. */
  async shutdown(opts: { restart: boolean; timeoutMs: number }): Promise<boolean> {
    return this.replied(this.request('control', 'shutdown_request', { restart: opts.restart }, opts.timeoutMs));
  }

  /** interrupt_request on control (kernelspec interrupt_mode "message"; ipykernel answers it too). */
  async interrupt(timeoutMs: number): Promise<boolean> {
    return this.replied(this.request('control', 'interrupt_request', {}, timeoutMs));
  }

  onStatus(listener: (state: ExecutionState, parentMsgType: string | null) => void): () => void {
    this.iopub();
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  onIopub(listener: (msg: JupyterMessage) => void): () => void {
    this.iopub();
    this.iopubListeners.add(listener);
    return () => this.iopubListeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = this.closedError();
    for (const abort of [...this.aborts]) abort(err);
    for (const channel of Object.values(this.channels)) channel?.close();
    this.hb?.close();
    this.hb = null;
    this.statusListeners.clear();
    this.iopubListeners.clear();
  }

  private async beat(timeoutMs: number): Promise<number | null> {
    if (this.closed) throw this.closedError();
    const socket = (this.hb ??= this.openHeartbeat());
    const ping = Buffer.from(randomUUID());
    const started = performance.now();
    const answered = await this.guarded<boolean>(timeoutMs, ({ resolve }) => resolve(false), ({ resolve, reject }) => {
      socket
        .send(ping)
        .then(() => socket.receive())
        .then(([echo]) => resolve(echo.equals(ping)))
        // After close() or a timeout the socket is closed and this rejection is expected.
        .catch((err) => (socket.closed ? resolve(false) : reject(err)));
      return () => undefined;
    });
    if (answered) return performance.now() - started;
    // A REQ socket waiting for a lost reply refuses to send again: start afresh.
    socket.close();
    if (this.hb === socket) this.hb = null;
    return null;
  }

  private openHeartbeat(): zmq.Request {
    const socket = new zmq.Request({ linger: 0 });
    socket.connect(this.endpoint('hb'));
    return socket;
  }

  private request(channel: RequestChannel, msgType: string, content: object, timeoutMs: number) {
    const msg = makeMessage(msgType, content, this.session, this.username);
    const id = msg.header.msg_id;
    const replyType = msgType.replace(/_request$/, '_reply');
    return this.guarded<JupyterMessage>(
      timeoutMs,
      ({ reject }) => reject(this.timeoutError(channel, replyType, timeoutMs)),
      ({ resolve, reject }) => {
        this.replies.set(id, resolve);
        this.sendOn(channel, msg).catch(reject);
        return () => this.replies.delete(id);
      },
    );
  }

  private async replied(request: Promise<unknown>): Promise<boolean> {
    try {
      await request;
      return true;
    } catch (err) {
      if (err instanceof KtrayError && err.code === 'TIMEOUT') return false;
      throw err;
    }
  }

  private async sendOn(channel: RequestChannel, msg: JupyterMessage): Promise<void> {
    const ch = this.dealer(channel);
    try {
      await ch.send(serialize(msg, this.info.key, this.info.signature_scheme));
    } catch (err) {
      if (this.closed) throw this.closedError();
      const message = `Could not send ${msg.header.msg_type} on the ${channel} channel (${ch.endpoint}): ${(err as Error).message}`;
      const hint = 'The kernel is not reading its messages; check that it and its tunnel are alive.';
      throw new KtrayError({ code: 'TIMEOUT', message, host: this.opts.host, hint }, { cause: err });
    }
  }

  /**
   * A SUB socket misses whatever is published before its subscription reaches
   * the kernel, and then an execute would never see its idle status. Probe with
   * kernel_info (which makes the kernel publish busy/idle) until iopub speaks.
   */
  private async iopubReady(deadline: number, timeoutMs: number): Promise<void> {
    this.iopub();
    this.dealer('shell'); // connect both at once
    if (!this.iopubSeen && !this.iopubHandshaken) {
      // Ask only once the subscription is under way, or the first answer's
      // status messages are published before anyone listens.
      const wait = Math.min(HANDSHAKE_WAIT_MS, Math.max(0, deadline - Date.now()));
      await this.guarded<void>(wait, ({ resolve }) => resolve(), ({ resolve }) => {
        if (this.iopubHandshaken) resolve();
        this.iopubHandshakeWaiters.add(resolve);
        return () => this.iopubHandshakeWaiters.delete(resolve);
      });
    }
    while (!this.iopubSeen) {
      const left = deadline - Date.now();
      if (left <= 0) throw this.timeoutError('iopub', 'message (subscription not confirmed)', timeoutMs);
      const asked = Date.now();
      await this.request('shell', 'kernel_info_request', {}, left);
      // The reply's status messages reach iopub about a round trip after it; when
      // they do not, the subscription was late: ask again rather than idle.
      const roundTrip = Date.now() - asked;
      const grace = Math.min(500, Math.max(50, roundTrip), Math.max(0, deadline - Date.now()));
      await this.guarded<void>(grace, ({ resolve }) => resolve(), ({ resolve }) => {
        if (this.iopubSeen) resolve();
        this.iopubSeenWaiters.add(resolve);
        return () => this.iopubSeenWaiters.delete(resolve);
      });
    }
  }

  private guarded<T>(ms: number, onTimeout: (s: Settle<T>) => void, start: (s: Settle<T>) => () => void): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    return pending(this.aborts, ms, onTimeout, start);
  }

  private dealer(channel: RequestChannel): ZmqChannel {
    if (this.closed) throw this.closedError();
    return (this.channels[channel] ??= new ZmqChannel(
      // The routing id ties stdin prompts to our shell, as jupyter_client does with its session id.
      new zmq.Dealer({ linger: 0, routingId: this.session, sendTimeout: SEND_TIMEOUT_MS }),
      this.endpoint(channel),
      (frames) => this.onReply(frames),
    ));
  }

  private iopub(): ZmqChannel {
    if (this.closed) throw this.closedError();
    if (this.channels.iopub) return this.channels.iopub;
    const socket = new zmq.Subscriber({ linger: 0 });
    socket.subscribe();
    const channel = new ZmqChannel(socket, this.endpoint('iopub'), (frames) => this.onIopubFrames(frames));
    // After a reconnect the subscription must be confirmed again before an execute.
    channel.watchEvents((event) => {
      if (event.type === 'disconnect') {
        this.iopubSeen = false;
        this.iopubHandshaken = false;
      } else if (event.type === 'handshake') {
        this.iopubHandshaken = true;
        for (const w of this.iopubHandshakeWaiters) w();
        this.iopubHandshakeWaiters.clear();
      }
    });
    return (this.channels.iopub = channel);
  }

  private decode(frames: Buffer[]): JupyterMessage | null {
    try {
      return deserialize(frames, this.info.key, this.info.signature_scheme);
    } catch {
      // Bad signature (forged, or another key) or malformed: drop it, and say so if a request then times out.
      this.rejectedMessages++;
      return null;
    }
  }

  private onReply(frames: Buffer[]): void {
    const msg = this.decode(frames);
    const parent = msg?.parent_header.msg_id;
    if (msg && parent) this.replies.get(parent)?.(msg);
  }

  private onIopubFrames(frames: Buffer[]): void {
    const msg = this.decode(frames);
    if (!msg) return;
    this.iopubSeen = true;
    for (const wake of [...this.iopubSeenWaiters]) wake();
    const parentId = msg.parent_header.msg_id;
    if (parentId) this.collectors.get(parentId)?.addIopub(msg);
    const state = msg.content?.execution_state;
    if (msg.header.msg_type === 'status' && EXECUTION_STATES.has(state)) {
      const parentType = msg.parent_header.msg_type ?? null;
      for (const listener of [...this.statusListeners]) notify(() => listener(state, parentType));
    }
    for (const listener of [...this.iopubListeners]) notify(() => listener(msg));
  }

  private endpoint(channel: RequestChannel | 'iopub' | 'hb'): string {
    return endpointOf(this.info.transport, this.info.ip, this.info[`${channel}_port`]);
  }

  private timeoutError(channel: RequestChannel | 'iopub', what: string, ms: number): KtrayError {
    const dropped = this.rejectedMessages
      ? ` ${this.rejectedMessages} message(s) were dropped for a bad signature or format: is the connection key right?`
      : '';
    return new KtrayError({
      code: 'TIMEOUT',
      message: `No ${what} from the kernel on its ${channel} channel (${this.endpoint(channel)}) within ${Math.round(ms)} ms.${dropped}`,
      host: this.opts.host,
      hint: 'Check that the kernel is alive and its tunnel is open; a busy kernel answers shell requests only when it is done.',
    });
  }

  private closedError(): KtrayError {
    return new KtrayError({
      code: 'INTERNAL',
      message: `The Jupyter client for ${this.endpoint('shell')} was closed.`,
      host: this.opts.host,
    });
  }
}
