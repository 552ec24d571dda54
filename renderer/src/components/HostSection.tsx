import { useEffect, useId, useState } from 'react';
import type { HostSummary, KernelSummary, KtrayErrorData, ServerSummary } from '../../../electron/shared/types';
import { useAgent } from '../agent-context';
import { hostAddress, hostConnectionText } from '../format';
import { useAction } from '../hooks/useAction';
import { ConfirmInline } from './ConfirmInline';
import { ErrorNotice } from './ErrorNotice';
import { HostKeyPrompt, type OfferedKey, offeredKeyOf } from './HostKeyPrompt';
import { HostTransport } from './HostTransport';
import { KernelRow } from './KernelRow';
import { ServerRow } from './ServerRow';

interface Props {
  id: string;
  host: HostSummary | null;
  kernels: KernelSummary[];
  servers: ServerSummary[];
  lostReason: string | undefined;
  now: number;
  onStartKernel(host: string): void;
  /** How many plots the agent holds per kernel id. */
  plotCounts: Record<string, number>;
  onOpenPlots(kernelId: string): void;
}

/** A host, its connection and its kernels; host-level errors (unreachable, unknown key) show here. */
export function HostSection({ id, host, kernels, servers, lostReason, now, onStartKernel, plotCounts, onOpenPlots }: Props) {
  const { client, apply } = useAgent();
  const action = useAction();
  const headingId = useId();
  const [refused, setRefused] = useState(false);
  const [checkedKey, setCheckedKey] = useState<OfferedKey | null>(null);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [confirmForget, setConfirmForget] = useState(false);
  const [forgotten, setForgotten] = useState<string | null>(null);
  const [afterTrust, setAfterTrust] = useState<KtrayErrorData | null>(null);
  const busy = action.pending !== null;

  // The freshest word on this host: what the user just asked, else what the agent last met.
  const error = action.error ?? afterTrust ?? host?.error ?? null;
  const keyUnknown = error?.code === 'HOST_KEY_UNKNOWN';
  // A changed key (not a revoked one) can be reviewed, and replaced only in ChangedKeyPrompt.
  const keyChanged = error?.code === 'HOST_KEY_CHANGED' && Array.isArray(error.detail?.changed);
  const offered = keyUnknown ? (checkedKey ?? offeredKeyOf(error.detail)) : keyChanged && checkedKey?.changed?.length ? checkedKey : null;

  // Once the host connects, earlier failures here (an unknown key, a refusal) are history.
  const connected = host?.connection === 'connected';
  const clearAction = action.clear;
  useEffect(() => {
    if (!connected) return;
    clearAction();
    setRefused(false);
    setCheckedKey(null);
    setAfterTrust(null);
  }, [connected, clearAction]);

  const reconnect = () =>
    action.run('Connecting…', async () => {
      setAfterTrust(null);
      apply({ type: 'hosts', hosts: await client.hosts.reconnect({ host: id }) });
    });
  const refresh = () =>
    action.run('Asking the host…', async () => {
      apply({ type: 'kernels', host: id, kernels: await client.kernels.list({ host: id, refresh: true }) });
      apply({ type: 'servers', host: id, servers: await client.servers.list({ host: id }) });
    });
  const startServer = () =>
    action.run('Starting a Jupyter server…', async () => {
      apply({ type: 'server', server: await client.servers.start({ host: id }) });
    });
  const checkKey = () =>
    action.run('Fetching the host key…', async () => {
      const info = await client.hosts.hostKey({ host: id });
      if (info.known) return reconnect();
      setRefused(false);
      setCheckedKey(info);
    });
  const forgetSecrets = () =>
    action.run('Removing kept secrets…', async () => {
      const f = await client.hosts.forgetSecrets({ host: id });
      setForgotten(
        f.unavailable
          ? `Nothing to forget: ${f.unavailable}.`
          : f.removed
            ? `Removed ${f.removed} ${f.removed === 1 ? 'secret' : 'secrets'} kept for ${id} from ${f.keychain}.`
            : `Nothing was kept for ${id} in ${f.keychain}.`,
      );
    });
  const remove = () =>
    action.run('Removing…', async () => {
      await client.hosts.remove({ id });
      apply({ type: 'host-removed', id });
    });

  return (
    <section className={`host conn-${host?.connection ?? 'idle'}`} aria-labelledby={headingId} data-host-id={id}>
      <header className="host-head">
        <div className="host-title">
          <span className="conn-dot" aria-hidden="true" />
          <h2 id={headingId}>{id}</h2>
          {host && host.source !== 'local' && hostAddress(host) !== id ? (
            <span className="muted host-address" title={hostAddress(host)}>
              {hostAddress(host)}
            </span>
          ) : null}
        </div>
        <div className="host-sub">
          <span className="host-conn" data-testid="host-connection">
            {host ? hostConnectionText(host, now) : 'not in the host list'}
          </span>
          <div className="host-actions" role="group" aria-label={`Actions for host ${id}`}>
            <button type="button" disabled={busy} onClick={refresh} aria-label={`Refresh kernels on ${id}`}>
              Refresh
            </button>
            {host?.source === 'local' ? null : (
              <button type="button" disabled={busy} onClick={reconnect} aria-label={`Reconnect ${id}`}>
                Reconnect
              </button>
            )}
            <button type="button" disabled={busy} onClick={() => onStartKernel(id)} aria-label={`Start a kernel on ${id}`}>
              Start…
            </button>
            <button type="button" disabled={busy} onClick={startServer} aria-label={`Start a Jupyter server on ${id}`} title="A Jupyter server on the host's loopback, with a fresh token">
              Server
            </button>
            {host?.source === 'local' ? null : (
              <button
                type="button"
                disabled={busy}
                onClick={() => setConfirmForget(true)}
                aria-label={`Forget the passwords and passphrases kept for ${id}`}
                title="Remove what you chose to keep in the OS keychain for this host"
              >
                Forget secrets
              </button>
            )}
            {host?.source === 'saved' ? (
              <button type="button" className="danger-quiet" disabled={busy} onClick={() => setConfirmRemove(true)} aria-label={`Remove host ${id}`}>
                Remove
              </button>
            ) : null}
          </div>
        </div>
        {host && host.source !== 'local' ? <HostTransport host={host} /> : null}
      </header>

      {confirmRemove ? (
        <ConfirmInline
          question={`Remove ${id} from Kernel Tray? Its kernels keep running.`}
          confirmLabel="Remove host"
          onCancel={() => setConfirmRemove(false)}
          onConfirm={() => {
            setConfirmRemove(false);
            void remove();
          }}
        />
      ) : null}
      {confirmForget ? (
        <ConfirmInline
          question={`Remove the passwords and key passphrases kept in the OS keychain for ${id}? They will be asked for again.`}
          confirmLabel="Forget secrets"
          onCancel={() => setConfirmForget(false)}
          onConfirm={() => {
            setConfirmForget(false);
            setForgotten(null);
            void forgetSecrets();
          }}
        />
      ) : null}
      {forgotten ? (
        <p className="note" role="status">
          {forgotten}
        </p>
      ) : null}
      {action.pending ? (
        <p className="progress" role="status">
          {action.pending}
        </p>
      ) : null}
      {(keyUnknown || keyChanged) && offered && !refused ? (
        <HostKeyPrompt
          host={id}
          offered={offered}
          onRefuse={() => setRefused(true)}
          onTrusted={(reconnectError) => {
            action.clear();
            setCheckedKey(null);
            setAfterTrust(reconnectError);
          }}
        />
      ) : (keyUnknown || keyChanged) && refused ? (
        <div className="error-notice" role="alert">
          <div className="error-body">
            <p className="error-message">
              {keyChanged ? `Key refused: known_hosts keeps the old key of ${id}` : `Key refused: ${id} stays untrusted`} and Kernel Tray will not connect to
              it.
            </p>
            <div className="button-row">
              <button type="button" onClick={() => setRefused(false)}>
                Review the key again
              </button>
            </div>
          </div>
        </div>
      ) : error ? (
        <>
          <ErrorNotice error={error} onDismiss={action.error ? action.clear : undefined} />
          {keyUnknown || keyChanged ? (
            <div className="button-row">
              <button type="button" disabled={busy} onClick={checkKey}>
                {keyChanged ? 'Review the changed key' : 'Show the host key'}
              </button>
            </div>
          ) : null}
        </>
      ) : lostReason && host?.connection === 'lost' ? (
        <p className="warning">{lostReason}</p>
      ) : null}

      {host && host.warnings?.length > 0 ? (
        <details className="warning host-warnings">
          <summary>
            {host.warnings.length === 1 ? '1 problem' : `${host.warnings.length} problems`} at the last look on {id}
          </summary>
          <ul>
            {host.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </details>
      ) : null}

      {servers.length > 0 ? (
        <>
          <h3 className="list-head">Jupyter servers</h3>
          <ul className="kernels servers" aria-label={`Jupyter servers on ${id}`}>
            {servers.map((s) => (
              <ServerRow key={s.id} server={s} kernels={kernels} now={now} />
            ))}
          </ul>
          {kernels.length > 0 ? <h3 className="list-head">Kernels</h3> : null}
        </>
      ) : null}

      {kernels.length > 0 ? (
        <ul className="kernels" aria-label={`Kernels on ${id}`}>
          {kernels.map((k) => (
            <KernelRow key={k.id} kernel={k} now={now} plotCount={plotCounts[k.id] ?? 0} onOpenPlots={() => onOpenPlots(k.id)} />
          ))}
        </ul>
      ) : (
        <p className="empty muted">
          {host?.connection === 'connected' ? `No kernels found on ${id}.` : 'Not connected yet: Refresh looks for kernels and servers.'}
        </p>
      )}
    </section>
  );
}
