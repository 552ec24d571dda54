import { useEffect, useRef } from 'react';

interface Props {
  question: string;
  confirmLabel: string;
  onConfirm(): void;
  onCancel(): void;
}

/** Asks in place instead of window.confirm; Escape or Cancel backs out. Focus starts on Cancel. */
export function ConfirmInline({ question, confirmLabel, onConfirm, onCancel }: Props) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  useEffect(() => cancelRef.current?.focus(), []);
  return (
    <div
      className="confirm"
      role="group"
      aria-label={question}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onCancel();
        }
      }}
    >
      <span className="confirm-question">{question}</span>
      <button type="button" className="danger" onClick={onConfirm}>
        {confirmLabel}
      </button>
      <button type="button" ref={cancelRef} onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
