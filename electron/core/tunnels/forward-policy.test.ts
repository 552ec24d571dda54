import { describe, expect, it } from 'vitest';
import { KtrayError } from '../../shared/errors';
import type { ConnectionInfo } from '../../shared/types';
import { checkForwardable, forwardAddress, listenScope } from './forward-policy';

const base: ConnectionInfo = { ip: '127.0.0.1', transport: 'tcp', shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, key: 'k', signature_scheme: 'hmac-sha256' };
const at = (ip: string, transport: 'tcp' | 'ipc' = 'tcp') => ({ ...base, ip, transport });
const who = { kernel: 'gpu/k1', host: 'gpu' };

describe('listenScope', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['localhost', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['0.0.0.0', 'all-interfaces'],
    ['*', 'all-interfaces'],
    ['::', 'all-interfaces'],
    ['10.99.0.1', 'other-address'],
    ['128.0.0.1', 'other-address'],
    ['127.0.0.1.example.org', 'other-address'],
    ['gpu-node-7', 'other-address'],
    ['::2', 'other-address'],
  ])('%s is %s', (ip, scope) => {
    expect(listenScope(at(ip))).toBe(scope);
  });

  it('ipc kernels are on unix sockets whatever their ip says', () => {
    expect(listenScope(at('/run/user/1000/jupyter/kernel-x', 'ipc'))).toBe('ipc');
  });
});

describe('forwardAddress', () => {
  it('keeps a loopback address and goes in through loopback for all interfaces', () => {
    expect(forwardAddress(at('127.0.0.5'), who)).toBe('127.0.0.5');
    expect(forwardAddress(at('[::1]'), who)).toBe('::1');
    expect(forwardAddress(at('0.0.0.0'), who)).toBe('127.0.0.1');
    expect(forwardAddress(at('*'), who)).toBe('127.0.0.1');
    expect(forwardAddress(at('::'), who)).toBe('::1');
  });

  it('refuses another address with a code, the address, and the command that allows it', () => {
    let err: unknown;
    try {
      forwardAddress(at('10.99.0.1'), who);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KtrayError);
    expect(err).toMatchObject({ code: 'ADDRESS_NOT_ALLOWED', host: 'gpu', detail: { address: '10.99.0.1' } });
    expect((err as KtrayError).message).toContain("listens on 10.99.0.1, which is not gpu's own loopback");
    expect((err as KtrayError).hint).toContain('ktray attach gpu/k1 --allow-address 10.99.0.1');
  });

  it('forwards to an allowed address, and only to that one', () => {
    expect(forwardAddress(at('10.99.0.1'), { ...who, allowed: ['10.99.0.1'] })).toBe('10.99.0.1');
    expect(() => forwardAddress(at('10.99.0.2'), { ...who, allowed: ['10.99.0.1'] })).toThrow(/10\.99\.0\.2/);
  });

  it('checkForwardable lets ipc kernels through', () => {
    expect(() => checkForwardable(at('/tmp/k', 'ipc'), who)).not.toThrow();
    expect(() => checkForwardable(at('10.0.0.1'), who)).toThrow(KtrayError);
  });
});
