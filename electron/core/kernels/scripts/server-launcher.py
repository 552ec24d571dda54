"""Starts one Jupyter server detached from SSH and waits for its server file. Run on the host by launch.sh.

Reads its orders from the environment (KT_ID, KT_APP: lab, notebook, server or
empty for the first installed, KT_CWD, KT_TIMEOUT) and prints exactly one line,
`@@KTRAY-SERVER {json}`: ok with the pid and the server file's text, or an
error code the agent turns into words.

The server is bound to this host's loopback only: a unix socket in the
private runtime dir where the server supports one, else 127.0.0.1. Its token
is made here and handed over in a 0600 file (JUPYTER_TOKEN_FILE) removed once
the server has read it, so it is never in an argv; and a server that is given
its token prints `?token=...` in its log instead of the token.
"""
import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import time


def out(**k):
    print('@@KTRAY-SERVER ' + json.dumps(k))
    sys.stdout.flush()
    os._exit(0)


def tail(path, n=30):
    try:
        with open(path, 'rb') as f:
            return b''.join(f.readlines()[-n:]).decode('utf8', 'replace')
    except OSError:
        return ''


def source_has(module, filename, text):
    """Whether a module's source file mentions a trait, without importing it (importing a server takes a second)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return False
    try:
        with open(os.path.join(list(spec.submodule_search_locations)[0], filename)) as f:
            return text in f.read()
    except OSError:
        return False


os.umask(0o077)
e = os.environ
kid, want, cwd = e['KT_ID'], e.get('KT_APP') or '', e.get('KT_CWD') or os.path.expanduser('~')
MODULES = {'lab': 'jupyterlab', 'notebook': 'notebook', 'server': 'jupyter_server'}
installed = [a for a in ('lab', 'notebook', 'server') if importlib.util.find_spec(MODULES[a]) is not None]
if want and want not in MODULES:
    out(ok=False, error='APP_UNKNOWN', app=want, installed=installed, python=sys.executable)
app = want if want else (installed[0] if installed else None)
if app is None or app not in installed:
    out(ok=False, error='APP_MISSING', app=want, installed=installed, python=sys.executable)
try:
    from jupyter_core.paths import jupyter_runtime_dir
except ImportError:
    out(ok=False, error='APP_MISSING', app=want, installed=installed, python=sys.executable)
if not os.path.isdir(cwd):
    out(ok=False, error='CWD_MISSING', cwd=cwd, python=sys.executable)

# Classic Notebook (< 7) is its own server; Lab, Notebook 7 and jupyter_server run jupyter_server's ServerApp.
classic = app == 'notebook' and source_has('notebook', 'notebookapp.py', 'class NotebookApp')
cls = 'NotebookApp' if classic else 'ServerApp'
sock_ok = source_has('notebook', 'notebookapp.py', 'sock_mode') if classic else source_has('jupyter_server', 'serverapp.py', 'sock_mode')

rt = jupyter_runtime_dir()
logdir = os.path.join(e.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'ktray')
logpath = os.path.join(logdir, 'server-%s.log' % kid)
for d in (rt, logdir):
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
    except OSError as err:
        out(ok=False, error='UNWRITABLE', path=d, detail=err.strerror or str(err), python=sys.executable)
token = secrets.token_hex(24)
token_file = os.path.join(rt, '.ktray-token-%s' % kid)
try:
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(token)
    log = open(logpath, 'ab')
except OSError as err:
    out(ok=False, error='UNWRITABLE', path=rt, detail=err.strerror or str(err), python=sys.executable)

argv = [sys.executable, '-m', MODULES[app], '--no-browser']
sock = os.path.join(rt, 'ktray-%s.sock' % kid[:12])
if sock_ok and len(sock) < 100:
    argv.append('--%s.sock=%s' % (cls, sock))
else:
    # No unix socket: a free port on loopback (the server moves on if it is taken meanwhile).
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    argv += ['--%s.ip=127.0.0.1' % cls, '--%s.port=%d' % (cls, port)]
    sock = ''
if os.geteuid() == 0:
    argv.append('--allow-root')
env = dict(e)
for k in ('KT_ID', 'KT_APP', 'KT_CWD', 'KT_TIMEOUT', 'JUPYTER_TOKEN'):
    env.pop(k, None)
env['JUPYTER_TOKEN_FILE'] = token_file
if not env.get('DISPLAY') and not env.get('WAYLAND_DISPLAY') and sys.platform.startswith('linux'):
    env.setdefault('QT_QPA_PLATFORM', 'offscreen')


def gone():
    try:
        os.unlink(token_file)
    except OSError:
        pass


# @NANNY@ (nanny.py, put here by remote-scripts.ts)


try:
    nanny, pid = detach(argv, cwd, log, env)
except OSError as err:
    gone()
    out(ok=False, error='DIED', detail=str(err), log='', python=sys.executable)
if pid is None:
    gone()
    time.sleep(0.1)
    out(ok=False, error='DIED', code=nanny.poll(), log=tail(logpath), log_path=logpath, app=app, python=sys.executable)


def running():
    """The server still runs: its nanny waits for it and exits with it."""
    return nanny.poll() is None


prefix = 'nbserver' if classic else 'jpserver'
sf = os.path.join(rt, '%s-%d.json' % (prefix, pid))
deadline = time.time() + float(e.get('KT_TIMEOUT') or 60)
text = None
while True:
    if not running():
        gone()
        time.sleep(0.1)
        out(ok=False, error='DIED', code=nanny.returncode, log=tail(logpath), log_path=logpath, app=app, python=sys.executable)
    if os.path.exists(sf):
        try:
            with open(sf) as f:
                text = f.read()
            json.loads(text)
            break
        except ValueError:
            text = None
    if time.time() > deadline:
        gone()
        out(ok=False, error='TIMEOUT', log=tail(logpath), log_path=logpath, app=app, python=sys.executable)
    time.sleep(0.05)
gone()


def start_time(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(') ', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


info = json.loads(text)
out(ok=True, pid=pid, start=start_time(pid), file=sf, text=text, mode=os.stat(sf).st_mode & 0o777,
    dir_mode=os.stat(rt).st_mode & 0o777, log=logpath,
    app=app, python=sys.executable, sock=bool(sock), own_token=info.get('token') == token)
