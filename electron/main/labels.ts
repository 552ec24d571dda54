// The tray's words for states and durations: the ones every face uses.
export { formatDuration, hostStateLabel, kernelStateLabel } from '../shared/format';
import { timeLeftLabel } from '../shared/format';
import type { KernelSummary } from '../shared/types';

/** `c1, 54m left`: a running batch job's node and time left, short enough for a menu line. */
export function jobWhere(k: Pick<KernelSummary, 'job' | 'alive'>, now: number): string {
  const j = k.job;
  if (!j) return '';
  return [j.node ?? `job ${j.jobId}`, k.alive ? timeLeftLabel(j, now) : null].filter(Boolean).join(', ');
}
