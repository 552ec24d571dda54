// Slurm: kernels as batch jobs (`sbatch`, not `srun --pty`, which dies with
// the SSH session holding it). Each job is named ktray-NAME, runs a small
// supervisor as its batch step (slurm-kernel.py), and writes its kernel's
// connection file to the shared home with the node's address; squeue runs in
// the same round trip as discovery. Commands and words only: the agent's jobs
// service decides when to call them.
import { randomBytes } from 'node:crypto';
import { KtrayError } from '../../../shared/errors';
import type { Host } from '../../hosts/host';
import { parseElapsed } from '../discovery';
import { assignments } from '../remote-scripts';
import { quote } from '../../util/shell-quote';
import { ShellWordsError, splitShellWords } from '../../util/shell-words';
import CANCEL_SH from '../scripts/slurm-cancel.sh';
import JOB_SH from '../scripts/slurm-job.sh';
import SUPERVISOR_PY from '../scripts/slurm-kernel.py';
import QUEUE_SH from '../scripts/slurm-queue.sh';
import RESTART_SH from '../scripts/slurm-restart.sh';
import SUBMIT_SH from '../scripts/slurm-submit.sh';
import WAIT_SH from '../scripts/slurm-wait.sh';
import type { AccountedJob, JobPhase, QueuedJob, QueueListing, QueueSections, RestartOutcome, Scheduler, SubmitSpec, Submitted } from './scheduler';

export const JOB_PREFIX = 'ktray-';

/** sbatch options whose value may be the next word (`-p gpu`, `--partition gpu`). */
const SHORT_WITH_VALUE = new Set('aAbcdDeFGiJLMmnNopqStwxBC'.split(''));
const LONG_WITH_VALUE = new Set([
  'account', 'acctg-freq', 'array', 'batch', 'bb', 'bbf', 'begin', 'chdir', 'cluster-constraint', 'clusters', 'comment', 'constraint',
  'container', 'core-spec', 'cores-per-socket', 'cpu-freq', 'cpus-per-gpu', 'cpus-per-task', 'deadline', 'delay-boot', 'dependency',
  'distribution', 'error', 'exclude', 'export-file', 'extra-node-info', 'gid', 'gpu-bind', 'gpu-freq', 'gpus', 'gpus-per-node',
  'gpus-per-socket', 'gpus-per-task', 'gres', 'gres-flags', 'hint', 'input', 'job-name', 'licenses', 'mail-type', 'mail-user',
  'mcs-label', 'mem', 'mem-bind', 'mem-per-cpu', 'mem-per-gpu', 'mincpus', 'network', 'nodefile', 'nodelist', 'nodes', 'ntasks',
  'ntasks-per-core', 'ntasks-per-gpu', 'ntasks-per-node', 'ntasks-per-socket', 'open-mode', 'output', 'partition', 'power', 'priority',
  'profile', 'qos', 'reservation', 'signal', 'sockets-per-node', 'switches', 'thread-spec', 'threads-per-core', 'time', 'time-min',
  'tmp', 'uid', 'wckey',
]);

/** What Kernel Tray sets itself, or what would break the job it submits, and why. */
const RESERVED: Record<string, string> = {
  'job-name': 'Kernel Tray names its jobs ktray-KERNEL, which is how it finds them again',
  output: "the job's output goes to ~/.cache/ktray/slurm-KERNEL.log, whose tail Kernel Tray shows when a job fails",
  error: "the job's output goes to ~/.cache/ktray/slurm-KERNEL.log, whose tail Kernel Tray shows when a job fails",
  'open-mode': "Kernel Tray appends to the job's output file",
  chdir: 'give the working directory with --cwd',
  wrap: 'Kernel Tray writes the job script itself',
  array: 'one job runs one kernel',
  wait: 'sbatch would not return until the job ends',
  'test-only': 'no job would be submitted',
  help: 'it submits nothing',
  usage: 'it submits nothing',
  version: 'it submits nothing',
};
const SHORT_RESERVED: Record<string, string> = { J: 'job-name', o: 'output', e: 'error', D: 'chdir', a: 'array', W: 'wait', h: 'help', V: 'version' };

const WAITING = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SUSPENDED', 'STOPPED']);
const STARTING = new Set(['CONFIGURING']);
const RUNNING = new Set(['RUNNING', 'SIGNALING', 'RESIZING', 'STAGE_OUT']);
const ENDING = new Set(['COMPLETING']);

