import { describe, expect, it } from 'vitest';
import type { AgentHostOptions, HostedAgent } from '../core/agent/agent-host';
import { KtrayError } from '../shared/errors';
import { linkAgent } from './agent-link';
import { FakeAgent } from './test/fixtures';

describe('linkAgent', () => {
  const ask = async () => 'pw';

  it('uses an agent a ktray command already runs, as a client, and never hosts a second one', async () => {
    const cli = Object.assign(new FakeAgent(), { disposed: 0, dispose() { this.disposed++; } });
    const hosted: AgentHostOptions[] = [];
    const connectCalls: unknown[] = [];
    const link = await linkAgent({
      connectAgent: async (o) => {
        connectCalls.push(o);
        return cli;
      },
      hostAgent: async (o) => {
        hosted.push(o);
        throw new Error('must not be called');
      },
      askPassphrase: ask,
    });
    expect(link.mode).toBe('client');
    expect(link.connection).toBe(cli);
    expect(hosted).toEqual([]);
    expect(connectCalls).toEqual([{ home: undefined, askPassphrase: ask }]);
    await link.close();
    expect(cli.disposed).toBe(1);
    expect(cli.methods()).not.toContain('shutdown'); // the CLI's agent keeps running
  });

  it('hosts the agent in electron mode when none answers, and closes it on close', async () => {
    const agent = new FakeAgent();
    let closed = 0;
    const seen: AgentHostOptions[] = [];
    const onShutdown = () => {};
    const link = await linkAgent({
      connectAgent: async () => null,
      hostAgent: async (o): Promise<HostedAgent> => {
        seen.push(o);
        return { connection: agent, socket: '/tmp/s', close: async () => void closed++ };
      },
      home: '/tmp/home',
      askPassphrase: ask,
      onShutdown,
    });
    expect(link.mode).toBe('hosted');
    expect(seen).toEqual([{ mode: 'electron', home: '/tmp/home', sshConfigFile: undefined, askPassphrase: ask, onShutdown }]);
    await link.close();
    expect(closed).toBe(1);
  });

  it('uses the CLI agent that won the race to the socket', async () => {
    const cli = new FakeAgent();
    let attempts = 0;
    const link = await linkAgent({
      connectAgent: async () => (attempts++ === 0 ? null : cli),
      hostAgent: async () => {
        throw new KtrayError({ code: 'AGENT_UNAVAILABLE', message: 'A ktray agent already serves /tmp/s.' });
      },
    });
    expect(link).toMatchObject({ mode: 'client', connection: cli });
  });

  it('passes the hosting error on when no agent can be had at all', async () => {
    await expect(
      linkAgent({
        connectAgent: async () => null,
        hostAgent: async () => {
          throw new KtrayError({ code: 'INTERNAL', message: 'EACCES: /state' });
        },
      }),
    ).rejects.toThrow('EACCES: /state');
  });
});
