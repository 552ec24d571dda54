"""Runs one kernel inside a Slurm batch job, on the compute node: the job's batch step itself
(slurm-job.sh execs it), so `scancel --batch --signal=...` reaches it.

Reads KT_CF (the connection file, in the shared home), KT_GEN (where to say that a kernel is
up), KT_KERNEL (a kernelspec name, or empty for this Python's ipykernel) and KT_CWD.

- Writes the connection file first, unless it exists (a restart): this node's address as the
  login node reaches it, free ports, a fresh key, mode 0600 in a 0700 folder, as jupyter_client's
  KernelManager does (without importing it, which costs a few hundred ms on a node), so any
  kernelspec works, and the key is never in an argv.
- Starts the kernel on it, waits until its heartbeat port answers, then writes `GEN PID` to
  KT_GEN. The login node reads the file, not the kernel's process, which it cannot see.
- SIGINT: passed to the kernel (interrupt). SIGUSR1: restart the kernel on the same file, so
  ports and key stay and the allocation is kept (a clean shutdown_request first, then TERM,
  then KILL). SIGTERM (scancel, the time limit): passed to the kernel; then the file goes.
- Exits with the kernel's status when it ends by itself, after removing the file.
Everything it says goes to the job's output file, prefixed `ktray:`.
"""
import os
import signal
import socket
import subprocess
import sys
import time

e = os.environ
cf, gen_file, kernel, cwd = e['KT_CF'], e['KT_GEN'], e.get('KT_KERNEL') or '', e.get('KT_CWD') or os.path.expanduser('~')
node = socket.gethostname()


def say(msg):
    print('ktray: ' + msg, flush=True)


def fail(msg, code=1):
    say(msg)
    sys.exit(code)


if kernel:
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        fail('jupyter_client is not installed for %s on %s (the compute node), so kernelspec %s cannot be found.' % (sys.executable, node, kernel))
    ksm = KernelSpecManager()
    try:
        spec = ksm.get_kernel_spec(kernel)
    except NoSuchKernel:
        fail('%s (the compute node) has no kernelspec named %s; it has: %s.' % (node, kernel, ', '.join(sorted(ksm.find_kernel_specs())) or 'none'))
    argv, extra_env, kernel_name = list(spec.argv), dict(spec.env or {}), kernel
else:
    import importlib.util
    if importlib.util.find_spec('ipykernel') is None:
        fail('ipykernel is not installed for %s on %s (the compute node). Install it there (`%s -m pip install ipykernel`) or pass another --python.'
             % (sys.executable, node, sys.executable))
    argv, extra_env, kernel_name = [sys.executable, '-m', 'ipykernel_launcher', '-f', '{connection_file}'], {}, 'python3'
def address():
    """This node's address on the route to the submit host (the login node), which therefore reaches it."""
    submit = e.get('SLURM_SUBMIT_HOST') or ''
    if submit:
        try:
            target = socket.getaddrinfo(submit, 22, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(target)
            ip = s.getsockname()[0]
            s.close()
            if not ip.startswith('127.'):
                return ip
        except OSError:
            pass
    try:
        ip = socket.gethostbyname(node)
        if not ip.startswith('127.'):
            return ip
    except OSError:
        pass
    fail('cannot tell which address of %s the login node reaches (SLURM_SUBMIT_HOST=%r does not resolve here, and %s resolves to loopback).' % (node, submit, node))


rt = os.path.dirname(cf)
try:
    os.makedirs(rt, mode=0o700, exist_ok=True)
    os.chmod(rt, 0o700)
except OSError as err:
    fail('cannot make %s private (0700) on %s: %s' % (rt, node, err.strerror or err))
def write_connection_file(ip):
    """Five free ports on `ip` (bound, then released, as jupyter_client picks them) and a fresh key."""
    import json
    import uuid
    socks = []
    for _ in range(5):
        s = socket.socket()
        s.bind((ip, 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    info = dict(zip(('shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'), ports))
    info.update(ip=ip, transport='tcp', key=str(uuid.uuid4()), signature_scheme='hmac-sha256', kernel_name=kernel_name)
    fd = os.open(cf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        json.dump(info, f, indent=1)


if not os.path.exists(cf):
    try:
        write_connection_file(address())
    except OSError as err:
        fail('cannot write the connection file %s on %s: %s' % (cf, node, err.strerror or err))
with open(cf) as f:
    import json
    info = json.load(f)

env = dict(e)
for k in ('KT_CF', 'KT_GEN', 'KT_KERNEL', 'KT_CWD'):
    env.pop(k, None)
env.update(extra_env)
if not env.get('DISPLAY') and not env.get('WAYLAND_DISPLAY'):
    # No display on a compute node: a Qt plot backend would abort the whole kernel.
    env.setdefault('QT_QPA_PLATFORM', 'offscreen')
args = [a.replace('{connection_file}', cf) for a in argv]

pending = []
for signum, what in ((signal.SIGINT, 'int'), (signal.SIGUSR1, 'restart'), (signal.SIGTERM, 'term')):
    signal.signal(signum, lambda _s, _f, what=what: pending.append(what))

generation = 0


def listening():
    try:
        socket.create_connection((info['ip'], info['hb_port']), timeout=0.5).close()
        return True
    except OSError:
        return False


def start():
    """The kernel, its SIGINT at the default (a handled signal resets at exec), output to the job's."""
    global generation
    try:
        p = subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, env=env, close_fds=True)
    except OSError as err:
        fail('cannot start %s on %s: %s' % (args[0], node, err.strerror or err))
    deadline = time.time() + 120
    while p.poll() is None and not listening() and time.time() < deadline:
        time.sleep(0.05)
    if p.poll() is None:
        generation += 1
        tmp = gen_file + '.tmp'
        with open(tmp, 'w') as f:
            f.write('%d %d\n' % (generation, p.pid))
        os.replace(tmp, gen_file)
        say('kernel %d up on %s:%s (pid %d)' % (generation, node, info['hb_port'], p.pid))
    return p


def shutdown_request():
    """A clean shutdown (restart=True) on the kernel's control channel, from this node."""
    try:
        from jupyter_client import BlockingKernelClient
        c = BlockingKernelClient()
        c.load_connection_file(cf)
        c.start_channels(shell=False, iopub=False, stdin=False, hb=False, control=True)
        c.shutdown(restart=True)
        time.sleep(0.2)
        c.stop_channels()
    except Exception as err:  # the kernel may be wedged: TERM follows
        say('shutdown_request failed: %s' % err)


p = start()
final = False
restart_since = None
rc = None
while True:
    try:
        rc = p.wait(timeout=0.2)
    except subprocess.TimeoutExpired:
        rc = None
    while pending:
        what = pending.pop(0)
        if what == 'int' and rc is None:
            os.kill(p.pid, signal.SIGINT)
        elif what == 'term':
            final = True
            restart_since = None
            if rc is None:
                os.kill(p.pid, signal.SIGTERM)
        elif what == 'restart' and not final and restart_since is None:
            say('restarting the kernel')
            restart_since = time.time()
            if rc is None:
                shutdown_request()
    if rc is None:
        if restart_since is not None and time.time() - restart_since > 10:
            p.kill()
        elif restart_since is not None and time.time() - restart_since > 5:
            p.terminate()
        continue
    if restart_since is not None and not final:
        restart_since = None
        p = start()
        continue
    break

for path in (cf, gen_file):
    try:
        os.remove(path)
    except OSError:
        pass
say('kernel ended (exit status %s)' % rc)
sys.exit(rc if rc is not None and rc >= 0 else 1)
