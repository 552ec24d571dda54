import { useEffect, useId, useState } from 'react';
import { useAgent } from '../agent-context';
import { useAction } from '../hooks/useAction';
import { Dialog } from './Dialog';
import { ErrorNotice } from './ErrorNotice';

interface Props {
  onClose(): void;
}

/**
 * What the agent acts on: when a long run earns a notification, how long
 * before a batch job's time limit it warns, and which terminal opens
 * `jupyter console`. (Notifications, frontend and start at
 * login are switches in the tray menu.)
 */
export function SettingsDialog({ onClose }: Props) {
  const { client } = useAgent();
  const loading = useAction();
  const saving = useAction();
  const [seconds, setSeconds] = useState('');
  const [terminal, setTerminal] = useState('');
  const [jobMinutes, setJobMinutes] = useState('');
  const [otherOutput, setOtherOutput] = useState(true);
  const [loaded, setLoaded] = useState(false);
  const ids = { seconds: useId(), jobMinutes: useId(), terminal: useId(), terminalHelp: useId(), otherOutput: useId() };

  useEffect(() => {
    void loading.run('Loading settings…', async () => {
      const s = await client.settings.get({});
      setSeconds(String(s.longRunSeconds));
      setTerminal(s.terminal);
      setJobMinutes(String(s.jobWarningMinutes));
      setOtherOutput(s.consoleOtherOutput);
      setLoaded(true);
    });
    // loading.run is stable; settings are read once per opening.
  }, [client]);

  const save = () =>
    saving.run('Saving…', async () => {
      await client.settings.set({ longRunSeconds: Number(seconds), terminal: terminal.trim(), jobWarningMinutes: Number(jobMinutes), consoleOtherOutput: otherOutput });
      onClose();
    });

  return (
    <Dialog title="Settings" onClose={onClose}>
      {loading.pending ? (
        <p className="progress" role="status">
          {loading.pending}
        </p>
      ) : null}
      {loading.error ? <ErrorNotice error={loading.error} context="Could not load the settings:" /> : null}
      {loaded ? (
        <form
          className="form"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <label htmlFor={ids.seconds}>Notify when a run takes longer than (seconds)</label>
          <input id={ids.seconds} type="number" min={1} step={1} required value={seconds} onChange={(e) => setSeconds(e.target.value)} />
          <label htmlFor={ids.jobMinutes}>Warn before a batch job&apos;s time limit (minutes)</label>
          <input id={ids.jobMinutes} type="number" min={1} step={1} required value={jobMinutes} onChange={(e) => setJobMinutes(e.target.value)} />
          <label htmlFor={ids.terminal}>Terminal for Console</label>
          <input
            id={ids.terminal}
            type="text"
            spellCheck={false}
            value={terminal}
            placeholder="detect (x-terminal-emulator, gnome-terminal, …)"
            aria-describedby={ids.terminalHelp}
            onChange={(e) => setTerminal(e.target.value)}
          />
          <p id={ids.terminalHelp} className="muted small">
            The command before <code>jupyter console …</code>, e.g. <code>kitty</code> or <code>xterm -e</code>.
          </p>
          <label className="choice" htmlFor={ids.otherOutput}>
            <input id={ids.otherOutput} type="checkbox" checked={otherOutput} onChange={(e) => setOtherOutput(e.target.checked)} />
            <span>Consoles show what other frontends of the kernel run and print</span>
          </label>
          {saving.error ? <ErrorNotice error={saving.error} context="Not saved:" /> : null}
          <div className="button-row">
            <button type="submit" className="primary" disabled={saving.pending !== null}>
              Save
            </button>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
    </Dialog>
  );
}
