// The agent's event stream: every face subscribes to the same one.
import { EventEmitter } from 'node:events';
import type { AgentEventListener } from '../../shared/agent-api';
import type { AgentEvent } from '../../shared/types';
import { errorText, logger } from '../util/logger';

const log = logger('events');

export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  on(listener: AgentEventListener): () => void {
    // A face's listener that throws must not stop the others, nor the agent.
    const safe: AgentEventListener = (event) => {
      try {
        listener(event);
      } catch (err) {
        log.error(`a listener of ${event.type} threw: ${errorText(err)}`);
      }
    };
    this.emitter.on('event', safe);
    return () => this.emitter.off('event', safe);
  }

  emit(event: AgentEvent): void {
    this.emitter.emit('event', event);
  }

  close(): void {
    this.emitter.removeAllListeners();
  }
}
