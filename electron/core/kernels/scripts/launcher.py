"""Starts one kernel detached from SSH and waits until it is up. Run on the host by launch.sh.

Reads its orders from the environment (KT_ID, KT_KERNEL, KT_CWD, KT_REUSE_FILE,
KT_REUSE_INFO, KT_TIMEOUT, KT_TRANSPORT; KT_REUSE_INFO holds a kernel key, so it
travels in the environment, never in an argv) and prints exactly one line,
`@@KTRAY-LAUNCH {json}`: ok with the pid, file and connection info, or an
error code the agent turns into words.
"""
import json
import os
import re
import subprocess
import sys
import time


def out(**k):
    print('@@KTRAY-LAUNCH ' + json.dumps(k))
    sys.stdout.flush()
    os._exit(0)


def unwritable(path, err):
    """A folder or file the kernel needs cannot be made: say which, never a traceback."""
    out(ok=False, error='UNWRITABLE', path=path, detail=err.strerror or str(err), python=sys.executable)


def tail(path, n=30):
    try:
        with open(path, 'rb') as f:
            return b''.join(f.readlines()[-n:]).decode('utf8', 'replace')
    except OSError:
        return ''


# What a Python on the host can do: its runtime dir, ipykernel, and a
# kernelspec. Kernelspecs are looked up as jupyter_client's KernelSpecManager
# does (the first of jupyter_path('kernels') with NAME/kernel.json, names
# lower-cased, odd ones kept as it keeps them; ipykernel's own python3 where no folder has one), without
# importing jupyter_client, which costs about a second on a loaded host.
PROBE = r"""
import json, os, sys
import importlib.util as u


def look(name):
    r = {"exe": sys.executable, "ipykernel": u.find_spec("ipykernel") is not None}
    try:
        from jupyter_core.paths import jupyter_path, jupyter_runtime_dir
        r["runtime"] = jupyter_runtime_dir()
    except Exception:
        return r
    if u.find_spec("jupyter_client") is None:
        return r
    specs = {}
    for d in jupyter_path("kernels"):
        try:
            entries = sorted(os.listdir(d))
        except OSError:
            continue
        for f in entries:
            key = f.lower()
            if key not in specs and os.path.isfile(os.path.join(d, f, "kernel.json")):
                specs[key] = os.path.join(d, f)
    if "python3" not in specs and r["ipykernel"]:
        specs["python3"] = None
    r["specs"] = sorted(specs)
    if name in specs:
        if specs[name] is None:
            loc = u.find_spec("ipykernel").submodule_search_locations
            r["spec"] = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "env": {},
                         "dir": os.path.join(list(loc)[0], "resources") if loc else None}
        else:
            try:
                with open(os.path.join(specs[name], "kernel.json"), encoding="utf-8") as f:
                    s = json.load(f)
                if s.get("argv"):
                    r["spec"] = {"argv": list(s["argv"]), "env": dict(s.get("env") or {}), "dir": specs[name]}
            except (OSError, ValueError, TypeError, AttributeError):
                pass
    return r
"""


def probe(exe, name, here=False):
    if here:
        # The first candidate is the program this launcher runs as (launch.sh
        # execs it): the same interpreter, flags and environment, so no second
        # one to start. (Another candidate naming the same sys.executable may
        # differ: a wrapper script that adds -S, say.)
        try:
            ns = {}
            exec(PROBE, ns)
            return ns['look'](name)
        except Exception as err:
            return {'exe': exe, 'broken': str(err)[:200]}
    try:
        done = subprocess.run([exe, '-c', PROBE + '\nprint(json.dumps(look(sys.argv[1])))', name],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        return json.loads(done.stdout.decode('utf8', 'replace').strip().splitlines()[-1])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired) as err:
        return {'exe': exe, 'broken': str(err)[:200]}


def spec_argv(spec, exe):
    """As jupyter_client does: a kernelspec's `python`/`python3` means the Python that found the spec."""
    argv = list(spec['argv'])
    if argv and re.match(r'^python(\d+(\.\d+)?)?$', argv[0]):
        argv[0] = exe
    return argv


def why_not(r, name):
    if r.get('broken'):
        return 'does not run'
    if 'specs' not in r:
        return 'no jupyter_client' if name else ('no ipykernel' if not r.get('ipykernel') else '')
    if name and name not in r['specs']:
        return 'no kernelspec %s' % name if r.get('ipykernel') else 'no kernelspec %s, no ipykernel' % name
    return 'no ipykernel'


e = os.environ
kid, mode, kernel = e['KT_ID'], e.get('KT_MODE') or 'python', e.get('KT_KERNEL') or ''
cwd = e.get('KT_CWD') or os.path.expanduser('~')
extra = {}
how = ''
used_spec = None
rt = None
if mode == 'python':
    # The Python asked for, in this very process (no probe: the fast path).
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        out(ok=False, error='IPYKERNEL_MISSING', python=sys.executable)
    # find_spec looks without importing (ipykernel takes ~0.1 s to import).
    import importlib.util
    if importlib.util.find_spec('ipykernel') is None:
        out(ok=False, error='IPYKERNEL_MISSING', python=sys.executable)
    exe = sys.executable
    argv = [exe, '-m', 'ipykernel_launcher', '-f', '{connection_file}']
    how = 'python %s' % exe
    if not e.get('KT_REUSE_FILE'):
        rt = jupyter_runtime_dir()
