// Public-key authentication the way ssh does it: ssh-agent first, then each
// IdentityFile, asking for a passphrase when a key is encrypted.
import { readFile } from 'node:fs/promises';
import ssh2, { type AuthHandlerMiddleware, type ParsedKey } from 'ssh2';
import type { HostProfile } from './ssh-profile';

export type PassphrasePrompt = (prompt: { host: string; keyFile: string }) => Promise<string | null>;

interface AuthOptions {
  profile: HostProfile;
  hostId: string;
  /** Filled with what was tried, for the error message. */
  tried: string[];
  /** Passphrases already typed this session, by key file. */
  passphrases: Map<string, string>;
  askPassphrase?: PassphrasePrompt;
}

type Attempt = () => Promise<Parameters<Parameters<AuthHandlerMiddleware>[2]>[0] | null>;

export function authMethods(opts: AuthOptions): AuthHandlerMiddleware {
  const { profile, tried } = opts;
  const attempts: Attempt[] = [];
  const explicitOnly = profile.identitiesOnly && !profile.identityFilesDefault;
  if (profile.identityAgent && !explicitOnly) {
    attempts.push(async () => {
      tried.push(`ssh-agent at ${profile.identityAgent}`);
      return { type: 'agent', username: profile.user, agent: profile.identityAgent! };
    });
  }
  for (const file of profile.identityFiles) {
    attempts.push(() => keyAttempt(file, opts));
  }
  let index = 0;
  return (_left, _partial, next) => {
    const step = (): void => {
      const attempt = attempts[index++];
      if (!attempt) {
        (next as unknown as (v: false) => void)(false);
        return;
      }
      attempt().then(
        (method) => (method ? next(method) : step()),
        (err: unknown) => {
          tried.push(`an attempt that failed: ${err instanceof Error ? err.message : String(err)}`);
          step();
        },
      );
    };
    step();
  };
}

async function keyAttempt(file: string, opts: AuthOptions) {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    if (!opts.profile.identityFilesDefault) opts.tried.push(`${file} (not found)`);
    return null;
  }
  let parsed = ssh2.utils.parseKey(data);
  // ssh2 says a key is encrypted only in its error's words ("Encrypted ... key detected, but no
  // passphrase given": lib/protocol/keyParser.js lines 496, 848, 1047 in 1.17.0); no code to test.
  if (parsed instanceof Error && /passphrase|encrypted/i.test(parsed.message)) {
    let passphrase = opts.passphrases.get(file) ?? null;
    if (passphrase === null && opts.askPassphrase) {
      passphrase = await opts.askPassphrase({ host: opts.hostId, keyFile: file });
    }
    if (passphrase === null) {
      opts.tried.push(`${file} (encrypted; no passphrase given: load it into ssh-agent with \`ssh-add ${file}\` or run ktray in a terminal)`);
      return null;
    }
    parsed = ssh2.utils.parseKey(data, passphrase);
    if (parsed instanceof Error) {
      opts.passphrases.delete(file);
      opts.tried.push(`${file} (wrong passphrase)`);
      return null;
    }
    opts.passphrases.set(file, passphrase);
  }
  if (parsed instanceof Error) {
    opts.tried.push(`${file} (unreadable: ${parsed.message})`);
    return null;
  }
  const key: ParsedKey = Array.isArray(parsed) ? parsed[0] : parsed;
  opts.tried.push(`${file} (${key.type}, refused)`);
  return { type: 'publickey' as const, username: opts.profile.user, key };
}
