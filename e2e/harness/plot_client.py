"""A frontend of a shared kernel on the remote box, as a console in tmux is: run with /usr/bin/python3.

    plot_client.py CONNECTION_FILE CODE [--timeout S]

Executes CODE on the kernel of CONNECTION_FILE (a real jupyter_client BlockingKernelClient)
and prints ONE JSON line with what the kernel sent THIS client for its request: every image
output (display_data, execute_result, update_display_data) with its type, display id,
byte count, sha256 and the pixel size from the PNG header, plus the client's session id.
Exit status 0 when CODE ran without error, 1 otherwise.
"""
import argparse
import base64
import hashlib
import json
import struct
import sys

from jupyter_client import BlockingKernelClient


def png_size(b):
    if len(b) >= 24 and b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR":
        return struct.unpack(">II", b[16:24])
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("connection_file")
    parser.add_argument("code")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    client = BlockingKernelClient(connection_file=args.connection_file)
    client.load_connection_file()
    client.start_channels()
    out = {"status": "error", "session": client.session.session, "username": client.session.username, "images": [], "stdout": "", "error": None}
    try:
        client.wait_for_ready(timeout=args.timeout)

        def on_iopub(msg):
            kind = msg["header"]["msg_type"]
            content = msg["content"]
            if kind in ("display_data", "execute_result", "update_display_data"):
                data = content.get("data", {})
                for mime in ("image/png", "image/jpeg", "image/svg+xml"):
                    if mime in data:
                        raw = data[mime].encode("utf-8") if mime == "image/svg+xml" else base64.b64decode(data[mime])
                        size = png_size(raw) if mime == "image/png" else None
                        out["images"].append({
                            "type": kind,
                            "mime": mime,
                            "displayId": (content.get("transient") or {}).get("display_id"),
                            "bytes": len(raw),
                            "sha256": hashlib.sha256(raw).hexdigest(),
                            "width": size[0] if size else None,
                            "height": size[1] if size else None,
                        })
                        break
            elif kind == "stream":
                out["stdout"] += content.get("text", "")
            elif kind == "error":
                out["error"] = "%s: %s" % (content.get("ename"), content.get("evalue"))

        reply = client.execute_interactive(args.code, timeout=args.timeout, output_hook=on_iopub)
        out["status"] = reply["content"]["status"]
    except Exception as exc:  # report, never hang the test
        out["error"] = "%s: %s" % (type(exc).__name__, exc)
    finally:
        client.stop_channels()
    print(json.dumps(out))
    sys.exit(0 if out["status"] == "ok" else 1)


main()
