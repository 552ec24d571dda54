// The POSIX sh (and Python) that Kernel Tray runs on hosts. Each is one
// round trip; values enter scripts only through quote().
import { randomBytes } from 'node:crypto';
import { quote } from '../util/shell-quote';

/** Folders where Jupyter puts connection files, whatever its version or platform. */
const RUNTIME_DIRS = [
  '${JUPYTER_RUNTIME_DIR:-}',
  '${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/jupyter}',
  '/run/user/$(id -u)/jupyter',
  '${JUPYTER_DATA_DIR:+$JUPYTER_DATA_DIR/runtime}',
  '${XDG_DATA_HOME:-$HOME/.local/share}/jupyter/runtime',
  '$HOME/Library/Jupyter/runtime',
];

export interface DiscoveredFile {
  dir: string;
  path: string;
  mtime: number;
  text: string;
}

export interface DiscoveredProcess {
  pid: number;
  elapsedSec: number;
  args: string;
}

export interface Discovery {
  now: number;
  home: string;
  files: DiscoveredFile[];
  processes: DiscoveredProcess[];
}

/** Lists every connection file and every process of the user, in one go. */
export function discoveryScript(extraDirs: string[] = []): { script: string; marker: string } {
  const marker = `@@KT${randomBytes(6).toString('hex')}`;
  const dirs = [...RUNTIME_DIRS.map((d) => `"${d}"`), ...extraDirs.map(quote)].join(' ');
  const script = `
m=${marker}
printf '%s now %s\\n' "$m" "$(date +%s)"
printf '%s home %s\\n' "$m" "$HOME"
seen=
for d in ${dirs}; do
  [ -n "$d" ] && [ -d "$d" ] || continue
  r=$(cd "$d" 2>/dev/null && pwd -P) || continue
  case " $seen " in *" $r "*) continue;; esac
  seen="$seen $r"
  for f in "$r"/kernel-*.json; do
    [ -f "$f" ] || continue
    t=$(stat -c %Y "$f" 2>/dev/null || stat -f %m "$f" 2>/dev/null || echo 0)
    printf '%s file %s %s\\n' "$m" "$t" "$f"
    head -c 65536 "$f" 2>/dev/null
    printf '\\n'
  done
done
printf '%s ps\\n' "$m"
ps -ww -u "$(id -u)" -o pid= -o etime= -o args= 2>/dev/null
printf '%s end\\n' "$m"
`;
  return { script, marker };
}

export function parseDiscovery(stdout: string, marker: string): Discovery {
  const result: Discovery = { now: Date.now(), home: '', files: [], processes: [] };
  let current: DiscoveredFile | null = null;
  let inPs = false;
  let ended = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(marker + ' ')) {
      const rest = line.slice(marker.length + 1);
      const [kind, ...words] = rest.split(' ');
      current = null;
      if (kind === 'now') result.now = Number(words[0]) * 1000;
      else if (kind === 'home') result.home = words.join(' ');
      else if (kind === 'file') {
        const path = words.slice(1).join(' ');
        current = { dir: path.slice(0, path.lastIndexOf('/')), path, mtime: Number(words[0]) * 1000, text: '' };
        result.files.push(current);
      } else if (kind === 'ps') inPs = true;
      else if (kind === 'end') ended = true;
      continue;
    }
    if (current) current.text += line + '\n';
    else if (inPs) {
      const m = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line);
      if (m) result.processes.push({ pid: Number(m[1]), elapsedSec: parseElapsed(m[2]), args: m[3] });
    }
  }
  if (!ended) throw new Error('the listing was cut short');
  return result;
}

/** ps's etime: [[DD-]HH:]MM:SS. */
export function parseElapsed(etime: string): number {
  const [days, clock] = etime.includes('-') ? etime.split('-') : ['0', etime];
  const parts = clock.split(':').map(Number);
  while (parts.length < 3) parts.unshift(0);
  const [h, m, s] = parts;
  const total = Number(days) * 86400 + h * 3600 + m * 60 + s;
  return Number.isFinite(total) ? total : 0;
}

/** The process serving a connection file: named in its arguments, or its pid in the file name. */
export function matchProcess(file: string, processes: DiscoveredProcess[]): DiscoveredProcess | null {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const named = processes.filter(
    (p) => p.args.includes(base) && !/--existing|jupyter-(qt)?console|jupyter (qt)?console/.test(p.args),
  );
  const best = named.find((p) => /ipykernel|kernel_launcher|-f /.test(p.args)) ?? named[0];
  if (best) return best;
  const pidName = /^kernel-(\d+)\.json$/.exec(base);
  if (pidName) {
    const p = processes.find((q) => q.pid === Number(pidName[1]));
    if (p && /kernel/.test(p.args)) return p;
  }
  return null;
}

