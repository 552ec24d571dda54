// One long-lived zeromq socket with its receive loop. zeromq reconnects by
// itself when the peer (here: a tunnel listener) drops and comes back, so the
// socket is only ever closed by close(), never on a transient error.
import * as zmq from 'zeromq';
import { errorText, logger } from '../util/logger';

const log = logger('zmq');

export type ReceivingSocket = zmq.Dealer | zmq.Subscriber;

export class ZmqChannel {
  private sendChain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly socket: ReceivingSocket,
    readonly endpoint: string,
    private readonly onFrames: (frames: Buffer[]) => void,
  ) {
    socket.connect(endpoint);
    void this.receiveLoop();
  }

  /**
   * zeromq allows one pending send per socket (a second gets EBUSY), so sends
   * queue behind each other. Sends only wait at the high-water mark: with
   * `immediate` off, a connecting socket queues messages for its peer.
   */
  send(frames: Buffer[]): Promise<void> {
    const next = this.sendChain.then(() => (this.socket as zmq.Dealer).send(frames));
    this.sendChain = next.catch(() => undefined);
    return next;
  }

  /** Calls `onEvent` for each socket event (connect, disconnect, ...) until the socket closes. */
  watchEvents(onEvent: (event: zmq.Event) => void): void {
    // A receive loop of our own rather than events.on(): that one's internal
    // loop rejects unhandled when the socket closes.
    const events = this.socket.events;
    void (async () => {
      try {
        for (;;) onEvent(await events.receive());
      } catch {
        // Ends with EBADF once the socket is closed; nothing else to do.
      }
    })();
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }

  private async receiveLoop(): Promise<void> {
    while (!this.socket.closed) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch {
        // close() makes the pending receive reject (EAGAIN): the normal way out.
        if (this.socket.closed) return;
        // Anything else is unexpected but not fatal: pause so it cannot spin.
        await new Promise((r) => setTimeout(r, 100).unref());
        continue;
      }
      try {
        this.onFrames(frames);
      } catch (err) {
        log.error(`handler failed for a message from ${this.endpoint}: ${errorText(err)}`);
      }
    }
  }
}

export function endpointOf(transport: string, ip: string, port: number): string {
  // jupyter_client names ipc endpoints `ipc://<path>-<port>`.
  return transport === 'ipc' ? `ipc://${ip}-${port}` : `${transport}://${ip}:${port}`;
}
