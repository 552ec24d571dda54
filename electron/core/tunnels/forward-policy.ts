// Where a kernel's channels may be forwarded to, decided from its connection
// file: its host's own loopback or its unix sockets, and another address only
// when the user (or code acting for them) allowed it for that kernel. A file
// can say anything; forwarding to 10.99.0.1 because a file said so would make
// the host a relay to another machine.
import net from 'node:net';
import { KtrayError } from '../../shared/errors';
import type { ConnectionInfo, ListenScope } from '../../shared/types';

const ALL_INTERFACES = new Set(['0.0.0.0', '*', '', '::', '0:0:0:0:0:0:0:0', '[::]']);

/** How the kernel listens, as seen from its host: what `ls` warns about and what attach refuses. */
export function listenScope(info: Pick<ConnectionInfo, 'ip' | 'transport'>): ListenScope {
  if (info.transport === 'ipc') return 'ipc';
  const ip = info.ip.trim().toLowerCase();
  if (ALL_INTERFACES.has(ip)) return 'all-interfaces';
  if (isLoopback(ip)) return 'loopback';
  return 'other-address';
}

function isLoopback(ip: string): boolean {
  if (ip === 'localhost') return true;
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) {
    const list = new net.BlockList();
    list.addAddress('::1', 'ipv6');
    list.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
    return list.check(bare, 'ipv6');
  }
  return false;
}

/** Where a tcp kernel's channel is dialled on its host; only loopback unless `allowed` names the address. */
export function forwardAddress(info: ConnectionInfo, opts: { kernel: string; host: string; allowed?: readonly string[] }): string {
  const scope = listenScope(info);
  const ip = info.ip.trim();
  switch (scope) {
    case 'loopback':
      return ip.startsWith('[') ? ip.slice(1, -1) : ip;
    case 'all-interfaces':
      // Listening everywhere includes the host's loopback: go in through there.
      return ip.includes(':') ? '::1' : '127.0.0.1';
    case 'ipc':
      throw new KtrayError({ code: 'INTERNAL', host: opts.host, message: `${opts.kernel} listens on unix sockets, not on an address.` });
    case 'other-address':
      if (opts.allowed?.includes(ip)) return ip;
      throw addressNotAllowed(ip, opts.kernel, opts.host);
  }
}

/** Throws ADDRESS_NOT_ALLOWED unless the kernel's channels may be forwarded (called before any listener opens). */
export function checkForwardable(info: ConnectionInfo, opts: { kernel: string; host: string; allowed?: readonly string[] }): void {
  if (info.transport !== 'ipc') forwardAddress(info, opts);
}

export function addressNotAllowed(ip: string, kernel: string, host: string): KtrayError {
  return new KtrayError({
    code: 'ADDRESS_NOT_ALLOWED',
    host,
    message:
      `The connection file of ${kernel} says the kernel listens on ${ip}, which is not ${host}'s own loopback: ` +
      `forwarding there would reach whatever machine ${ip} is as seen from ${host}. Kernel Tray forwards only to ${host}'s loopback or its unix sockets unless you allow the address.`,
    hint: `If ${ip} is where you started that kernel and you trust it, allow it for this kernel: \`ktray attach ${kernel} --allow-address ${ip}\` (remembered for this kernel).`,
    detail: { address: ip },
  });
}
