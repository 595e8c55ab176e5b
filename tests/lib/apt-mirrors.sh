# tests/lib/apt-mirrors.sh — sourced by the scripts that build Debian trees with mmdebstrap
# (tests/fixtures/mkimage-debian.sh, tests/vm/mkimage.sh): the host's own bookworm sources, the
# only part of Debian's archive this machine reaches.
# shellcheck shell=bash

# host_mirrors: "deb URI SUITE COMPONENTS" for every enabled host source of a bookworm suite
# (deb822 .sources and one-line .list files).
host_mirrors() {
	python3 - /etc/apt/sources.list /etc/apt/sources.list.d/* <<-'EOF'
		import re, sys
		want = {"bookworm", "bookworm-updates", "bookworm-security"}
		seen = []
		def add(uri, suite, comps):
		    line = "deb %s %s %s" % (uri, suite, " ".join(comps or ["main"]))
		    if suite in want and line not in seen:
		        seen.append(line)
		for path in sys.argv[1:]:
		    try:
		        text = open(path).read()
		    except OSError:
		        continue
		    if path.endswith(".sources"):
		        for stanza in re.split(r"\n\s*\n", text):
		            fields = {}
		            for l in stanza.splitlines():
		                m = re.match(r"([A-Za-z-]+):\s*(.*)", l)
		                if m and not l.startswith("#"):
		                    fields[m.group(1).lower()] = m.group(2).split()
		            if "deb" not in fields.get("types", []) or fields.get("enabled") == ["no"]:
		                continue
		            for uri in fields.get("uris", []):
		                for suite in fields.get("suites", []):
		                    add(uri, suite, fields.get("components"))
		    elif path.endswith(".list"):
		        for l in text.splitlines():
		            l = re.sub(r"\[[^]]*\]", "", l.split("#", 1)[0]).split()
		            if len(l) >= 3 and l[0] == "deb":
		                add(l[1], l[2], l[3:])
		print("\n".join(seen))
	EOF
}
