// The retry rules both transports share, on fake timers.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { ReconnectPolicy } from './reconnect-policy';

const LAST = { code: 'HOST_DOWN' as const, host: 'gpu', message: 'Connection refused.' };

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

it('backs off doubling to its cap, answers at once meanwhile, and starts over after a success', () => {
  const tries: number[] = [];
  const p = new ReconnectPolicy({ id: 'gpu', backoff: { initialMs: 100, maxMs: 300 }, retry: () => (tries.push(Date.now()), true) });
  const t0 = Date.now();
  p.failed(true, false);
  expect(p.refusal(LAST)?.message).toBe('gpu is unreachable (Connection refused); retrying in the background.');
  vi.advanceTimersByTime(100);
  p.failed(true, false);
  vi.advanceTimersByTime(200);
  p.failed(true, false);
  vi.advanceTimersByTime(300);
  p.failed(true, false);
  vi.advanceTimersByTime(300);
  expect(tries.map((t) => t - t0)).toEqual([100, 300, 600, 900]);
  p.succeeded();
  p.failed(true, false);
  vi.advanceTimersByTime(100);
  expect(tries).toHaveLength(5);
  expect(p.refusal(null)).toBeNull();
});

it('waits for the user after a try that asked them, until reset; a drop retries at once; stop ends it', () => {
  let tries = 0;
  const p = new ReconnectPolicy({ id: 'gpu', retry: () => (tries++, true) });
  p.failed(true, true);
  vi.advanceTimersByTime(60_000);
  expect(tries).toBe(0);
  expect(p.refusal(LAST)?.message).toBe('gpu waits for you to reconnect it (Connection refused).');
  p.reset();
  expect(p.refusal(LAST)).toBeNull();
  p.dropped();
  vi.advanceTimersByTime(0);
  expect(tries).toBe(1);
  p.stop();
  p.dropped();
  vi.advanceTimersByTime(60_000);
  expect(tries).toBe(1);
});

it('does not lengthen the backoff for a timer that tried nothing', () => {
  let go = false;
  const tries: number[] = [];
  const p = new ReconnectPolicy({ id: 'gpu', backoff: { initialMs: 100, maxMs: 1000 }, retry: () => (go ? (tries.push(Date.now()), true) : false) });
  const t0 = Date.now();
  p.failed(true, false);
  vi.advanceTimersByTime(100); // not wanted: nothing tried
  go = true;
  p.failed(true, false);
  vi.advanceTimersByTime(100);
  expect(tries.map((t) => t - t0)).toEqual([200]);
});
