"""What another local user can reach: run as that user with /usr/bin/python3.

    other_user_probe.py '{"connect": ["unix:/p", "tcp:127.0.0.1:5555"], "sub": "ipc:///p-2", "needle": "s", "seconds": 8}'

Prints ONE JSON line: {"connect": {target: "connected" | errno name}, "sub": {"messages": n, "sawNeedle": bool} | null}.
The SUB needs no key: iopub messages are signed, not encrypted.
"""
import errno
import json
import socket
import sys
import time

spec = json.loads(sys.argv[1])
out = {"connect": {}, "sub": None}

for target in spec.get("connect", []):
    kind, _, where = target.partition(":")
    try:
        if kind == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(where)
        else:
            host, _, port = where.rpartition(":")
            s = socket.create_connection((host, int(port)), timeout=5)
        s.close()
        out["connect"][target] = "connected"
    except OSError as err:
        out["connect"][target] = errno.errorcode.get(err.errno, str(err)) if err.errno else type(err).__name__

if spec.get("sub"):
    import zmq

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(spec["sub"])
    needle = spec.get("needle", "").encode()
    seen, saw = 0, False
    end = time.time() + float(spec.get("seconds", 5))
    while time.time() < end:
        if sub.poll(100):
            frames = sub.recv_multipart()
            seen += 1
            saw = saw or any(needle and needle in f for f in frames)
    sub.close()
    ctx.term()
    out["sub"] = {"messages": seen, "sawNeedle": saw}

print(json.dumps(out), flush=True)
