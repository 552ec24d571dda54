// The Jupyter wire format (messaging spec v5): pure functions, no sockets.
// A message on the wire is
//   [...identities, "<IDS|MSG>", signature, header, parent_header, metadata, content, ...buffers]
// where signature = HMAC(key, header ‖ parent_header ‖ metadata ‖ content) in hex.
import { createHmac, getHashes, randomUUID, timingSafeEqual } from 'node:crypto';

export const DELIMITER = '<IDS|MSG>';
export const PROTOCOL_VERSION = '5.3';

export interface JupyterHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
  [extra: string]: unknown;
}

export interface JupyterMessage<C = any> {
  identities: Buffer[];
  header: JupyterHeader;
  /** `{}` when the message answers nothing. */
  parent_header: Partial<JupyterHeader>;
  metadata: Record<string, any>;
  content: C;
  buffers: Buffer[];
}

/** A fresh session id: one per client, shared by every message it sends. */
export function newSession(): string {
  return randomUUID();
}

export function makeHeader(msgType: string, session: string, username: string): JupyterHeader {
  return {
    msg_id: randomUUID(),
    msg_type: msgType,
    session,
    username,
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
}

/** A message ready to serialize: header built here, no identities, no buffers. */
export function makeMessage<C>(
  msgType: string,
  content: C,
  session: string,
  username: string,
  parent: Partial<JupyterHeader> = {},
): JupyterMessage<C> {
  return {
    identities: [],
    header: makeHeader(msgType, session, username),
    parent_header: parent,
    metadata: {},
    content,
    buffers: [],
  };
}

/** `hmac-sha256` → `sha256`; throws on a scheme Node cannot compute, since signing would be wrong. */
function hashOf(scheme: string): string {
  const match = /^hmac-(.+)$/.exec(scheme);
  const hash = match?.[1].toLowerCase();
  if (!hash || !getHashes().includes(hash)) {
    throw new Error(
      `Unsupported Jupyter signature_scheme "${scheme}": expected hmac-<hash>, e.g. hmac-sha256.`,
    );
  }
  return hash;
}

/** Hex HMAC over the four JSON frames (header, parent_header, metadata, content); '' without a key. */
export function sign(key: string, scheme: string, frames: Buffer[]): string {
  if (key === '') return '';
  if (frames.length !== 4) throw new Error(`sign() takes the 4 JSON frames, got ${frames.length}`);
  const hmac = createHmac(hashOf(scheme), Buffer.from(key, 'utf8'));
  for (const frame of frames) hmac.update(frame);
  return hmac.digest('hex');
}

function jsonFrame(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value ?? {}), 'utf8');
}

/** Frames to hand to a zeromq socket. `identities` overrides `msg.identities`. */
export function serialize(
  msg: Omit<JupyterMessage, 'identities' | 'buffers'> & Partial<Pick<JupyterMessage, 'identities' | 'buffers'>>,
  key: string,
  scheme: string,
  identities?: Buffer[],
): Buffer[] {
  const body = [
    jsonFrame(msg.header),
    jsonFrame(msg.parent_header),
    jsonFrame(msg.metadata),
    jsonFrame(msg.content),
  ];
  const signature = Buffer.from(sign(key, scheme, body), 'ascii');
  return [
    ...(identities ?? msg.identities ?? []),
    Buffer.from(DELIMITER, 'ascii'),
    signature,
    ...body,
    ...(msg.buffers ?? []),
  ];
}

export class BadSignatureError extends Error {
  constructor() {
    super(
      'Rejected a Jupyter message with a bad signature: ' +
        'the kernel and this client disagree on the connection key.',
    );
    this.name = 'BadSignatureError';
  }
}

function parseFrame(frame: Buffer, name: string): any {
  try {
    return JSON.parse(frame.toString('utf8'));
  } catch (err) {
    throw new Error(`Malformed Jupyter message: ${name} frame is not JSON`, { cause: err });
  }
}

/**
 * Parse and verify frames as received from a socket. With a key, the signature
 * must match (compared in constant time) or this throws BadSignatureError;
 * without one, messages are unsigned (as jupyter_client does).
 */
export function deserialize(frames: Buffer[], key: string, scheme: string): JupyterMessage {
  const at = frames.findIndex((f) => f.length === DELIMITER.length && f.toString('ascii') === DELIMITER);
  if (at < 0) throw new Error('Malformed Jupyter message: no <IDS|MSG> delimiter');
  if (frames.length < at + 6) {
    throw new Error(`Malformed Jupyter message: ${frames.length - at - 1} frames after the delimiter, need at least 5`);
  }
  const signature = frames[at + 1];
  const body = frames.slice(at + 2, at + 6);
  // Verify before parsing: nothing unsigned gets as far as JSON.parse.
  if (key !== '') {
    const expected = Buffer.from(sign(key, scheme, body), 'ascii');
    const ok = signature.length === expected.length && timingSafeEqual(signature, expected);
    if (!ok) throw new BadSignatureError();
  }
  return {
    identities: frames.slice(0, at),
    header: parseFrame(body[0], 'header') as JupyterHeader,
    parent_header: parseFrame(body[1], 'parent_header') ?? {},
    metadata: parseFrame(body[2], 'metadata') ?? {},
    content: parseFrame(body[3], 'content') ?? {},
    buffers: frames.slice(at + 6),
  };
}
