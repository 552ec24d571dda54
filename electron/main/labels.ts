// The tray's words for states and durations: the ones every face uses.
export { formatDuration, hostStateLabel, kernelStateLabel } from '../shared/format';