else:
    # A kernelspec (the one asked for, or python3 by default), found by the
    # first Python on the host whose Jupyter knows it, as `jupyter console`
    # would; by default else the first Python that has ipykernel.
    name = kernel or 'python3'
    # In order, up to the first that has it; all of them only when none has.
    seen = []
    for i, c in enumerate(c for c in (e.get('KT_CANDIDATES') or sys.executable).split('\n') if c):
        seen.append(probe(c, name, here=i == 0))
        if seen[-1].get('spec'):
            break
    found = next((r for r in seen if r.get('spec')), None)
    if found:
        exe = found['exe']
        argv, extra = spec_argv(found['spec'], exe), found['spec']['env']
        how = 'kernelspec %s (%s) with %s' % (name, found['spec'].get('dir') or '?', exe)
        used_spec = name
    elif mode == 'auto' and any(r.get('ipykernel') for r in seen):
        found = next(r for r in seen if r.get('ipykernel'))
        exe = found['exe']
        argv = [exe, '-m', 'ipykernel_launcher', '-f', '{connection_file}']
        how = 'python %s (no python3 kernelspec here)' % exe
    else:
        tried = [{'python': r.get('exe'), 'why': why_not(r, kernel)} for r in seen]
        if kernel and any('specs' in r for r in seen):
            out(ok=False, error='KERNELSPEC_MISSING', available=sorted({s for r in seen for s in r.get('specs', [])}), tried=tried, python=sys.executable)
        out(ok=False, error='IPYKERNEL_MISSING', tried=tried, python=tried[0]['python'] if len(tried) == 1 else None)
    if not e.get('KT_REUSE_FILE'):
        rt = found.get('runtime')
        if not rt:
            from jupyter_core.paths import jupyter_runtime_dir
            rt = jupyter_runtime_dir()
cf = e.get('KT_REUSE_FILE')
if cf:
    rt = os.path.dirname(cf)
    try:
        os.makedirs(rt, mode=0o700, exist_ok=True)
        fd = os.open(cf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(e['KT_REUSE_INFO'])
    except OSError as err:
        unwritable(cf, err)
else:
    try:
        os.makedirs(rt, mode=0o700, exist_ok=True)
    except OSError as err:
        unwritable(rt, err)
    if not os.access(rt, os.W_OK):
        unwritable(rt, PermissionError(13, 'Permission denied'))
    cf = os.path.join(rt, 'kernel-%s.json' % kid)
if not os.path.isdir(cwd):
    out(ok=False, error='CWD_MISSING', cwd=cwd, python=exe)
logdir = os.path.join(e.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'ktray')
logpath = os.path.join(logdir, 'kernel-%s.log' % kid)
try:
    os.makedirs(logdir, mode=0o700, exist_ok=True)
    log = open(logpath, 'ab')
except OSError as err:
    unwritable(logpath, err)
env = dict(e)
for k in ('KT_ID', 'KT_MODE', 'KT_KERNEL', 'KT_CANDIDATES', 'KT_CWD', 'KT_REUSE_FILE', 'KT_REUSE_INFO', 'KT_TIMEOUT', 'KT_TRANSPORT'):
    env.pop(k, None)
env.update(extra)
if not env.get('DISPLAY') and not env.get('WAYLAND_DISPLAY') and sys.platform.startswith('linux'):
    # No display on the host: a Qt plot backend would abort the whole kernel.
    env.setdefault('QT_QPA_PLATFORM', 'offscreen')
argv = [a.replace('{connection_file}', cf) for a in argv]
if e.get('KT_TRANSPORT') == 'ipc' and not e.get('KT_REUSE_FILE'):
    argv.append('--transport=ipc')
# @NANNY@ (nanny.py, put here by remote-scripts.ts)


try:
    p, kernel_pid = detach(argv, cwd, log, env)
except OSError as err:
    out(ok=False, error='DIED', detail=str(err), log='', python=exe)
if kernel_pid is None:
    time.sleep(0.1)
    out(ok=False, error='DIED', code=p.poll(), log=tail(logpath), python=exe)


def listening(info):
    """A reused file exists before the kernel binds: wait until its heartbeat port answers."""
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
        out(ok=False, error='DIED', code=p.returncode, log=tail(logpath), python=exe)
    if info is None and os.path.exists(cf) and os.path.getsize(cf) > 0:
        try:
            with open(cf) as f:
                info = json.load(f)
        except ValueError:
            info = None
    if info is not None and (not e.get('KT_REUSE_FILE') or listening(info)):
        break
    if time.time() > deadline:
        out(ok=False, error='TIMEOUT', log=tail(logpath), python=exe)
    time.sleep(0.05)
def start_time(pid):
    """/proc/PID/stat field 22, so a later signal never reaches another process that got the pid."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(') ', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


out(ok=True, pid=kernel_pid, start=start_time(kernel_pid), file=cf, info=info, log=logpath, runtime_dir=rt, python=exe,
    kernelspec=used_spec, how=how)
