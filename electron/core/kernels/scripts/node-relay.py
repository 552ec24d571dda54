# A compute node's sshd reached through its login node's SSH connection, for
# sites whose login node forbids TCP forwarding: run on the login node as the
# command of one SSH channel, this copies the channel's stdin to NODE:PORT and
# what comes back to its stdout (as `ssh -o ProxyCommand='ssh login nc %h %p'`
# would). The SSH session to the node runs over it end to end: this sees only
# ciphertext. argv: NODE PORT. stderr: "ktray-relay: connected" once the node
# answered, else why not (then exit 1).
import os
import socket
import sys
import threading

node, port = sys.argv[1], int(sys.argv[2])
try:
    s = socket.create_connection((node, port), timeout=15)
except OSError as e:
    sys.stderr.write("ktray-relay: cannot reach %s:%d from the login node: %s\n" % (node, port, e))
    sys.exit(1)
s.settimeout(None)
sys.stderr.write("ktray-relay: connected\n")
sys.stderr.flush()


def up():
    try:
        while True:
            d = os.read(0, 65536)
            if not d:
                break
            s.sendall(d)
    except OSError:
        pass
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass


threading.Thread(target=up, daemon=True).start()
out = sys.stdout.buffer
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out.write(d)
        out.flush()
except OSError:
    pass
