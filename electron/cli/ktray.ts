#!/usr/bin/env node
// ktray: the command line face of Kernel Tray. Every command talks to the
// agent over its socket, starting a headless agent when none runs.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { formatError, KtrayError } from '../shared/errors';
import type { RpcAgent } from '../core/rpc/rpc';
import type { AgentEvent, AttachOptions, AuthAnswer, AuthPrompt, Frontend, FrontendWindow, KtrayErrorData, PlotSummary } from '../shared/types';
import { attachAndOpen, planFrontend, requireFrontend, runConsoleHere } from '../core/frontends/frontends';
import { VERSION } from '../shared/version';
import { formatEvent, formatHosts, formatKernels, formatPlot, formatServers } from './format';
import { jobLabel, kernelStateLabel, transportSentence } from '../shared/format';
import { plotFileName } from '../core/plots/plot-cache';
import { launchBrowser, openServerInBrowser } from '../core/frontends/browser';
import { ask, askHidden, confirm } from './prompt';
import { canDraw, detectInline, inlineImage, inlineRows, type InlineTarget, type TerminalFacts } from './inline-image';

const USAGE = `ktray ${VERSION}: remote IPython kernels that feel local

Usage: ktray COMMAND [ARGS] [--json] [--ssh-config FILE]

Kernels (ID is HOST/KERNEL, as \`ktray ls\` prints it):
  ls [HOST]                           list kernels (all hosts used so far, or HOST); exit 3:
                                      a host could not be asked, its kernels are listed
                                      from the last look as unknown
  start HOST [--python PATH | --kernel SPEC] [--cwd DIR] [--transport ipc] [--attach]
                                      start a kernel detached on HOST; prints its ID
                                      (--attach: and attach it, taking attach's options)
                                      (ipc: its channels are unix sockets in your private
                                       runtime dir, not TCP ports other users can reach)
  start HOST --slurm "SBATCH ARGS" [--wait SEC] [--login-node]
                                      on a Slurm cluster's login node: a batch job whose
                                      kernel runs on a compute node (after HOST's default
                                      args; --wait: how long to wait for it to run, 60 s;
                                      --login-node: a plain kernel on the login node)
  attach ID [--frontend qtconsole|console|none] [--new-terminal] [--tcp]
          [--allow-address ADDR]      tunnel the kernel here and open a frontend
                                      (its local end: unix sockets only you can reach;
                                       --tcp: 127.0.0.1 ports, which every local user can
                                       reach, for frontends that need TCP)
                                      (--allow-address: forward to ADDR, an address other
                                       than HOST's loopback that the kernel listens on;
                                       remembered for that kernel)
                                      (ID may be HOST/NOTEBOOK.ipynb: the kernel a server runs for it)
  detach ID                           close its tunnels, remove the local file
  stop ID | interrupt ID | restart ID
  pin ID | unpin ID                   watch live state without attaching
  plots ID [--dir DIR] [--inline] [--follow]
                                      the images any frontend of the kernel showed while
                                      Kernel Tray watched it (attached or pinned), newest
                                      first; --dir: write them to DIR as files and print
                                      their paths; --inline: draw them in this terminal
                                      (kitty, iTerm2, WezTerm; in tmux with
                                      allow-passthrough on); --follow: and each new one,
                                      until Ctrl-C

Jupyter servers (SERVER_ID is HOST/jpserver-PID or HOST/nbserver-PID, as \`ktray servers\` prints it):
  servers [HOST]                      list the Jupyter servers (started by hand or by ktray)
  server start HOST [--cwd DIR] [--app lab|notebook|server] [--python PATH]
                                      start one detached, on HOST's loopback, with a fresh token
  open SERVER_ID [--print]            tunnel it here and open the browser logged in
                                      (--print: print the local URL and the login page instead)
  server close SERVER_ID              close its tunnel (the server keeps running)
  server stop SERVER_ID               shut it down and the kernels it runs

Hosts (local is this computer; others come from ~/.ssh/config):
  hosts [HOST]                        list hosts, their connection state and transport
  hosts HOST --transport auto|ssh2|openssh
                                      go through ssh2 (built in) or your own OpenSSH
                                      client; auto: HOST's ssh config decides (kept)
  hosts HOST --forget-secrets         remove the passwords and key passphrases you chose
                                      to keep in the OS keychain for HOST
  trust HOST [--fingerprint SHA256:...] [--replace]
                                      add HOST's key to known_hosts after you check it
                                      (--replace: its key CHANGED and you know why; the old
                                       lines go as with ssh-keygen -R, FILE.old keeps them)
  reconnect [HOST]                    check connections now (after sleep, network change)
  slurm HOST ["SBATCH ARGS"] | slurm HOST --off
                                      HOST is a Slurm cluster: kernels started there (here,
                                      or from the tray) are batch jobs with these default
                                      args; without args, shows them; --off: plain kernels
  slurm HOST --node-ssh on|off        reach job kernels by SSH to their compute node through
                                      the login node (its sshd forbids forwarding)

Agent:
  events                              stream events (kernel died, host lost/back, ...)
  settings [KEY=VALUE ...]            show or change the agent's settings (longRunSeconds,
                                      terminal, jobWarningMinutes, jobPollSeconds)
  agent start|stop|status             the background agent holding connections and tunnels

Options:
  --json              machine-readable output
  --ssh-config FILE   read hosts from FILE instead of ~/.ssh/config
  -h, --help          this help;  -v, --version  the version`;

