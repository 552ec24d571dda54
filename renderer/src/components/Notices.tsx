import type { Notice } from '../agent-state';

interface Props {
  notices: Notice[];
  onDismiss(id: number): void;
}

/** The agent's passing news (a long run finished, a notice); each can be dismissed. */
export function Notices({ notices, onDismiss }: Props) {
  if (notices.length === 0) return null;
  return (
    <ul className="notices" aria-label="Notices" aria-live="polite">
      {notices.map((n) => (
        <li key={n.id} className="notice">
          <span>
            {n.host ? <strong>{n.host}: </strong> : null}
            {n.message}
          </span>
          <button type="button" className="icon-button" aria-label="Dismiss notice" onClick={() => onDismiss(n.id)}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
