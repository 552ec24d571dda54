// Private folders against the real file system (as root, a folder of another user is made with chown).
import { chmod, chown, lstat, mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KtrayError } from '../../shared/errors';
import { ensurePrivateDir, privateSocketDir, socketPathFits } from './paths';

let root: string;
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kt-paths-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('ensurePrivateDir', () => {
  it('creates missing folders 0700', async () => {
    const dir = path.join(root, 'a', 'b');
    await ensurePrivateDir(dir);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('tightens a looser folder of ours to 0700', async () => {
    const dir = path.join(root, 'loose');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await ensurePrivateDir(dir);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('refuses a folder someone else owns, naming it and its owner, and leaves it alone', async (ctx) => {
    if (!isRoot) {
      console.warn('skipping: making a folder owned by another user needs root');
      ctx.skip();
    }
    const dir = path.join(root, 'theirs');
    await mkdir(dir, { mode: 0o755 });
    await chown(dir, NOBODY, NOBODY);
    const err = await ensurePrivateDir(dir, { what: 'The local Jupyter runtime dir', hint: 'Set JUPYTER_RUNTIME_DIR.' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KtrayError);
    expect(err).toMatchObject({ code: 'BAD_INPUT', hint: 'Set JUPYTER_RUNTIME_DIR.' });
    expect((err as Error).message).toBe(`The local Jupyter runtime dir ${dir} belongs to uid ${NOBODY}, not to you (uid 0): its owner could read the kernel keys and sockets Kernel Tray would put there.`);
    expect((await stat(dir)).mode & 0o777).toBe(0o755);
  });

  it('with noSymlink, refuses a link in the folder\'s place (a shared /tmp), and follows none by default', async () => {
    const target = path.join(root, 'target');
    await mkdir(target, { mode: 0o700 });
    const link = path.join(root, 'link');
    await symlink(target, link);
    await expect(ensurePrivateDir(link, { noSymlink: true })).rejects.toThrow(/is a symbolic link/);
    await expect(ensurePrivateDir(link)).resolves.toBeUndefined();
  });
});

describe('privateSocketDir', () => {
  it('is $XDG_RUNTIME_DIR/ktray when that is ours: 0700, short enough for socket paths', async () => {
    const xdg = path.join(root, 'xdg');
    await mkdir(xdg, { mode: 0o700 });
    const dir = await privateSocketDir({ XDG_RUNTIME_DIR: xdg });
    expect(dir).toBe(path.join(xdg, 'ktray'));
    const st = await lstat(dir);
    expect([st.isDirectory(), st.uid, st.mode & 0o777]).toEqual([true, process.getuid!(), 0o700]);
    expect(socketPathFits(path.join(dir, 'kt-0123456789abcdef-5'))).toBe(true);
  });

  it('falls back to /tmp/ktray-UID, a real 0700 folder of ours, when $XDG_RUNTIME_DIR is not usable', async () => {
    const dir = await privateSocketDir({ XDG_RUNTIME_DIR: path.join(root, 'no-such-runtime-dir') });
    expect(dir).toBe(`/tmp/ktray-${process.getuid!()}`);
    const st = await lstat(dir);
    expect([st.isDirectory(), st.uid, st.mode & 0o777]).toEqual([true, process.getuid!(), 0o700]);
  });
});

describe('socketPathFits', () => {
  it('takes 107 bytes on Linux, not 108', () => {
    expect(socketPathFits(`/${'x'.repeat(106)}`)).toBe(true);
    expect(socketPathFits(`/${'x'.repeat(107)}`)).toBe(false);
  });
});
