import { useEffect, useId, useState } from 'react';
import type { HostOffer, HostSummary, KernelSummary, StartOptions } from '../../../electron/shared/types';
import { jobLabel, kernelStateLabel } from '../../../electron/shared/format';
import { useAgent } from '../agent-context';
import { useAction } from '../hooks/useAction';
import { Dialog } from './Dialog';
import { ErrorNotice } from './ErrorNotice';

interface Props {
  hosts: HostSummary[];
  initialHost: string | null;
  onClose(): void;
}

/** `spec:<name>` or `py:<path>`: one radio group for both kinds of choice. */
type Choice = string;

/** How the kernel runs on a cluster host: a batch job (with these sbatch arguments after the host's defaults), or on the login node. */
interface Batch {
  submit: boolean;
  args: string;
  /** After a submit sbatch took: these arguments join the host's defaults (a click in the tray uses them too). */
  keep: boolean;
}

function optionsOf(host: string, choice: Choice, cwd: string, batch: Batch, isCluster: boolean): StartOptions {
  const options: StartOptions = { host };
  if (choice.startsWith('spec:')) options.kernel = choice.slice(5);
  else options.python = choice.slice(3);
  if (cwd.trim()) options.cwd = cwd.trim();
  if (batch.submit) options.slurm = batch.args.trim();
  else if (isCluster) options.loginNode = true;
  return options;
}

