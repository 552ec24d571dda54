import type { KtrayErrorData } from '../../../electron/shared/types';

interface Props {
  error: KtrayErrorData;
  onDismiss?: () => void;
  /** Words before the agent's message, e.g. `Interrupt failed:`. */
  context?: string;
}

/** Remote output and other facts worth a look, without the fingerprint-like noise of objects. */
function detailLines(detail: KtrayErrorData['detail']): [string, string][] {
  if (!detail) return [];
  return Object.entries(detail)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
    .map(([k, v]) => [k, String(v)]);
}

/** An error where it happened: what failed, then what to do next. */
export function ErrorNotice({ error, onDismiss, context }: Props) {
  const lines = detailLines(error.detail);
  return (
    <div className="error-notice" role="alert">
      <div className="error-body">
        <p className="error-message">
          {context ? <strong>{context} </strong> : null}
          {error.message}
        </p>
        {error.hint ? <p className="error-hint">{error.hint}</p> : null}
        {lines.length > 0 ? (
          <details className="error-detail">
            <summary>Details ({error.code})</summary>
            <dl>
              {lines.map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>
                    <pre>{v}</pre>
                  </dd>
                </div>
              ))}
            </dl>
          </details>
        ) : null}
      </div>
      {onDismiss ? (
        <button type="button" className="icon-button" aria-label="Dismiss error" onClick={onDismiss}>
          ×
        </button>
      ) : null}
    </div>
  );
}
