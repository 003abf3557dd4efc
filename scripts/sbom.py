#!/usr/bin/env python3
"""sbom.py BINARY OUT — kasumi's own third-party product list (SPEC.md B11) as CycloneDX 1.5 JSON,
derived from the built binary itself: its DT_NEEDED libraries (readelf), and theirs, resolved the
way the loader resolves them (ldconfig's cache), each mapped to the Debian package that owns it
(dpkg), with that package's version and maintainer. Run by the build after kasumid links; the CLI
embeds the result (`kasumi sbom`). Deterministic: the same binary and packages give the same file."""
import json
import os
import re
import subprocess
import sys
import uuid


def needed(path):
    out = subprocess.run(["readelf", "-dW", path], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def ld_cache():
    """soname -> path for this machine's architecture, from ldconfig's cache."""
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    cache = {}
    for line in out.splitlines()[1:]:
        m = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        # on x86-64 the cache also lists i386 and x32 copies: keep the loader's own
        if m and ("x86-64" in m.group(2) or os.uname().machine != "x86_64"):
            cache.setdefault(m.group(1), m.group(3))
    return cache


def closure(binary):
    cache, seen, todo = ld_cache(), {}, needed(binary)
    while todo:
        so = todo.pop(0)
        if so in seen:
            continue
        path = cache.get(so)
        if not path:
            sys.exit("sbom.py: %s (needed by %s) is not in ldconfig's cache" % (so, binary))
        seen[so] = path
        todo += needed(path)
    return seen


def owner(path):
    """The Debian package owning path (merged /usr: try both spellings)."""
    real = os.path.realpath(path)
    cands = []
    for p in (path, real):
        cands += [p, "/usr" + p if not p.startswith("/usr/") else p[4:]]
    for p in cands:
        r = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:   # "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6"
            return r.stdout.split(": ")[0].split(":")[0].strip()
    sys.exit("sbom.py: no Debian package owns %s" % path)


def package(name):
    fmt = "${Package}\t${Version}\t${Maintainer}\t${Architecture}\t${source:Package}\t${Homepage}"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt, name], capture_output=True, text=True,
                         check=True).stdout.split("\t")
    return dict(zip(["name", "version", "maintainer", "arch", "source", "homepage"], out))


def main():
    binary, dest = sys.argv[1], sys.argv[2]
    libs = closure(binary)
    pkgs = {}
    for so, path in sorted(libs.items()):
        name = owner(path)
        pkgs.setdefault(name, []).append((so, path))
    components = []
    for name in sorted(pkgs):
        p = package(name)
        m = re.match(r"\s*(.*?)\s*<([^>]+)>", p["maintainer"])
        supplier = {"name": m.group(1) if m else p["maintainer"]}
        if m:
            supplier["contact"] = [{"email": m.group(2)}]
        comp = {
            "type": "library",
            "bom-ref": "pkg:deb/debian/%s@%s?arch=%s" % (name, p["version"], p["arch"]),
            "name": name,
            "version": p["version"],
            "supplier": supplier,
            "purl": "pkg:deb/debian/%s@%s?arch=%s" % (name, p["version"], p["arch"]),
            "properties": [{"name": "kasumi:soname", "value": so} for so, _ in pkgs[name]]
            + [{"name": "kasumi:path", "value": path} for _, path in pkgs[name]]
            + [{"name": "debian:source", "value": p["source"] or name}],
        }
        if p["homepage"]:
            comp["externalReferences"] = [{"type": "website", "url": p["homepage"]}]
        components.append(comp)
    body = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": {"type": "application", "bom-ref": "kasumid", "name": "kasumid",
                                   "description": "kasumi sovereign cloud daemon"},
                     "properties": [{"name": "kasumi:derived-from",
                                     "value": "DT_NEEDED closure of kasumid via readelf, ldconfig, dpkg"}]},
        "components": components,
        "dependencies": [{"ref": "kasumid", "dependsOn": [c["bom-ref"] for c in components]}],
    }
    text = json.dumps(body, ensure_ascii=False, indent=2, sort_keys=False)
    body["serialNumber"] = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, text))
    tmp = dest + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    os.replace(tmp, dest)


if __name__ == "__main__":
    main()
