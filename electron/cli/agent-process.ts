// The background agent for terminal users: found on its socket, started
// detached when absent, run in the foreground by `ktray agent run`.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import path from 'node:path';
import { connectAgent } from '../core/rpc/connect';
import { formatError, KtrayError } from '../shared/errors';
import { defaultHome, ensurePrivateDir, HOME_DIR, socketPath } from '../core/util/paths';
import type { RpcAgent, RpcClientOptions } from '../core/rpc/rpc';
import type { AgentStatus } from '../shared/types';
import { logger } from '../core/util/logger';
import { formatEvent } from './format';

const log = logger('agent');

interface AgentOpts extends RpcClientOptions {
  sshConfigFile?: string;
}

const START_WAIT_MS = 15_000;

/** The running agent, started in the background if needed. */
export async function ensureAgent(opts: AgentOpts): Promise<RpcAgent> {
  const home = defaultHome();
  // Never talk to an agent in a folder someone else owns: it would get our passphrases.
  await ensurePrivateDir(home, HOME_DIR);
  let agent = await connectAgent({ home, askPassphrase: opts.askPassphrase });
  if (!agent) {
    await startBackground(home, opts.sshConfigFile);
    agent = await waitForAgent(home, opts);
  }
  if (opts.sshConfigFile) {
    const status = await agent.status({});
    if (path.resolve(opts.sshConfigFile) !== status.sshConfigFile) {
      agent.dispose();
      throw new KtrayError({
        code: 'BAD_INPUT',
        message: `The running agent reads ${status.sshConfigFile}, not ${path.resolve(opts.sshConfigFile)}.`,
        hint: 'Run `ktray agent stop` first (your kernels keep running), then repeat the command with --ssh-config.',
      });
    }
  }
  return agent;
}

async function waitForAgent(home: string, opts: AgentOpts): Promise<RpcAgent> {
  const deadline = Date.now() + START_WAIT_MS;
  while (Date.now() < deadline) {
    const agent = await connectAgent({ home, askPassphrase: opts.askPassphrase });
    if (agent) return agent;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new KtrayError({
    code: 'AGENT_UNAVAILABLE',
    message: `The ktray agent did not start within ${START_WAIT_MS / 1000} s.`,
    hint: `Its log is ${path.join(home, 'agent.log')}; \`ktray agent run\` runs it in the foreground to see why.`,
  });
}

async function startBackground(home: string, sshConfigFile?: string): Promise<void> {
  await ensurePrivateDir(home, HOME_DIR);
  const log = openSync(path.join(home, 'agent.log'), 'a', 0o600);
  const args = [...process.execArgv, process.argv[1], 'agent', 'run'];
  if (sshConfigFile) args.push('--ssh-config', path.resolve(sshConfigFile));
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: process.env });
  child.unref();
}

export async function runAgentForeground(opts: { sshConfigFile?: string }): Promise<number> {
  // Loaded only here: the agent's own process needs ssh2 and zeromq, a CLI call does not.
  const { hostAgent } = await import('../core/agent/agent-host');
  const hosted = await hostAgent({
    mode: 'headless',
    sshConfigFile: opts.sshConfigFile ? path.resolve(opts.sshConfigFile) : undefined,
    onShutdown: () => process.exit(0),
  });
  hosted.connection.onEvent((e) => {
    if (e.type === 'notice' || e.type === 'kernel-died' || e.type === 'host-lost' || e.type === 'host-back') log.info(formatEvent(e));
  });
  log.info(`ktray agent ${process.pid} serving ${hosted.socket}`);
  const stop = () => void hosted.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return new Promise(() => {});
}

export async function agentCommand(sub: string, opts: AgentOpts): Promise<{ json: unknown; text: string }> {
  const home = defaultHome();
  const running = await connectAgent({ home });
  switch (sub) {
    case 'status': {
      if (!running) return { json: { running: false, socket: socketPath(home) }, text: `No agent running (socket ${socketPath(home)}).` };
      const s: AgentStatus = await running.status({});
      running.dispose();
      const config = s.sshConfigError ? `\nIts ssh config has an error: ${formatError(s.sshConfigError)}` : '';
      return {
        json: { running: true, ...s },
        text: `Agent ${s.pid} (${s.mode}) serving ${s.socket}, up ${Math.round((Date.now() - s.startedAt) / 1000)} s, ${s.attached} attached kernel(s).${config}`,
      };
    }
    case 'start': {
      if (running) {
        const s = await running.status({});
        running.dispose();
        return { json: { running: true, ...s }, text: `Agent ${s.pid} already running.` };
      }
      await startBackground(home, opts.sshConfigFile);
      const agent = await waitForAgent(home, opts);
      const s = await agent.status({});
      agent.dispose();
      return { json: { running: true, ...s }, text: `Agent ${s.pid} started.` };
    }
    case 'stop': {
      if (!running) return { json: { running: false }, text: 'No agent running.' };
      // Stopping must work whatever else is wrong: the pid is only for the message.
      const s = await running.status({}).catch(() => null);
      await running.shutdown({}).catch(() => {});
      running.dispose();
      const who = s ? `Agent ${s.pid}` : 'The agent';
      return { json: { running: false, stopped: s?.pid ?? null }, text: `${who} stopped; remote kernels keep running.` };
    }
    default:
      throw new KtrayError({ code: 'BAD_INPUT', message: `Unknown agent command ${sub}.`, hint: 'Use ktray agent start|stop|status.' });
  }
}
