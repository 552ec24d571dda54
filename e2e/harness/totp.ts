// One-time codes for the PAM hosts (pam_google_authenticator): a fresh base32
// secret, and the code of now from Debian's oathtool.
import { randomBytes } from 'node:crypto';
import { runOk } from './proc';

/** 20 random bytes in base32 (RFC 4648), as google-authenticator writes a secret. */
export function newTotpSecret(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of randomBytes(20)) bits += b.toString(2).padStart(8, '0');
  return bits.match(/.{1,5}/g)!.map((c) => alphabet[parseInt(c.padEnd(5, '0'), 2)]).join('');
}

/** The code of now, from oathtool (the secret on its stdin, not in its argv). */
export async function totpCode(secret: string): Promise<string> {
  return (await runOk('oathtool', ['--totp', '-b', '-'], { input: `${secret}\n` })).stdout.trim();
}
