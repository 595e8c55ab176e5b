#!/usr/bin/env python3
"""fake_registry.py ROOT --port-file FILE [--log FILE] [faults...]

A small, deliberately misbehaving OCI registry for rless' unit tests (standard library only),
for what a real registry will not do on demand: drop connections midway, ignore Range, fail
with 5xx, redirect blobs to "storage", expire tokens. Listens on 127.0.0.1 on a free port and
writes it to --port-file. Serves, for any repository name:
  GET /v2/                          200 (or 401 with --bearer / --basic)
  GET /v2/NAME/manifests/REF        ROOT/manifests/REF, Content-Type from ROOT/manifests/REF.type
  GET /v2/NAME/blobs/sha256:HEX     ROOT/blobs/HEX (whatever it holds: tests put wrong bytes
                                    there on purpose), honouring `Range: bytes=N-` with 206
  GET /token                        with --bearer: {"token": "tok-N"}
--log appends one line per request: "METHOD PATH range=R auth=A -> STATUS".

Faults:
  --drop-once        the first GET of each blob sends half its bytes, then closes the connection
  --ignore-range     answer 200 and the whole blob to Range requests
  --fail-first N     the first N GETs of each blob answer 503
  --redirect         blobs answer 307 to /storage/HEX (served like a blob, no auth)
  --bearer           token auth; --token-uses K: a token is good for K requests (default 1000)
  --basic USER:PASS  basic auth
  --rate BYTES       send blobs at about BYTES per second (to watch progress output)
"""
import argparse
import base64
import os
import re
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.gets = {}      # blob hex -> GETs so far
        self.tokens = {}    # token -> uses left
        self.issued = 0

    def count_get(self, hexd):
        with self.lock:
            self.gets[hexd] = self.gets.get(hexd, 0) + 1
            return self.gets[hexd]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def log(self, status):
        log = self.server.state.args.log
        if log:
            auth = self.headers.get("Authorization", "none").split(" ")[0].lower()
            with open(log, "a") as f:
                f.write("%s %s range=%s auth=%s -> %d\n" % (
                    self.command, self.path, self.headers.get("Range", "-"), auth, status))

    def send(self, status, body=b"", headers=None):
        self.log(status)
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        rate = self.server.state.args.rate
        step = max(rate // 10, 1) if rate else len(body) or 1
        for i in range(0, len(body), step):
            self.wfile.write(body[i:i + step])
            if rate:
                self.wfile.flush()
                time.sleep(0.1)

    def error(self, status, code, msg, headers=None):
        body = ('{"errors":[{"code":"%s","message":"%s"}]}' % (code, msg)).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        self.send(status, body, h)

    def authorized(self, repo):
        st, a = self.server.state, self.server.state.args
        auth = self.headers.get("Authorization", "")
        if a.basic:
            want = "Basic " + base64.b64encode(a.basic.encode()).decode()
            if auth == want:
                return True
            self.error(401, "UNAUTHORIZED", "authentication required",
                       {"WWW-Authenticate": 'Basic realm="fake"'})
            return False
        if a.bearer:
            tok = auth[7:] if auth.startswith("Bearer ") else None
            with st.lock:
                if tok in st.tokens and st.tokens[tok] > 0:
                    st.tokens[tok] -= 1
                    return True
            port = self.server.server_address[1]
            chal = ('Bearer realm="http://127.0.0.1:%d/token",service="fake",'
                    'scope="repository:%s:pull"' % (port, repo or "x"))
            self.error(401, "UNAUTHORIZED", "token required", {"WWW-Authenticate": chal})
            return False
        return True

    def token(self):
        st = self.server.state
        with st.lock:
            st.issued += 1
            tok = "tok-%d" % st.issued
            st.tokens[tok] = st.args.token_uses
        self.send(200, ('{"token":"%s","expires_in":300}' % tok).encode(),
                  {"Content-Type": "application/json"})

    def blob(self, hexd, first_get):
        a = self.server.state.args
        path = os.path.join(a.root, "blobs", hexd)
        if not os.path.exists(path):
            return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        data = open(path, "rb").read()
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if m and not a.ignore_range:
            start = int(m.group(1))
            if start >= len(data):
                return self.error(416, "RANGE", "range not satisfiable")
            return self.send(206, data[start:], {
                "Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data)),
                "Content-Type": "application/octet-stream"})
        if a.drop_once and first_get:
            self.log(200)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return None
        return self.send(200, data, {"Content-Type": "application/octet-stream"})

    def do_GET(self):
        st, a = self.server.state, self.server.state.args
        path = urllib.parse.urlsplit(self.path).path
        if path == "/token" and a.bearer:
            return self.token()
        m = re.fullmatch(r"/storage/([0-9a-f]{64})", path)
        if m:
            return self.blob(m.group(1), st.count_get("storage:" + m.group(1)) == 1)
        if path == "/v2/":
            if self.authorized(None):
                self.send(200, b"{}", {"Content-Type": "application/json"})
            return None
        m = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", path)
        if not m:
            return self.error(404, "NOT_FOUND", "no route")
        repo, kind, ref = m.groups()
        if not self.authorized(repo):
            return None
        if kind == "manifests":
            f = os.path.join(a.root, "manifests", ref)
            if not os.path.exists(f):
                return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            with open(f + ".type") as t:
                ctype = t.read().strip()
            return self.send(200, open(f, "rb").read(), {"Content-Type": ctype})
        hexd = ref[7:] if ref.startswith("sha256:") else ref
        n = st.count_get(hexd)
        if n <= a.fail_first:
            return self.error(503, "UNAVAILABLE", "try again later")
        if a.redirect:
            # A body, as real registries send: it must not reach the blob's consumer.
            return self.send(307, b"<a href=\"/storage/%s\">Temporary Redirect</a>" % hexd.encode(),
                             {"Location": "/storage/" + hexd, "Content-Type": "text/html"})
        return self.blob(hexd, n == a.fail_first + 1)

    do_HEAD = do_GET


def main():
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--port-file", required=True)
    p.add_argument("--log")
    p.add_argument("--drop-once", action="store_true")
    p.add_argument("--ignore-range", action="store_true")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--redirect", action="store_true")
    p.add_argument("--bearer", action="store_true")
    p.add_argument("--token-uses", type=int, default=1000)
    p.add_argument("--basic")
    p.add_argument("--rate", type=int, default=0)
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
