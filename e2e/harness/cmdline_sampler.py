"""Watches every process's argv, the way any other user on the machine can, until stdin closes.

Run by e2e tests as an unprivileged second user (`nobody`): /proc/PID/cmdline is readable by
every user unless /proc is mounted with hidepid, so whatever a program puts in an argv, this
sees. argv[1], optional: a uid whose processes are counted per scan when their argv is exactly
`sh -s` (how many standing shells that user has at once).

Prints one JSON object on exit: {"scans": N, "cmdlines": [unique argvs, NULs as spaces],
"max_sh": most `sh -s` processes of that uid seen in one scan}.
"""
import json
import os
import sys
import threading

done = threading.Event()


def wait_for_eof():
    sys.stdin.buffer.read()
    done.set()


threading.Thread(target=wait_for_eof, daemon=True).start()
watch_uid = int(sys.argv[1]) if len(sys.argv) > 1 else None
seen = set()
scans = 0
max_sh = 0
while not done.is_set():
    sh = 0
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % name, 'rb') as f:
                raw = f.read()
        except OSError:
            continue  # exited while we looked
        if not raw:
            continue  # a kernel thread or a zombie
        seen.add(raw.rstrip(b'\0').replace(b'\0', b' ').decode('utf8', 'replace'))
        if watch_uid is not None and raw == b'sh\0-s\0':
            try:
                if os.stat('/proc/%s' % name).st_uid == watch_uid:
                    sh += 1
            except OSError:
                pass
    max_sh = max(max_sh, sh)
    scans += 1
print(json.dumps({'scans': scans, 'cmdlines': sorted(seen), 'max_sh': max_sh}))
