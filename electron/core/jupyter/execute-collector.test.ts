import { describe, expect, it } from 'vitest';
import { ExecuteCollector } from './execute-collector';
import { makeMessage, newSession } from './message';

const iopub = (type: string, content: object) => makeMessage(type, content, newSession(), 'kernel');

describe('ExecuteCollector', () => {
  it('is done only with both the reply and the idle status, in either order', () => {
    for (const replyFirst of [true, false]) {
      const c = new ExecuteCollector();
      let calls = 0;
      c.onDone = () => calls++;
      const reply = () => c.addReply({ status: 'ok', execution_count: 3 });
      const idle = () => c.addIopub(iopub('status', { execution_state: 'idle' }));
      c.addIopub(iopub('status', { execution_state: 'busy' }));
      if (replyFirst) reply();
      else idle();
      expect(c.done).toBe(false);
      if (replyFirst) idle();
      else reply();
      expect(c.done).toBe(true);
      c.addIopub(iopub('status', { execution_state: 'idle' }));
      expect(calls).toBe(1);
    }
  });

  it('gathers streams, the result and display sizes', () => {
    const c = new ExecuteCollector();
    c.addIopub(iopub('stream', { name: 'stdout', text: 'a\n' }));
    c.addIopub(iopub('stream', { name: 'stderr', text: 'warn\n' }));
    c.addIopub(iopub('stream', { name: 'stdout', text: 'b\n' }));
    c.addIopub(iopub('display_data', { data: { 'text/plain': 'é', 'application/json': { k: 1 } }, metadata: {} }));
    c.addIopub(iopub('execute_result', { data: { 'text/plain': '42' }, execution_count: 7 }));
    c.addReply({ status: 'ok', execution_count: 7 });
    expect(c.toReply()).toEqual({
      status: 'ok',
      executionCount: 7,
      result: '42',
      stdout: 'a\nb\n',
      stderr: 'warn\n',
      displayBytes: 2 + '{"k":1}'.length + 2,
    });
  });

  it('reports errors from iopub, else from the reply', () => {
    const fromIopub = new ExecuteCollector();
    fromIopub.addIopub(iopub('error', { ename: 'NameError', evalue: "name 'x' is not defined", traceback: ['tb'] }));
    fromIopub.addReply({ status: 'error', execution_count: 1, ename: 'NameError', evalue: '?' });
    expect(fromIopub.toReply()).toMatchObject({ status: 'error', ename: 'NameError', evalue: "name 'x' is not defined", traceback: ['tb'] });

    const fromReply = new ExecuteCollector();
    fromReply.addReply({ status: 'error', execution_count: 2, ename: 'KeyboardInterrupt', evalue: '' });
    expect(fromReply.toReply()).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt', evalue: '', traceback: [] });
  });

  it('passes an aborted request through without a count', () => {
    const c = new ExecuteCollector();
    c.addReply({ status: 'aborted' });
    expect(c.toReply()).toMatchObject({ status: 'aborted', executionCount: null, result: null });
    expect(c.toReply().ename).toBeUndefined();
  });
});
