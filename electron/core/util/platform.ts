// The one place that asks which platform this is, so tests can switch it.
export type Platform = 'linux' | 'darwin' | 'win32';

let override: Platform | null = null;

export function platform(): Platform {
  if (override) return override;
  const p = process.platform;
  return p === 'darwin' || p === 'win32' ? p : 'linux';
}

/** Tests only: pretend to be another platform; null restores the real one. */
export function setPlatformForTests(p: Platform | null): void {
  override = p;
}
