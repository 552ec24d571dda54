// The agent's remembered state (state.json) as the services share it: each
// service writes only its own part, then saves.
import type { AgentState, StateStore } from './state-store';

export class Persisted {
  constructor(
    private readonly store: StateStore,
    readonly state: AgentState,
  ) {}

  save(): Promise<void> {
    return this.store.save(this.state);
  }
}
