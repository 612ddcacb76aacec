#!/usr/bin/env python3
"""A webhook receiver for Persona's end-to-end tests (tests/e2e/webhooks.rs).

Every request is checked with the `standardwebhooks` library (PyPI), once per secret given, so
that with two secrets both signatures must be present and valid. Each request is appended to the
log file as one JSON line before it is answered: its webhook-id, the verification results, the
body, the arrival time and the status answered. What to answer is read from the control file at
each request: {"status": 204, "delay": 0.0} (delay in seconds before answering).
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--log", required=True)
parser.add_argument("--control", required=True)
parser.add_argument("--secret", action="append", default=[])
args = parser.parse_args()
hooks = [Webhook(secret) for secret in args.secret]
lock = threading.Lock()


def control():
    try:
        with open(args.control, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError):
        return {"status": 204, "delay": 0.0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        data = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        verified = []
        for hook in hooks:
            try:
                hook.verify(data, headers)
                verified.append(True)
            except Exception as error:  # the library raises its own verification errors
                verified.append(str(error) or type(error).__name__)
        wanted = control()
        status = int(wanted.get("status", 204))
        try:
            body = json.loads(data)
        except ValueError:
            body = None
        line = {
            "id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "signatures": headers.get("webhook-signature", "").count("v1,"),
            "verified": verified,
            "body": body,
            "path": self.path,
            "received": time.time(),
            "status": status,
        }
        with lock:
            with open(args.log, "a", encoding="utf-8") as log:
                log.write(json.dumps(line) + "\n")
        delay = float(wanted.get("delay", 0.0))
        if delay > 0:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
        except OSError:
            pass  # the sender gave up (a timeout test)

    def log_message(self, *_):
        pass


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
server.daemon_threads = True
print(f"PORT {server.server_address[1]}", flush=True)
sys.stdout.flush()
server.serve_forever()