export interface LaunchSpec {
  id: string;
  python?: string;
  kernel?: string;
  cwd?: string;
  /** 'ipc': the kernel listens on unix sockets in its (0700) runtime dir, no TCP port at all. */
  transport?: 'tcp' | 'ipc';
  /** Restart: reuse this connection file (rewritten first from `reuseInfo`). */
  reuseFile?: string;
  reuseInfo?: string;
  startTimeoutSec?: number;
}

export type LaunchOutcome =
  | { ok: true; pid: number; file: string; info: unknown; log: string; runtime_dir: string; python: string }
  | { ok: false; error: string; python?: string; log?: string; code?: number; available?: string[]; cwd?: string; detail?: string };

const LAUNCHER = String.raw`
import json, os, subprocess, sys, time
def out(**k):
    print('@@KTRAY-LAUNCH ' + json.dumps(k)); sys.stdout.flush(); os._exit(0)
def tail(path, n=30):
    try:
        with open(path, 'rb') as f: return b''.join(f.readlines()[-n:]).decode('utf8', 'replace')
    except OSError: return ''
e = os.environ
kid, kernel, cwd = e['KT_ID'], e.get('KT_KERNEL') or '', e.get('KT_CWD') or os.path.expanduser('~')
try:
    from jupyter_core.paths import jupyter_runtime_dir
except ImportError:
    out(ok=False, error='IPYKERNEL_MISSING', python=sys.executable)
extra = {}
if kernel:
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        out(ok=False, error='IPYKERNEL_MISSING', python=sys.executable)
    ksm = KernelSpecManager()
    try:
        spec = ksm.get_kernel_spec(kernel)
    except NoSuchKernel:
        out(ok=False, error='KERNELSPEC_MISSING', available=sorted(ksm.find_kernel_specs()), python=sys.executable)
    argv, extra = list(spec.argv), dict(spec.env or {})
else:
    # find_spec looks without importing (ipykernel takes ~0.1 s to import).
    import importlib.util
    if importlib.util.find_spec('ipykernel') is None:
        out(ok=False, error='IPYKERNEL_MISSING', python=sys.executable)
    argv = [sys.executable, '-m', 'ipykernel_launcher', '-f', '{connection_file}']
cf = e.get('KT_REUSE_FILE')
if cf:
    os.makedirs(os.path.dirname(cf), mode=0o700, exist_ok=True)
    fd = os.open(cf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f: f.write(e['KT_REUSE_INFO'])
    rt = os.path.dirname(cf)
else:
    rt = jupyter_runtime_dir()
    os.makedirs(rt, mode=0o700, exist_ok=True)
    cf = os.path.join(rt, 'kernel-%s.json' % kid)
if not os.path.isdir(cwd):
    out(ok=False, error='CWD_MISSING', cwd=cwd, python=sys.executable)
logdir = os.path.join(e.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'ktray')
os.makedirs(logdir, mode=0o700, exist_ok=True)
logpath = os.path.join(logdir, 'kernel-%s.log' % kid)
env = dict(e)
for k in ('KT_ID', 'KT_KERNEL', 'KT_CWD', 'KT_REUSE_FILE', 'KT_REUSE_INFO', 'KT_TIMEOUT', 'KT_TRANSPORT'): env.pop(k, None)
env.update(extra)
if not env.get('DISPLAY') and not env.get('WAYLAND_DISPLAY') and sys.platform.startswith('linux'):
    # No display on the host: a Qt plot backend would abort the whole kernel.
    env.setdefault('QT_QPA_PLATFORM', 'offscreen')
argv = [a.replace('{connection_file}', cf) for a in argv]
if e.get('KT_TRANSPORT') == 'ipc' and not e.get('KT_REUSE_FILE'):
    argv.append('--transport=ipc')
log = open(logpath, 'ab')
try:
    p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, close_fds=True)
except OSError as err:
    out(ok=False, error='DIED', detail=str(err), log='', python=sys.executable)
def listening(info):
    # A reused file exists before the kernel binds: wait until its heartbeat port answers.
    import socket
    try:
        if info.get('transport') == 'ipc':
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(0.5)
            s.connect('%s-%s' % (info['ip'], info['hb_port']))
            s.close()
        else:
            socket.create_connection((info.get('ip') or '127.0.0.1', info['hb_port']), timeout=0.5).close()
        return True
    except OSError:
        return False
deadline = time.time() + float(e.get('KT_TIMEOUT') or 30)
info = None
while True:
    if p.poll() is not None:
        time.sleep(0.1)
        out(ok=False, error='DIED', code=p.returncode, log=tail(logpath), python=sys.executable)
    if info is None and os.path.exists(cf) and os.path.getsize(cf) > 0:
        try:
            with open(cf) as f: info = json.load(f)
        except ValueError:
            info = None
    if info is not None and (not e.get('KT_REUSE_FILE') or listening(info)):
        break
    if time.time() > deadline:
        out(ok=False, error='TIMEOUT', log=tail(logpath), python=sys.executable)
    time.sleep(0.05)
out(ok=True, pid=p.pid, file=cf, info=info, log=logpath, runtime_dir=rt, python=sys.executable)
`;

