import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepDeadSockets } from './socket-sweep';

/** A socket file nobody listens on, as a killed process leaves it (bound, then the process gone). */
function deadSocket(file: string): void {
  execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', file]);
}

describe.skipIf(process.platform === 'win32')('sweeping sockets a killed agent left', () => {
  let dir: string;
  let server: net.Server | null = null;
  afterEach(async () => {
    server?.close();
    server = null;
    await rm(dir, { recursive: true, force: true });
  });

  it('removes only dead sockets of ours, not live ones, not files, not others\' names, not a remembered attachment\'s', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kt-sweep-'));
    const p = (n: string) => path.join(dir, n);
    deadSocket(p('kt-0123456789ab-1'));
    deadSocket(p('kt-0123456789abcdef-a1b2c3-4'));
    deadSocket(p('kernel-ktray-lab-abc-5'));
    deadSocket(p('kernel-ktray-lab-kept-2'));
    deadSocket(p('someone-elses-1'));
    await writeFile(p('kt-aaaaaaaaaaaa-3'), 'not a socket');
    server = net.createServer();
    await new Promise<void>((r) => server!.listen(p('kt-bbbbbbbbbbbb-1'), r));

    const removed = await sweepDeadSockets([dir, dir], [p('kernel-ktray-lab-kept')]);

    expect(removed).toEqual([p('kernel-ktray-lab-abc-5'), p('kt-0123456789ab-1'), p('kt-0123456789abcdef-a1b2c3-4')]);
    for (const n of ['kernel-ktray-lab-kept-2', 'someone-elses-1', 'kt-aaaaaaaaaaaa-3', 'kt-bbbbbbbbbbbb-1']) expect(existsSync(p(n))).toBe(true);
  });

  it('passes over a folder that is not there', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kt-sweep-'));
    expect(await sweepDeadSockets([path.join(dir, 'missing')], [])).toEqual([]);
  });
});
