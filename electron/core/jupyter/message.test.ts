import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  BadSignatureError,
  DELIMITER,
  deserialize,
  makeHeader,
  makeMessage,
  newSession,
  serialize,
  sign,
} from './message';

// jupyter_client lives in the Debian python, not in the pyenv one on PATH.
const PYTHON = '/usr/bin/python3';

/** Run a Python snippet with jupyter_client; `input` arrives as JSON `data`, the snippet prints JSON. */
function python(code: string, input: unknown): any {
  const prelude = 'import sys, json, base64\nfrom jupyter_client.session import Session\ndata = json.load(sys.stdin)\n';
  const out = execFileSync(PYTHON, ['-c', prelude + code], { input: JSON.stringify(input), encoding: 'utf8' });
  return JSON.parse(out);
}

const b64 = (frames: Buffer[]) => frames.map((f) => f.toString('base64'));
const unb64 = (frames: string[]) => frames.map((f) => Buffer.from(f, 'base64'));

const KEY = 'a0436f6c-1916-498b-8eb9-e81ab9368e84';

describe('sign', () => {
  const frames = [
    Buffer.from('{"msg_id":"1","msg_type":"kernel_info_request"}'),
    Buffer.from('{}'),
    Buffer.from('{}'),
    Buffer.from('{"code":"print(\'héllo\')"}'),
  ];

  for (const scheme of ['hmac-sha256', 'hmac-sha512']) {
    it(`matches jupyter_client Session.sign for ${scheme}`, () => {
      const expected = python(
        's = Session(key=data["key"].encode(), signature_scheme=data["scheme"])\n' +
          'print(json.dumps(s.sign([base64.b64decode(f) for f in data["frames"]]).decode()))',
        { key: KEY, scheme, frames: b64(frames) },
      );
      expect(expected).toMatch(/^[0-9a-f]+$/);
      expect(sign(KEY, scheme, frames)).toBe(expected);
    });
  }

  it('is empty without a key', () => {
    expect(sign('', 'hmac-sha256', frames)).toBe('');
  });

  it('refuses a scheme it cannot compute', () => {
    expect(() => sign(KEY, 'sha256', frames)).toThrow(/signature_scheme "sha256"/);
    expect(() => sign(KEY, 'hmac-nosuchhash', frames)).toThrow(/Unsupported/);
  });
});

