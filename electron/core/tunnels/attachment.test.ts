// Attaching a real ipykernel on this computer: five real tunnels through
// LocalHost and a Jupyter client reading the local connection file.
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attachment, localFileName } from './attachment';
import { parseConnectionFile } from '../jupyter/connection-file';
import { KtrayError } from '../../shared/errors';
import { KernelClient } from '../jupyter/kernel-client';
import { startTestKernel, type TestKernel } from '../jupyter/test-kernel';
import { LocalHost } from '../hosts/local-host';
import { CHANNELS, type ChannelPorts, type ConnectionInfo } from '../../shared/types';
import { privateSocketDir } from '../util/paths';
import { connectTcp, connectUnix, freePorts, tryConnectUnix } from '../../../e2e/harness/net';

const host = new LocalHost();
let kernel: TestKernel;
let root: string;

/** The port can be listened on again: nothing holds it. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

async function freePortsByChannel(): Promise<ChannelPorts> {
  const ports = await freePorts(CHANNELS.length);
  return Object.fromEntries(CHANNELS.map((ch, i) => [ch, ports[i]])) as ChannelPorts;
}

beforeAll(async () => {
  kernel = await startTestKernel();
  root = await mkdtemp(path.join(tmpdir(), 'ktray-attach-'));
}, 60_000);

afterAll(async () => {
  await kernel?.kill();
  await rm(root, { recursive: true, force: true });
});

function open(over: Partial<Parameters<typeof Attachment.open>[0]> & { fileName: string }, info: ConnectionInfo = kernel.info) {
  return Attachment.open({ host, info, kernel: `local/${over.fileName}`, runtimeDir: root, localTransport: 'ipc', ...over });
}

async function runs(file: string): Promise<void> {
  const client = new KernelClient(parseConnectionFile(await readFile(file, 'utf8'), file));
  try {
    expect(await client.heartbeat(10_000)).not.toBeNull();
    expect(await client.execute('6*7', { timeoutMs: 30_000 })).toMatchObject({ status: 'ok', result: '42' });
  } finally {
    client.close();
  }
}

describe('Attachment over unix sockets (the default)', () => {
  it('opens five 0600 sockets beside a 0600 file in a 0700 dir, and a Jupyter client runs code through them', async () => {
    const runtimeDir = path.join(root, 'runtime');
    const a = await open({ runtimeDir, fileName: 'kernel-ktray-local-u1.json' });
    try {
      expect(a.localFile).toBe(path.join(runtimeDir, 'kernel-ktray-local-u1.json'));
      expect((await stat(a.localFile)).mode & 0o777).toBe(0o600);
      expect((await stat(runtimeDir)).mode & 0o777).toBe(0o700);
      const local = parseConnectionFile(await readFile(a.localFile, 'utf8'), a.localFile);
      expect(local).toMatchObject({ transport: 'ipc', ip: path.join(runtimeDir, 'kernel-ktray-local-u1'), key: kernel.info.key });
      for (const ch of CHANNELS) {
        const sock = await lstat(`${local.ip}-${local[`${ch}_port`]}`);
        expect(sock.isSocket()).toBe(true);
        expect(sock.mode & 0o777).toBe(0o600);
      }
      await runs(a.localFile);
      expect(a.tunnels.shell.connections).toBeGreaterThan(0);
      expect(a.tunnels.iopub.connections).toBeGreaterThan(0);
      expect(a.tunnels.hb.connections).toBeGreaterThan(0);
    } finally {
      await a.close({ removeFile: true });
    }
  });

  it('close removes the sockets (and the file when asked); a reopen takes the same paths, replacing stale sockets', async () => {
    const first = await open({ fileName: 'kernel-ktray-local-u2.json' });
    const held = await connectUnix(`${first.local.ip}-1`);
    const heldClosed = new Promise((r) => held.once('close', r));
    await first.close({ removeFile: false });
    await heldClosed;
    expect(await tryConnectUnix(`${first.local.ip}-1`)).toBe('ENOENT');
    expect((await stat(first.localFile)).isFile()).toBe(true);
    // A killed agent leaves its sockets behind, nobody listening (a process that bound one and exited).
    execFileSync('/usr/bin/python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', `${first.local.ip}-2`]);
    expect((await lstat(`${first.local.ip}-2`)).isSocket()).toBe(true);
    expect(await tryConnectUnix(`${first.local.ip}-2`)).toBe('ECONNREFUSED');
    const again = await open({ fileName: 'kernel-ktray-local-u2.json', wanted: first.local });
    try {
      expect(again.local).toEqual(first.local);
      await runs(again.localFile);
    } finally {
      await again.close({ removeFile: true });
    }
    await expect(stat(again.localFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes other names when the sockets are in use by another listener, never stealing them', async () => {
    const a = await open({ fileName: 'kernel-ktray-local-u3.json' });
    const b = await open({ fileName: 'kernel-ktray-local-u3.json' });
    try {
      expect(b.local.ip).not.toBe(a.local.ip);
      expect(path.dirname(b.local.ip)).toBe(root);
      await runs(b.localFile);
      expect(await tryConnectUnix(`${a.local.ip}-5`)).toBe('connected');
    } finally {
      await b.close({ removeFile: false });
      await a.close({ removeFile: true });
    }
  });

  it('puts the sockets in a short private dir of the user when the runtime dir is too long for a unix socket path', async () => {
    const runtimeDir = path.join(root, 'a-runtime-dir-whose-path-is-long'.repeat(3));
    const a = await open({ runtimeDir, fileName: 'kernel-ktray-local-u4.json' });
    try {
      expect(a.localFile.startsWith(runtimeDir)).toBe(true);
      const dir = path.dirname(a.local.ip);
      expect(dir).toBe(await privateSocketDir());
      const st = await lstat(dir);
      expect(st.isDirectory()).toBe(true);
      expect(st.uid).toBe(process.getuid!());
      expect(st.mode & 0o777).toBe(0o700);
      expect(Buffer.byteLength(`${a.local.ip}-5`)).toBeLessThanOrEqual(107);
      await runs(a.localFile);
    } finally {
      await a.close({ removeFile: true });
    }
  });

  it('turns an ipc kernel\'s remote sockets into local sockets', async () => {
    const ipc = await startTestKernel({ transport: 'ipc' });
    try {
      expect(ipc.info.transport).toBe('ipc');
      const a = await open({ fileName: 'kernel-ktray-local-ipc.json' }, ipc.info);
      try {
        expect(a.local.transport).toBe('ipc');
        await runs(a.localFile);
      } finally {
        await a.close({ removeFile: true });
      }
    } finally {
      await ipc.kill();
    }
  });
});

describe('Attachment over 127.0.0.1 (when asked)', () => {
  it('opens five tunnels and a 0600 file a Jupyter client can use', async () => {
    const a = await open({ fileName: 'kernel-ktray-local-t1.json', localTransport: 'tcp' });
    try {
      const local = parseConnectionFile(await readFile(a.localFile, 'utf8'), a.localFile);
      expect(local).toMatchObject({ ip: '127.0.0.1', transport: 'tcp', key: kernel.info.key, signature_scheme: kernel.info.signature_scheme });
      for (const ch of CHANNELS) {
        expect(local[`${ch}_port`]).toBe(a.ports[ch]);
        expect(a.tunnels[ch].port).toBe(a.ports[ch]);
      }
      expect(new Set(Object.values(a.ports)).size).toBe(5);
      await runs(a.localFile);
    } finally {
      await a.close({ removeFile: true });
    }
  });

  it('close({ removeFile: true }) removes the file and frees the ports', async () => {
    const a = await open({ fileName: 'kernel-ktray-local-t2.json', localTransport: 'tcp' });
    const held = await connectTcp(a.ports.shell);
    const heldClosed = new Promise((r) => held.once('close', r));
    await a.close({ removeFile: true });
    await heldClosed;
    await expect(stat(a.localFile)).rejects.toMatchObject({ code: 'ENOENT' });
    for (const ch of CHANNELS) expect(await canListen(a.ports[ch])).toBe(true);
  });

  it('close({ removeFile: false }) keeps the file, and a reopen gets the same ports back', async () => {
    const first = await open({ fileName: 'kernel-ktray-local-t3.json', localTransport: 'tcp' });
    await first.close({ removeFile: false });
    expect((await stat(first.localFile)).isFile()).toBe(true);
    const again = await open({ fileName: 'kernel-ktray-local-t3.json', localTransport: 'tcp', wanted: first.local });
    try {
      expect(again.ports).toEqual(first.ports);
    } finally {
      await again.close({ removeFile: true });
    }
  });
});

describe('Attachment, either way', () => {
  it('makes an existing, looser file 0600, and a looser runtime dir of ours 0700', async () => {
    const runtimeDir = path.join(root, 'loose');
    await mkdir(runtimeDir, { mode: 0o755 });
    await chmod(runtimeDir, 0o755);
    const file = path.join(runtimeDir, 'kernel-ktray-local-t4.json');
    await writeFile(file, '{}', { mode: 0o644 });
    await chmod(file, 0o644);
    const a = await open({ runtimeDir, fileName: 'kernel-ktray-local-t4.json' });
    try {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await stat(runtimeDir)).mode & 0o777).toBe(0o700);
      expect(JSON.parse(await readFile(file, 'utf8')).key).toBe(kernel.info.key);
    } finally {
      await a.close({ removeFile: true });
    }
  });

  it.each(['tcp', 'ipc'] as const)('closes the %s listeners it opened when the file cannot be written', async (localTransport) => {
    const runtimeDir = path.join(root, `unwritable-${localTransport}`);
    // A folder where the file should go.
    await mkdir(path.join(runtimeDir, 'kernel-ktray-local-t5.json'), { recursive: true });
    const wanted = await freePortsByChannel();
    const base = path.join(runtimeDir, 'kernel-ktray-local-t5');
    await expect(
      open({ runtimeDir, fileName: 'kernel-ktray-local-t5.json', localTransport, wanted: localTransport === 'tcp' ? { transport: 'tcp', ip: '127.0.0.1', ports: wanted } : null }),
    ).rejects.toThrow(/EISDIR/);
    if (localTransport === 'tcp') for (const ch of CHANNELS) expect(await canListen(wanted[ch])).toBe(true);
    else for (let p = 1; p <= 5; p++) await expect(lstat(`${base}-${p}`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses, before listening, a kernel whose file points at another address, unless that address is allowed', async () => {
    const elsewhere = { ...kernel.info, ip: '10.99.0.1' };
    const err = await open({ fileName: 'kernel-ktray-local-t6.json' }, elsewhere).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KtrayError);
    expect(err).toMatchObject({ code: 'ADDRESS_NOT_ALLOWED', message: expect.stringContaining('10.99.0.1'), hint: expect.stringContaining('--allow-address 10.99.0.1') });
    await expect(stat(path.join(root, 'kernel-ktray-local-t6.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lstat(path.join(root, 'kernel-ktray-local-t6-1'))).rejects.toMatchObject({ code: 'ENOENT' });
    const allowed = await open({ fileName: 'kernel-ktray-local-t6.json', allowedAddresses: ['10.99.0.1'] }, elsewhere);
    await allowed.close({ removeFile: true });
  });

  it('reaches a kernel that listens on all interfaces through the host\'s loopback', async () => {
    const everywhere = { ...kernel.info, ip: '0.0.0.0' };
    const a = await open({ fileName: 'kernel-ktray-local-t7.json' }, everywhere);
    try {
      await runs(a.localFile);
    } finally {
      await a.close({ removeFile: true });
    }
  });
});

describe('localFileName', () => {
  it('makes a file name `jupyter console --existing` finds, whatever the host is called', () => {
    expect(localFileName('gpu1', 'abc')).toBe('kernel-ktray-gpu1-abc.json');
    expect(localFileName('ada@gpu 1/x', '7f3e')).toBe('kernel-ktray-ada_gpu_1_x-7f3e.json');
  });
});
