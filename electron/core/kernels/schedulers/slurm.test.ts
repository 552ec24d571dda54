// Slurm's words, without a cluster: which sbatch arguments Kernel Tray can
// pass, squeue's lines read back, states and reasons. (Slurm itself is tested
// in e2e/slurm.test.ts against a real slurmctld and slurmd.)
import { describe, expect, it } from 'vitest';
import { KtrayError } from '../../../shared/errors';
import { slurm } from './slurm';

function refusal(args: string): KtrayError {
  try {
    slurm.parseArgs(args, 'hpc');
  } catch (err) {
    return err as KtrayError;
  }
  throw new Error(`${args} was accepted`);
}

describe('Slurm.parseArgs', () => {
  it('takes options as sbatch does, values joined or as the next word', () => {
    expect(slurm.parseArgs('--partition=gpu --gres=gpu:1 --time=04:00:00', 'hpc')).toEqual(['--partition=gpu', '--gres=gpu:1', '--time=04:00:00']);
    expect(slurm.parseArgs('-p gpu -t 10 --mem 4G -c4 --exclusive -N 1', 'hpc')).toEqual(['-p', 'gpu', '-t', '10', '--mem', '4G', '-c4', '--exclusive', '-N', '1']);
    expect(slurm.parseArgs(`--comment="my run" -A 'proj x'`, 'hpc')).toEqual(['--comment=my run', '-A', 'proj x']);
    expect(slurm.parseArgs('', 'hpc')).toEqual([]);
  });

  it('refuses what Kernel Tray sets itself or what would replace its job script, saying why', () => {
    expect(refusal('--job-name=mine')).toMatchObject({ code: 'BAD_INPUT', host: 'hpc', message: expect.stringContaining('cannot pass --job-name') });
    expect(refusal('-J mine').message).toContain('-J (--job-name)');
    expect(refusal('--out=x.log').message).toContain('--output'); // sbatch takes unambiguous prefixes
    expect(refusal('-Hp gpu -o x').message).toContain('-o (--output)');
    expect(refusal('--chdir=/x').message).toMatch(/--cwd/);
    expect(refusal('--wrap="python x.py"').message).toMatch(/job script itself/);
    expect(refusal('--wait').message).toMatch(/would not return/);
    expect(refusal('--array=1-4').message).toMatch(/one kernel/);
  });

  it('refuses a word that sbatch would run as the job script', () => {
    expect(refusal('--exclusive train.sh').message).toContain('"train.sh" in the sbatch arguments is not an option');
    expect(refusal('gpu').code).toBe('BAD_INPUT');
  });

  it('says where the quoting is wrong', () => {
    expect(refusal(`--comment='x`).message).toMatch(/unclosed single quote/);
  });
});

