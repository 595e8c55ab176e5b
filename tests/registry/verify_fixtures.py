#!/usr/bin/env python3
"""verify_fixtures.py DIR — check what `fixtures.sh up DIR` made (fixtures.sh verify runs it).

For every line of DIR/images.txt and every registry it names: the manifest skopeo reads back
has the digest of the built one, and a `skopeo copy` round trip into an OCI layout succeeds
with the same digest (and fails, on the digest, for rless-test/corrupt). Then the auth of the
Basic and Bearer registries with curl-like requests, the corrupt blob, and the layer contents
README.md promises for rless-test/layered. Prints "ok"/"not ok" lines and "N passed, N failed".
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request

results = []
AUTH_FILE = None


def check(name, cond, detail=""):
    results.append(bool(cond))
    print("%s %d %s%s" % ("ok" if cond else "not ok", len(results), name,
                          "" if cond or not detail else ": " + str(detail)[:2000]))


def load_env(d):
    env = {}
    with open(os.path.join(d, "env")) as f:
        for line in f:
            k, eq, v = line.rstrip("\n").partition("=")
            if eq:
                env[k] = v
    return env


def http(url, headers=None):
    """(status, headers, body) of a GET."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def basic(user, pw):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}


def skopeo(*args):
    # An empty auth file of our own: stored logins of the caller must not change the answers
    # (and an unprivileged caller may have no usable default location).
    env = dict(os.environ, REGISTRY_AUTH_FILE=AUTH_FILE)
    return subprocess.run(["skopeo", "--insecure-policy"] + list(args), capture_output=True,
                          text=True, timeout=300, env=env)


def verify_images(env, tmp):
    regs = {"anon": env["RLESS_REG"], "basic": env["RLESS_REG_BASIC"],
            "token": env["RLESS_REG_TOKEN"]}
    creds = "%s:%s" % (env["RLESS_REG_USER"], env["RLESS_REG_PASS"])
    layouts = {}
    with open(env["RLESS_REG_IMAGES"]) as f:
        lines = [l.split() for l in f if l.strip()]
    for targets, ref, digest in lines:
        for t in targets.split(","):
            src = "docker://%s/%s" % (regs[t], ref)
            auth = [] if t == "anon" else ["--creds", creds]
            r = skopeo("inspect", "--raw", "--tls-verify=false", *auth, src)
            got = "sha256:" + hashlib.sha256(r.stdout.encode()).hexdigest()
            check("inspect %s (%s)" % (ref, t), r.returncode == 0 and got == digest,
                  r.stderr or "digest %s, want %s" % (got, digest))
            out = os.path.join(tmp, "%s-%s" % (t, ref.replace("/", "_").replace(":", "_")))
            sauth = [] if t == "anon" else ["--src-creds", creds]
            r = skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false", *sauth,
                       src, "oci:%s:rt" % out)
            if ref == "rless-test/corrupt:latest":
                check("round trip %s (%s) fails on the digest" % (ref, t),
                      r.returncode != 0 and "digest did not match" in r.stderr.lower(), r.stderr or "copy succeeded")
                continue
            ok = r.returncode == 0
            if ok:
                with open(os.path.join(out, "index.json")) as fi:
                    ok = json.load(fi)["manifests"][0]["digest"] == digest
            check("round trip %s (%s)" % (ref, t), ok, r.stderr or "digest changed")
            if ok:
                layouts[(t, ref)] = out
    return layouts


