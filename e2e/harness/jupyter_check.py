"""A real Jupyter client for end-to-end tests: run with /usr/bin/python3 (has jupyter_client).

    jupyter_check.py CONNECTION_FILE CODE [--timeout S]

Connects to the kernel described by CONNECTION_FILE, waits until it answers, executes CODE and
prints ONE JSON line:
    {"status": "ok"|"error", "result": <text/plain of execute_result or null>,
     "stdout": "...", "stderr": "...", "ename": ..., "evalue": ...}
Exit status: 0 when CODE ran without error, 1 when the kernel reported an error,
2 when the kernel could not be reached or did not answer in time (ename says which).
"""
import argparse
import json
import sys

from jupyter_client import BlockingKernelClient


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("connection_file")
    parser.add_argument("code")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    out = {"status": "error", "result": None, "stdout": "", "stderr": "", "ename": None, "evalue": None}

    def on_iopub(msg):
        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if kind == "stream":
            out[content["name"]] = out.get(content["name"], "") + content["text"]
        elif kind == "execute_result":
            out["result"] = content["data"].get("text/plain")
        elif kind == "error":
            out["ename"], out["evalue"] = content["ename"], content["evalue"]

    client = BlockingKernelClient(connection_file=args.connection_file)
    code = 2
    try:
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=args.timeout)
        reply = client.execute_interactive(
            args.code, timeout=args.timeout, output_hook=on_iopub, allow_stdin=False
        )
        content = reply["content"]
        if content["status"] == "ok":
            out["status"] = "ok"
            code = 0
        else:
            out["ename"] = out["ename"] or content.get("ename")
            out["evalue"] = out["evalue"] or content.get("evalue")
            code = 1
    except Exception as err:  # unreachable kernel, timeout, bad file: report, don't trace
        out["ename"], out["evalue"] = type(err).__name__, str(err)
    finally:
        client.stop_channels()
    print(json.dumps(out), flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
