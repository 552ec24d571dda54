// Talking to a Jupyter server's REST API over one byte stream to it (an SSH
// channel to its port or socket, or a local socket): HTTP/1.0, so the answer
// ends with the stream and is never chunked. The token goes in the
// Authorization header, which servers do not log (a `?token=` URL would be
// logged with any redirect).
import type { Duplex } from 'node:stream';
import { KtrayError } from '../../shared/errors';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Absolute path on the server, base_url included: `/api/sessions`. */
  path: string;
  token?: string;
  timeoutMs?: number;
  /** JSON to send with a POST. */
  body?: string;
}

const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** One request on a fresh stream; the stream is closed when the answer has come. */
export async function httpRequest(open: () => Promise<Duplex>, req: HttpRequest): Promise<HttpAnswer> {
  const stream = await open();
  const lines = [`${req.method} ${req.path} HTTP/1.0`, 'Host: 127.0.0.1', 'Accept: application/json', 'User-Agent: ktray'];
  if (req.token) lines.push(`Authorization: token ${req.token}`);
  const body = Buffer.from(req.body ?? '', 'utf8');
  if (req.method === 'POST') lines.push(`Content-Length: ${body.length}`);
  if (req.body !== undefined) lines.push('Content-Type: application/json');
  return new Promise<HttpAnswer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.destroy();
      if (err) return reject(err);
      try {
        resolve(parseAnswer(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        reject(e as Error);
      }
    };
    const timer = setTimeout(() => finish(new KtrayError({ code: 'TIMEOUT', message: `The server did not answer ${req.method} ${req.path} within ${req.timeoutMs ?? 10_000} ms.` })), req.timeoutMs ?? 10_000);
    stream.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_ANSWER_BYTES) return finish(new Error(`the answer to ${req.path} is larger than ${MAX_ANSWER_BYTES} bytes`));
      chunks.push(d);
    });
    stream.on('end', () => finish(null));
    stream.on('close', () => finish(null));
    stream.on('error', (err: Error) => finish(err));
    stream.write(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]));
  });
}

export function parseAnswer(text: string): HttpAnswer {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const status = /^HTTP\/\d\.\d (\d{3})/.exec(head);
  if (!status) throw new Error(text ? 'the answer is not HTTP' : 'the server closed the connection without answering');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(status[1]), headers, body: split < 0 ? '' : text.slice(split + 4) };
}

/** `/api/sessions`: which notebook (or console, file) each of the server's kernels serves. */
export interface ServerSession {
  kernelId: string;
  path: string;
  type: string;
}

export function parseSessions(body: string): ServerSession[] {
  const raw = JSON.parse(body) as unknown;
  if (!Array.isArray(raw)) throw new Error('/api/sessions did not answer a list');
  const out: ServerSession[] = [];
  for (const s of raw) {
    const kernelId = (s as { kernel?: { id?: unknown } })?.kernel?.id;
    const p = (s as { path?: unknown; notebook?: { path?: unknown } }).path ?? (s as { notebook?: { path?: unknown } }).notebook?.path;
    if (typeof kernelId === 'string' && typeof p === 'string') out.push({ kernelId, path: p, type: typeof (s as { type?: unknown }).type === 'string' ? (s as { type: string }).type : 'notebook' });
  }
  return out;
}