/** Host, then what the host offers (kernelspecs, Pythons), then a working directory. */
export function StartKernelDialog({ hosts, initialHost, onClose }: Props) {
  const { client, apply } = useAgent();
  const [host, setHost] = useState(initialHost ?? hosts[0]?.id ?? '');
  const [offer, setOffer] = useState<HostOffer | null>(null);
  const [choice, setChoice] = useState<Choice>('');
  const [cwd, setCwd] = useState('');
  const [started, setStarted] = useState<KernelSummary | null>(null);
  const scheduler = hosts.find((h) => h.id === host)?.scheduler ?? null;
  const [batch, setBatch] = useState<Batch>({ submit: scheduler !== null, args: '', keep: false });
  const asking = useAction();
  const starting = useAction();
  const ids = { host: useId(), cwd: useId(), choices: useId(), sbatch: useId(), batch: useId() };

  // A cluster host submits a batch job unless asked otherwise; another host runs the kernel itself.
  useEffect(() => setBatch({ submit: scheduler !== null, args: '', keep: false }), [host, scheduler !== null]);

  useEffect(() => {
    setOffer(null);
    setChoice('');
    if (!host) return;
    let current = true;
    void asking.run(`Asking ${host} for kernelspecs and Pythons…`, async () => {
      const found = await client.hosts.offer({ host });
      if (!current) return;
      setOffer(found);
      // The same choice `ktray start HOST` makes when nothing is asked for.
      const p = found.preferred;
      setChoice(p === null ? '' : 'kernel' in p ? `spec:${p.kernel}` : `py:${p.python}`);
    });
    return () => {
      current = false;
    };
    // asking.run is stable; the offer is asked again only when the host changes.
  }, [host, client]);

  const start = () =>
    starting.run(
      batch.submit ? `Submitting a Slurm job on ${host}… (waits up to a minute for it to run)` : `Starting a kernel on ${host}… (waits until it answers)`,
      async () => {
        const kernel = await client.kernels.start(optionsOf(host, choice, cwd, batch, scheduler !== null));
        apply({ type: 'kernel', kernel });
        const extra = batch.args.trim();
        if (batch.submit && batch.keep && extra && scheduler) {
          // Only once sbatch took them: a refused partition never becomes a default.
          const args = [scheduler?.args ?? '', extra].filter(Boolean).join(' ');
          apply({ type: 'host', host: await client.hosts.setScheduler({ host, scheduler: { kind: 'slurm', args } }) });
        }
        setStarted(kernel);
      },
    );

  if (started?.job) {
    const now = Date.now();
    return (
      <Dialog title={started.alive ? 'Kernel running' : 'Job submitted'} onClose={onClose}>
        <p className="note" role="status">
          {started.alive
            ? `${started.kernelName} runs on ${started.host}'s ${jobLabel(started, now)}.`
            : `Slurm job ${started.job.jobId} on ${started.host}: ${kernelStateLabel(started, now)}. It appears here as it starts; a notification says when it runs.`}
        </p>
        <p className="muted small">{started.job.logFile}</p>
        <div className="button-row">
          <button type="button" className="primary" onClick={onClose} autoFocus>
            Done
          </button>
        </div>
      </Dialog>
    );
  }

  if (started) {
    return (
      <Dialog title="Kernel started" onClose={onClose}>
        <p className="note" role="status">
          Started {started.kernelName} on {started.host}
          {started.pid !== null ? ` (pid ${started.pid})` : ''}.
        </p>
        <p className="muted small">{started.connectionFile}</p>
        <div className="button-row">
          <button type="button" className="primary" onClick={onClose} autoFocus>
            Done
          </button>
        </div>
      </Dialog>
    );
  }

  const busy = starting.pending !== null;
  return (
    <Dialog title="Start a kernel" onClose={onClose}>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <label htmlFor={ids.host}>Host</label>
        <select id={ids.host} value={host} disabled={busy} onChange={(e) => setHost(e.target.value)}>
          {hosts.map((h) => (
            <option key={h.id} value={h.id}>
              {h.id}
            </option>
          ))}
        </select>

        {asking.pending ? (
          <p className="progress" role="status">
            {asking.pending}
          </p>
        ) : null}
        {asking.error ? <ErrorNotice error={asking.error} context={`Could not ask ${host}:`} /> : null}

        {offer ? (
          <fieldset className="choices" aria-describedby={ids.choices} disabled={busy}>
            <legend>Kernel</legend>
            {offer.kernelspecs.length + offer.pythons.length === 0 ? (
              <p id={ids.choices} className="warning">
                {host} has no kernelspec and no Python with ipykernel. Install it there: <code>python3 -m pip install --user ipykernel</code>
              </p>
            ) : (
              <p id={ids.choices} className="muted small">
                Kernelspecs and Pythons found on {host}.
              </p>
            )}
            {offer.kernelspecs.map((s) => (
              <label key={`spec:${s.name}`} className="choice">
                <input type="radio" name="choice" value={`spec:${s.name}`} checked={choice === `spec:${s.name}`} onChange={(e) => setChoice(e.target.value)} />
                <span>
                  {s.displayName} <span className="muted">kernelspec {s.name}</span>
                </span>
              </label>
            ))}
            {offer.pythons.map((p) => (
              <label key={`py:${p.path}`} className="choice">
                <input type="radio" name="choice" value={`py:${p.path}`} checked={choice === `py:${p.path}`} onChange={(e) => setChoice(e.target.value)} />
                <span>
                  {p.label} {p.label.includes(p.path) ? null : <span className="muted">{p.path}</span>}
                  {p.hasIpykernel ? null : <span className="warning-text"> · no ipykernel</span>}
                </span>
              </label>
            ))}
          </fieldset>
        ) : null}

        <fieldset className="choices" disabled={busy} aria-describedby={ids.batch}>
          <legend>Slurm</legend>
          <label className="choice">
            <input type="checkbox" checked={batch.submit} onChange={(e) => setBatch({ ...batch, submit: e.target.checked })} />
            <span>
              Submit as a batch job {scheduler ? null : <span className="muted">({host} is a cluster&apos;s login node)</span>}
            </span>
          </label>
          <p id={ids.batch} className="muted small">
            {batch.submit ? (
              <>
                The kernel runs on a compute node, attached through {host}. Default sbatch arguments: <code>{scheduler?.args || 'none'}</code>.
              </>
            ) : scheduler ? (
              `The kernel runs on ${host} itself, the login node.`
            ) : (
              'The kernel runs on the host itself.'
            )}
          </p>
          {batch.submit ? (
            <>
              <label htmlFor={ids.sbatch}>sbatch arguments</label>
              <input
                id={ids.sbatch}
                type="text"
                value={batch.args}
                spellCheck={false}
                placeholder="--partition=gpu --gres=gpu:1 --time=04:00:00"
                onChange={(e) => setBatch({ ...batch, args: e.target.value })}
              />
              {scheduler ? (
                <label className="choice">
                  <input type="checkbox" checked={batch.keep} disabled={!batch.args.trim()} onChange={(e) => setBatch({ ...batch, keep: e.target.checked })} />
                  <span>Add them to {host}&apos;s default sbatch arguments</span>
                </label>
              ) : (
                <p className="muted small">{host} becomes a Slurm cluster with these as its default sbatch arguments.</p>
              )}
            </>
          ) : null}
        </fieldset>

        <label htmlFor={ids.cwd}>Working directory</label>
        <input
          id={ids.cwd}
          type="text"
          value={cwd}
          disabled={busy}
          spellCheck={false}
          placeholder={offer ? `${offer.home} (home)` : 'the remote home'}
          onChange={(e) => setCwd(e.target.value)}
        />

        {starting.pending ? (
          <p className="progress" role="status">
            {starting.pending}
          </p>
        ) : null}
        {starting.error ? <ErrorNotice error={starting.error} context="The kernel did not start:" /> : null}

        <div className="button-row">
          <button type="submit" className="primary" disabled={busy || !host || !choice}>
            Start kernel
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
