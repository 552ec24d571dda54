"""(b) jupyter_client's own tunnelling, as `jupyter console --existing FILE --ssh HOST` does it.

    jc_tunnel.py CONNECTION_FILE SSH_SERVER

Calls jupyter_client.tunnel_to_kernel (OpenSSH through pexpect on Linux: one
`ssh -f ... exit` password probe, then per port `ssh -O check` and
`ssh -f -S none -L 127.0.0.1:L:IP:R HOST sleep 60`) and prints ONE JSON line:
    {"ok": true, "ports": [shell, iopub, stdin, control, hb], "seconds": S, "import_seconds": I}
or  {"ok": false, "error": "...", "seconds": S, "import_seconds": I}
Run with /usr/bin/python3 (it has jupyter_client).
"""
import json
import sys
import time

t_import = time.perf_counter()
from jupyter_client import tunnel_to_kernel  # noqa: E402

import_seconds = time.perf_counter() - t_import


def main():
    path, server = sys.argv[1], sys.argv[2]
    with open(path) as f:
        info = json.load(f)
    t0 = time.perf_counter()
    try:
        shell, iopub, stdin, hb, control = tunnel_to_kernel(info, server)
    except BaseException as err:  # it raises SSHException, RuntimeError, or exits: report, don't trace
        out = {"ok": False, "error": "%s: %s" % (type(err).__name__, err)}
    else:
        out = {"ok": True, "ports": [shell, iopub, stdin, control, hb]}
    out["seconds"] = time.perf_counter() - t0
    out["import_seconds"] = import_seconds
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
