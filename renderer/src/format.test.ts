import { describe, expect, it } from 'vitest';
import type { KernelSummary } from '../../electron/shared/types';
import { formatAge, formatDuration, kernelStateText, shortKernelName } from './format';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [59_999, '59s'],
    [61_000, '1m 1s'],
    [3_600_000 + 20 * 60_000, '1h 20m'],
    [26 * 3_600_000, '1d 2h'],
    [-5, '0s'],
  ])('%d ms → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('formatAge', () => {
  it.each([
    [30_000, '<1m'],
    [125_000, '2m'],
    [3 * 3_600_000 + 60_000, '3h 1m'],
  ])('%d ms → %s', (ms, text) => expect(formatAge(ms)).toBe(text));
});

describe('kernelStateText', () => {
  const base = { state: 'idle', stateSince: 1_000, busySince: null } as KernelSummary;
  it('says how long a kernel has been busy, from busySince', () => {
    expect(kernelStateText({ ...base, state: 'busy', busySince: 2_000 }, 14_000)).toBe('busy 12s');
  });
  it('says how long a kernel has been unresponsive', () => {
    expect(kernelStateText({ ...base, state: 'unresponsive' }, 61_000)).toBe('unresponsive 1m 0s');
  });
  it('says the plain state otherwise', () => {
    expect(kernelStateText(base, 99_000)).toBe('idle');
  });
});

it('shortens uuid kernel names but not pid names', () => {
  expect(shortKernelName('0f3c2a9e-1111-2222-3333-444455556666')).toBe('0f3c2a9e…');
  expect(shortKernelName('12345')).toBe('12345');
});