const options = {
  json: { type: 'boolean' },
  'ssh-config': { type: 'string' },
  python: { type: 'string' },
  kernel: { type: 'string' },
  cwd: { type: 'string' },
  transport: { type: 'string' },
  'forget-secrets': { type: 'boolean' },
  slurm: { type: 'string' },
  'login-node': { type: 'boolean' },
  wait: { type: 'string' },
  off: { type: 'boolean' },
  'node-ssh': { type: 'string' },
  'sbatch-args': { type: 'string' },
  attach: { type: 'boolean' },
  frontend: { type: 'string' },
  'new-terminal': { type: 'boolean' },
  tcp: { type: 'boolean' },
  'allow-address': { type: 'string' },
  app: { type: 'string' },
  print: { type: 'boolean' },
  fingerprint: { type: 'string' },
  replace: { type: 'boolean' },
  dir: { type: 'string' },
  follow: { type: 'boolean' },
  inline: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type Flags = ReturnType<typeof parse>['values'];
const ownFlags = Object.fromEntries(Object.keys(options).map((k) => [`--${k}`, true]));

/** `ls`: listed, but a host could not be asked, so some kernels are shown as last seen (unknown). */
const EXIT_PARTIAL = 3;

function parse(argv: string[]) {
  return parseArgs({ args: withArgStrings(argv), options, allowPositionals: true, strict: true });
}

/**
 * sbatch arguments are one string that starts with a dash (`--slurm
 * "--partition=gpu"`, `ktray slurm HOST "--time=4:00:00"`), which parseArgs
 * would take for an option of ours: joined to their option here.
 */
function withArgStrings(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--slurm' && i + 1 < argv.length) {
      out.push(`--slurm=${argv[++i]}`);
    } else if (argv[0] === 'slurm' && i === 2 && a.startsWith('-') && !(a in ownFlags)) {
      out.push(`--sbatch-args=${a}`);
    } else {
      out.push(a);
    }
  }
  return out;
}

function usageError(message: string): never {
  throw new KtrayError({ code: 'USAGE', message, hint: 'Run `ktray --help` for usage.' });
}

function arg(positionals: string[], index: number, name: string): string {
  const v = positionals[index];
  if (!v) usageError(`Missing ${name}.`);
  return v;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    usageError((err as Error).message);
  }
  const { values: flags, positionals } = parsed;
  if (flags.version) return out(flags, { version: VERSION }, `ktray ${VERSION}`);
  const [command, ...rest] = positionals;
  if (flags.help || !command) {
    process.stdout.write(USAGE + '\n');
    return command || flags.help ? 0 : 2;
  }
  if (command === 'agent') {
    const sub = rest[0] ?? 'status';
    // Loaded only for commands that talk to an agent: its RPC library alone costs ~50 ms of start-up.
    const { agentCommand, runAgentForeground } = await import('./agent-process');
    if (sub === 'run') return runAgentForeground({ sshConfigFile: flags['ssh-config'] });
    const result = await agentCommand(sub, { sshConfigFile: flags['ssh-config'] });
    return out(flags, result.json, result.text);
  }
  const interactive = Boolean(process.stdin.isTTY);
  const { ensureAgent } = await import('./agent-process');
  const agent = await ensureAgent({
    sshConfigFile: flags['ssh-config'],
    askPassphrase: interactive ? askOnTerminal : undefined,
  });
  try {
    return await run(agent, command, rest, flags);
  } finally {
    agent.dispose();
  }
}