def verify_auth(env):
    user, pw = env["RLESS_REG_USER"], env["RLESS_REG_PASS"]
    ok_digest = None
    for key in ("RLESS_REG_BASIC", "RLESS_REG_TOKEN"):
        reg = env[key]
        url = "http://%s/v2/rless-test/busybox/manifests/latest" % reg
        acc = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
        st, hdr, _ = http(url, acc)
        check("%s: anonymous manifest GET is 401" % key, st == 401, st)
        chal = hdr.get("WWW-Authenticate", "")
        if key == "RLESS_REG_BASIC":
            st, _, _ = http(url, dict(acc, **basic(user, "wrong")))
            check("%s: wrong password is 401" % key, st == 401, st)
            st, hdr, _ = http(url, dict(acc, **basic(user, pw)))
            check("%s: right password is 200" % key, st == 200, st)
            continue
        check("%s: challenge is Bearer" % key, chal.startswith("Bearer realm="), chal)
        tok_url = "http://%s/token?service=rless-test-registry&scope=repository:rless-test/" \
                  "busybox:pull" % env["RLESS_REG_TOKEN_SERVER"]
        st, _, _ = http(tok_url)
        check("token server refuses anonymous clients", st == 401, st)
        st, _, _ = http(tok_url, basic(user, "wrong"))
        check("token server refuses a wrong password", st == 401, st)
        st, _, body = http(tok_url, basic(user, pw))
        token = json.loads(body).get("token") if st == 200 else None
        check("token server gives a token", token, st)
        st, hdr, _ = http(url, dict(acc, Authorization="Bearer %s" % token))
        check("%s: manifest GET with the token is 200" % key, st == 200, st)
        ok_digest = hdr.get("Docker-Content-Digest")
    return ok_digest


def verify_corrupt(env):
    reg, digest = env["RLESS_REG"], env["RLESS_REG_CORRUPT_DIGEST"]
    st, _, body = http("http://%s/v2/rless-test/corrupt/manifests/latest" % reg,
                       {"Accept": "application/vnd.oci.image.manifest.v1+json"})
    layer = json.loads(body)["layers"][0]
    check("corrupt: the manifest names the corrupted blob", layer["digest"] == digest, layer)
    st, _, blob = http("http://%s/v2/rless-test/corrupt/blobs/%s" % (reg, digest))
    got = "sha256:" + hashlib.sha256(blob).hexdigest()
    check("corrupt: the registry serves other bytes of the same length",
          st == 200 and len(blob) == layer["size"] and got != digest, (st, len(blob), got))


def layer_tars(layout):
    """The tarfiles of the image layout's (single) manifest, in order."""
    blobs = os.path.join(layout, "blobs", "sha256")
    with open(os.path.join(layout, "index.json")) as f:
        mdigest = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(blobs, mdigest[7:])) as f:
        manifest = json.load(f)
    return [tarfile.open(os.path.join(blobs, l["digest"][7:])) for l in manifest["layers"]]


def verify_layered(layouts):
    key = ("anon", "rless-test/layered:latest")
    check("layered: pulled", key in layouts)
    if key not in layouts:
        return
    tars = layer_tars(layouts[key])
    check("layered: 4 layers", len(tars) == 4, len(tars))
    l2 = {m.name: m for m in tars[1]}
    l3 = [m.name for m in tars[2]]
    hl, owned, setgid = l2["data/hl"], l2["data/owned"], l2["data/setgid"]
    check("layered: /data/hl is a hard link to data/a", hl.islnk() and hl.linkname == "data/a")
    check("layered: /data/owned 1000:1000 0640",
          (owned.uid, owned.gid, owned.mode) == (1000, 1000, 0o640))
    check("layered: /data/setgid 2775", setgid.isdir() and setgid.mode == 0o2775, setgid.mode)
    check("layered: user.test xattr", l2["data/xattr"].pax_headers.get(
        "SCHILY.xattr.user.test") == "hello")
    check("layered: layer 3 whiteouts", "data/.wh.b" in l3 and "opaque/.wh..wh..opq" in l3, l3)


def main():
    d = sys.argv[1]
    env = load_env(d)
    global AUTH_FILE
    with tempfile.TemporaryDirectory() as tmp:
        AUTH_FILE = os.path.join(tmp, "auth.json")
        with open(AUTH_FILE, "w") as f:
            f.write('{"auths": {}}')
        layouts = verify_images(env, tmp)
        verify_auth(env)
        verify_corrupt(env)
        verify_layered(layouts)
    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
