// Main side of the window's IPC: every channel of the contract, each refusing
// callers other than our own page in our own window.
import { ipcMain as electronIpcMain, type IpcMain, type IpcMainInvokeEvent } from 'electron';
import type { AgentConnection } from '../shared/agent-api';
import type { AgentEvent } from '../shared/types';
import { EVENT_CHANNEL, createBridgeHandlers, toResult, type BridgeServices } from '../shared/ipc-contract';
import { logger } from '../core/util/logger';
import { isTrustedSender, type SenderFacts } from './navigation-policy';

const log = logger('ipc');

export function senderFacts(event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>): SenderFacts {
  const frame = event.senderFrame;
  return {
    webContentsId: event.sender.id,
    frameUrl: frame ? frame.url : null,
    isMainFrame: frame ? frame.parent === null : false,
  };
}

export interface IpcOptions {
  services: BridgeServices;
  /** Our window's webContents id now (the window may be recreated) and where its page comes from. */
  trusted(): Parameters<typeof isTrustedSender>[1];
  ipcMain?: Pick<IpcMain, 'handle' | 'removeHandler'>;
  warn?: (message: string) => void;
}

/** Registers a handler per channel; returns a function that removes them all. */
export function registerIpc(o: IpcOptions): () => void {
  const ipc = o.ipcMain ?? electronIpcMain;
  const handlers = createBridgeHandlers(o.services);
  const channels = Object.keys(handlers);
  for (const channel of channels) {
    const handler = handlers[channel]!;
    ipc.handle(channel, (event, params: unknown) => {
      const facts = senderFacts(event);
      if (!isTrustedSender(facts, o.trusted())) {
        (o.warn ?? log.warn)(`refused ${channel} from ${facts.frameUrl ?? 'an unknown frame'} (webContents ${facts.webContentsId})`);
        // A rejection, not a Result: whoever this is gets nothing to read.
        throw new Error(`Refused: ${channel} is only served to the Kernel Tray window.`);
      }
      return toResult(() => handler(params));
    });
  }
  return () => {
    for (const channel of channels) ipc.removeHandler(channel);
  };
}

/** Pushes every agent event to the window while it exists; returns the unsubscribe. */
export function forwardEvents(agent: AgentConnection, send: (channel: string, event: AgentEvent) => void): () => void {
  return agent.onEvent((event) => send(EVENT_CHANNEL, event));
}
