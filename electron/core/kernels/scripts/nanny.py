# The nanny, shared by launcher.py and server-launcher.py (remote-scripts.ts
# puts this text where they say @NANNY@). The process's parent is a small sh in
# a session of its own that waits for it, so a process that exits is reaped at
# once even where PID 1 does not reap orphans (some containers), and
# `kill -0 PID` never answers for a dead one. An async list in sh starts with
# SIGINT ignored (POSIX), which would make a kernel uninterruptible: a python
# trampoline resets it, then execs the process.
NANNY = '"$@" 9>&- & echo $! >&9; exec 9>&-; wait $!'
RESET = 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])'


def detach(argv, cwd, log, env):
    """Starts argv under the nanny: (the nanny's Popen, the process's pid, or None when it never started).
    Raises OSError when not even the nanny could start."""
    r, w = os.pipe()
    if w != 9:
        os.dup2(w, 9)
        os.close(w)
    try:
        nanny = subprocess.Popen(['/bin/sh', '-c', NANNY, 'ktray-nanny', sys.executable, '-c', RESET] + argv, cwd=cwd,
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True, close_fds=True, pass_fds=(9,))
    except OSError:
        os.close(r)
        raise
    finally:
        os.close(9)
    with os.fdopen(r) as f:
        said = f.read().split()
    return nanny, (int(said[0]) if said else None)
