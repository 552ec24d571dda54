// The app's platform checks go through the core's one switch (electron/core/util/platform.ts),
// so a test that pretends to be macOS does so for the agent and the tray alike.
import { platform, type Platform } from '../core/util/platform';

export { setPlatformForTests, type Platform } from '../core/util/platform';
export const currentPlatform = platform;
export const isMac = (p: Platform = platform()): boolean => p === 'darwin';
export const isWindows = (p: Platform = platform()): boolean => p === 'win32';
export const isLinux = (p: Platform = platform()): boolean => p === 'linux';
