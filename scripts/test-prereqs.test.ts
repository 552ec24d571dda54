// The one list of Debian packages the suite runs against: every name is a
// package apt knows here (a typo would make `npm test` stop on every machine),
// and on a machine that has them all the check passes silently.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('./test-prereqs.mjs', import.meta.url));
const lines = execFileSync(process.execPath, [SCRIPT, '--list'], { encoding: 'utf8' }).trim().split('\n');
const listed = lines.map((l) => l.split(/\s+/)[0]!);

describe('scripts/test-prereqs.mjs', () => {
  it('lists packages apt can install, each once', () => {
    expect(listed.length).toBeGreaterThan(10);
    expect(new Set(listed).size).toBe(listed.length);
    const policy = execFileSync('apt-cache', ['policy', ...listed], { encoding: 'utf8' });
    const candidates = new Map([...policy.matchAll(/^(\S+):\n(?:\s+.*\n)*?\s+Candidate: (\S+)/gm)].map((m) => [m[1]!, m[2]!]));
    expect(listed.filter((p) => !candidates.has(p) || candidates.get(p) === '(none)')).toEqual([]);
  });

  it('includes the packages the suite needs today, with a reason each', () => {
    expect(lines.filter((l) => !/^\S+\s+\S.{10,}/.test(l))).toEqual([]);
    for (const p of ['openssh-server', 'openssh-client', 'python3-ipykernel', 'python3-jupyter-client', 'jupyter-console', 'chromium', 'xvfb', 'iproute2', 'socat']) expect(listed).toContain(p);
  });

  it('passes silently where everything is installed (npm test got this far)', () => {
    const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });
});
