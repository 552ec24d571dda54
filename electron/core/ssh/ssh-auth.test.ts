// The public half of a private key, read as ssh does without its passphrase.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { openSshPublicKey } from './ssh-auth';

const dir = mkdtempSync(join(tmpdir(), 'ktray-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function publicBlob(text: string): Buffer {
  const k = ssh2.utils.parseKey(text);
  if (k instanceof Error) throw k;
  return (Array.isArray(k) ? k[0] : k).getPublicSSH();
}

describe('openSshPublicKey', () => {
  it.each(['ed25519', 'ecdsa', 'rsa'])('reads the %s public key that ssh-keygen wrote beside the private one', (type) => {
    const file = join(dir, `id_${type}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
    expect(openSshPublicKey(readFileSync(file))).toEqual(publicBlob(readFileSync(`${file}.pub`, 'utf8')));
  });

  it('reads it from an encrypted key without the passphrase', () => {
    // ssh2 1.17 writes about 1 ed25519 key in 300 with a 31-byte public key its own parser rejects: draw again.
    let k = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'secret words', cipher: 'aes256-ctr', rounds: 4 });
    while (ssh2.utils.parseKey(k.public) instanceof Error) {
      k = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'secret words', cipher: 'aes256-ctr', rounds: 4 });
    }
    expect(ssh2.utils.parseKey(k.private)).toBeInstanceOf(Error);
    expect(openSshPublicKey(Buffer.from(k.private))).toEqual(publicBlob(k.public));
  });

  it('gives null for what is not an OpenSSH private key', () => {
    expect(openSshPublicKey(Buffer.from('not a key'))).toBeNull();
    expect(openSshPublicKey(Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n'))).toBeNull();
  });
});
