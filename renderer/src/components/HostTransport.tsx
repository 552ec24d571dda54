import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import type { HostSummary, TransportSetting } from '../../../electron/shared/types';
import { useAgent } from '../agent-context';
import { transportSentence, transportText } from '../format';
import { useAction } from '../hooks/useAction';
import { ActionStatus } from './ActionStatus';

const CHOICES: { value: TransportSetting; label: string; help: string }[] = [
  { value: 'auto', label: 'Auto', help: 'its ssh config decides: OpenSSH for certificates, a ControlMaster, GSSAPI, Match exec or a security key, else ssh2' },
  { value: 'ssh2', label: 'ssh2', help: 'built in; asks for passwords and codes here' },
  { value: 'openssh', label: 'OpenSSH', help: 'your own ssh client, which checks the host key itself and asks what ssh asks here' },
];

/**
 * Which SSH transport a host goes through and why, and the setting behind it:
 * the same agent method as `ktray hosts HOST --transport`, so the same refusals.
 */
export function HostTransport({ host }: { host: HostSummary }) {
  const { client, apply } = useAgent();
  const action = useAction();
  const current: TransportSetting = host.transport?.setting ?? 'auto';
  const [editing, setEditing] = useState(false);
  const [choice, setChoice] = useState<TransportSetting>(current);
  const formId = useId();
  const opener = useRef<HTMLButtonElement>(null);
  const first = useRef<HTMLInputElement>(null);
  const { label, why } = transportText(host);

  useEffect(() => {
    if (editing) first.current?.focus();
  }, [editing]);

  const close = () => {
    setEditing(false);
    opener.current?.focus();
  };
  const open = () => {
    action.clear();
    setChoice(current);
    setEditing(true);
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    void action.run(
      'Setting the transport…',
      async () => {
        const h = await client.hosts.setTransport({ host: host.id, transport: choice });
        apply({ type: 'host', host: h });
        close();
        return h;
      },
      // Still connected after a change: the host is in use, and keeps its session until its next connection.
      (h) => transportSentence(h) + (choice !== current && h.connection === 'connected' ? ' The new setting applies from its next connection.' : ''),
    );
  };

  return (
    <div className="host-transport-block">
      <div className="host-transport" data-testid="host-transport">
        <span className="host-transport-text">
          <span className="host-transport-kind">{label}</span>
          {why ? <span className="muted">: {why}</span> : null}
        </span>
        <button
          type="button"
          ref={opener}
          disabled={action.pending !== null}
          aria-expanded={editing}
          aria-controls={editing ? formId : undefined}
          aria-label={`Transport of ${host.id}`}
          onClick={() => (editing ? close() : open())}
        >
          Transport…
        </button>
      </div>
      {editing ? (
        <form
          id={formId}
          className="form transport-form"
          aria-label={`Transport for ${host.id}`}
          onSubmit={save}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              close();
            }
          }}
        >
          <fieldset className="choices" disabled={action.pending !== null}>
            <legend>Transport for {host.id}</legend>
            {CHOICES.map((c) => (
              <label key={c.value} className="choice">
                <input
                  ref={c.value === current ? first : undefined}
                  type="radio"
                  name={`transport-${host.id}`}
                  value={c.value}
                  checked={choice === c.value}
                  onChange={() => setChoice(c.value)}
                />
                <span>
                  {c.label} <span className="muted">— {c.help}</span>
                  {c.value === current ? <span className="muted"> (now)</span> : null}
                </span>
              </label>
            ))}
          </fieldset>
          <p className="muted small">The next connection uses it; a host in use keeps its transport until its kernels are detached.</p>
          {/* A refusal shows here, beside the choice it refused, not below the fold of the popup. */}
          <ActionStatus action={action} />
          <div className="button-row">
            <button type="submit" className="primary" disabled={action.pending !== null}>
              Set transport
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <ActionStatus action={action} />
      )}
    </div>
  );
}
