import { describe, expect, it } from 'vitest';
import { formatDuration, hostStateLabel, kernelStateLabel } from './labels';
import { T0, host, kernel } from './test/fixtures';

describe('labels', () => {
  it('formats durations for a menu line', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(45_900)).toBe('45s');
    expect(formatDuration(3 * 60_000 + 10_000)).toBe('3m');
    expect(formatDuration(65 * 60_000)).toBe('1h 5m');
    expect(formatDuration(2 * 3_600_000)).toBe('2h');
    expect(formatDuration(51 * 3_600_000)).toBe('2d 3h');
    expect(formatDuration(-5)).toBe('0s');
  });

  it('says how long a kernel has been busy', () => {
    const k = kernel('gpu', 'a', { state: 'busy', busySince: T0 - 3 * 60_000, stateSince: T0 - 3 * 60_000 });
    expect(kernelStateLabel(k, T0)).toBe('busy 3m');
    expect(kernelStateLabel(kernel('gpu', 'a', { state: 'unknown' }), T0)).toBe('unknown');
    expect(kernelStateLabel(kernel('gpu', 'a', { state: 'dead', alive: false }), T0)).toBe('dead');
  });

  it('words host connections', () => {
    expect(hostStateLabel(host('gpu', { connection: 'lost', since: T0 - 120_000 }), T0)).toBe('lost 2m ago');
    expect(hostStateLabel(host('gpu', { connection: 'idle' }), T0)).toBe('not connected');
  });
});
