import { useState } from 'react';
import type { KernelSummary, ServerOpened, ServerSummary } from '../../../electron/shared/types';
import { useAgent } from '../agent-context';
import { formatDuration, serverAddress, serverAppLabel } from '../format';
import { useAction } from '../hooks/useAction';
import { ConfirmInline } from './ConfirmInline';
import { ErrorNotice } from './ErrorNotice';
import { ActionStatus } from './ActionStatus';

interface Props {
  server: ServerSummary;
  /** This host's kernels, for the names of those the server runs. */
  kernels: KernelSummary[];
  now: number;
}

/** One Jupyter server: where it listens, how it logs in, its notebooks; Open in browser one click away. */
export function ServerRow({ server, kernels, now }: Props) {
  const { client, apply } = useAgent();
  const action = useAction();
  const [confirmStop, setConfirmStop] = useState(false);
  const busy = action.pending !== null;
  const label = `${serverAppLabel(server)} ${server.name}`;
  const its = kernels.filter((k) => server.kernels.includes(k.id));
  const applyServer = (s: ServerSummary) => apply({ type: 'server', server: s });

  const open = () =>
    action.run(
      'Opening in the browser…',
      async () => {
        const opened = await client.servers.open({ id: server.id });
        applyServer(opened.server);
        return opened;
      },
      (o: ServerOpened) => o.note ?? `Opened ${o.localUrl}`,
    );
  const copy = () => action.run('Copying…', () => client.servers.copyUrl({ id: server.id }), (url) => `Copied ${url} (no token in it; Open logs the browser in)`);
  const close = () => action.run('Closing the tunnel…', async () => applyServer(await client.servers.close({ id: server.id })));

  const meta = [
    server.name,
    server.startedAt !== null && server.alive ? `up ${formatDuration(now - server.startedAt)}` : null,
    serverAddress(server),
    server.auth === 'password' ? 'password' : server.auth === 'none' ? 'no login' : null,
  ].filter(Boolean);
  const going = its.filter((k) => k.alive);
  const stopQuestion = !server.alive
    ? `Remove ${server.file}? The server is not running.`
    : going.length
      ? `Stop ${server.name}? Its ${going.length === 1 ? 'kernel goes' : `${going.length} kernels go`} with it: ${going.map((k) => k.notebook ?? k.name).join(', ')}.`
      : `Stop ${server.name}? It runs no kernels.`;

  return (
    <li className={`server ${server.alive ? 'server-alive' : 'server-dead'}`} data-server-id={server.id} aria-label={`Jupyter server ${label} on ${server.host}`}>
      <div className="kernel-head">
        <span className="state-dot" aria-hidden="true" />
        <span className="kernel-state" data-testid="server-state">
          {server.alive ? 'running' : 'dead'}
        </span>
        <span className="kernel-name" title={server.file}>
          {serverAppLabel(server)} <span className="muted">{server.rootDir || server.name}</span>
        </span>
        {server.tunnelled ? <span className="badge">open here</span> : null}
      </div>
      <div className="kernel-meta muted">{meta.join(' · ')}</div>
      {server.localUrl ? (
        <div className="kernel-meta muted" data-testid="server-local-url">
          here: {server.localUrl}
        </div>
      ) : null}
      {its.length > 0 ? (
        <div className="kernel-meta">
          Notebooks: <span data-testid="server-notebooks">{its.map((k) => k.notebook ?? k.name).join(', ')}</span>
        </div>
      ) : null}
      {server.auth === 'password' ? <p className="small muted">Uses a password: the browser asks for it.</p> : null}
      {!server.alive ? <p className="small muted">Not running: {server.file} is a stale file. Remove deletes it.</p> : null}
      {server.warnings.map((w) => (
        <p key={w} className="warning" data-testid="server-warning">
          {w}
        </p>
      ))}
      <div className="kernel-actions" role="group" aria-label={`Actions for server ${label}`}>
        <div className="kernel-actions-row">
          <button type="button" className="primary" disabled={busy || !server.alive} onClick={open} aria-label={`Open ${label} in the browser`}>
            Open in browser
          </button>
          <button type="button" disabled={busy || !server.alive} onClick={copy} aria-label={`Copy the URL of ${label}`}>
            Copy URL
          </button>
          {server.tunnelled ? (
            <button type="button" disabled={busy} onClick={close} aria-label={`Close the tunnel of ${label}`}>
              Close
            </button>
          ) : null}
          <button type="button" className="danger-quiet" disabled={busy || confirmStop} onClick={() => setConfirmStop(true)} aria-label={server.alive ? `Stop ${label}` : `Remove the stale file of ${label}`}>
            {server.alive ? 'Stop' : 'Remove'}
          </button>
        </div>
      </div>
      {confirmStop ? (
        <ConfirmInline
          question={stopQuestion}
          confirmLabel={server.alive ? 'Stop server' : 'Remove file'}
          onCancel={() => setConfirmStop(false)}
          onConfirm={() => {
            setConfirmStop(false);
            void action.run('Stopping…', async () => {
              await client.servers.stop({ id: server.id });
              apply({ type: 'server-removed', id: server.id });
            });
          }}
        />
      ) : null}
      <ActionStatus action={action} />
    </li>
  );
}
