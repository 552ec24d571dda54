import { expect, it } from 'vitest';
import { formatBytes, hostAddress, hostConnectionText, plotClientText, shortKernelName, transportSentence, transportText } from './format';
import type { HostSummary } from '../../electron/shared/types';

it('shortens uuid kernel names but not pid names', () => {
  expect(shortKernelName('0f3c2a9e-1111-2222-3333-444455556666')).toBe('0f3c2a9e…');
  expect(shortKernelName('12345')).toBe('12345');
});

it('writes a host address without the default port or an unknown user', () => {
  const h = { user: 'ada', hostname: 'gpu.example', port: 22 } as HostSummary;
  expect(hostAddress(h)).toBe('ada@gpu.example');
  expect(hostAddress({ ...h, user: '', port: 2222 })).toBe('gpu.example:2222');
});

it('adds the measured round trip to a connected remote host, not to local', () => {
  const h = { id: 'gpu', connection: 'connected', since: 0, rttMs: 12.4 } as HostSummary;
  expect(hostConnectionText(h, 1)).toBe('connected · 12 ms');
  expect(hostConnectionText({ ...h, id: 'local' }, 1)).toBe('connected');
  expect(hostConnectionText({ ...h, connection: 'lost', since: 0 }, 60_000)).toBe('lost 1m ago');
});

it('writes image sizes and which client made a plot', () => {
  expect([formatBytes(999), formatBytes(12_345), formatBytes(1_400_000)]).toEqual(['999 B', '12 kB', '1.4 MB']);
  expect(plotClientText({ client: { session: '0f3c2a9e-1111-2222', username: 'ada' } })).toBe('from client 0f3c2a9e of ada');
  expect(plotClientText({ client: { session: null, username: null } })).toBeNull();
});

it('says which SSH transport a host goes through and why, in the agent\'s words', () => {
  expect(transportText({})).toEqual({ label: 'Through ssh2 (built in)', why: 'nothing needs OpenSSH' });
  const cert = { kind: 'openssh' as const, why: 'a user certificate (/h/.ssh/id-cert.pub): ssh2 has no certificates' };
  expect(transportText({ transport: cert })).toEqual({ label: 'Through your OpenSSH client', why: cert.why });
  expect(transportText({ transport: { kind: 'ssh2', why: 'set by hand', setting: 'ssh2' } })).toEqual({ label: 'Through ssh2 (built in)', why: 'set by hand' });
  expect(transportSentence({ id: 'hpc', transport: cert })).toBe('hpc goes through your OpenSSH client (a user certificate (/h/.ssh/id-cert.pub): ssh2 has no certificates).');
  expect(transportSentence({ id: 'box' })).toBe('box goes through ssh2.');
});
