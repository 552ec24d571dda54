// The one place that asks which OS we run on, so tests can pretend to be another.

export type Platform = 'darwin' | 'win32' | 'linux';

let override: Platform | null = null;

export function currentPlatform(): Platform {
  if (override) return override;
  const p = process.platform;
  // Everything that is neither macOS nor Windows behaves like Linux here (BSDs run the Linux build).
  return p === 'darwin' || p === 'win32' ? p : 'linux';
}

export const isMac = (p: Platform = currentPlatform()): boolean => p === 'darwin';
export const isWindows = (p: Platform = currentPlatform()): boolean => p === 'win32';
export const isLinux = (p: Platform = currentPlatform()): boolean => p === 'linux';

/** Tests only: act as `p` until called again with null. */
export function setPlatformForTests(p: Platform | null): void {
  override = p;
}
