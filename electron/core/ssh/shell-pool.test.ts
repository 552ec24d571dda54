// The pool's bookkeeping when the server refuses sessions, with the refusals
// arriving as ssh2 delivers them when they share one packet: all in one tick.
import { expect, it } from 'vitest';
import type { ClientChannel } from 'ssh2';
import { ShellPool } from './shell-pool';

it('fails every waiting command when the server refuses all sessions at once, none left waiting', async () => {
  const refusals: Array<(e: Error) => void> = [];
  const pool = new ShellPool(() => new Promise<ClientChannel>((_, reject) => refusals.push(reject)));
  const runs = Promise.allSettled([1, 2, 3].map(() => pool.run('echo never')));
  await new Promise((r) => setImmediate(r));
  expect(refusals).toHaveLength(3);
  for (const reject of refusals.splice(0)) reject(new Error('open failed'));
  const outcomes = await runs;
  expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
  for (const o of outcomes) expect((o as PromiseRejectedResult).reason.message).toBe('open failed');
}, 5000);