/**
 * A key's passphrase, a password or a server's own prompt (shown as ssh shows it), typed here;
 * then, for a password or a passphrase where a keychain is there, whether to keep it.
 */
async function askOnTerminal(p: AuthPrompt): Promise<AuthAnswer | null> {
  const answer = await askTyped(p);
  if (answer === null || !p.keep) return answer;
  if (!p.keep.offered) {
    process.stderr.write(`${p.keep.reason}\n`);
    return answer;
  }
  const keep = await confirm(`Keep it in ${p.keep.keychain} for next time? [y/N] `);
  return { answer, keep };
}

function askTyped(p: AuthPrompt): Promise<string | null> {
  // Control characters from the server are not ours to send to the terminal.
  const clean = (t: string) => t.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
  // Above the question: the server's name and instructions, or that the last answer was refused.
  for (const t of [p.name, p.instructions]) if (t?.trim()) process.stderr.write(`${clean(t.trim())}\n`);
  if ((p.kind ?? 'passphrase') === 'passphrase') return askHidden(`Passphrase for ${p.keyFile} (${p.host}): `);
  if (p.kind === 'password') return askHidden(`(${p.host}) ${clean(p.prompt ?? 'Password: ')}`);
  const question = `(${p.host}) ${clean(p.prompt ?? '')}`;
  return p.echo ? ask(question) : askHidden(question);
}

