import { useState } from 'react';
import type { Frontend, KernelSummary, OpenedFrontend } from '../../../electron/shared/types';
import { useAgent } from '../agent-context';
import { jobLabel } from '../../../electron/shared/format';
import { formatDuration, kernelDisplayName, kernelStateHelp, kernelStateLabel, listenWarning, shortKernelName } from '../format';
import { useAction } from '../hooks/useAction';
import { ConfirmInline } from './ConfirmInline';
import { ErrorNotice } from './ErrorNotice';
import { ActionStatus } from './ActionStatus';

interface Props {
  kernel: KernelSummary;
  now: number;
  /** Plots the agent holds of this kernel, from any of its frontends. */
  plotCount: number;
  onOpenPlots(): void;
}

const FRONTEND_WORDS: Record<Frontend, string> = { qtconsole: 'QtConsole', console: 'Console', none: 'Tunnels only' };

/** One kernel: its live state and every action one click away; its errors stay on this row. */
export function KernelRow({ kernel, now, plotCount, onOpenPlots }: Props) {
  const { client, apply } = useAgent();
  const action = useAction();
  const [confirmStop, setConfirmStop] = useState(false);
  const alive = kernel.alive && kernel.state !== 'dead';
  const busy = action.pending !== null;
  const label = `${kernelDisplayName(kernel)} ${shortKernelName(kernel.name)}`;
  const applyKernel = (k: KernelSummary) => apply({ type: 'kernel', kernel: k });

  const attach = (frontend: Frontend) =>
    action.run(
      frontend === 'none' ? 'Opening tunnels…' : `Opening ${FRONTEND_WORDS[frontend]}…`,
      async () => {
        const result = frontend === 'none' ? await client.kernels.attach({ id: kernel.id }) : await client.kernels.open({ id: kernel.id, frontend });
        applyKernel(result.kernel);
        return result;
      },
      (r) => ('launched' in r ? `${FRONTEND_WORDS[(r as OpenedFrontend).launched]} opened.` : `Tunnels open: ${r.localConnectionFile}`),
    );
  const simple = (pendingLabel: string, call: (id: string) => Promise<KernelSummary>) =>
    action.run(pendingLabel, async () => applyKernel(await call(kernel.id)));

  const meta = [
    kernel.job ? jobLabel(kernel, now) : kernel.pid !== null ? `pid ${kernel.pid}` : 'no pid',
    kernel.startedAt !== null ? `up ${formatDuration(now - kernel.startedAt)}` : null,
    kernel.attached ? 'attached' : 'not attached',
    kernel.server ? `server ${kernel.server.slice(kernel.server.indexOf('/') + 1)}` : null,
  ].filter(Boolean);

  return (
    <li className={`kernel state-${kernel.state}`} data-kernel-id={kernel.id} aria-label={`Kernel ${label} on ${kernel.host}`}>
      <div className="kernel-head">
        <span className="state-dot" aria-hidden="true" />
        <span className="kernel-state" title={kernelStateHelp(kernel)} data-testid="kernel-state">
          {kernelStateLabel(kernel, now)}
        </span>
        <span className="kernel-name" title={kernel.connectionFile}>
          {kernelDisplayName(kernel)} <span className="muted">{kernel.notebook ? kernel.kernelName : shortKernelName(kernel.name)}</span>
        </span>
        {kernel.attached ? <span className="badge">attached</span> : null}
      </div>
      <div className="kernel-meta muted">{meta.join(' · ')}</div>
      {/* A batch job's kernel listens on its node's address, allowed by Kernel Tray for that job alone: no warning. */}
      {alive && !kernel.job && listenWarning(kernel) ? (
        <p className="warning" data-testid="listen-warning">
          {listenWarning(kernel)}
        </p>
      ) : null}
      <div className="kernel-actions" role="group" aria-label={`Actions for kernel ${label}`}>
        <div className="kernel-actions-row">
          <button type="button" disabled={busy || !alive} onClick={() => attach('qtconsole')} aria-label={`Attach QtConsole to ${label}`}>
            QtConsole
          </button>
          <button type="button" disabled={busy || !alive} onClick={() => attach('console')} aria-label={`Attach console to ${label}`}>
            Console
          </button>
          {kernel.attached ? (
            <button type="button" disabled={busy} onClick={() => simple('Detaching…', (id) => client.kernels.detach({ id }))} aria-label={`Detach ${label}`}>
              Detach
            </button>
          ) : (
            <button type="button" disabled={busy || !alive} onClick={() => attach('none')} aria-label={`Attach ${label} with tunnels only`}>
              Tunnels only
            </button>
          )}
          <button
            type="button"
            disabled={busy || !alive}
            aria-label={`Copy connection file path of ${label}`}
            onClick={() => action.run('Copying…', () => client.kernels.copyConnectionFile({ id: kernel.id }), (path) => `Copied ${path}`)}
          >
            Copy path
          </button>
          {plotCount > 0 ? (
            <button type="button" className="plots-button" onClick={onOpenPlots} aria-label={`Plots of ${label} (${plotCount})`} data-testid="plots-button">
              Plots · {plotCount}
            </button>
          ) : null}
        </div>
        <div className="kernel-actions-row">
          <button type="button" disabled={busy || !alive} onClick={() => simple('Interrupting…', (id) => client.kernels.interrupt({ id }))} aria-label={`Interrupt ${label}`}>
            Interrupt
          </button>
          <button type="button" disabled={busy} onClick={() => simple('Restarting…', (id) => client.kernels.restart({ id }))} aria-label={`Restart ${label}`}>
            Restart
          </button>
          {kernel.attached ? null : (
            <button
              type="button"
              disabled={busy || !alive}
              aria-pressed={kernel.watched}
              aria-label={`${kernel.watched ? 'Stop watching' : 'Watch'} ${label}`}
              title="Watch: live idle/busy state and a notice if it dies, without attaching"
              onClick={() => simple(kernel.watched ? 'Unwatching…' : 'Watching…', (id) => client.kernels.pin({ id, pinned: !kernel.watched }))}
            >
              {kernel.watched ? 'Unwatch' : 'Watch'}
            </button>
          )}
          <button type="button" className="danger-quiet" disabled={busy || confirmStop} onClick={() => setConfirmStop(true)} aria-label={`Stop ${label}`}>
            Stop
          </button>
        </div>
      </div>
      {confirmStop ? (
        <ConfirmInline
          question={kernel.job ? `Stop ${label}? Its variables are lost and its Slurm job ${kernel.job.jobId} is cancelled.` : `Stop ${label}? Its variables are lost.`}
          confirmLabel="Stop kernel"
          onCancel={() => setConfirmStop(false)}
          onConfirm={() => {
            setConfirmStop(false);
            // The agent forgets a stopped kernel; so does the window.
            void action.run('Stopping…', async () => {
              await client.kernels.stop({ id: kernel.id });
              apply({ type: 'kernel-removed', id: kernel.id });
            });
          }}
        />
      ) : null}
      <ActionStatus action={action} />
    </li>
  );
}