describe('serialize / deserialize', () => {
  it('reads a message serialized by jupyter_client, identities and buffers included', () => {
    const frames = python(
      's = Session(key=data["key"].encode(), signature_scheme="hmac-sha256", username="py")\n' +
        'msg = s.msg("execute_request", content={"code": "1+1", "silent": False}, parent={"msg_id": "p1"})\n' +
        // Session.send appends buffers after serialize(); do the same.
        'frames = s.serialize(msg, ident=[b"route-a"]) + [b"\\x00\\x01binary"]\n' +
        'print(json.dumps({"frames": [base64.b64encode(f).decode() for f in frames], "msg_id": msg["header"]["msg_id"]}))',
      { key: KEY },
    );
    const msg = deserialize(unb64(frames.frames), KEY, 'hmac-sha256');
    expect(msg.identities.map((b) => b.toString())).toEqual(['route-a']);
    expect(msg.header.msg_id).toBe(frames.msg_id);
    expect(msg.header.msg_type).toBe('execute_request');
    expect(msg.header.username).toBe('py');
    expect(msg.parent_header).toEqual({ msg_id: 'p1' });
    expect(msg.content).toEqual({ code: '1+1', silent: false });
    expect(msg.buffers).toEqual([Buffer.from([0, 1, ...Buffer.from('binary')])]);
  });

  it('writes messages jupyter_client accepts (it checks the signature)', () => {
    const session = newSession();
    const msg = makeMessage('kernel_info_request', { note: 'ünïcode' }, session, 'node');
    const frames = serialize(msg, KEY, 'hmac-sha256', [Buffer.from('id-1')]);
    const seen = python(
      's = Session(key=data["key"].encode(), signature_scheme="hmac-sha256")\n' +
        'idents, rest = s.feed_identities([base64.b64decode(f) for f in data["frames"]])\n' +
        'm = s.deserialize(rest)\n' +
        'print(json.dumps({"idents": [i.decode() for i in idents], "type": m["msg_type"], "content": m["content"], "session": m["header"]["session"]}))',
      { key: KEY, frames: b64(frames) },
    );
    expect(seen).toEqual({ idents: ['id-1'], type: 'kernel_info_request', content: { note: 'ünïcode' }, session });
  });

  it('jupyter_client rejects what was signed with another key', () => {
    const frames = serialize(makeMessage('kernel_info_request', {}, newSession(), 'node'), 'other-key', 'hmac-sha256');
    const seen = python(
      's = Session(key=data["key"].encode(), signature_scheme="hmac-sha256")\n' +
        'try:\n  s.deserialize([base64.b64decode(f) for f in data["frames"]])\n  print(json.dumps("accepted"))\n' +
        'except ValueError as e:\n  print(json.dumps(str(e)))',
      { key: KEY, frames: b64(frames) },
    );
    expect(seen).toMatch(/Invalid Signature/i);
  });

  it('round-trips its own messages', () => {
    const msg = makeMessage('execute_request', { code: 'x = 1' }, newSession(), 'me', { msg_id: 'parent' });
    msg.metadata = { cellId: 'c1' };
    msg.buffers = [Buffer.from('raw')];
    const back = deserialize(serialize(msg, KEY, 'hmac-sha256'), KEY, 'hmac-sha256');
    expect(back).toEqual({ ...msg, identities: [] });
  });

  it('throws on a tampered content frame', () => {
    const frames = serialize(makeMessage('execute_request', { code: '1' }, newSession(), 'me'), KEY, 'hmac-sha256');
    const at = frames.findIndex((f) => f.toString() === DELIMITER);
    frames[at + 5] = Buffer.from('{"code":"2"}');
    expect(() => deserialize(frames, KEY, 'hmac-sha256')).toThrow(BadSignatureError);
  });

  it('throws on a wrong key, a short signature and a missing signature', () => {
    const frames = serialize(makeMessage('status', {}, newSession(), 'me'), KEY, 'hmac-sha256');
    expect(() => deserialize(frames, 'not-the-key', 'hmac-sha256')).toThrow(BadSignatureError);
    const short = [...frames];
    short[1] = frames[1].subarray(0, 10);
    expect(() => deserialize(short, KEY, 'hmac-sha256')).toThrow(BadSignatureError);
    const unsigned = serialize(makeMessage('status', {}, newSession(), 'me'), '', 'hmac-sha256');
    expect(unsigned[1].length).toBe(0);
    expect(() => deserialize(unsigned, KEY, 'hmac-sha256')).toThrow(BadSignatureError);
  });

  it('accepts unsigned messages when there is no key', () => {
    const msg = makeMessage('status', { execution_state: 'idle' }, newSession(), 'me');
    expect(deserialize(serialize(msg, '', 'hmac-sha256'), '', 'hmac-sha256').content).toEqual({
      execution_state: 'idle',
    });
  });

  it('throws on malformed frames', () => {
    expect(() => deserialize([Buffer.from('x')], KEY, 'hmac-sha256')).toThrow(/no <IDS\|MSG> delimiter/);
    expect(() => deserialize([Buffer.from(DELIMITER), Buffer.from('')], KEY, 'hmac-sha256')).toThrow(
      /need at least 5/,
    );
    const body = ['not json', '{}', '{}', '{}'].map((s) => Buffer.from(s));
    const frames = [Buffer.from(DELIMITER), Buffer.from(sign(KEY, 'hmac-sha256', body)), ...body];
    expect(() => deserialize(frames, KEY, 'hmac-sha256')).toThrow(/header frame is not JSON/);
  });
});

describe('makeHeader', () => {
  it('fills every field of a v5 header', () => {
    const h = makeHeader('kernel_info_request', 'sess', 'user');
    expect(h).toMatchObject({ msg_type: 'kernel_info_request', session: 'sess', username: 'user', version: '5.3' });
    expect(h.msg_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(h.date))).toBe(false);
    expect(makeHeader('x', 's', 'u').msg_id).not.toBe(h.msg_id);
  });
});
