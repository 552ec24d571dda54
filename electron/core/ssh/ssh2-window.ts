// Keeps a forwarded channel's receive window full, the way OpenSSH does.
//
// ssh2 1.17.0 (lib/Channel.js lines 15-27 and 151, WINDOW_THRESHOLD = MAX_WINDOW / 2) grants the server more window only
// once half of its 2 MiB is used up, so on a 50 ms link a bulk reply (a 20 MB
// plot) stalls every megabyte: we measured 10 MB/s where OpenSSH's `-L`, which
// tops the window up after a few packets (channels.c, channel_check_window),
// moved 22 MB/s. This tops it up after every packet the reader has taken,
// never past ssh2's own maximum and never while the reader applies
// backpressure, so memory stays bounded exactly as before.
//
// It reaches into ssh2 internals (windowAdjust, lib/Channel.js line 279), so
// package.json pins ssh2 exactly; if they change it does nothing, and the
// window test in ssh-session.test.ts fails to say so.
import { createRequire } from 'node:module';
import type { ClientChannel } from 'ssh2';

interface ChannelInternals {
  windowAdjust: (channel: unknown) => void;
  MAX_WINDOW: number;
  PACKET_SIZE: number;
}

interface ChannelState {
  incoming?: { window?: number };
  _waitChanDrain?: boolean;
}

function load(): ChannelInternals | null {
  try {
    const mod = createRequire(import.meta.url)('ssh2/lib/Channel.js') as Partial<ChannelInternals>;
    return typeof mod.windowAdjust === 'function' && typeof mod.MAX_WINDOW === 'number' && typeof mod.PACKET_SIZE === 'number'
      ? (mod as ChannelInternals)
      : null;
  } catch {
    return null;
  }
}

export const ssh2Internals = load();

export function eagerWindow<T extends ClientChannel>(stream: T): T {
  const internals = ssh2Internals;
  const state = stream as unknown as ChannelState;
  if (!internals || typeof state.incoming?.window !== 'number') return stream;
  const low = internals.MAX_WINDOW - 4 * internals.PACKET_SIZE;
  // A 'data' listener alone would switch the stream to flowing mode before its
  // consumer is attached; wrap push() instead, which ssh2 calls per packet.
  const push = stream.push.bind(stream);
  stream.push = (chunk: unknown, encoding?: BufferEncoding) => {
    const more = push(chunk, encoding);
    if (more && !state._waitChanDrain && state.incoming!.window! < low) internals.windowAdjust(stream);
    return more;
  };
  return stream;
}
