// Attaching a real ipykernel on this computer: five real tunnels through
// LocalHost and a Jupyter client reading the local connection file.
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
import { CHANNELS, type ChannelPorts } from '../../shared/types';
import { connectTcp, freePorts } from '../../../e2e/harness/net';

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

describe('Attachment', () => {
  it('opens five tunnels and a 0600 file a Jupyter client can use', async () => {
    const runtimeDir = path.join(root, 'runtime');
    const a = await Attachment.open({ host, info: kernel.info, runtimeDir, fileName: 'kernel-ktray-local-t1.json' });
    let client: KernelClient | null = null;
    try {
      expect(a.localFile).toBe(path.join(runtimeDir, 'kernel-ktray-local-t1.json'));
      expect((await stat(a.localFile)).mode & 0o777).toBe(0o600);
      expect((await stat(runtimeDir)).mode & 0o777).toBe(0o700);
      const local = parseConnectionFile(await readFile(a.localFile, 'utf8'), a.localFile);
      expect(local).toMatchObject({ ip: '127.0.0.1', transport: 'tcp', key: kernel.info.key, signature_scheme: kernel.info.signature_scheme });
      for (const ch of CHANNELS) {
        expect(local[`${ch}_port`]).toBe(a.ports[ch]);
        expect(a.tunnels[ch].port).toBe(a.ports[ch]);
      }
      expect(new Set(Object.values(a.ports)).size).toBe(5);
      client = new KernelClient(local);
      expect(await client.heartbeat(10_000)).not.toBeNull();
      const reply = await client.execute('6*7', { timeoutMs: 30_000 });
      expect(reply).toMatchObject({ status: 'ok', result: '42' });
      // Each channel went through its own tunnel.
      expect(a.tunnels.shell.connections).toBeGreaterThan(0);
      expect(a.tunnels.iopub.connections).toBeGreaterThan(0);
      expect(a.tunnels.hb.connections).toBeGreaterThan(0);
    } finally {
      client?.close();
      await a.close({ removeFile: true });
    }
  });

  it('close({ removeFile: true }) removes the file and frees the ports', async () => {
    const a = await Attachment.open({ host, info: kernel.info, runtimeDir: root, fileName: 'kernel-ktray-local-t2.json' });
    const held = await connectTcp(a.ports.shell);
    const heldClosed = new Promise((r) => held.once('close', r));
    await a.close({ removeFile: true });
    await heldClosed;
    await expect(stat(a.localFile)).rejects.toMatchObject({ code: 'ENOENT' });
    for (const ch of CHANNELS) expect(await canListen(a.ports[ch])).toBe(true);
  });

  it('close({ removeFile: false }) keeps the file, and a reopen gets the same ports back', async () => {
    const first = await Attachment.open({ host, info: kernel.info, runtimeDir: root, fileName: 'kernel-ktray-local-t3.json' });
    await first.close({ removeFile: false });
    expect((await stat(first.localFile)).isFile()).toBe(true);
    const again = await Attachment.open({ host, info: kernel.info, runtimeDir: root, fileName: 'kernel-ktray-local-t3.json', wantedPorts: first.ports });
    try {
      expect(again.ports).toEqual(first.ports);
    } finally {
      await again.close({ removeFile: true });
    }
  });

  it('makes an existing, looser file 0600', async () => {
    const file = path.join(root, 'kernel-ktray-local-t4.json');
    await writeFile(file, '{}', { mode: 0o644 });
    await chmod(file, 0o644);
    const a = await Attachment.open({ host, info: kernel.info, runtimeDir: root, fileName: 'kernel-ktray-local-t4.json' });
    try {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(file, 'utf8')).key).toBe(kernel.info.key);
    } finally {
      await a.close({ removeFile: true });
    }
  });

  it('turns an ipc kernel\'s unix sockets into 127.0.0.1 listeners and a tcp connection file', async () => {
    const ipc = await startTestKernel({ transport: 'ipc' });
    try {
      expect(ipc.info.transport).toBe('ipc');
      const a = await Attachment.open({ host, info: ipc.info, runtimeDir: root, fileName: 'kernel-ktray-local-ipc.json' });
      try {
        const local = parseConnectionFile(await readFile(a.localFile, 'utf8'), a.localFile);
        expect(local).toMatchObject({ transport: 'tcp', ip: '127.0.0.1', shell_port: a.ports.shell, hb_port: a.ports.hb });
        const client = new KernelClient(local);
        try {
          expect((await client.execute('6*7', { timeoutMs: 30_000 })).result).toBe('42');
        } finally {
          client.close();
        }
      } finally {
        await a.close({ removeFile: true });
      }
    } finally {
      await ipc.kill();
    }
  });

  it('closes the tunnels it opened when the file cannot be written', async () => {
    const blocker = path.join(root, 'not-a-dir');
    await writeFile(blocker, '');
    const wanted = await freePortsByChannel();
    await expect(
      Attachment.open({ host, info: kernel.info, runtimeDir: path.join(blocker, 'runtime'), fileName: 'kernel-ktray-local-t5.json', wantedPorts: wanted }),
    ).rejects.toThrow();
    for (const ch of CHANNELS) expect(await canListen(wanted[ch])).toBe(true);
  });
});

describe('localFileName', () => {
  it('makes a file name `jupyter console --existing` finds, whatever the host is called', () => {
    expect(localFileName('gpu1', 'abc')).toBe('kernel-ktray-gpu1-abc.json');
    expect(localFileName('ada@gpu 1/x', '7f3e')).toBe('kernel-ktray-ada_gpu_1_x-7f3e.json');
  });
});
