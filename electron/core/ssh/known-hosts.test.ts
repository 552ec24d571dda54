import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  hostLookupName,
  keyTypeOf,
  knownHostsLine,
  matchesHost,
  matchPatternList,
  parseKnownHosts,
  parseKnownHostsDetailed,
  readKnownHostsFiles,
} from './known-hosts';

const dir = mkdtempSync(join(tmpdir(), 'ktray-kh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface HostKey {
  pubLine: string;
  blob: Buffer;
  pubFile: string;
}

/** A fresh host key made by ssh-keygen, as a public line and as ssh2 hands it to hostVerifier. */
function makeKey(name: string, type: 'ed25519' | 'rsa' | 'ecdsa'): HostKey {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${name}@test`, '-f', file]);
  const pubLine = readFileSync(`${file}.pub`, 'utf8').trim();
  const parsed = utils.parseKey(pubLine);
  if (parsed instanceof Error) throw parsed;
  return { pubLine, blob: parsed.getPublicSSH(), pubFile: `${file}.pub` };
}

/** `type base64` of a public key line. */
const keyPart = (k: HostKey) => k.pubLine.split(' ').slice(0, 2).join(' ');

/** Line numbers ssh-keygen -F reports for `name` in `file`. */
function sshKeygenFinds(name: string, file: string): number[] {
  const r = spawnSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

let ed: HostKey;
let ed2: HostKey;
let rsa: HostKey;
let ecdsa: HostKey;
beforeAll(() => {
  ed = makeKey('host_ed25519', 'ed25519');
  ed2 = makeKey('host2_ed25519', 'ed25519');
  rsa = makeKey('host_rsa', 'rsa');
  ecdsa = makeKey('host_ecdsa', 'ecdsa');
});

describe('key blobs', () => {
  it('reads the key type from ssh2 blobs', () => {
    expect(keyTypeOf(ed.blob)).toBe('ssh-ed25519');
    expect(keyTypeOf(rsa.blob)).toBe('ssh-rsa');
    expect(keyTypeOf(ecdsa.blob)).toBe('ecdsa-sha2-nistp256');
    expect(() => keyTypeOf(Buffer.from([0, 0]))).toThrow(/too short/);
  });

  it.each(['ed', 'rsa', 'ecdsa'] as const)('fingerprints %s exactly like ssh-keygen -lf', (which) => {
    const k = { ed, rsa, ecdsa }[which]!;
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', k.pubFile], { encoding: 'utf8' });
    expect(printed.split(' ')[1]).toBe(fingerprintSha256(k.blob));
  });
});

describe('hostLookupName', () => {
  it('uses the bare host on 22 and [host]:port elsewhere, lowercased like ssh', () => {
    expect(hostLookupName('gpu1', 22)).toBe('gpu1');
    expect(hostLookupName('GPU1.Example.com', 2222)).toBe('[gpu1.example.com]:2222');
    expect(hostLookupName('::1', 2200)).toBe('[::1]:2200');
  });
});

describe('matching agrees with ssh-keygen -F', () => {
  const names = [
    'web1', 'web3', 'WEB1', 'web', 'host', 'hst', 'hoost', 'h.st', 'gpu1.example.com',
    '[gpu1.example.com]:2222', '[gpu1.example.com]:22', 'gpu1', 'db.lab', 'db.lab.other', 'x.internal',
    'secret.internal', '10.0.0.7', '[10.0.0.7]:2200', 'anything',
  ];
  let file: string;
  beforeAll(() => {
    file = write(
      'patterns',
      [
        '# plain patterns',
        `web*,!web3 ${keyPart(ed)}`,
        `[Gpu1.Example.com]:2222 ${keyPart(ed)}`,
        `h?st ${keyPart(rsa)}`,
        '',
        `db.lab,10.0.0.7 ${keyPart(ecdsa)}`,
        `*.internal,!secret.* ${keyPart(ed2)}`,
        `[10.0.0.7]:2200 ${keyPart(ed)}`,
        `@revoked web9 ${keyPart(ed2)}`,
      ].join('\n'),
    );
  });

  it.each(names)('%s', (name) => {
    const entries = parseKnownHosts(readFileSync(file, 'utf8'), file);
    const mine = entries.filter((e) => matchesHost(e, name)).map((e) => e.line);
    expect(mine).toEqual(sshKeygenFinds(name, file));
  });

  it('finds hashed lines made by ssh-keygen -H, and only those', () => {
    const hashedFile = write('hashed', readFileSync(file, 'utf8'));
    execFileSync('ssh-keygen', ['-H', '-f', hashedFile], { stdio: 'ignore' });
    const entries = parseKnownHosts(readFileSync(hashedFile, 'utf8'), hashedFile);
    // -H hashes every plain host name; wildcard lines stay as they were.
    expect(entries.filter((e) => e.hashed).length).toBeGreaterThanOrEqual(4);
    for (const name of names.filter((n) => n === n.toLowerCase())) {
      const mine = [...new Set(entries.filter((e) => matchesHost(e, name)).map((e) => e.line))];
      expect(mine, name).toEqual(sshKeygenFinds(name, hashedFile));
    }
  });
});

describe('checkHostKey', () => {
  const entriesOf = (text: string) => parseKnownHosts(text, '/kh');

  it('trusts a key on a matching line, with the port form for other ports', () => {
    const entries = entriesOf(`gpu1 ${keyPart(ed)}\n[gpu1]:2222 ${keyPart(rsa)}\n`);
    expect(checkHostKey({ hostname: 'gpu1', port: 22, key: ed.blob, entries })).toMatchObject({ status: 'trusted', entry: { line: 1 } });
    expect(checkHostKey({ hostname: 'GPU1', port: 2222, key: rsa.blob, entries })).toMatchObject({ status: 'trusted', entry: { line: 2 } });
    expect(checkHostKey({ hostname: 'gpu1', port: 2222, key: ed.blob, entries })).toEqual({ status: 'unknown', otherTypes: [entries[1]] });
  });

  it('reports a changed key when a line of the same type disagrees', () => {
    const entries = entriesOf(`other ${keyPart(ed)}\ngpu1 ${keyPart(ed2)}\ngpu1 ${keyPart(rsa)}\n`);
    const check = checkHostKey({ hostname: 'gpu1', port: 22, key: ed.blob, entries });
    expect(check).toMatchObject({ status: 'changed', entry: { line: 2, keyType: 'ssh-ed25519' } });
  });

  it('trusts when any line holds the key, even if another line of that type disagrees', () => {
    const entries = entriesOf(`gpu1 ${keyPart(ed2)}\ngpu1 ${keyPart(ed)}\n`);
    expect(checkHostKey({ hostname: 'gpu1', port: 22, key: ed.blob, entries }).status).toBe('trusted');
  });

  it('leaves the key unknown when only other types are known, and lists them', () => {
    const entries = entriesOf(`gpu1 ${keyPart(rsa)}\ngpu1 ${keyPart(ecdsa)}\ngpu2 ${keyPart(ed2)}\n`);
    const check = checkHostKey({ hostname: 'gpu1', port: 22, key: ed.blob, entries });
    expect(check.status).toBe('unknown');
    expect(check.status === 'unknown' && check.otherTypes.map((e) => e.keyType)).toEqual(['ssh-rsa', 'ecdsa-sha2-nistp256']);
    expect(checkHostKey({ hostname: 'nowhere', port: 22, key: ed.blob, entries })).toEqual({ status: 'unknown', otherTypes: [] });
  });

  it('revokes a key named on a matching @revoked line even when also trusted', () => {
    const entries = entriesOf(`gpu1 ${keyPart(ed)}\n@revoked * ${keyPart(ed)}\n`);
    expect(checkHostKey({ hostname: 'gpu1', port: 22, key: ed.blob, entries })).toMatchObject({ status: 'revoked', entry: { line: 2 } });
    // A revoked line neither trusts nor pins its key type for the host.
    expect(checkHostKey({ hostname: 'gpu1', port: 22, key: ed2.blob, entries })).toMatchObject({ status: 'changed', entry: { line: 1 } });
    expect(checkHostKey({ hostname: 'gpu2', port: 22, key: ed2.blob, entries })).toEqual({ status: 'unknown', otherTypes: [] });
  });

  it('ignores @cert-authority lines for plain keys', () => {
    const entries = entriesOf(`@cert-authority * ${keyPart(ed)}\n@cert-authority gpu1 ${keyPart(ed2)}\n`);
    expect(checkHostKey({ hostname: 'gpu1', port: 22, key: ed.blob, entries })).toEqual({ status: 'unknown', otherTypes: [] });
  });

  it('looks up HostKeyAlias as is, without the port', () => {
    const entries = entriesOf(`cluster-login ${keyPart(ed)}\n`);
    expect(checkHostKey({ hostname: '10.0.0.5', port: 2222, key: ed.blob, entries, hostKeyAlias: 'cluster-login' }).status).toBe('trusted');
    expect(checkHostKey({ hostname: '10.0.0.5', port: 2222, key: ed.blob, entries }).status).toBe('unknown');
  });
});

describe('parseKnownHosts', () => {
  it('keeps file, line, marker and key, and skips comments, blanks and broken lines', () => {
    const text = [
      '# comment',
      '   ',
      `  gpu1,gpu1.lab\t${keyPart(ed)} a comment here`,
      'onlyhost',
      `gpu2 ssh-rsa ${ed.blob.toString('base64')}`,
      'gpu3 ssh-ed25519 not*base64',
      `@bogus gpu4 ${keyPart(ed)}`,
      `@revoked gpu5 ${keyPart(rsa)}`,
      'gpu6 1024 35 1234567',
      '|1|broken ssh-ed25519 AAAA',
    ].join('\r\n');
    const { entries, problems } = parseKnownHostsDetailed(text, '/etc/ssh/ssh_known_hosts');
    expect(entries.map((e) => [e.line, e.marker, e.hosts, e.keyType])).toEqual([
      [3, null, 'gpu1,gpu1.lab', 'ssh-ed25519'],
      [8, '@revoked', 'gpu5', 'ssh-rsa'],
    ]);
    expect(entries[0]).toMatchObject({ file: '/etc/ssh/ssh_known_hosts', hashed: false });
    expect(entries[0].key.equals(ed.blob)).toBe(true);
    expect(problems.map((p) => p.line)).toEqual([4, 5, 6, 7, 9, 10]);
    expect(problems[1].reason).toMatch(/does not match/);
  });
});

describe('knownHostsLine', () => {
  it('writes plain and hashed lines that ssh-keygen -F finds, on 22 and other ports', () => {
    const lines = [
      knownHostsLine('Gpu1.Lab', 22, ed.blob),
      knownHostsLine('gpu1.lab', 2222, rsa.blob),
      knownHostsLine('gpu2.lab', 22, ed.blob, { hash: true }),
      knownHostsLine('gpu2.lab', 2201, ecdsa.blob, { hash: true }),
    ];
    expect(lines[0]).toBe(`gpu1.lab ${keyPart(ed)}`);
    expect(lines[1]).toBe(`[gpu1.lab]:2222 ${keyPart(rsa)}`);
    expect(lines[2]).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
    const file = write('written', `${lines.join('\n')}\n`);
    expect(sshKeygenFinds('gpu1.lab', file)).toEqual([1]);
    expect(sshKeygenFinds('[gpu1.lab]:2222', file)).toEqual([2]);
    expect(sshKeygenFinds('gpu2.lab', file)).toEqual([3]);
    expect(sshKeygenFinds('[gpu2.lab]:2201', file)).toEqual([4]);
    const entries = parseKnownHosts(readFileSync(file, 'utf8'), file);
    expect(checkHostKey({ hostname: 'gpu2.lab', port: 2201, key: ecdsa.blob, entries })).toMatchObject({ status: 'trusted', entry: { line: 4 } });
  });

  it('writes the alias as is with hostKeyAlias', () => {
    expect(knownHostsLine('10.0.0.5', 2222, ed.blob, { hostKeyAlias: 'login' })).toBe(`login ${keyPart(ed)}`);
  });
});

describe('files', () => {
  it('reads several files in order and treats missing ones as empty', async () => {
    const a = write('a_known', `gpu1 ${keyPart(ed)}\n`);
    const b = write('b_known', `# none\n\ngpu2 ${keyPart(rsa)}\n`);
    const entries = await readKnownHostsFiles([join(dir, 'missing'), a, join(dir, 'nodir', 'x'), b]);
    expect(entries.map((e) => [e.file, e.line])).toEqual([[a, 1], [b, 3]]);
  });

  it('reports an unreadable path instead of ignoring it', async () => {
    await expect(readKnownHostsFiles([dir])).rejects.toThrow(/Cannot read known hosts file/);
  });

  it('creates the directory 0700 and the file 0600, appending after a missing newline', async () => {
    const sshDir = join(dir, 'home', '.ssh');
    const file = join(sshDir, 'known_hosts');
    await appendKnownHost(file, knownHostsLine('gpu1', 22, ed.blob));
    expect(statSync(sshDir).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    writeFileSync(file, `${readFileSync(file, 'utf8')}# kept, no newline`);
    await appendKnownHost(file, `${knownHostsLine('gpu2', 2222, rsa.blob)}\n`);
    await appendKnownHost(file, knownHostsLine('gpu3', 22, ecdsa.blob, { hash: true }));
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')).toEqual([
      `gpu1 ${keyPart(ed)}`,
      '# kept, no newline',
      `[gpu2]:2222 ${keyPart(rsa)}`,
      expect.stringMatching(/^\|1\|.* ecdsa-sha2-nistp256 /),
      '',
    ]);
    expect(sshKeygenFinds('gpu3', file)).toEqual([4]);
  });

  it('leaves an existing file mode alone and refuses multi-line input', async () => {
    const file = write('loose_known', `gpu1 ${keyPart(ed)}\n`);
    const before = statSync(file).mode & 0o777;
    await appendKnownHost(file, knownHostsLine('gpu2', 22, ed.blob));
    expect(statSync(file).mode & 0o777).toBe(before);
    await expect(appendKnownHost(file, 'a\nb')).rejects.toThrow(/line break/);
  });
});

describe('matchPatternList', () => {
  it('needs a positive match and no negated one', () => {
    expect(matchPatternList(['*', '!bad'], 'good')).toBe(true);
    expect(matchPatternList(['*', '!bad'], 'bad')).toBe(false);
    expect(matchPatternList(['!bad'], 'good')).toBe(false);
    expect(matchPatternList(['w?b'], 'wb')).toBe(false);
    expect(matchPatternList(['a.c'], 'abc')).toBe(false);
    expect(matchPatternList(['Web'], 'web')).toBe(false);
    expect(matchPatternList(['Web'], 'web', true)).toBe(true);
  });
});
