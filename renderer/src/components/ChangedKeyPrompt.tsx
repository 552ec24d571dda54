import { useEffect, useId, useRef, useState } from 'react';
import type { KnownHostsLineRef, KtrayErrorData } from '../../../electron/shared/types';
import { useAgent } from '../agent-context';
import { useAction } from '../hooks/useAction';
import { toErrorData } from '../ktray-client';
import { ErrorNotice } from './ErrorNotice';

/** The word the user types to replace a changed key: never a default button press. */
const WORD = 'replace';

interface Props {
  host: string;
  /** Where the host is, e.g. `gpu1 (10.0.0.5:2222)`. */
  where: string;
  keyType?: string;
  fingerprint: string;
  /** The known_hosts lines that hold the old key. */
  changed: KnownHostsLineRef[];
  /** e.g. `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`, for checking on the host. */
  checkCommand: string;
  onTrusted(reconnectError: KtrayErrorData | null): void;
  onRefuse(): void;
  autoFocus?: boolean;
}

/**
 * A host whose key disagrees with known_hosts. There is no Trust here: the old
 * lines are shown, and they are replaced (as `ssh-keygen -R` removes them, the
 * file kept as FILE.old) only after the user types the word.
 */
export function ChangedKeyPrompt({ host, where, keyType, fingerprint, changed, checkCommand, onTrusted, onRefuse, autoFocus = false }: Props) {
  const { client, apply } = useAgent();
  const action = useAction();
  const [typed, setTyped] = useState('');
  const inputId = useId();
  const headingRef = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (autoFocus) headingRef.current?.focus();
  }, [autoFocus]);
  const files = [...new Set(changed.map((c) => c.file))];

  const replace = () =>
    action.run('Replacing the old key…', async () => {
      await client.hosts.trust({ host, fingerprint, replace: true });
      let reconnectError: KtrayErrorData | null = null;
      try {
        apply({ type: 'hosts', hosts: await client.hosts.reconnect({ host }) });
      } catch (err) {
        reconnectError = toErrorData(err);
      }
      onTrusted(reconnectError);
    });

  return (
    <section className="host-key host-key-changed" aria-label={`Changed host key for ${host}`}>
      <p className="host-key-title" tabIndex={-1} ref={headingRef}>
        WARNING: the host key of {where} has CHANGED.
      </p>
      <p className="host-key-fingerprint">
        It now offers <span className="muted">{keyType ?? 'a key'}</span> <code data-testid="fingerprint">{fingerprint}</code>
      </p>
      <ul className="host-key-old">
        {changed.map((c) => (
          <li key={`${c.file}:${c.line}`} data-testid="old-key">
            but <code>{`${c.file}:${c.line}`}</code> holds <span className="muted">{c.keyType}</span> <code>{c.fingerprint}</code>
          </li>
        ))}
      </ul>
      <p className="small">
        Someone may be intercepting the connection, or the host was reinstalled. Replace the old key only if you know why it changed and the new
        fingerprint is the one its administrator gives you (on the host: <code>{checkCommand}</code>).
      </p>
      <p className="muted small">
        Replacing removes the lines for this host from {files.join(', ')} as <code>ssh-keygen -R</code> does, keeps the file as it was in{' '}
        {files.map((f) => `${f}.old`).join(', ')}, and adds the new key.
      </p>
      {action.error ? <ErrorNotice error={action.error} context="Replacing failed:" onDismiss={action.clear} /> : null}
      <label htmlFor={inputId} className="small">
        Type {WORD} to confirm
      </label>
      <input id={inputId} type="text" autoComplete="off" spellCheck={false} value={typed} disabled={action.pending !== null} onChange={(e) => setTyped(e.target.value)} />
      <div className="button-row">
        <button type="button" className="danger" onClick={replace} disabled={typed.trim() !== WORD || action.pending !== null}>
          {action.pending ?? 'Replace the old key'}
        </button>
        <button type="button" onClick={onRefuse} disabled={action.pending !== null}>
          Refuse
        </button>
      </div>
    </section>
  );
}