/** Starts a kernel in its own session, detached from SSH, and waits for its connection file. */
export function launchScript(spec: LaunchSpec): string {
  const py = spec.python ?? 'python3';
  const env = [
    `KT_ID=${quote(spec.id)}`,
    `KT_KERNEL=${quote(spec.kernel ?? '')}`,
    `KT_CWD=${quote(spec.cwd ?? '')}`,
    `KT_REUSE_FILE=${quote(spec.reuseFile ?? '')}`,
    `KT_REUSE_INFO=${quote(spec.reuseInfo ?? '')}`,
    `KT_TIMEOUT=${quote(String(spec.startTimeoutSec ?? 30))}`,
    `KT_TRANSPORT=${quote(spec.transport ?? 'tcp')}`,
  ].join(' ');
  return `
py=${quote(py)}
if ! command -v "$py" >/dev/null 2>&1; then
  printf '%s\\n' ${quote('@@KTRAY-LAUNCH ' + JSON.stringify({ ok: false, error: 'PYTHON_MISSING', python: py }))}
  exit 0
fi
export ${env}
exec "$py" -c ${quote(LAUNCHER)}
`;
}

export function parseLaunch(stdout: string): LaunchOutcome | null {
  const line = stdout.split('\n').find((l) => l.startsWith('@@KTRAY-LAUNCH '));
  if (!line) return null;
  try {
    return JSON.parse(line.slice('@@KTRAY-LAUNCH '.length)) as LaunchOutcome;
  } catch {
    return null;
  }
}

/**
 * Waits for a process to go after a clean shutdown request, then TERM, then
 * KILL. Prints `gone` or `alive`. The file is removed only when asked.
 */
export function stopScript(pid: number, opts: { graceSec: number; removeFile?: string }): string {
  const remove = opts.removeFile ? `rm -f ${quote(opts.removeFile)}` : ':';
  return `
p=${pid}
# A zombie is gone for our purposes, whenever its parent gets round to reaping it.
alive() { kill -0 "$p" 2>/dev/null && ! ps -o stat= -p "$p" 2>/dev/null | grep -q '^Z'; }
waitgone() { i=0; while alive && [ "$i" -lt "$1" ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done; }
waitgone ${Math.round(opts.graceSec * 10)}
if alive; then kill -TERM "$p" 2>/dev/null; waitgone 30; fi
if alive; then kill -KILL "$p" 2>/dev/null; waitgone 20; fi
if alive; then echo alive; exit 0; fi
${remove}
echo gone
`;
}

export function signalScript(pid: number, signal: 'INT' | 'TERM'): string {
  return `kill -${signal} ${pid} && echo sent\n`;
}

/** What the host offers for a new kernel: kernelspecs and Python environments. */
export function offerScript(): string {
  return String.raw`
printf '@@KTRAY-HOME %s\n' "$HOME"
for py in python3 "$HOME"/miniconda3/bin/python "$HOME"/anaconda3/bin/python "$HOME"/miniforge3/bin/python "$HOME"/mambaforge/bin/python /opt/conda/bin/python \
  "$HOME"/miniconda3/envs/*/bin/python "$HOME"/anaconda3/envs/*/bin/python "$HOME"/miniforge3/envs/*/bin/python /opt/conda/envs/*/bin/python \
  "$HOME"/.venv/bin/python "$HOME"/*/.venv/bin/python "$HOME"/.virtualenvs/*/bin/python "$HOME"/venvs/*/bin/python /usr/bin/python3; do
  case "$py" in */*) [ -x "$py" ] || continue;; *) command -v "$py" >/dev/null 2>&1 || continue; py=$(command -v "$py");; esac
  if "$py" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("ipykernel") is None)' >/dev/null 2>&1; then k=1; else k=0; fi
  printf '@@KTRAY-PY %s %s\n' "$k" "$py"
done
for py in python3 /usr/bin/python3; do
  command -v "$py" >/dev/null 2>&1 || continue
  "$py" -c 'import json; from jupyter_client.kernelspec import KernelSpecManager as K; print("@@KTRAY-SPECS " + json.dumps({n: {"display_name": s["spec"]["display_name"], "language": s["spec"]["language"]} for n, s in K().get_all_specs().items()}))' 2>/dev/null && break
done
`;
}