async function run(agent: RpcAgent, command: string, rest: string[], flags: Flags): Promise<number> {
  switch (command) {
    case 'ls': {
      const kernels = await agent.kernels({ host: rest[0], refresh: true });
      const hosts = await agent.hosts({});
      const warnings = hosts.filter((h) => !rest[0] || h.id === rest[0]).flatMap((h) => h.warnings.map((w) => `${h.id}: ${w}`));
      const unreachable = hosts.filter((h) => h.error && (!rest[0] || h.id === rest[0]) && kernels.some((k) => k.host === h.id && k.state === 'unknown'));
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      for (const h of unreachable) process.stderr.write(`warning: ${h.id}'s kernels are shown as last seen, state unknown: ${formatError(h.error!)}\n`);
      out(flags, kernels, formatKernels(kernels, Date.now()));
      // Listed, but not all of it is news: scripts can tell "unreachable, here is what was known" from success and failure.
      return unreachable.length ? EXIT_PARTIAL : 0;
    }
    case 'hosts': {
      if (flags['forget-secrets']) {
        const host = arg(rest, 0, 'HOST');
        const f = await agent.forgetSecrets({ host });
        const text = f.unavailable
          ? `Nothing to forget for ${host}: ${f.unavailable}.`
          : f.removed
            ? `Removed ${f.removed} ${f.removed === 1 ? 'secret' : 'secrets'} kept for ${host} from ${f.keychain}.`
            : `Nothing was kept for ${host} in ${f.keychain}.`;
        return out(flags, f, text);
      }
      if (flags.transport !== undefined) {
        const host = arg(rest, 0, 'HOST');
        const h = await agent.setTransport({ host, transport: flags.transport as 'auto' | 'ssh2' | 'openssh' });
        const undo = h.transport?.setting ? ` \`ktray hosts ${host} --transport auto\` gives the choice back to its ssh config.` : '';
        return out(flags, h, transportSentence(h) + undo);
      }
      const hosts = (await agent.hosts({})).filter((h) => !rest[0] || h.id === rest[0]);
      if (rest[0] && !hosts.length) usageError(`${rest[0]} is not a host Kernel Tray knows (\`ktray hosts\` lists them).`);
      return out(flags, hosts, formatHosts(hosts));
    }
    case 'start': {
      const transport = flags.transport as 'tcp' | 'ipc' | undefined;
      const waitSec = flags.wait === undefined ? undefined : Number(flags.wait);
      if (waitSec !== undefined && !(Number.isFinite(waitSec) && waitSec >= 0)) usageError(`--wait takes a number of seconds, not ${flags.wait}.`);
      if (flags.slurm !== undefined && flags['login-node']) usageError('Give either --slurm or --login-node, not both.');
      const k = await agent.start({
        host: arg(rest, 0, 'HOST'),
        python: flags.python,
        kernel: flags.kernel,
        cwd: flags.cwd,
        transport,
        slurm: flags.slurm,
        loginNode: flags['login-node'],
        waitSec,
      });
      // Nothing asked for: say what Kernel Tray chose (stdout stays the id alone, for scripts).
      if (!flags.python && !flags.kernel && k.launchedWith && !flags.json) process.stderr.write(`Started with ${k.launchedWith}.\n`);
      if (k.state === 'queued' || (k.job && !k.alive)) {
        // Still waiting: say so where a person reads it, keep stdout to the id.
        if (!flags.json) process.stderr.write(`${k.id}: ${kernelStateLabel(k, Date.now())}, ${jobLabel(k, Date.now())}. \`ktray ls ${k.host}\` shows when it runs.\n`);
        if (flags.attach) {
          throw new KtrayError({
            code: 'KERNEL_QUEUED',
            host: k.host,
            message: `${k.id} is not running yet (${kernelStateLabel(k, Date.now())}), so it cannot be attached now; the job stays queued.`,
            hint: `\`ktray attach ${k.id}\` once it runs (\`ktray events\` tells you), or \`ktray stop ${k.id}\` to cancel it.`,
          });
        }
      }
      if (flags.attach) return attach(agent, k.id, flags, { printId: true });
      return out(flags, k, k.id);
    }
    case 'slurm':
      return slurmHost(agent, arg(rest, 0, 'HOST'), flags['sbatch-args'] ?? rest[1], flags);
    case 'attach':
      return attach(agent, arg(rest, 0, 'ID'), flags);
    case 'detach':
    case 'stop':
    case 'interrupt':
    case 'restart': {
      const id = arg(rest, 0, 'ID');
      const k = await agent[command]({ id });
      const said = { detach: 'detached', stop: 'stopped', interrupt: 'interrupted', restart: 'restarted' }[command];
      return out(flags, k, `${k.id} ${said}`);
    }
    case 'pin':
    case 'unpin': {
      const k = await agent.pin({ id: arg(rest, 0, 'ID'), pinned: command === 'pin' });
      return out(flags, k, `${k.id} ${command === 'pin' ? 'pinned' : 'unpinned'}`);
    }
    case 'trust':
      return trust(agent, arg(rest, 0, 'HOST'), flags);
    case 'reconnect': {
      const hosts = await agent.reconnect({ host: rest[0] });
      return out(flags, hosts, formatHosts(hosts));
    }
    case 'events':
      return streamEvents(agent, flags);
    case 'settings':
      return settings(agent, rest, flags);
    case 'plots':
      return plots(agent, arg(rest, 0, 'ID'), flags);
    case 'servers': {
      const servers = await agent.servers({ host: rest[0], refresh: true });
      const hosts = await agent.hosts({});
      for (const h of hosts.filter((x) => !rest[0] || x.id === rest[0])) for (const w of h.warnings) process.stderr.write(`warning: ${h.id}: ${w}\n`);
      return out(flags, servers, formatServers(servers, Date.now()));
    }
    case 'open':
      return openServer(agent, arg(rest, 0, 'SERVER_ID'), flags);
    case 'server':
      return serverCommand(agent, rest, flags);
    default:
      usageError(`Unknown command ${command}.`);
  }
}

