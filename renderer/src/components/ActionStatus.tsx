import type { ActionHandle } from '../hooks/useAction';
import { ErrorNotice } from './ErrorNotice';

/** What an action is doing, what it said when done, or its error (dismissable). */
export function ActionStatus({ action }: { action: ActionHandle }) {
  return (
    <>
      {action.pending ? (
        <p className="progress" role="status">
          {action.pending}
        </p>
      ) : null}
      {action.note ? (
        <p className="note" role="status">
          {action.note}
        </p>
      ) : null}
      {action.error ? <ErrorNotice error={action.error} onDismiss={action.clear} /> : null}
    </>
  );
}
