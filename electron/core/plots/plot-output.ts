// What an iopub message says about plots: pure functions, no state. iopub is a
// broadcast, so the agent's own subscription sees every client's outputs:
// display_data, execute_result and update_display_data (with
// transient.display_id), and execute_input, which gives the code behind them
// (an output's parent_header.msg_id is the request whose execute_input it was).
import { PLOT_MIMES, type PlotMime, type PlotSummary } from '../../shared/types';
import type { JupyterMessage } from '../jupyter/message';

/** Code kept per plot, in characters: enough to recognise a cell, bounded memory. */
export const CODE_LIMIT = 2000;

export interface RequestRef {
  /** The request's msg_id (links outputs to their execute_input). */
  msgId: string | null;
  session: string | null;
  username: string | null;
}

export type PlotOutput =
  | { kind: 'input'; request: RequestRef; code: string; executionCount: number | null }
  | {
      kind: 'image';
      source: PlotSummary['source'];
      request: RequestRef;
      mime: PlotMime;
      otherMimes: PlotMime[];
      data: Buffer;
      displayId: string | null;
    }
  /** An update of a display to something that is no image any more. */
  | { kind: 'not-an-image'; displayId: string };

const OUTPUT_TYPES = new Set(['display_data', 'execute_result', 'update_display_data']);

function requestOf(msg: JupyterMessage): RequestRef {
  const p = msg.parent_header ?? {};
  const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
  return { msgId: str(p.msg_id), session: str(p.session), username: str(p.username) };
}

/** The image in a mime bundle, best type first; svg is text, the others base64. */
export function imageOf(data: unknown): { mime: PlotMime; otherMimes: PlotMime[]; data: Buffer } | null {
  if (!data || typeof data !== 'object') return null;
  const bundle = data as Record<string, unknown>;
  const offered = PLOT_MIMES.filter((m) => typeof bundle[m] === 'string' && (bundle[m] as string).length > 0);
  const mime = offered[0];
  if (!mime) return null;
  const value = bundle[mime] as string;
  const bytes = mime === 'image/svg+xml' ? Buffer.from(value, 'utf8') : Buffer.from(value, 'base64');
  if (bytes.length === 0) return null;
  return { mime, otherMimes: offered.slice(1), data: bytes };
}

/** What this message means for plots; null for the rest (status, stream, ...). */
export function plotOutputOf(msg: JupyterMessage): PlotOutput | null {
  const type = msg.header?.msg_type;
  if (type === 'execute_input') {
    const code = msg.content?.code;
    if (typeof code !== 'string') return null;
    const count = msg.content?.execution_count;
    return { kind: 'input', request: requestOf(msg), code: code.slice(0, CODE_LIMIT), executionCount: Number.isInteger(count) ? count : null };
  }
  if (!OUTPUT_TYPES.has(type)) return null;
  const transient = msg.content?.transient;
  const displayId = transient && typeof transient.display_id === 'string' && transient.display_id ? (transient.display_id as string) : null;
  const image = imageOf(msg.content?.data);
  if (!image) return type === 'update_display_data' && displayId ? { kind: 'not-an-image', displayId } : null;
  return { kind: 'image', source: type as PlotSummary['source'], request: requestOf(msg), displayId, ...image };
}
