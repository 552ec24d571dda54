import type { KtrayBridge } from '../../electron/shared/ipc-contract';

declare global {
  interface Window {
    /** Exposed by the preload (contextBridge); absent when the page is opened on its own. */
    ktray?: KtrayBridge;
  }
}

export {};
