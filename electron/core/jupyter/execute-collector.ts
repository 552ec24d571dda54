// Gathers what one execute_request produces: its shell reply plus the iopub
// messages whose parent is that request. Pure, so it can be tested on its own.
import type { JupyterMessage } from './message';

export interface ExecuteReply {
  status: 'ok' | 'error' | 'aborted';
  executionCount: number | null;
  /** text/plain of the execute_result, if any. */
  result: string | null;
  stdout: string;
  stderr: string;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  /** Total bytes of the `data` bundles of display_data, update_display_data and execute_result. */
  displayBytes: number;
}

function bundleBytes(data: unknown): number {
  if (!data || typeof data !== 'object') return 0;
  let total = 0;
  for (const value of Object.values(data as Record<string, unknown>)) {
    total += Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value) ?? '', 'utf8');
  }
  return total;
}

export class ExecuteCollector {
  private stdout = '';
  private stderr = '';
  private result: string | null = null;
  private displayBytes = 0;
  private error: { ename: string; evalue: string; traceback: string[] } | null = null;
  private reply: Record<string, any> | null = null;
  private idle = false;
  /** Called once, when both the shell reply and the idle status have arrived. */
  onDone: (() => void) | null = null;

  get replied(): boolean {
    return this.reply !== null;
  }

  get done(): boolean {
    return this.reply !== null && this.idle;
  }

  addIopub(msg: JupyterMessage): void {
    const c = msg.content ?? {};
    switch (msg.header.msg_type) {
      case 'stream':
        if (c.name === 'stderr') this.stderr += String(c.text ?? '');
        else this.stdout += String(c.text ?? '');
        break;
      case 'execute_result':
        this.displayBytes += bundleBytes(c.data);
        if (typeof c.data?.['text/plain'] === 'string') this.result = c.data['text/plain'];
        break;
      case 'display_data':
      case 'update_display_data':
        this.displayBytes += bundleBytes(c.data);
        break;
      case 'error':
        this.error = { ename: String(c.ename), evalue: String(c.evalue), traceback: c.traceback ?? [] };
        break;
      case 'status':
        if (c.execution_state === 'idle') {
          this.idle = true;
          this.check();
        }
        break;
    }
  }

  addReply(content: Record<string, any>): void {
    this.reply = content ?? {};
    this.check();
  }

  toReply(): ExecuteReply {
    const r = this.reply ?? {};
    const status: ExecuteReply['status'] = r.status === 'error' || r.status === 'aborted' ? r.status : 'ok';
    const out: ExecuteReply = {
      status,
      executionCount: typeof r.execution_count === 'number' ? r.execution_count : null,
      result: this.result,
      stdout: this.stdout,
      stderr: this.stderr,
      displayBytes: this.displayBytes,
    };
    // The reply carries ename/evalue too, but iopub's error message is the one frontends show.
    const ename = this.error?.ename ?? r.ename;
    if (status === 'error' || this.error) {
      if (ename !== undefined) out.ename = String(ename);
      const evalue = this.error?.evalue ?? r.evalue;
      if (evalue !== undefined) out.evalue = String(evalue);
      out.traceback = this.error?.traceback ?? r.traceback ?? [];
    }
    return out;
  }

  private check(): void {
    if (!this.done || !this.onDone) return;
    const done = this.onDone;
    this.onDone = null;
    done();
  }
}
