"""Starts one kernel detached from SSH and waits until it is up. Run on the host by launch.sh.

Reads its orders from the environment (KT_ID, KT_KERNEL, KT_CWD, KT_REUSE_FILE,
KT_REUSE_INFO, KT_TIMEOUT, KT_TRANSPORT; KT_REUSE_INFO holds a kernel key, so it
travels in the environment, never in an argv) and prints exactly one line,
`@@KTRAY-LAUNCH {json}`: ok with the pid, file and connection info, or an
error code the agent turns into words.
"""
import json
import os
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
    rt = os.path.dirname(cf)
    try:
        os.makedirs(rt, mode=0o700, exist_ok=True)
        fd = os.open(cf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(e['KT_REUSE_INFO'])
    except OSError as err:
        unwritable(cf, err)
else:
    rt = jupyter_runtime_dir()
    try:
        os.makedirs(rt, mode=0o700, exist_ok=True)
    except OSError as err:
        unwritable(rt, err)
    if not os.access(rt, os.W_OK):
        unwritable(rt, PermissionError(13, 'Permission denied'))
    cf = os.path.join(rt, 'kernel-%s.json' % kid)
if not os.path.isdir(cwd):
    out(ok=False, error='CWD_MISSING', cwd=cwd, python=sys.executable)
logdir = os.path.join(e.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'ktray')
logpath = os.path.join(logdir, 'kernel-%s.log' % kid)
try:
    os.makedirs(logdir, mode=0o700, exist_ok=True)
    log = open(logpath, 'ab')
except OSError as err:
    unwritable(logpath, err)
env = dict(e)
for k in ('KT_ID', 'KT_KERNEL', 'KT_CWD', 'KT_REUSE_FILE', 'KT_REUSE_INFO', 'KT_TIMEOUT', 'KT_TRANSPORT'):
    env.pop(k, None)
env.update(extra)
if not env.get('DISPLAY') and not env.get('WAYLAND_DISPLAY') and sys.platform.startswith('linux'):
    # No display on the host: a Qt plot backend would abort the whole kernel.
    env.setdefault('QT_QPA_PLATFORM', 'offscreen')
argv = [a.replace('{connection_file}', cf) for a in argv]
if e.get('KT_TRANSPORT') == 'ipc' and not e.get('KT_REUSE_FILE'):
    argv.append('--transport=ipc')
# The kernel's parent is a small sh (the nanny, in a session of its own) that
# waits for it, so a kernel that exits is reaped at once even where PID 1 does
# not reap orphans (some containers), and `kill -0 PID` never answers for a
# dead kernel. An async list in sh starts with SIGINT ignored (POSIX), which
# would make the kernel uninterruptible: a python trampoline resets it, then
# execs the kernel.
NANNY = '"$@" 9>&- & echo $! >&9; exec 9>&-; wait $!'
RESET = 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])'
r, w = os.pipe()
if w != 9:
    os.dup2(w, 9)
    os.close(w)
try:
    p = subprocess.Popen(['/bin/sh', '-c', NANNY, 'ktray-nanny', sys.executable, '-c', RESET] + argv, cwd=cwd,
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                         start_new_session=True, close_fds=True, pass_fds=(9,))
except OSError as err:
    out(ok=False, error='DIED', detail=str(err), log='', python=sys.executable)
os.close(9)
with os.fdopen(r) as f:
    said = f.read().split()
if not said:
    time.sleep(0.1)
    out(ok=False, error='DIED', code=p.poll(), log=tail(logpath), python=sys.executable)
kernel_pid = int(said[0])


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
        out(ok=False, error='DIED', code=p.returncode, log=tail(logpath), python=sys.executable)
    if info is None and os.path.exists(cf) and os.path.getsize(cf) > 0:
        try:
            with open(cf) as f:
                info = json.load(f)
        except ValueError:
            info = None
    if info is not None and (not e.get('KT_REUSE_FILE') or listening(info)):
        break
    if time.time() > deadline:
        out(ok=False, error='TIMEOUT', log=tail(logpath), python=sys.executable)
    time.sleep(0.05)
def start_time(pid):
    """/proc/PID/stat field 22, so a later signal never reaches another process that got the pid."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(') ', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


out(ok=True, pid=kernel_pid, start=start_time(kernel_pid), file=cf, info=info, log=logpath, runtime_dir=rt, python=sys.executable)