async function attach(agent: RpcAgent, id: string, flags: Flags, opts: { printId?: boolean } = {}): Promise<number> {
  const frontend = (flags.frontend ?? 'qtconsole') as Frontend;
  if (!['qtconsole', 'console', 'none'].includes(frontend)) usageError(`--frontend must be qtconsole, console or none, not ${frontend}.`);
  const callerHasTerminal = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !flags.json;
  const place = planFrontend({ frontend, newTerminal: flags['new-terminal'], callerHasTerminal });
  const prefix = opts.printId ? `${id}\n` : '';
  const params: AttachOptions = { id, ...(flags.tcp ? { localTransport: 'tcp' } : {}), ...(flags['allow-address'] !== undefined ? { allowAddress: flags['allow-address'] } : {}) };
  if (place === 'none') {
    const res = await agent.attach(params);
    return out(flags, res, `${prefix}${res.localConnectionFile}`);
  }
  const { terminal, consoleOtherOutput } = await agent.getSettings({});
  if (place === 'here') {
    await requireFrontend('console');
    const res = await agent.attach(params);
    agent.dispose();
    if (prefix) process.stdout.write(prefix);
    return runConsoleHere(res.localConnectionFile, { consoleOtherOutput });
  }
  const res = await attachAndOpen(agent, { ...params, frontend: frontend as FrontendWindow }, { terminal, consoleOtherOutput });
  return out(flags, res, `${prefix}${res.localConnectionFile}\n(${res.launched} opened)`);
}

async function settings(agent: RpcAgent, pairs: string[], flags: Flags): Promise<number> {
  const now = await agent.getSettings({});
  if (!pairs.length) return out(flags, now, Object.entries(now).map(([k, v]) => `${k}=${v}`).join('\n'));
  const patch: Record<string, string | number | boolean> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    if (!(key in now)) usageError(`${pair} is not KEY=VALUE with one of: ${Object.keys(now).join(', ')}.`);
    const value = pair.slice(eq + 1);
    const kind = typeof now[key as keyof typeof now];
    if (kind === 'boolean' && value !== 'true' && value !== 'false') usageError(`${key} is true or false, not ${value}.`);
    patch[key] = kind === 'number' ? Number(value) : kind === 'boolean' ? value === 'true' : value;
  }
  const next = await agent.setSettings(patch);
  return out(flags, next, Object.entries(next).map(([k, v]) => `${k}=${v}`).join('\n'));
}

async function slurmHost(agent: RpcAgent, host: string, args: string | undefined, flags: Flags): Promise<number> {
  if (flags.off && args !== undefined) usageError('Give either sbatch arguments or --off, not both.');
  const nodeSshFlag = flags['node-ssh'];
  if (nodeSshFlag !== undefined && !['on', 'off'].includes(nodeSshFlag)) usageError(`--node-ssh takes on or off, not "${nodeSshFlag}".`);
  if (flags.off && nodeSshFlag !== undefined) usageError('Give either --node-ssh or --off, not both.');
  const nodeWords = (s: { nodeSsh?: boolean }) =>
    s.nodeSsh ? '; kernels are reached by SSH to their compute node, through the login node' : '';
  if (flags.off || args !== undefined || nodeSshFlag !== undefined) {
    const before = (await agent.hosts({})).find((x) => x.id === host)?.scheduler ?? null;
    const nodeSsh = nodeSshFlag !== undefined ? nodeSshFlag === 'on' : (before?.nodeSsh ?? false);
    const h = await agent.setScheduler({ host, scheduler: flags.off ? null : { kind: 'slurm', args: args ?? before?.args ?? '', nodeSsh } });
    return out(flags, h, h.scheduler ? `${host} is a Slurm cluster; kernels started there are batch jobs with: ${h.scheduler.args || '(no default sbatch arguments)'}${nodeWords(h.scheduler)}` : `${host}: kernels started there run on the host itself.`);
  }
  const h = (await agent.hosts({})).find((x) => x.id === host);
  const s = h?.scheduler ?? null;
  return out(flags, s, s ? `${host} is a Slurm cluster; default sbatch arguments: ${s.args || '(none)'}${nodeWords(s)}` : `${host} is not set up as a Slurm cluster (\`ktray slurm ${host} "--partition=..."\` makes it one).`);
}

