#!/usr/bin/env python3
"""token_server.py DIR --user USER:PASS [--ttl SECONDS] [--anonymous] [--field token|access_token]

A minimal docker token server for rless' tests (standard library only): GET /token?service=S&
scope=repository:NAME:ACTIONS checks Basic credentials and answers a JWT (RS256) that grants the
requested actions; docker-registry verifies it with the certificate in its rootcertbundle.

On first use it makes DIR/token.key and DIR/token.crt with the openssl command; it signs with
`openssl dgst -sha256 -sign` (PKCS#1 v1.5, what RS256 is), since Python's standard library has no
RSA. It listens on 127.0.0.1 on a free port and writes DIR/token.port and DIR/token.pid.
GET /stats answers {"issued": N}: tests count how often a client asked for a token.

--anonymous grants pull (only) to clients without credentials; without it they get 401.
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ISSUER = "rless-test-issuer"
SERVICE = "rless-test-registry"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_key(d):
    key, crt = os.path.join(d, "token.key"), os.path.join(d, "token.crt")
    if not (os.path.exists(key) and os.path.exists(crt)):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", crt, "-days", "3650", "-subj", "/CN=rless-test-token"],
                       check=True, capture_output=True)
    return key, crt


def key_id(crt):
    """libtrust's key id, which docker-registry matches against the JWT's `kid`: the first 240
    bits of sha256 over the DER public key, base32, in groups of four joined by ':'."""
    pem = subprocess.run(["openssl", "x509", "-in", crt, "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem, check=True,
                         capture_output=True).stdout
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


class State:
    def __init__(self, args, key, kid):
        self.args, self.key, self.kid = args, key, kid
        self.user, _, self.password = args.user.partition(":")
        self.issued = 0
        self.lock = threading.Lock()

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=signing_input,
                             check=True, capture_output=True).stdout
        return signing_input.decode() + "." + b64url(sig)


def parse_scopes(values):
    access = []
    for scope in values:
        for one in scope.split(" "):
            parts = one.split(":")
            if len(parts) >= 3 and parts[0] == "repository":
                access.append({"type": "repository", "name": ":".join(parts[1:-1]),
                               "actions": parts[-1].split(",")})
    return access


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        sys.stderr.write("token_server: " + (fmt % a) + "\n")

    def answer(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def who(self):
        st = self.server.state
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        return user if (user, password) == (st.user, st.password) else False

    def do_GET(self):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/stats":
            return self.answer(200, {"issued": st.issued})
        if url.path != "/token":
            return self.answer(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
        q = urllib.parse.parse_qs(url.query)
        user = self.who()
        if user is False or (user is None and not st.args.anonymous):
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                                 "message": "bad or missing credentials"}]},
                               {"WWW-Authenticate": 'Basic realm="rless-test-token"'})
        access = parse_scopes(q.get("scope", []))
        if user is None:
            for a in access:
                a["actions"] = [x for x in a["actions"] if x == "pull"]
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": user or "", "aud": q.get("service", [SERVICE])[0],
                  "exp": now + st.args.ttl, "nbf": now - 5, "iat": now,
                  "jti": secrets.token_hex(8), "access": access}
        token = st.sign(claims)
        with st.lock:
            st.issued += 1
        out = {"expires_in": st.args.ttl, "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                     time.gmtime(now))}
        if st.args.field in ("token", "both"):
            out["token"] = token
        if st.args.field in ("access_token", "both"):
            out["access_token"] = token
        self.answer(200, out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--user", required=True, help="USER:PASSWORD")
    p.add_argument("--ttl", type=int, default=300)
    p.add_argument("--anonymous", action="store_true")
    p.add_argument("--field", choices=["token", "access_token", "both"], default="token")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    key, crt = make_key(args.dir)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(args, key, key_id(crt))
    for name, value in (("token.pid", os.getpid()), ("token.port", srv.server_address[1])):
        tmp = os.path.join(args.dir, name + ".tmp")
        with open(tmp, "w") as f:
            f.write("%s\n" % value)
        os.rename(tmp, os.path.join(args.dir, name))
    srv.serve_forever()


if __name__ == "__main__":
    main()
