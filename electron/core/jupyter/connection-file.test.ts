import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  kernelNameFromPath,
  parseConnectionFile,
  serializeConnectionFile,
  validateConnectionInfo,
  withLocalChannels,
} from './connection-file';
import { KtrayError } from '../../shared/errors';
import type { ConnectionInfo } from '../../shared/types';

// The Debian python has jupyter_client; the pyenv python on PATH does not.
const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'ktray-cf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function py(code: string, ...args: string[]): string {
  return execFileSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8' }).trim();
}

/** A connection file written by jupyter_client itself. */
function jupyterWrites(name: string, extra = ''): string {
  const file = join(dir, name);
  py(`import sys; from jupyter_client.connect import write_connection_file; write_connection_file(sys.argv[1]${extra})`, file);
  return file;
}

function errorOf(fn: () => unknown): KtrayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KtrayError);
    return err as KtrayError;
  }
  throw new Error('expected a KtrayError');
}

const good: ConnectionInfo = {
  shell_port: 50001,
  iopub_port: 50002,
  stdin_port: 50003,
  control_port: 50004,
  hb_port: 50005,
  ip: '10.1.2.3',
  key: 'a0436f6c-1916-498b-8eb9-e81ab9368e84',
  transport: 'tcp',
  signature_scheme: 'hmac-sha256',
  kernel_name: 'python3',
};

describe('parseConnectionFile with files jupyter_client wrote', () => {
  it('reads a default file (empty key, empty kernel_name)', () => {
    const file = jupyterWrites('kernel-default.json');
    const expected = JSON.parse(readFileSync(file, 'utf8'));
    const info = parseConnectionFile(readFileSync(file, 'utf8'), file);
    expect(info).toEqual(expected);
    expect(info.key).toBe('');
  });

  it('reads a signed file with a kernel name and another scheme', () => {
    const file = jupyterWrites(
      'kernel-signed.json',
      ", key=b'secret-key', kernel_name='python3', ip='0.0.0.0', signature_scheme='hmac-sha512'",
    );
    const info = parseConnectionFile(readFileSync(file, 'utf8'), file);
    expect(info).toMatchObject({ key: 'secret-key', kernel_name: 'python3', ip: '0.0.0.0', signature_scheme: 'hmac-sha512' });
    expect(Object.keys(info).sort()).toEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8'))).sort());
  });

  it('writes files that jupyter_client loads back with the same ports, key and scheme', () => {
    const file = join(dir, 'kernel-roundtrip.json');
    const local = withLocalChannels(good, { transport: 'tcp', ip: '127.0.0.1', ports: { shell: 41001, iopub: 41002, stdin: 41003, control: 41004, hb: 41005 } });
    writeFileSync(file, serializeConnectionFile(local));
    const loaded = py(
      [
        'import json, sys',
        'from jupyter_client import BlockingKernelClient',
        'c = BlockingKernelClient()',
        'c.load_connection_file(sys.argv[1])',
        'print(json.dumps([c.ip, c.transport, c.shell_port, c.iopub_port, c.stdin_port, c.control_port, c.hb_port,',
        '  c.session.key.decode(), c.session.signature_scheme]))',
      ].join('\n'),
      file,
    );
    expect(JSON.parse(loaded)).toEqual(['127.0.0.1', 'tcp', 41001, 41002, 41003, 41004, 41005, good.key, 'hmac-sha256']);
  });

  it('serializes byte-compatible with jupyter_client apart from the final newline', () => {
    const file = jupyterWrites('kernel-layout.json', ", key=b'k', kernel_name='ir'");
    const text = readFileSync(file, 'utf8');
    expect(serializeConnectionFile(parseConnectionFile(text, file))).toBe(`${text}\n`);
  });
});