async function serverCommand(agent: RpcAgent, rest: string[], flags: Flags): Promise<number> {
  const sub = arg(rest, 0, 'a server command (start, stop or close)');
  switch (sub) {
    case 'start': {
      const app = flags.app as 'lab' | 'notebook' | 'server' | undefined;
      if (app !== undefined && !['lab', 'notebook', 'server'].includes(app)) usageError(`--app must be lab, notebook or server, not ${app}.`);
      const s = await agent.startServer({ host: arg(rest, 1, 'HOST'), cwd: flags.cwd, app, python: flags.python });
      for (const w of s.warnings) process.stderr.write(`warning: ${w}\n`);
      return out(flags, s, s.id);
    }
    case 'stop': {
      const id = arg(rest, 1, 'SERVER_ID');
      const going = await agent.serverKernels({ id });
      if (!flags.json) {
        process.stderr.write(
          going.length
            ? `Stopping ${id} stops its ${going.length === 1 ? 'kernel' : `${going.length} kernels`}: ${going.map((k) => `${k.id}${k.notebook ? ` (${k.notebook})` : ''}`).join(', ')}\n`
            : `Stopping ${id} (it runs no kernels).\n`,
        );
      }
      const res = await agent.stopServer({ id });
      const how = { api: 'shut down through its API', signal: 'stopped with signals', stale: 'was not running; its stale file is removed' }[res.how];
      return out(flags, res, `${id} ${how}`);
    }
    case 'close': {
      const s = await agent.closeServer({ id: arg(rest, 1, 'SERVER_ID') });
      return out(flags, s, `${s.id}: tunnel closed (the server keeps running)`);
    }
    default:
      usageError(`Unknown server command ${sub} (use start, stop or close).`);
  }
}

async function openServer(agent: RpcAgent, id: string, flags: Flags): Promise<number> {
  if (flags.print) {
    const opened = await agent.openServer({ id });
    if (opened.note) process.stderr.write(`note: ${opened.note}\n`);
    const login = opened.loginFile ? `\nlog in: ${pathToFileURL(opened.loginFile).href}  (0600; it holds the token)` : '';
    return out(flags, opened, `${opened.localUrl}${login}`);
  }
  const opened = await openServerInBrowser(agent, { id }, (url) => launchBrowser(url));
  if (opened.note) process.stderr.write(`note: ${opened.note}\n`);
  return out(flags, opened, `${opened.localUrl}\n(browser opened)`);
}

async function trust(agent: RpcAgent, host: string, flags: Flags): Promise<number> {
  const key = await agent.hostKey({ host });
  if (key.revoked) {
    throw new KtrayError({
      code: 'HOST_KEY_CHANGED',
      host,
      message: `${host} offers ${key.keyType} key ${key.fingerprint}, which ${key.revoked.file}:${key.revoked.line} marks @revoked. Kernel Tray never trusts a revoked key.`,
      hint: "Ask the host's administrator which key is current.",
    });
  }
  if (key.known && !flags.fingerprint) return out(flags, key, `${host} is already trusted (${key.keyType} ${key.fingerprint}).`);
  const changed = key.changed ?? [];
  const interactive = Boolean(process.stdin.isTTY);
  let fingerprint = flags.fingerprint;
  let replace = false;
  if (changed.length) {
    // As loud as ssh is about it, whatever the flags: the user must see which lines disagree.
    process.stderr.write(
      `@@@ WARNING: THE HOST KEY OF ${host.toUpperCase()} HAS CHANGED @@@\n` +
        `${host} (${key.hostname}:${key.port}) now offers ${key.keyType} key\n  ${key.fingerprint}\n` +
        changed.map((c) => `but ${c.file}:${c.line} holds ${c.keyType} key\n  ${c.fingerprint}\n`).join('') +
        'Someone could be intercepting the connection, or the host was reinstalled.\n',
    );
    const files = [...new Set(changed.map((c) => c.file))];
    const what = `remove the lines for ${key.lookupName ?? host} from ${files.join(', ')} as \`ssh-keygen -R\` does (keeping ${files.map((f) => `${f}.old`).join(', ')}) and trust the new key`;
    if (!flags.replace || !fingerprint) {
      if (!interactive) {
        throw new KtrayError({
          code: 'HOST_KEY_CHANGED',
          host,
          message: `The host key of ${host} has CHANGED (${changed.map((c) => `${c.file}:${c.line}`).join(', ')} ${changed.length === 1 ? 'holds' : 'hold'} another key). Nothing was trusted.`,
          hint: `Only if you know why it changed and ${key.fingerprint} is the key its administrator gives you: \`ktray trust ${host} --replace --fingerprint ${key.fingerprint}\` will ${what}.`,
          detail: { changed, fingerprint: key.fingerprint },
        });
      }
      if (fingerprint && fingerprint !== key.fingerprint) {
        process.stderr.write(`That is not the ${fingerprint} you gave. Nothing was trusted.\n`);
        return 1;
      }
      // Never a default: only the word itself replaces.
      const answer = await ask(`Type "replace" to ${what}: `);
      if (answer.trim() !== 'replace') {
        process.stderr.write('Nothing was trusted; known_hosts is unchanged.\n');
        return 1;
      }
      fingerprint = key.fingerprint;
    }
    replace = true;
  } else if (!fingerprint) {
    if (!interactive) {
      throw new KtrayError({
        code: 'BAD_INPUT',
        host,
        message: `${host} offers ${key.keyType} key ${key.fingerprint}; not trusted without confirmation.`,
        hint: `Check it with the host's administrator, then run \`ktray trust ${host} --fingerprint ${key.fingerprint}\`.`,
      });
    }
    process.stderr.write(`${host} (${key.hostname}:${key.port}) offers ${key.keyType} key\n  ${key.fingerprint}\n`);
    if (!(await confirm(`Add it to ${key.knownHostsFile}? [y/N] `))) {
      process.stderr.write('Nothing was trusted.\n');
      return 1;
    }
    fingerprint = key.fingerprint;
  }
  const trusted = await agent.trust({ host, fingerprint, replace });
  const replaced = (trusted.replaced ?? []).filter((r) => r.lines.length);
  const removed = replaced
    .map((r) => `Removed from ${r.file}: ${r.lines.map((n, i) => `line ${n} (${r.hosts[i]})`).join(', ')}; the file as it was is kept as ${r.backup}.\n`)
    .join('');
  const whole = replaced.some((r) => r.hosts.some((h) => h.includes(','))) ? 'A line that named other hosts too went whole, as with `ssh-keygen -R`.\n' : '';
  return out(flags, trusted, `${removed}${whole}Trusted ${host}: ${trusted.keyType} ${trusted.fingerprint} added to ${trusted.knownHostsFile}.`);
}