const ENDED_WORDS: Record<string, string> = {
  TIMEOUT: 'time limit',
  PREEMPTED: 'preempted',
  NODE_FAIL: 'node failure',
  BOOT_FAIL: 'node boot failure',
  CANCELLED: 'cancelled (scancel, by you or an administrator)',
  DEADLINE: 'deadline reached',
  OUT_OF_MEMORY: 'out of memory',
  REVOKED: 'revoked (it ran on another cluster)',
  COMPLETED: 'the kernel exited',
};

export class Slurm implements Scheduler {
  readonly kind = 'slurm' as const;
  readonly label = 'Slurm';

  parseArgs(text: string, host: string): string[] {
    let words: string[];
    try {
      words = splitShellWords(text);
    } catch (err) {
      if (!(err instanceof ShellWordsError)) throw err;
      throw this.badArgs(host, `The sbatch arguments "${text}" have ${err.message}.`, 'Quote as in a shell: --comment="my run".');
    }
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w.startsWith('--') && w.length > 2) {
        const name = w.slice(2).split('=')[0]!;
        // sbatch takes any unambiguous prefix of a long option (`--out` is --output).
        const reserved = Object.keys(RESERVED).find((r) => r === name || (name.length >= 3 && r.startsWith(name) && !LONG_WITH_VALUE.has(name)));
        if (reserved) throw this.reserved(host, `--${reserved}`, RESERVED[reserved]!);
        if (!w.includes('=') && LONG_WITH_VALUE.has(name)) i++;
        continue;
      }
      if (w.startsWith('-') && w.length > 1) {
        for (let j = 1; j < w.length; j++) {
          const c = w[j]!;
          if (SHORT_RESERVED[c]) throw this.reserved(host, `-${c} (--${SHORT_RESERVED[c]})`, RESERVED[SHORT_RESERVED[c]!]!);
          if (SHORT_WITH_VALUE.has(c)) {
            if (j === w.length - 1) i++;
            break;
          }
        }
        continue;
      }
      throw this.badArgs(
        host,
        `"${w}" in the sbatch arguments is not an option: sbatch would run it as the job script instead of Kernel Tray's.`,
        'Give options only, with values joined by = where in doubt (--constraint=a100).',
      );
    }
    if (words.length && words[words.length - 1] === '--') throw this.badArgs(host, 'The sbatch arguments end in `--`.', 'Give options only.');
    return words;
  }

  queueScript(remembered: string[] = []): string {
    const ids = remembered.filter((id) => /^\d+(_\d+)?$/.test(id));
    return `kt_mine=${quote(ids.join(' '))}\n${QUEUE_SH}`;
  }

  parseQueue(q: QueueSections | null): QueueListing | null {
    if (!q) return null;
    if (q.error !== null) {
      const words = q.lines.join('\n').trim();
      return { ok: false, error: q.error === 'no-squeue' ? 'there is no squeue command on the host' : `squeue failed (exit ${q.error})${words ? `: ${words}` : ''}` };
    }
    const jobs: QueuedJob[] = [];
    for (const line of q.lines) {
      const f = line.split('|');
      if (f.length < 9) continue;
      const name = f.slice(8).join('|');
      if (!name.startsWith(JOB_PREFIX)) continue;
      const [jobId, state, reason, node, partition, left, limit, elapsed] = f as [string, string, string, string, string, string, string, string];
      const kernel = name.slice(JOB_PREFIX.length);
      jobs.push({
        jobId,
        name: kernel,
        state,
        reason: reason && reason !== 'None' ? reason : null,
        node: node || null,
        partition: partition || null,
        timeLeftSec: /^[\d:-]+$/.test(left) ? parseElapsed(left) : null,
        timeLimit: limit || null,
        elapsedSec: /^[\d:-]+$/.test(elapsed) ? parseElapsed(elapsed) : null,
        logTail: q.tails.get(kernel) ?? null,
        up: q.up.has(kernel),
      });
    }
    const accounting = new Map<string, AccountedJob>();
    for (const [jobId, a] of q.acct ?? []) {
      if (a.error !== null) {
        const words = a.lines.join(' ').trim();
        accounting.set(jobId, {
          error:
            a.error === 'no-sacct'
              ? 'there is no sacct command on the host'
              : /accounting storage is disabled/i.test(words)
                ? `the cluster keeps no job accounting (sacct: ${words})`
                : `sacct failed (exit ${a.error})${words ? `: ${words}` : ''}`,
        });
        continue;
      }
      // JobID|State|Reason|ExitCode, the allocation's own line (-X); "CANCELLED by 1000" is CANCELLED.
      const f = a.lines.find((l) => l.split('|')[0] === jobId)?.split('|');
      if (!f || f.length < 4) {
        accounting.set(jobId, { error: 'sacct does not know the job (accounting may keep no record of it)' });
        continue;
      }
      accounting.set(jobId, { state: f[1]!.split(' ')[0]!, reason: f[2] && f[2] !== 'None' ? f[2] : null, exitCode: f[3] || null });
    }
    return accounting.size ? { ok: true, jobs, accounting } : { ok: true, jobs };
  }

  phase(state: string): JobPhase {
    if (WAITING.has(state)) return 'waiting';
    if (STARTING.has(state)) return 'starting';
    if (RUNNING.has(state)) return 'running';
    if (ENDING.has(state)) return 'ending';
    return 'ended';
  }

  endedWords(state: string, reason: string | null): string {
    if (state === 'FAILED') return reason === 'NonZeroExitCode' || !reason ? 'failed (its batch step exited with an error)' : `failed (${reason})`;
    return ENDED_WORDS[state] ?? state.toLowerCase().replace(/_/g, ' ');
  }

  async submit(host: Host, spec: SubmitSpec): Promise<Submitted> {
    const m = `@@KT${randomBytes(6).toString('hex')}`;
    const job = JOB_SH.replace('@SUPERVISOR@', SUPERVISOR_PY.trimEnd()).trimEnd();
    const script =
      assignments({ m, id: spec.name, py: spec.python, kernel: spec.kernel ?? '', cwd: spec.cwd ?? '' }) +
      `set -- ${spec.args.map(quote).join(' ')}\n` +
      SUBMIT_SH.replace('@JOB@', job);
    const res = await host.run(script, { timeoutMs: 120_000 });
    const out = sections(res.stdout, m);
    if (!out) {
      throw new KtrayError({
        code: 'REMOTE_COMMAND_FAILED',
        host: host.id,
        message: `Submitting a kernel job on ${host.id} failed before it could report.`,
        hint: (res.stderr || res.stdout).trim().slice(-800) || undefined,
      });
    }
    if (out.has('no-sbatch')) {
      throw new KtrayError({
        code: 'SCHEDULER_MISSING',
        host: host.id,
        message: `${host.id} has no sbatch command, so it cannot take Slurm jobs (is it the cluster's login node?).`,
        hint: `Start a kernel there without --slurm, or turn Slurm off for it: \`ktray slurm ${host.id} --off\`.`,
      });
    }
    if (out.has('unwritable')) {
      const dir = out.get('unwritable')!.lines[0] ?? '';
      throw new KtrayError({ code: 'KERNEL_START_FAILED', host: host.id, message: `Cannot submit a kernel job on ${host.id}: ${dir} cannot be made private (0700).`, hint: `Check the permissions of ${dir} there.` });
    }
    if (out.has('no-cwd')) {
      throw new KtrayError({ code: 'BAD_INPUT', host: host.id, message: `The working directory ${spec.cwd} does not exist on ${host.id}.`, hint: 'Create it (in the shared home, so the node sees it too), or pass another --cwd.' });
    }
    const sb = out.get('sbatch');
    const files = out.get('files')?.lines ?? [];
    if (!sb) throw new KtrayError({ code: 'REMOTE_COMMAND_FAILED', host: host.id, message: `Submitting a kernel job on ${host.id} was cut short.` });
    const said = sb.lines.join('\n').trim();
    if (sb.word !== '0') {
      throw new KtrayError({
        code: 'JOB_REFUSED',
        host: host.id,
        message: `sbatch on ${host.id} refused the job: ${said || `exit ${sb.word}`}`,
        hint: 'Check the sbatch arguments (`sinfo` there lists partitions, `sacctmgr show assoc user=$USER` accounts and QOS).',
        detail: { sbatch: said },
      });
    }
    const id = said.split('\n').reverse().find((l) => /^\d+(;\S+)?$/.test(l.trim()));
    if (!id) {
      throw new KtrayError({ code: 'REMOTE_COMMAND_FAILED', host: host.id, message: `sbatch on ${host.id} printed no job id: ${said}` });
    }
    return { jobId: id.trim().split(';')[0]!, connectionFile: files[0] ?? '', logFile: files[1] ?? '' };
  }

  async cancel(host: Host, jobId: string, files: string[]): Promise<void> {
    const res = await host.run(`${assignments({ job: jobId })}set -- ${files.map(quote).join(' ')}\n${CANCEL_SH}`, { timeoutMs: 90_000 });
    if (!res.stdout.includes('gone')) {
      const st = /alive (\S+)/.exec(res.stdout)?.[1] ?? 'unknown';
      throw new KtrayError({
        code: 'REMOTE_COMMAND_FAILED',
        host: host.id,
        message: `Slurm job ${jobId} on ${host.id} is still ${st} a minute after scancel.`,
        hint: `\`squeue -j ${jobId}\` there shows it; an administrator may have to clear its node.`,
      });
    }
  }

  async interrupt(host: Host, jobId: string): Promise<boolean> {
    const res = await host.run(`${assignments({ job: jobId })}scancel --signal=INT --batch "$job" && echo sent\n`, { timeoutMs: 30_000 });
    return res.stdout.includes('sent');
  }

  async waitUp(host: Host, job: { jobId: string; logFile: string }, limitSec: number): Promise<'up' | 'ended' | 'waiting'> {
    const limit = String(Math.max(1, Math.round(limitSec * 10)));
    const res = await host.run(assignments({ job: job.jobId, gen: genFile(job.logFile), limit }) + WAIT_SH, { timeoutMs: (limitSec + 60) * 1000 });
    const word = /^(up|ended|waiting)\b/m.exec(res.stdout)?.[1];
    return (word as 'up' | 'ended' | 'waiting' | undefined) ?? 'waiting';
  }

  async restart(host: Host, job: { jobId: string; logFile: string }): Promise<RestartOutcome> {
    const gen = genFile(job.logFile);
    const res = await host.run(assignments({ job: job.jobId, gen }) + RESTART_SH, { timeoutMs: 90_000 });
    const line = res.stdout.split('\n').find((l) => /^(restarted|refused|ended)\b/.test(l)) ?? '';
    if (line.startsWith('restarted')) return { ok: true };
    if (line.startsWith('ended')) return { ok: false, why: `its job ${job.jobId} is not running any more (${line.slice(6).trim()})` };
    return { ok: false, why: line.slice(8).trim() || res.stderr.trim() || 'scancel gave no answer' };
  }

  private badArgs(host: string, message: string, hint: string): KtrayError {
    return new KtrayError({ code: 'BAD_INPUT', host, message, hint });
  }

  private reserved(host: string, option: string, why: string): KtrayError {
    return this.badArgs(host, `Kernel Tray cannot pass ${option} to sbatch: ${why}.`, 'Leave it out of the sbatch arguments.');
  }
}

/** Where a job's supervisor says its kernel is up (`GEN PID`), beside the job's output file. */
export function genFile(logFile: string): string {
  return logFile.replace(/\.log$/, '.gen');
}

/** `$m WORD [ARG]` headers and the raw lines under each, between begin and end. */
function sections(stdout: string, m: string): Map<string, { word: string; lines: string[] }> | null {
  const begin = stdout.indexOf(`\n${m} begin\n`);
  if (begin < 0 || !stdout.includes(`${m} end`)) return null;
  const out = new Map<string, { word: string; lines: string[] }>();
  let current: { word: string; lines: string[] } | null = null;
  for (const line of stdout.slice(begin + 1).split('\n')) {
    if (line.startsWith(`${m} `)) {
      const [kind, ...rest] = line.slice(m.length + 1).split(' ');
      if (kind === 'end') break;
      current = { word: rest.join(' '), lines: [] };
      out.set(kind!, current);
      continue;
    }
    current?.lines.push(line);
  }
  for (const s of out.values()) while (s.lines.length && s.lines[s.lines.length - 1] === '') s.lines.pop();
  return out;
}

export const slurm = new Slurm();
