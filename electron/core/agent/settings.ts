// The agent's settings (shared by the CLI and the app), validated on the way in.
import { KtrayError } from '../../shared/errors';
import type { AgentSettings } from '../../shared/types';
import type { Persisted } from './persisted';

export class Settings {
  constructor(private readonly persisted: Persisted) {}

  get current(): AgentSettings {
    return this.persisted.state.settings;
  }

  async get(): Promise<AgentSettings> {
    return { ...this.current };
  }

  async set(patch: Partial<AgentSettings>): Promise<AgentSettings> {
    if (patch.longRunSeconds !== undefined && !(typeof patch.longRunSeconds === 'number' && patch.longRunSeconds > 0)) {
      throw new KtrayError({ code: 'BAD_INPUT', message: 'The long-run threshold must be a positive number of seconds.' });
    }
    if (patch.terminal !== undefined && typeof patch.terminal !== 'string') {
      throw new KtrayError({ code: 'BAD_INPUT', message: 'The terminal must be a command line, e.g. `xterm -e`.' });
    }
    for (const key of ['jobWarningMinutes', 'jobPollSeconds'] as const) {
      const v = patch[key];
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) {
        throw new KtrayError({
          code: 'BAD_INPUT',
          message: key === 'jobWarningMinutes' ? 'The job warning must be a positive number of minutes before the time limit.' : 'The queue poll interval must be a positive number of seconds.',
        });
      }
    }
    if (patch.consoleOtherOutput !== undefined && typeof patch.consoleOtherOutput !== 'boolean') {
      throw new KtrayError({ code: 'BAD_INPUT', message: 'Whether consoles show other frontends\' output must be true or false.' });
    }
    this.persisted.state.settings = { ...this.current, ...patch };
    await this.persisted.save();
    return { ...this.current };
  }
}