/** The terminal's facts for --inline: the environment, and inside tmux what tmux knows of its client. */
function terminalFacts(): TerminalFacts {
  const env = process.env;
  if (!env.TMUX) return { env, tmux: null };
  const tmux = (args: string[]) => spawnSync('tmux', args, { encoding: 'utf8', timeout: 5000 });
  const client = tmux(['display-message', '-p', '#{client_termname}\t#{client_termtype}']);
  const [clientTermName = '', clientTermType = ''] = client.status === 0 ? client.stdout.replace(/\n$/, '').split('\t') : [];
  const shown = tmux(['show-options', '-Apv', 'allow-passthrough']);
  const passthrough =
    shown.status === 0 ? shown.stdout.trim()
    : /invalid option|unknown option/i.test(shown.stderr ?? '') ? null // tmux before 3.3: passthrough always allowed
    : `unknown (tmux show-options said: ${(shown.stderr || String(shown.error ?? '')).trim()})`;
  return { env, tmux: { clientTermName, clientTermType, passthrough } };
}

async function plots(agent: RpcAgent, kernel: string, flags: Flags): Promise<number> {
  let inline: InlineTarget | null = null;
  if (flags.inline) {
    if (flags.json) throw new KtrayError({ code: 'USAGE', message: '--inline draws images in the terminal; --json prints data. Use one of them.' });
    if (!process.stdout.isTTY) {
      throw new KtrayError({ code: 'BAD_INPUT', message: '--inline draws in a terminal, and standard output is not one here.', hint: 'Run it in the terminal itself, or use --dir DIR to write the plots as files.' });
    }
    inline = detectInline(terminalFacts());
  }
  const dir = flags.dir ? path.resolve(flags.dir) : null;
  // Where --inline puts what it cannot draw, when no --dir was given: a private folder of its own.
  let spare: string | null = null;
  const written = new Set<string>();
  const save = async (p: PlotSummary, base64: string, into: string, mode?: number): Promise<string> => {
    const file = path.join(into, plotFileName(p));
    try {
      await mkdir(into, { recursive: true });
      await writeFile(file, Buffer.from(base64, 'base64'), mode === undefined ? {} : { mode });
    } catch (err) {
      throw new KtrayError({ code: 'BAD_INPUT', message: `Could not write plot ${p.id} to ${file}: ${(err as Error).message}`, hint: 'Give --dir a folder you can write to.' });
    }
    return file;
  };
  const write = async (p: PlotSummary): Promise<string | null> => {
    if (!dir || written.has(`${p.id}@${p.version}`)) return null;
    const { plot, base64 } = await agent.plot({ id: p.id });
    const file = await save(plot, base64, dir);
    written.add(`${plot.id}@${plot.version}`);
    return file;
  };
  const draw = async (p: PlotSummary, file: string | null): Promise<void> => {
    const target = inline!;
    const { plot, base64 } = await agent.plot({ id: p.id });
    process.stdout.write(`${formatPlot(plot)}\n`);
    if (canDraw(target.protocol, plot.mime)) {
      process.stdout.write(inlineImage(target, base64, plotFileName(plot), inlineRows(plot.height, process.stdout.rows)));
      if (file) process.stdout.write(file + '\n');
      return;
    }
    const kind = plot.mime === 'image/svg+xml' ? 'an SVG' : 'a JPEG';
    const terminal = target.protocol === 'kitty' ? "kitty's graphics protocol (PNG only)" : "iTerm2's inline images";
    spare ??= dir ?? (await mkdtemp(path.join(tmpdir(), 'ktray-plots-')));
    const at = file ?? (await save(plot, base64, spare, spare === dir ? undefined : 0o600));
    process.stdout.write(`(${kind}, which ${terminal} cannot draw: ${at})\n`);
  };
  const say = async (p: PlotSummary, file: string | null) => {
    if (inline) await draw(p, file);
    else if (flags.json) process.stdout.write(JSON.stringify(file ? { ...p, path: file } : p) + '\n');
    else process.stdout.write((file ?? formatPlot(p)) + '\n');
  };
  // Subscribed before listing, so a plot made in between is not missed (repeats are skipped).
  let chain = Promise.resolve();
  let failed: unknown = null;
  const follow = flags.follow
    ? new Promise<number>((resolve) => {
        agent.onEvent((e: AgentEvent) => {
          if ((e.type !== 'plot-added' && e.type !== 'plot-updated') || e.plot.kernel !== kernel) return;
          chain = chain.then(async () => say(e.plot, await write(e.plot))).catch((err: unknown) => {
            failed = err;
            resolve(1);
          });
        });
        const stop = () => resolve(0);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      })
    : null;
  const list = await agent.plots({ kernel });
  if (!follow && flags.json && !dir) return out(flags, list, '');
  if (!follow && !list.plots.length) {
    process.stderr.write(`No plots of ${kernel} yet: Kernel Tray keeps them while it watches the kernel (ktray attach or ktray pin).\n`);
    return 0;
  }
  for (const p of list.plots) await say(p, await write(p));
  if (!follow) return 0;
  process.stderr.write(flags.json ? '' : `Waiting for new plots of ${kernel} (Ctrl-C to stop)...\n`);
  const code = await follow;
  await chain;
  if (failed) throw failed;
  return code;
}

function streamEvents(agent: RpcAgent, flags: Flags): Promise<number> {
  return new Promise((resolve) => {
    agent.onEvent((event: AgentEvent) => {
      const line = flags.json ? JSON.stringify(event) : formatEvent(event);
      if (line) process.stdout.write(line + '\n');
    });
    process.stderr.write(flags.json ? '' : 'Listening for events (Ctrl-C to stop)...\n');
    const stop = () => resolve(0);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function out(flags: Flags, json: unknown, text: string): number {
  process.stdout.write(flags.json ? JSON.stringify(json, null, 2) + '\n' : text ? text + '\n' : '');
  return 0;
}

function printError(err: unknown, json: boolean): void {
  const data: KtrayErrorData = KtrayError.from(err).toData();
  if (json) process.stdout.write(JSON.stringify({ error: data }, null, 2) + '\n');
  process.stderr.write(`ktray: ${formatError(data)}\n`);
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
    // Open handles (sockets) must not keep a finished command alive.
    if (!(argv[0] === 'agent' && argv[1] === 'run')) setImmediate(() => process.exit(code));
  },
  (err) => {
    printError(err, argv.includes('--json'));
    process.exit(err instanceof KtrayError && err.code === 'USAGE' ? 2 : 1);
  },
);
