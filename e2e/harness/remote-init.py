"""PID 1 of the fake remote host's PID namespace (run by remote-host.ts with /usr/bin/python3).

Why an init of our own: kernels are started with setsid/nohup and get orphaned; without a
reaper they linger as zombies and `kill -0 PID` still succeeds on them, which would lie to
the product's "is this kernel alive" checks. As PID 1 we also own the lifetime of every
process of the remote: when we exit, the kernel kills the whole namespace.

argv[1] is JSON: {"hostname": str, "sshd": [argv], "bridge": [argv], "reap": "all"|"own",
                  "mounts": [[src, dst]], "daemons": [{"name": str, "argv": [argv], "ready": str}]}
("own": reap only the processes we started, like the PID 1 of a container that
is no init, so tests can see what a launcher leaves behind as zombies). sshd and
bridge are optional (a compute node of the Slurm harness has neither); mounts are
bind mounts made first, in our own mount namespace (a node's /etc/slurm, /etc/hosts,
/run/munge and the shared home); daemons start in order, each told ready by a
line of its stderr that contains `ready`.
stdin commands (one per line): "restart-sshd". EOF on stdin (the harness exited or crashed)
ends the remote. stdout lines for the harness: "sshd-ready" (after every start of sshd),
"NAME-ready" for each daemon.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

children = {}  # pid -> exit status, for the processes we started ourselves
cond = threading.Condition()
out_lock = threading.Lock()


def say(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def reap_own_forever():
    while True:
        with cond:
            pids = [pid for pid, status in children.items() if status is None]
        for pid in pids:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if done:
                with cond:
                    children[pid] = status
                    cond.notify_all()
        time.sleep(0.05)


def reap_forever():
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(0.05)
            continue
        with cond:
            if pid in children:
                children[pid] = status
                cond.notify_all()


def spawn(argv, stderr_fd):
    devnull = os.open(os.devnull, os.O_RDWR)
    actions = [
        (os.POSIX_SPAWN_DUP2, devnull, 0),
        (os.POSIX_SPAWN_DUP2, devnull, 1),
        (os.POSIX_SPAWN_DUP2, stderr_fd, 2),
    ]
    with cond:
        pid = os.posix_spawn(argv[0], argv, dict(os.environ), file_actions=actions)
        children[pid] = None
    os.close(devnull)
    return pid


def start_sshd(argv):
    r, w = os.pipe()
    pid = spawn(argv, w)
    os.close(w)

    def follow():
        with os.fdopen(r, "r", errors="replace") as log:
            for line in log:
                sys.stderr.write("[sshd] " + line)
                sys.stderr.flush()
                if "Server listening on" in line:
                    say("sshd-ready")

    threading.Thread(target=follow, daemon=True).start()
    return pid


def start_daemon(d):
    r, w = os.pipe()
    pid = spawn(d["argv"], w)
    os.close(w)

    def follow():
        told = False
        with os.fdopen(r, "r", errors="replace") as log:
            for line in log:
                sys.stderr.write("[%s] %s" % (d["name"], line))
                sys.stderr.flush()
                if not told and d["ready"] in line:
                    told = True
                    say(d["name"] + "-ready")

    threading.Thread(target=follow, daemon=True).start()
    return pid


def wait_exit(pid, timeout):
    deadline = time.monotonic() + timeout
    with cond:
        while children.get(pid) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            cond.wait(left)
        del children[pid]
    return True


def main():
    cfg = json.loads(sys.argv[1])
    socket.sethostname(cfg["hostname"])
    # Before the reaper runs: it would take mount's exit status from subprocess.
    for src, dst in cfg.get("mounts", []):
        subprocess.run(["mount", "--bind", src, dst], check=True)
    reaper = reap_own_forever if cfg.get("reap") == "own" else reap_forever
    threading.Thread(target=reaper, daemon=True).start()
    for d in cfg.get("daemons", []):
        start_daemon(d)
    if cfg.get("bridge"):
        spawn(cfg["bridge"], 2)
    sshd = start_sshd(cfg["sshd"]) if cfg.get("sshd") else None
    for line in sys.stdin:
        if line.strip() == "restart-sshd" and sshd is not None:
            os.kill(sshd, signal.SIGTERM)
            if not wait_exit(sshd, 10):
                os.kill(sshd, signal.SIGKILL)
                wait_exit(sshd, 10)
            sshd = start_sshd(cfg["sshd"])
    # stdin closed: the harness is gone or stopping us; exiting as PID 1 kills the namespace.
    os._exit(0)


if __name__ == "__main__":
    main()