describe('validation errors name the file and the fault', () => {
  const src = 'gpu1:/run/user/1000/jupyter/kernel-9.json';
  const cases: [string, unknown, RegExp][] = [
    ['an array', [], /expected a JSON object, found an array/],
    ['null', null, /found null/],
    ['missing key', { ...good, hb_port: undefined }, /missing key hb_port$/],
    ['missing keys', (({ ip: _ip, key: _key, ...rest }) => rest)(good), /missing keys ip, key$/],
    ['port as string', { ...good, shell_port: '50001' }, /shell_port must be an integer from 1 to 65535, found "50001"/],
    ['port 0', { ...good, iopub_port: 0 }, /iopub_port must be an integer .* found 0/],
    ['port too big', { ...good, control_port: 65536 }, /control_port .* found 65536/],
    ['port fractional', { ...good, stdin_port: 1.5 }, /stdin_port .* found 1.5/],
    ['transport', { ...good, transport: 'udp' }, /transport must be "tcp" or "ipc", found "udp"/],
    ['scheme', { ...good, signature_scheme: 'sha256' }, /signature_scheme must be hmac-<hash>.*found "sha256"/],
    ['unknown hash', { ...good, signature_scheme: 'hmac-nope' }, /signature_scheme .* found "hmac-nope"/],
    ['key number', { ...good, key: 42 }, /key must be a string, found 42/],
    ['empty ip', { ...good, ip: '' }, /ip must be a non-empty string/],
    ['kernel_name', { ...good, kernel_name: 3 }, /kernel_name must be a string, found 3/],
  ];
  it.each(cases)('%s', (_label, value, pattern) => {
    const err = errorOf(() => validateConnectionInfo(JSON.parse(JSON.stringify(value)), src));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain(src);
    expect(err.message).toMatch(pattern);
  });

  it('says when the text is not JSON', () => {
    const err = errorOf(() => parseConnectionFile('{"shell_port": 1,', '/tmp/k.json'));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/^Connection file \/tmp\/k\.json: not JSON \(/);
  });
});

describe('validateConnectionInfo', () => {
  it('keeps unknown fields out and accepts an empty key', () => {
    const info = validateConnectionInfo({ ...good, key: '', extra: 'x', jupyter_session: '/nb.ipynb' }, 'f');
    expect(info).toEqual({ ...good, key: '' });
    expect('extra' in info).toBe(false);
  });

  it('falls back to tcp and hmac-sha256 like jupyter_client, and leaves kernel_name out when absent', () => {
    const { transport: _t, signature_scheme: _s, kernel_name: _k, ...legacy } = good;
    const info = validateConnectionInfo(legacy, 'f');
    expect(info.transport).toBe('tcp');
    expect(info.signature_scheme).toBe('hmac-sha256');
    expect('kernel_name' in info).toBe(false);
  });

  it.each(['hmac-sha256', 'hmac-sha512', 'hmac-sha1', 'hmac-md5', 'hmac-sha384'])('accepts %s', (scheme) => {
    expect(validateConnectionInfo({ ...good, signature_scheme: scheme }, 'f').signature_scheme).toBe(scheme);
  });

  it('accepts ipc transport', () => {
    expect(validateConnectionInfo({ ...good, transport: 'ipc', ip: 'kernel-ipc' }, 'f').transport).toBe('ipc');
  });
});

describe('kernelNameFromPath', () => {
  it.each([
    ['x/y/kernel-abc.json', 'abc'],
    ['x/foo.json', 'foo'],
    ['/run/user/1000/jupyter/kernel-12345.json', '12345'],
    ['kernel-3f9e2c1a-0b7d-4e5f-9a8b-1c2d3e4f5a6b.json', '3f9e2c1a-0b7d-4e5f-9a8b-1c2d3e4f5a6b'],
    ['C:\\Users\\me\\kernel-7.json', '7'],
    ['kernel-.json', 'kernel-'],
  ])('%s -> %s', (path, name) => {
    expect(kernelNameFromPath(path)).toBe(name);
  });
});

describe('withLocalChannels', () => {
  it('points at the local ends (here unix sockets), keeping key and scheme, leaving the original alone', () => {
    const remote = { ...good, transport: 'tcp' as const };
    const local = withLocalChannels(remote, { transport: 'ipc', ip: '/run/user/1000/jupyter/kernel-ktray-h-k', ports: { shell: 1, iopub: 2, stdin: 3, control: 4, hb: 5 } });
    expect(local).toEqual({
      ...good,
      ip: '/run/user/1000/jupyter/kernel-ktray-h-k',
      transport: 'ipc',
      shell_port: 1,
      iopub_port: 2,
      stdin_port: 3,
      control_port: 4,
      hb_port: 5,
    });
    expect(remote.ip).toBe('10.1.2.3');
  });

  it('writes ipc files that jupyter_client reads as ipc://IP-PORT endpoints', () => {
    const file = join(dir, 'kernel-ipc-roundtrip.json');
    const base = join(dir, 'kernel-ktray-h-k');
    writeFileSync(file, serializeConnectionFile(withLocalChannels(good, { transport: 'ipc', ip: base, ports: { shell: 1, iopub: 2, stdin: 3, control: 4, hb: 5 } })));
    const loaded = py(
      [
        'import json, sys',
        'from jupyter_client import BlockingKernelClient',
        'c = BlockingKernelClient()',
        'c.load_connection_file(sys.argv[1])',
        'print(json.dumps([c.transport, c._make_url("shell"), c._make_url("hb")]))',
      ].join('\n'),
      file,
    );
    expect(JSON.parse(loaded)).toEqual(['ipc', `ipc://${base}-1`, `ipc://${base}-5`]);
  });
});