describe('Slurm.parseQueue', () => {
  const lines = [
    '12|RUNNING|None|c1|gpu|1:23:45|4:00:00|2:36:15|ktray-aaaa-1',
    '13|PENDING|Priority||gpu|4:00:00|4:00:00|0:00|ktray-bbbb-2',
    '14|TIMEOUT|TimeLimit|c2|gpu|INVALID|1:00|1:00|ktray-cccc-3',
    '15|RUNNING|None|c1|gpu|UNLIMITED|UNLIMITED|1-02:00:00|ktray-dd|with|bars',
  ];

  it("reads Kernel Tray's jobs: id, state, reason, node, partition, time left", () => {
    const q = slurm.parseQueue({ error: null, lines, tails: new Map([['cccc-3', 'Traceback...']]), up: new Map([['aaaa-1', '1 4242']]) });
    expect(q).toEqual({
      ok: true,
      jobs: [
        { jobId: '12', name: 'aaaa-1', state: 'RUNNING', reason: null, node: 'c1', partition: 'gpu', timeLeftSec: 5025, timeLimit: '4:00:00', elapsedSec: 9375, logTail: null, up: true },
        { jobId: '13', name: 'bbbb-2', state: 'PENDING', reason: 'Priority', node: null, partition: 'gpu', timeLeftSec: 14400, timeLimit: '4:00:00', elapsedSec: 0, logTail: null, up: false },
        { jobId: '14', name: 'cccc-3', state: 'TIMEOUT', reason: 'TimeLimit', node: 'c2', partition: 'gpu', timeLeftSec: null, timeLimit: '1:00', elapsedSec: 60, logTail: 'Traceback...', up: false },
        { jobId: '15', name: 'dd|with|bars', state: 'RUNNING', reason: null, node: 'c1', partition: 'gpu', timeLeftSec: null, timeLimit: 'UNLIMITED', elapsedSec: 93600, logTail: null, up: false },
      ],
    });
  });

  it("says why the queue could not be read, in squeue's words", () => {
    expect(slurm.parseQueue({ error: '1', lines: ['squeue: error: Unable to contact slurm controller (connect failure)'], tails: new Map(), up: new Map() })).toEqual({
      ok: false,
      error: 'squeue failed (exit 1): squeue: error: Unable to contact slurm controller (connect failure)',
    });
    expect(slurm.parseQueue({ error: 'no-squeue', lines: [], tails: new Map(), up: new Map() })).toEqual({ ok: false, error: 'there is no squeue command on the host' });
    expect(slurm.parseQueue(null)).toBeNull();
  });

  it("reads how jobs the queue forgot ended from sacct's lines, and says why where sacct cannot tell", () => {
    const q = slurm.parseQueue({
      error: null,
      lines: [],
      tails: new Map(),
      up: new Map(),
      acct: new Map([
        ['812', { error: null, lines: ['812|TIMEOUT|None|0:0'] }],
        ['813', { error: null, lines: ['813|CANCELLED by 1000|None|0:15'] }],
        ['814', { error: null, lines: [] }],
        // What the harness's Slurm says (AccountingStorageType=accounting_storage/none): see e2e/slurm.test.ts.
        ['815', { error: '1', lines: ['Slurm accounting storage is disabled'] }],
        ['816', { error: 'no-sacct', lines: [] }],
        ['817', { error: '1', lines: ['sacct: error: Problem talking to the database: Connection refused'] }],
      ]),
    });
    expect(q).toEqual({
      ok: true,
      jobs: [],
      accounting: new Map([
        ['812', { state: 'TIMEOUT', reason: null, exitCode: '0:0' }],
        ['813', { state: 'CANCELLED', reason: null, exitCode: '0:15' }],
        ['814', { error: 'sacct does not know the job (accounting may keep no record of it)' }],
        ['815', { error: 'the cluster keeps no job accounting (sacct: Slurm accounting storage is disabled)' }],
        ['816', { error: 'there is no sacct command on the host' }],
        ['817', { error: 'sacct failed (exit 1): sacct: error: Problem talking to the database: Connection refused' }],
      ]),
    });
  });
});

describe('Slurm states and reasons', () => {
  it('puts each state in a phase', () => {
    expect(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'TIMEOUT', 'CANCELLED', 'SUSPENDED'].map((s) => slurm.phase(s))).toEqual([
      'waiting', 'starting', 'running', 'ending', 'ended', 'ended', 'waiting',
    ]);
  });

  it('words how a job ended', () => {
    expect(slurm.endedWords('TIMEOUT', 'TimeLimit')).toBe('time limit');
    expect(slurm.endedWords('PREEMPTED', null)).toBe('preempted');
    expect(slurm.endedWords('NODE_FAIL', 'NodeDown')).toBe('node failure');
    expect(slurm.endedWords('CANCELLED', null)).toBe('cancelled (scancel, by you or an administrator)');
    expect(slurm.endedWords('FAILED', 'NonZeroExitCode')).toBe('failed (its batch step exited with an error)');
    expect(slurm.endedWords('FAILED', 'RaisedSignal:9_Killed')).toBe('failed (RaisedSignal:9_Killed)');
    expect(slurm.endedWords('SPECIAL_EXIT', null)).toBe('special exit');
  });
});
