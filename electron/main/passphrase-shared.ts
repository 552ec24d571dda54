// Shared by the passphrase prompt and its preload (no electron import).

export const PASSPHRASE_CHANNEL = 'ktray:passphrase.answer';

export interface PassphraseAnswer {
  /** null: the user cancelled. */
  passphrase: string | null;
  remember: boolean;
}

/** Renderer input is untrusted: accept exactly the shape we send. */
export function parseAnswer(raw: unknown): PassphraseAnswer | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const { passphrase, remember } = raw as Record<string, unknown>;
  if (!(passphrase === null || typeof passphrase === 'string') || typeof remember !== 'boolean') return null;
  return { passphrase, remember };
}
