import { useEffect, useRef } from 'react';
import type { KnownHostsLineRef, KtrayErrorData } from '../../../electron/shared/types';
import { useAgent } from '../agent-context';
import { useAction } from '../hooks/useAction';
import { toErrorData } from '../ktray-client';
import { ChangedKeyPrompt } from './ChangedKeyPrompt';
import { ErrorNotice } from './ErrorNotice';

export interface OfferedKey {
  fingerprint: string;
  keyType?: string;
  hostname?: string;
  port?: number;
  knownHostsFile?: string;
  /** known_hosts lines holding another key for the host: it has CHANGED, and is never simply trusted. */
  changed?: KnownHostsLineRef[];
}

function lineRefs(value: unknown): KnownHostsLineRef[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const refs = value.filter(
    (v): v is KnownHostsLineRef =>
      typeof v === 'object' && v !== null && typeof v.file === 'string' && typeof v.line === 'number' && typeof v.fingerprint === 'string',
  );
  return refs.length ? refs : undefined;
}

/** Reads the key facts an unknown-host-key error (or hostKey()) carries. */
export function offeredKeyOf(detail: Record<string, unknown> | undefined): OfferedKey | null {
  if (!detail || typeof detail.fingerprint !== 'string') return null;
  return {
    fingerprint: detail.fingerprint,
    keyType: typeof detail.keyType === 'string' ? detail.keyType : undefined,
    hostname: typeof detail.hostname === 'string' ? detail.hostname : undefined,
    port: typeof detail.port === 'number' ? detail.port : undefined,
    knownHostsFile: typeof detail.knownHostsFile === 'string' ? detail.knownHostsFile : undefined,
    changed: lineRefs(detail.changed),
  };
}

/** The key file sshd keeps for this key type: ssh-ed25519 → ed25519, ecdsa-sha2-nistp256 → ecdsa. */
function hostKeyFileType(keyType: string | undefined): string {
  if (!keyType) return '*';
  if (keyType.startsWith('ecdsa')) return 'ecdsa';
  if (keyType === 'ssh-rsa' || keyType.startsWith('rsa-')) return 'rsa';
  return keyType.replace(/^ssh-/, '');
}

interface Props {
  host: string;
  offered: OfferedKey;
  /** Called once the key is in known_hosts, with the reconnect's failure if it failed. */
  onTrusted(reconnectError: KtrayErrorData | null): void;
  onRefuse(): void;
  /** In a dialog the prompt is the point, so it takes focus; on a host row it must not steal it. */
  autoFocus?: boolean;
}

/**
 * The user decides on an unknown host key: the fingerprint is shown whole, and
 * only this fingerprint is trusted (the agent re-checks it before writing known_hosts).
 * A key that has CHANGED gets no Trust at all, but ChangedKeyPrompt.
 */
export function HostKeyPrompt(props: Props) {
  const { host, offered } = props;
  const address = offered.hostname ? `${offered.hostname}${offered.port && offered.port !== 22 ? `:${offered.port}` : ''}` : null;
  const where = address && address !== host ? `${host} (${address})` : host;
  if (offered.changed?.length) {
    return (
      <ChangedKeyPrompt
        host={host}
        where={where}
        keyType={offered.keyType}
        fingerprint={offered.fingerprint}
        changed={offered.changed}
        checkCommand={`ssh-keygen -lf /etc/ssh/ssh_host_${hostKeyFileType(offered.keyType)}_key.pub`}
        onTrusted={props.onTrusted}
        onRefuse={props.onRefuse}
        autoFocus={props.autoFocus}
      />
    );
  }
  return <UnknownKeyPrompt {...props} where={where} />;
}

function UnknownKeyPrompt({ host, offered, onTrusted, onRefuse, autoFocus = false, where }: Props & { where: string }) {
  const { client, apply } = useAgent();
  const action = useAction();
  const headingRef = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (autoFocus) headingRef.current?.focus();
  }, [autoFocus]);
  const trust = () =>
    action.run('Trusting…', async () => {
      await client.hosts.trust({ host, fingerprint: offered.fingerprint });
      // The key is trusted now whatever the reconnect says; its failure belongs to the host, not to Trust.
      let reconnectError: KtrayErrorData | null = null;
      try {
        apply({ type: 'hosts', hosts: await client.hosts.reconnect({ host }) });
      } catch (err) {
        reconnectError = toErrorData(err);
      }
      onTrusted(reconnectError);
    });

  return (
    <section className="host-key" aria-label={`Unknown host key for ${host}`}>
      <p className="host-key-title" tabIndex={-1} ref={headingRef}>
        {where} offers a key this computer has never seen.
      </p>
      <p className="host-key-fingerprint">
        <span className="muted">{offered.keyType ?? 'Key'}</span>{' '}
        <code data-testid="fingerprint">{offered.fingerprint}</code>
      </p>
      <p className="muted small">
        Trust it only if it matches the fingerprint your administrator gave you (on the host:{' '}
        <code>ssh-keygen -lf /etc/ssh/ssh_host_{hostKeyFileType(offered.keyType)}_key.pub</code>).
      </p>
      {action.error ? <ErrorNotice error={action.error} context="Trust failed:" onDismiss={action.clear} /> : null}
      <div className="button-row">
        <button type="button" className="primary" onClick={trust} disabled={action.pending !== null}>
          {action.pending ?? 'Trust'}
        </button>
        <button type="button" onClick={onRefuse} disabled={action.pending !== null}>
          Refuse
        </button>
      </div>
    </section>
  );
}
