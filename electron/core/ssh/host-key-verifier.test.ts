// Trusting a host key: what `trust` may and may not write, on real known_hosts files.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KtrayError } from '../../shared/errors';
import { trustHostKey, verifyHostKey, type HostKeySeen } from './host-key-verifier';
import type { HostProfile } from './ssh-profile';

const dir = mkdtempSync(join(tmpdir(), 'ktray-hkv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function key(name: string): { line: string; blob: Buffer } {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  const line = readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  return { line, blob: Buffer.from(line.split(' ')[1], 'base64') };
}
const real = key('real');
const stale = key('stale');

function profile(user: string[], system: string[]): HostProfile {
  return {
    alias: 'box', hostname: 'box.example', user: 'me', port: 22, identityFiles: [], identityFilesDefault: false, identitiesOnly: false,
    identityAgent: null, proxyJump: [], proxyCommand: null, userKnownHostsFiles: user, globalKnownHostsFiles: system, strictHostKeyChecking: 'yes',
    hostKeyAlias: null, serverAliveIntervalSec: 15, serverAliveCountMax: 3, numberOfPasswordPrompts: 3, connectTimeoutSec: null,
  };
}

async function seen(p: HostProfile): Promise<HostKeySeen> {
  let got: HostKeySeen | null = null;
  await verifyHostKey({ profile: p, key: real.blob, hostId: 'box', capture: (s) => ((got = s), false) });
  return got!;
}

async function refusal(p: Promise<unknown>): Promise<KtrayError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(KtrayError);
  return err as KtrayError;
}

describe('trustHostKey', () => {
  it('never replaces an old key that is in a system file', async () => {
    const user = join(dir, 'user1');
    const system = join(dir, 'system1');
    writeFileSync(user, '');
    writeFileSync(system, `box.example ${stale.line}\n`);
    const s = await seen(profile([user], [system]));
    expect(s.changed.map((c) => [c.file, c.line])).toEqual([[system, 1]]);
    const err = await refusal(trustHostKey(s, s.fingerprint, 'box', { replace: true }));
    expect(err).toMatchObject({ code: 'HOST_KEY_CHANGED', message: expect.stringContaining(`${system}:1, a system file`), hint: expect.stringContaining('sudo ssh-keygen -R box.example') });
    expect(readFileSync(user, 'utf8')).toBe('');
    expect(readFileSync(system, 'utf8')).toBe(`box.example ${stale.line}\n`);
  });

  it('never trusts a revoked key, even when asked to replace', async () => {
    const user = join(dir, 'user2');
    writeFileSync(user, `@revoked box.example ${real.line}\n`);
    const s = await seen(profile([user], []));
    const err = await refusal(trustHostKey(s, s.fingerprint, 'box', { replace: true }));
    expect(err).toMatchObject({ code: 'HOST_KEY_CHANGED', message: expect.stringContaining(`${user}:1 marks @revoked`) });
    expect(readFileSync(user, 'utf8')).toBe(`@revoked box.example ${real.line}\n`);
  });

  it('changes no file when one of them cannot be rewritten', async () => {
    const a = join(dir, 'user3a');
    const b = join(dir, 'user3b');
    writeFileSync(a, `box.example ${stale.line}\n`);
    writeFileSync(b, `box.example ${stale.line}\nnot a known_hosts line\n`);
    const s = await seen(profile([a, b], []));
    const err = await refusal(trustHostKey(s, s.fingerprint, 'box', { replace: true }));
    expect(err.message).toContain(`${b}:2 is not a line ssh-keygen can read`);
    expect(readFileSync(a, 'utf8')).toBe(`box.example ${stale.line}\n`);
    expect(existsSync(`${a}.old`)).toBe(false);
  });

  it('without replace, refuses a changed key and says how to replace it', async () => {
    const user = join(dir, 'user4');
    writeFileSync(user, `box.example ${stale.line}\n`);
    const s = await seen(profile([user], []));
    const err = await refusal(trustHostKey(s, s.fingerprint, 'box'));
    expect(err).toMatchObject({ code: 'HOST_KEY_CHANGED', message: expect.stringMatching(/CHANGED.*Nothing was trusted/), hint: expect.stringContaining('--replace') });
    expect(readFileSync(user, 'utf8')).toBe(`box.example ${stale.line}\n`);
    expect(await trustHostKey(s, s.fingerprint, 'box', { replace: true })).toMatchObject({ replaced: [{ file: user, lines: [1], backup: `${user}.old` }] });
    expect(readFileSync(user, 'utf8')).toBe(`box.example ${real.line}\n`);
  });
});

describe('verifyHostKey and certificate authorities', () => {
  it('refuses a host only a @cert-authority line vouches for as unknown, saying why', async () => {
    const user = join(dir, 'user-ca');
    const ca = key('ca');
    writeFileSync(user, `@cert-authority *.example ${ca.line}\n`);
    const err = await verifyHostKey({ profile: profile([user], []), key: real.blob, hostId: 'box' });
    expect(err).toMatchObject({
      code: 'HOST_KEY_UNKNOWN',
      message: expect.stringContaining('box is not in known_hosts'),
      hint: expect.stringContaining(`${user}:1 trusts box's host certificate through a certificate authority (@cert-authority)`),
    });
    // A CA for other hosts changes nothing in the words.
    writeFileSync(user, `@cert-authority *.other ${ca.line}\n`);
    const plain = await verifyHostKey({ profile: profile([user], []), key: real.blob, hostId: 'box' });
    expect((plain as KtrayError).hint).not.toContain('certificate');
  });
});
