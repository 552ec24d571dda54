// CLI start-up: `ktray --version` as a checkout runs it (bin/ktray.js: the
// freshness check, then the bundle), against a bare `node -e 0` on the same
// machine in the same run, interleaved so load drifts hit both alike. The
// bundle run directly shows what the freshness check itself costs.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Measure, rotated, type Results } from '../results';
import { now } from '../util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const COMMANDS = {
  node: ['-e', '0'],
  ktray: ['bin/ktray.js', '--version'],
  bundle: ['dist/cli/ktray.js', '--version'],
} as const;
type Which = keyof typeof COMMANDS;

function spawnMs(which: Which): number {
  const t = now();
  const r = spawnSync(process.execPath, COMMANDS[which], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = now() - t;
  if (r.status !== 0) throw new Error(`node ${COMMANDS[which].join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  if (which !== 'node' && !/^ktray \d/.test(r.stdout)) throw new Error(`node ${COMMANDS[which].join(' ')} printed ${JSON.stringify(r.stdout)}`);
  return ms;
}

export async function startupSection(ctx: { runs: number; log: (line: string) => void }): Promise<NonNullable<Results['startup']>> {
  // The first run rebuilds the bundle if a source changed since the last build: timed apart, not counted.
  const manifest = () => statSync(`${ROOT}dist/cli/.inputs.json`, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const before = manifest();
  const firstMs = spawnMs('ktray');
  const rebuilt = manifest() !== before;
  const m: Record<Which, Measure> = { node: new Measure('ms'), ktray: new Measure('ms'), bundle: new Measure('ms') };
  for (let i = 0; i < ctx.runs; i++) for (const w of rotated<Which>(['node', 'ktray', 'bundle'], i)) m[w].add(spawnMs(w));
  ctx.log(`  startup: ${ctx.runs} runs of each`);
  return { runs: ctx.runs, firstMs, rebuilt, nodeMs: m.node, ktrayMs: m.ktray, bundleMs: m.bundle };
}
