"""The `kasumi` CLI against the real daemon: it mirrors the API and behaves like a Unix tool."""
import json
import os
import subprocess
import unicodedata
import uuid

from conftest import KASUMI, new_corpnum, random_id


def width(ch):
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cells(line):
    """[(display column, char)] of a line."""
    out, col = [], 0
    for ch in line:
        out.append((col, ch))
        col += width(ch)
    return out


def jout(p):
    return json.loads(p.stdout)


def test_tenant_create_json_equals_api(shared):
    cn = new_corpnum()
    p = shared.cli("tenant", "create", "--kind", "ministry", "--name", "総務省", "--corporate-number", cn,
                   "--output", "json")
    t = jout(p)
    assert t["name"] == "総務省" and t["corporate_number"] == cn, t
    assert shared.ok("GET", "/admin/v1/tenants/" + t["id"]) == t, "CLI output differs from GET"
    g = jout(shared.cli("tenant", "get", t["id"], "--output", "json"))
    assert g == t


def test_tenant_list_table_aligned(shared):
    names = ["厚生労働省", "横浜市 健康福祉局", "ｶｽﾐ", "Digital Agency"]
    made = [shared.tenant(name=n) for n in names]
    p = shared.cli("tenant", "list")
    lines = [ln for ln in p.stdout.split("\n") if ln]
    header = lines[0]
    assert header.split()[:3] == ["ID", "KIND", "NAME"], header
    starts = [col for col, ch in cells(header) if ch != " " and (col == 0 or cells(header)[[c for c, _ in cells(header)].index(col) - 1][1] == " ")]
    for t in made:
        row = next((ln for ln in lines if t["id"] in ln), None)
        assert row is not None, "tenant %s missing from the table:\n%s" % (t["id"], p.stdout)
        assert t["name"] in row, "the name %r is not shown as is: %r" % (t["name"], row)
        c = dict(cells(row))
        for s in starts[1:]:
            assert c.get(s - 1) == " ", "row %r: column %d is not preceded by a blank" % (row, s)
            assert c.get(s) not in (None, " "), "row %r: nothing starts at display column %d (header %r)" % (row, s, header)
    assert not any(ln.endswith(" ") for ln in lines), "trailing blanks in the table"


def test_project_user_role_key_mirror_api(shared):
    t = shared.tenant()
    tid = t["id"]
    proj = jout(shared.cli("project", "create", "--tenant", tid, "--name", "電子申請", "--environment", "prod",
                           "--output", "json"))
    assert proj == shared.ok("GET", "/admin/v1/projects/" + proj["id"]), proj
    user = jout(shared.cli("user", "create", "--tenant", tid, "--name", "霞 花子", "--email", "hanako@example.go.jp",
                           "--output", "json"))
    assert user == shared.ok("GET", "/admin/v1/users/" + user["id"]), user
    b = jout(shared.cli("role", "bind", "--principal", user["id"], "--role", "tenant_admin", "--scope",
                        "tenant/" + tid, "--output", "json"))
    assert b == shared.ok("GET", "/admin/v1/role-bindings/" + b["id"]), b
    k = jout(shared.cli("key", "create", "--user", user["id"], "--output", "json"))
    assert k["secret"].startswith("ksm_"), k
    got = shared.ok("GET", "/admin/v1/keys/" + k["id"])
    assert {x: v for x, v in k.items() if x != "secret"} == got, "key create output (minus secret) != GET:\n%r\n%r" % (k, got)
    # the new key works through the CLI, too
    who = jout(shared.cli("whoami", "--output", "json", token=k["secret"]))
    assert who["user"] == user["id"], who
    lst = jout(shared.cli("project", "list", "--tenant", tid, "--output", "json"))
    assert proj["id"] in [x["id"] for x in lst["items"]]


