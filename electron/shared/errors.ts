import type { KtrayErrorCode, KtrayErrorData } from './types';

/** An error a user can act on: what failed, on which host, what to do next. */
export class KtrayError extends Error implements KtrayErrorData {
  readonly code: KtrayErrorCode;
  readonly host?: string;
  readonly hint?: string;
  readonly detail?: Record<string, unknown>;

  constructor(data: KtrayErrorData, options?: { cause?: unknown }) {
    super(data.message, options);
    this.name = 'KtrayError';
    this.code = data.code;
    this.host = data.host;
    this.hint = data.hint;
    this.detail = data.detail;
  }

  toData(): KtrayErrorData {
    const data: KtrayErrorData = { code: this.code, message: this.message };
    if (this.host !== undefined) data.host = this.host;
    if (this.hint !== undefined) data.hint = this.hint;
    if (this.detail !== undefined) data.detail = this.detail;
    return data;
  }

  static from(err: unknown): KtrayError {
    if (err instanceof KtrayError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new KtrayError({ code: 'INTERNAL', message }, { cause: err });
  }
}

export function isKtrayErrorData(value: unknown): value is KtrayErrorData {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as KtrayErrorData).code === 'string' &&
    typeof (value as KtrayErrorData).message === 'string'
  );
}

/** One line for a terminal: the message, then the hint. */
export function formatError(err: KtrayErrorData): string {
  return err.hint ? `${err.message}\n  ${err.hint}` : err.message;
}
