// Removing a host from known_hosts, checked line for line against the real `ssh-keygen -R`.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KtrayError } from '../../shared/errors';
import { knownHostsLine } from './known-hosts';
import { removeKnownHost } from './known-hosts-remove';

const dir = mkdtempSync(join(tmpdir(), 'ktray-khr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function key(name: string): { line: string; blob: Buffer } {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  const line = readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  return { line, blob: Buffer.from(line.split(' ')[1], 'base64') };
}

const a = key('a');
const b = key('b');
const hashed = (name: string, k: { blob: Buffer }) => knownHostsLine(name, 22, k.blob, { hash: true }).replace(/^(\S+) .*$/, `$1 ${k === a ? a.line : b.line}`);

const ALL = [
  '# a comment',
  `foo ${a.line}`,
  `foo,bar ${a.line}`,
  `bar,foo,baz ${b.line}`,
  `[foo]:2222 ${a.line}`,
  `[foo]:2222,other ${b.line}`,
  `@revoked foo ${b.line}`,
  `@cert-authority foo ${a.line}`,
  `f* ${a.line}`,
  `FOO ${a.line}`,
  hashed('foo', b),
  hashed('[foo]:2222', b),
  `!foo,* ${a.line}`,
  `*,!foo ${a.line}`,
  `foo ${a.line} a trailing comment`,
  ` foo ${a.line}`,
  `foo\t${a.line}`,
  'x ssh-ed25519 not-even-base64',
  '',
  `fo? ${a.line}\r`,
  `alias-x ${b.line}`,
  `bar ${b.line}`,
].join('\n');

/** ssh-keygen -R on a copy: the lines it says it found, and what it left. */
function keygen(text: string, name: string, mode: number, tag: string) {
  const file = join(dir, `keygen-${tag}`);
  rmSync(`${file}.old`, { force: true });
  writeFileSync(file, text);
  chmodSync(file, mode);
  const r = spawnSync('ssh-keygen', ['-R', name, '-f', file], { encoding: 'utf8' });
  const lines = [...r.stdout.matchAll(/# Host .* found: line (\d+)/g)].map((m) => Number(m[1]));
  return { status: r.status, lines, after: readFileSync(file, 'utf8'), old: existsSync(`${file}.old`) ? readFileSync(`${file}.old`, 'utf8') : null, mode: statSync(file).mode & 0o777 };
}

async function ours(text: string, name: string, mode: number, tag: string) {
  const file = join(dir, `ours-${tag}`);
  rmSync(`${file}.old`, { force: true });
  writeFileSync(file, text);
  chmodSync(file, mode);
  let error: unknown = null;
  let lines: number[] = [];
  try {
    lines = (await removeKnownHost(file, name)).lines;
  } catch (err) {
    error = err;
  }
  return { error, lines, after: readFileSync(file, 'utf8'), old: existsSync(`${file}.old`) ? readFileSync(`${file}.old`, 'utf8') : null, mode: statSync(file).mode & 0o777 };
}

describe('removeKnownHost does what ssh-keygen -R does', () => {
  const cases: [string, string, number][] = [
    ['foo', ALL, 0o600],
    ['[foo]:2222', ALL, 0o640],
    ['bar', ALL, 0o644],
    ['alias-x', ALL, 0o600],
    ['nohost', ALL, 0o600],
    ['foo', `foo ${a.line}`, 0o664], // no newline at the end
  ];
  it.each(cases)('-R %s', async (name, text, mode) => {
    const tag = `${name.replace(/\W/g, '')}-${mode.toString(8)}`;
    const want = keygen(text, name, mode, tag);
    const got = await ours(text, name, mode, tag);
    expect(want.status).toBe(0);
    expect(got.error).toBeNull();
    expect(got.lines).toEqual(want.lines);
    expect(got.after).toBe(want.after);
    expect(got.old).toBe(want.old);
    expect(got.mode).toBe(want.mode);
  });

  it.each([
    ['a line that is not a key', `foo ${a.line}\ngarbage line here\n`, 2],
    ['an unknown marker', `@bogus foo ${a.line}\nfoo ${a.line}\n`, 1],
    ['a bad salt', `|1|bm90IHNhbHQ=|aGFzaA== ${a.line}\nfoo ${a.line}\n`, 1],
    ['a host without a key', 'foo\n', 1],
  ])('refuses to rewrite a file with %s, as ssh-keygen does, naming the line', async (_what, text, line) => {
    const want = keygen(text, 'foo', 0o600, 'bad');
    const got = await ours(text, 'foo', 0o600, 'bad');
    expect(want.status).toBe(1);
    expect(want.after).toBe(text);
    expect(got.after).toBe(text);
    expect(got.old).toBeNull();
    expect(got.error).toBeInstanceOf(KtrayError);
    expect((got.error as KtrayError).message).toContain(`ours-bad:${line} is not a line ssh-keygen can read`);
  });

  it('replaces an earlier backup, as ssh-keygen does', async () => {
    const file = join(dir, 'twice');
    writeFileSync(file, `foo ${a.line}\nbar ${b.line}\n`);
    copyFileSync(file, `${file}.old`);
    writeFileSync(`${file}.old`, 'older\n');
    expect(await removeKnownHost(file, 'foo')).toEqual({ file, lines: [1], hosts: ['foo'], backup: `${file}.old` });
    expect(readFileSync(`${file}.old`, 'utf8')).toBe(`foo ${a.line}\nbar ${b.line}\n`);
    expect(readFileSync(file, 'utf8')).toBe(`bar ${b.line}\n`);
  });
});