def test_error_exits_nonzero_one_line(shared):
    p = shared.cli("tenant", "get", random_id("tn_x"), check=False)
    assert p.returncode != 0, "tenant get of a random id exited 0"
    err = p.stderr.strip()
    assert err and "\n" not in err, "expected a one-line message on stderr, got %r" % p.stderr
    assert p.stdout == "", "an error printed to stdout: %r" % p.stdout


def test_missing_token(shared):
    p = shared.cli("tenant", "list", token=None, check=False)
    assert p.returncode != 0, "no token but exit 0"
    assert p.stderr.strip(), "no message for a missing token"


def test_flags_and_env(shared):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KASUMI_")}
    # flags only
    p = subprocess.run([KASUMI, "--endpoint", shared.url, "--token", shared.token, "tenant", "list", "--output", "json"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    by_flags = json.loads(p.stdout)
    # env only
    p = subprocess.run([KASUMI, "tenant", "list", "--output", "json"], capture_output=True, text=True, timeout=60,
                       env=dict(env, KASUMI_ENDPOINT=shared.url, KASUMI_TOKEN=shared.token))
    assert p.returncode == 0, p.stderr
    assert sorted(x["id"] for x in json.loads(p.stdout)["items"]) == sorted(x["id"] for x in by_flags["items"])
    # flags after the command, overriding a wrong env
    p = subprocess.run([KASUMI, "tenant", "list", "--output", "json", "--endpoint", shared.url, "--token", shared.token],
                       capture_output=True, text=True, timeout=60,
                       env=dict(env, KASUMI_ENDPOINT="http://127.0.0.1:9", KASUMI_TOKEN="ksm_wrong"))
    assert p.returncode == 0, "flags did not override the environment: %s" % p.stderr
    # a wrong endpoint is a connection error, not a crash
    p = subprocess.run([KASUMI, "tenant", "list"], capture_output=True, text=True, timeout=60,
                       env=dict(env, KASUMI_ENDPOINT="http://127.0.0.1:9", KASUMI_TOKEN=shared.token))
    assert p.returncode not in (0,) and p.returncode > 0 and p.stderr.strip(), (p.returncode, p.stderr)


def test_audit_query_json(shared):
    t = shared.tenant()
    shared.ok("GET", "/admin/v1/tenants/" + t["id"])
    out = None
    for _ in range(50):
        out = jout(shared.cli("audit", "query", "--tenant", t["id"], "--output", "json"))
        if any(r["action"] == "tenant.read" for r in out["items"]):
            break
    assert out["items"] and all(r["tenant"] == t["id"] for r in out["items"]), out
    assert any(r["action"] == "tenant.read" for r in out["items"]), out
    p = shared.cli("audit", "query", "--tenant", t["id"])
    assert "ACTION" in p.stdout.split("\n")[0], p.stdout[:300]


def test_platform_operator_through_cli(shared):
    """A second operator: a platform-level user, bound platform_admin, acting with its own key."""
    d = shared
    p = d.cli("user", "create", "--tenant", "platform", "--name", "運用 花子",
              "--email", "ops-%d@example.go.jp" % os.getpid(), "--output", "json")
    op = json.loads(p.stdout)
    assert op["tenant"] is None and op["id"].startswith("us_")
    listed = json.loads(d.cli("user", "list", "--tenant", "platform", "--output", "json").stdout)
    assert op["id"] in [u["id"] for u in listed["items"]]
    d.cli("role", "bind", "--principal", op["id"], "--role", "platform_admin", "--scope", "platform")
    key = json.loads(d.cli("key", "create", "--user", op["id"], "--output", "json").stdout)
    t = json.loads(d.cli("tenant", "create", "--kind", "local_government", "--name", "霞市",
                         "--corporate-number", new_corpnum(), "--output", "json", token=key["secret"]).stdout)
    assert t["name"] == "霞市"
    # a tenant admin cannot create operators
    ta = d.tenant()
    _, secret = d.tenant_admin(ta["id"])
    r = d.api("POST", "/admin/v1/platform/users", {"name": "x", "email": "x@example.go.jp"}, token=secret)
    assert r.status_code in (403, 404), r.text
