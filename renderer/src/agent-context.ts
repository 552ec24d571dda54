import { createContext, useContext } from 'react';
import type { AgentAction } from './agent-state';
import type { KtrayClient } from './ktray-client';

export interface AgentContextValue {
  client: KtrayClient;
  apply(action: AgentAction): void;
}

export const AgentContext = createContext<AgentContextValue | null>(null);

export function useAgent(): AgentContextValue {
  const value = useContext(AgentContext);
  if (!value) throw new Error('useAgent outside <AgentContext.Provider>');
  return value;
}
