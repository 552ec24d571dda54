// What a process listens on, from /proc (no parsing of ss output): its
// listening unix sockets (paths) and TCP sockets (address:port).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface Listening {
  unix: string[];
  tcp: string[];
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

function hexAddress(hex: string): string {
  const [addr, port] = hex.split(':') as [string, string];
  if (addr.length === 8) {
    const bytes = addr.match(/../g)!.map((b) => parseInt(b, 16)).reverse();
    return `${bytes.join('.')}:${parseInt(port, 16)}`;
  }
  return `[${addr}]:${parseInt(port, 16)}`;
}

export function listeningSockets(pid: number): Listening {
  const mine = socketInodes(pid);
  const unix: string[] = [];
  // Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = __SO_ACCEPTCON (listening).
  for (const line of readFileSync(`/proc/${pid}/net/unix`, 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8) continue;
    const [, , , flags, , , inode, ...p] = cols;
    if ((parseInt(flags!, 16) & 0x10000) && mine.has(inode!)) unix.push(p.join(' '));
  }
  const tcp: string[] = [];
  for (const file of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st ... inode (10th)
      if (cols.length < 10 || cols[3] !== '0A') continue;
      if (mine.has(cols[9]!)) tcp.push(hexAddress(cols[1]!));
    }
  }
  return { unix, tcp };
}
