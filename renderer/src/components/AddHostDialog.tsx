import { type ChangeEvent, useEffect, useId, useState } from 'react';
import type { HostSummary, KtrayErrorData, SavedHost } from '../../../electron/shared/types';
import { useAgent } from '../agent-context';
import { useAction } from '../hooks/useAction';
import { toErrorData } from '../ktray-client';
import { Dialog } from './Dialog';
import { ErrorNotice } from './ErrorNotice';
import { HostKeyPrompt, type OfferedKey } from './HostKeyPrompt';

interface Props {
  hosts: HostSummary[];
  onClose(): void;
}

type Stage = { kind: 'form' } | { kind: 'key'; host: string; offered: OfferedKey } | { kind: 'done'; host: string; error: KtrayErrorData | null };

function savedHostOf(form: { name: string; hostname: string; user: string; port: string }): SavedHost {
  const hostname = form.hostname.trim();
  const saved: SavedHost = { id: form.name.trim() || hostname, hostname };
  if (form.user.trim()) saved.user = form.user.trim();
  if (form.port.trim()) saved.port = Number(form.port);
  return saved;
}

/** Pick an ~/.ssh/config entry or type one in; then the host key is checked before anything connects. */
export function AddHostDialog({ hosts, onClose }: Props) {
  const { client, apply } = useAgent();
  const [mode, setMode] = useState<'config' | 'manual'>('config');
  const [aliases, setAliases] = useState<string[] | null>(null);
  const [alias, setAlias] = useState('');
  const [form, setForm] = useState({ name: '', hostname: '', user: '', port: '' });
  const [stage, setStage] = useState<Stage>({ kind: 'form' });
  const loading = useAction();
  const saving = useAction();
  const ids = { alias: useId(), name: useId(), hostname: useId(), user: useId(), port: useId() };
  const listed = new Set(hosts.map((h) => h.id));

  useEffect(() => {
    void loading.run('Reading ~/.ssh/config…', async () => {
      const found = (await client.hosts.list({})).filter((h) => h.source === 'ssh-config').map((h) => h.id);
      setAliases(found);
      setAlias(found.find((a) => !listed.has(a)) ?? found[0] ?? '');
      if (found.length === 0) setMode('manual');
    });
    // Read once per opening of the dialog; `listed` only picks the default.
  }, [client]);

  const portOk = form.port.trim() === '' || (/^\d+$/.test(form.port.trim()) && Number(form.port) > 0 && Number(form.port) < 65536);
  const canSave = mode === 'config' ? alias !== '' : form.hostname.trim() !== '' && portOk;

  const save = () =>
    saving.run('Saving and fetching the host key…', async () => {
      let id: string;
      if (mode === 'config' && listed.has(alias)) {
        id = alias;
      } else {
        const saved = mode === 'config' ? { id: alias, hostname: alias } : savedHostOf(form);
        const summary = await client.hosts.save(saved);
        apply({ type: 'host', host: summary });
        id = summary.id;
      }
      let error: KtrayErrorData | null = null;
      try {
        const key = await client.hosts.hostKey({ host: id });
        if (!key.known) {
          setStage({ kind: 'key', host: id, offered: key });
          return;
        }
        apply({ type: 'hosts', hosts: await client.hosts.reconnect({ host: id }) });
      } catch (err) {
        // Saved all the same: the host row keeps the error and a Reconnect button.
        error = toErrorData(err);
      }
      setStage({ kind: 'done', host: id, error });
    });

  if (stage.kind === 'key') {
    return (
      <Dialog title={stage.offered.changed?.length ? `The host key of ${stage.host} has CHANGED` : `Trust ${stage.host}?`} onClose={onClose}>
        <HostKeyPrompt
          host={stage.host}
          offered={stage.offered}
          autoFocus
          onRefuse={onClose}
          onTrusted={(error) => setStage({ kind: 'done', host: stage.host, error })}
        />
      </Dialog>
    );
  }
  if (stage.kind === 'done') {
    return (
      <Dialog title={`${stage.host} added`} onClose={onClose}>
        {stage.error ? (
          <ErrorNotice error={stage.error} context={`Saved ${stage.host}, but could not connect:`} />
        ) : (
          <p className="note" role="status">
            {stage.host} is trusted and connected.
          </p>
        )}
        <div className="button-row">
          <button type="button" className="primary" onClick={onClose} autoFocus>
            Done
          </button>
        </div>
      </Dialog>
    );
  }

  const busy = saving.pending !== null;
  const field = (key: keyof typeof form) => ({
    value: form[key],
    disabled: busy,
    onChange: (e: ChangeEvent<HTMLInputElement>) => setForm({ ...form, [key]: e.target.value }),
  });
  return (
    <Dialog title="Add a host" onClose={onClose}>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (canSave) void save();
        }}
      >
        <fieldset className="segmented" disabled={busy}>
          <legend className="visually-hidden">Where the host comes from</legend>
          <label className={mode === 'config' ? 'selected' : ''}>
            <input type="radio" name="mode" checked={mode === 'config'} onChange={() => setMode('config')} />
            From ~/.ssh/config
          </label>
          <label className={mode === 'manual' ? 'selected' : ''}>
            <input type="radio" name="mode" checked={mode === 'manual'} onChange={() => setMode('manual')} />
            Enter one
          </label>
        </fieldset>

        {mode === 'config' ? (
          <>
            {loading.pending ? <p className="progress">{loading.pending}</p> : null}
            {loading.error ? <ErrorNotice error={loading.error} context="Could not read ~/.ssh/config:" /> : null}
            {aliases && aliases.length === 0 ? <p className="muted">~/.ssh/config names no hosts. Enter one instead.</p> : null}
            {aliases && aliases.length > 0 ? (
              <>
                <label htmlFor={ids.alias}>Host</label>
                <select id={ids.alias} value={alias} disabled={busy} onChange={(e) => setAlias(e.target.value)}>
                  {aliases.map((a) => (
                    <option key={a} value={a}>
                      {listed.has(a) ? `${a} (already listed)` : a}
                    </option>
                  ))}
                </select>
              </>
            ) : null}
          </>
        ) : (
          <>
            <label htmlFor={ids.hostname}>Hostname</label>
            <input id={ids.hostname} type="text" required spellCheck={false} placeholder="gpu1.example.org" {...field('hostname')} />
            <div className="form-pair">
              <div>
                <label htmlFor={ids.user}>User</label>
                <input id={ids.user} type="text" spellCheck={false} placeholder="as in ssh" {...field('user')} />
              </div>
              <div>
                <label htmlFor={ids.port}>Port</label>
                <input id={ids.port} type="text" inputMode="numeric" placeholder="22" aria-invalid={!portOk} {...field('port')} />
              </div>
            </div>
            {!portOk ? <p className="warning-text small">A port is a number from 1 to 65535.</p> : null}
            <label htmlFor={ids.name}>Name in Kernel Tray</label>
            <input id={ids.name} type="text" spellCheck={false} placeholder={form.hostname || 'same as hostname'} {...field('name')} />
          </>
        )}

        {saving.pending ? (
          <p className="progress" role="status">
            {saving.pending}
          </p>
        ) : null}
        {saving.error ? <ErrorNotice error={saving.error} context="Could not add the host:" /> : null}

        <div className="button-row">
          <button type="submit" className="primary" disabled={busy || !canSave}>
            Add host
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
