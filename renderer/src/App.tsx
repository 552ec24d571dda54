import { useMemo, useState } from 'react';
import type { KtrayBridge } from '../../electron/shared/ipc-contract';
import { AgentContext, type AgentContextValue } from './agent-context';
import { groupByHost } from './agent-state';
import { AddHostDialog } from './components/AddHostDialog';
import { ErrorNotice } from './components/ErrorNotice';
import { HostSection } from './components/HostSection';
import { Notices } from './components/Notices';
import { PlotsDialog } from './components/PlotsDialog';
import { SettingsDialog } from './components/SettingsDialog';
import { StartKernelDialog } from './components/StartKernelDialog';
import { useAgentState } from './hooks/useAgentState';
import { useFocusTarget, usePlotsTarget } from './hooks/useFocusTarget';
import { useNow } from './hooks/useNow';
import { createClient } from './ktray-client';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

type OpenDialog = { kind: 'start'; host: string | null } | { kind: 'add' } | { kind: 'settings' } | { kind: 'plots'; kernel: string } | null;

export function App({ bridge }: { bridge: KtrayBridge }) {
  const client = useMemo(() => createClient(bridge), [bridge]);
  const { state, loadError, apply, reload } = useAgentState(client);
  const [dialog, setDialog] = useState<OpenDialog>(null);
  useFocusTarget(state.loaded);
  // A plot notification (or the tray's Plots item) opens the window at #plots=KERNEL.
  usePlotsTarget(state.loaded, (kernel) => setDialog({ kind: 'plots', kernel }));
  const plotCounts = useMemo(() => Object.fromEntries(Object.entries(state.plots).map(([k, list]) => [k, list.length])), [state.plots]);
  const context = useMemo<AgentContextValue>(() => ({ client, apply }), [client, apply]);
  const groups = groupByHost(state);
  // Seconds matter only while something is busy or silent; ages are shown in minutes.
  const ticking = state.kernels.some((k) => k.state === 'busy' || k.state === 'unresponsive');
  const now = useNow(state.kernels.length > 0 || state.servers.length > 0, ticking ? 1000 : 30_000);
  const kernelCount = state.kernels.filter((k) => k.state !== 'dead').length;

  return (
    <AgentContext.Provider value={context}>
      <div className="app">
        <header className="app-header">
          <div className="app-title">
            <h1>Kernel Tray</h1>
            <span className="muted small" data-testid="summary">
              {state.loaded ? `${plural(state.hosts.length, 'host')} · ${plural(kernelCount, 'kernel')}` : ' '}
            </span>
          </div>
          <div className="app-actions">
            <button type="button" className="primary" disabled={state.hosts.length === 0} onClick={() => setDialog({ kind: 'start', host: null })}>
              Start kernel
            </button>
            <button type="button" onClick={() => setDialog({ kind: 'add' })}>
              Add host
            </button>
            <button type="button" className="icon-button" aria-label="Settings" title="Settings" onClick={() => setDialog({ kind: 'settings' })}>
              ⚙
            </button>
          </div>
        </header>
        <main className="app-main">
          <Notices notices={state.notices} onDismiss={(id) => apply({ type: 'dismiss-notice', id })} />
          {loadError ? (
            <div className="load-error">
              <ErrorNotice error={loadError} context="Could not load hosts and kernels:" />
              <button type="button" onClick={reload}>
                Try again
              </button>
            </div>
          ) : !state.loaded ? (
            <p className="progress" role="status">
              Loading hosts and kernels…
            </p>
          ) : groups.length === 0 ? (
            <p className="empty muted">No hosts yet. Add one from ~/.ssh/config or by name.</p>
          ) : (
            groups.map((g) => (
              <HostSection
                key={g.id}
                id={g.id}
                host={g.host}
                kernels={g.kernels}
                servers={g.servers}
                lostReason={state.lostReasons[g.id]}
                now={now}
                onStartKernel={(host) => setDialog({ kind: 'start', host })}
                plotCounts={plotCounts}
                onOpenPlots={(kernel) => setDialog({ kind: 'plots', kernel })}
              />
            ))
          )}
        </main>
      </div>
      {dialog?.kind === 'start' ? <StartKernelDialog hosts={state.hosts} initialHost={dialog.host} onClose={() => setDialog(null)} /> : null}
      {dialog?.kind === 'add' ? <AddHostDialog hosts={state.hosts} onClose={() => setDialog(null)} /> : null}
      {dialog?.kind === 'settings' ? <SettingsDialog onClose={() => setDialog(null)} /> : null}
      {dialog?.kind === 'plots' ? (
        <PlotsDialog
          kernelId={dialog.kernel}
          kernel={state.kernels.find((k) => k.id === dialog.kernel)}
          plots={state.plots[dialog.kernel] ?? []}
          onClose={() => setDialog(null)}
        />
      ) : null}
    </AgentContext.Provider>
  );
}
