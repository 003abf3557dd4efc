"""GET /admin/v1/ai/decisions and the console's AI page: requests sent through the gateway to the
real llama.cpp server (tests/fixtures/llm) — allowed, masked (a phone number), blocked (a My Number)
and refused (機密性3 to a target abroad) — appear in the counts by classification, model, project
and user, for the caller's tenant only, and the AI page in a real browser shows the same counts;
GET /admin/v1/ai/destinations: where the requests that were sent went, by country and class."""
import csv
import datetime
import io
import json
import time

from test_ai_gateway import MYNUMBER, PHONE, Org, ai_daemon
from test_console_obs import run_browser

KINDS = ("pass", "mask", "block", "refuse")


def counted(d, what, tenant, token="__admin__", **q):
    """GET /admin/v1/ai/{what} (decisions or destinations) for the tenant."""
    q = dict(q, tenant=tenant)
    r = d.api("GET", "/admin/v1/ai/%s?" % what + "&".join("%s=%s" % kv for kv in q.items()), token=token)
    assert r.status_code == 200, r.text
    return r.json()


def decisions(d, tenant, token="__admin__", **q):
    return counted(d, "decisions", tenant, token, **q)


def wait_total(d, tenant, n, **q):
    """Decision records are durable before the answer but indexed a moment later: poll."""
    deadline = time.time() + 15
    while True:
        v = decisions(d, tenant, **q)
        if v["total"]["requests"] >= n or time.time() > deadline:
            return v
        time.sleep(0.2)


def chat(o, alias, text, cls=None, project_key=None):
    return o.post("/v1/chat/completions", {"model": alias, "max_tokens": 8,
                                           "messages": [{"role": "user", "content": text}]},
                  headers={"X-Kasumi-Classification": cls} if cls else {}, key=project_key)


def test_decisions_counted_and_shown(tmp_path, llm_server, fault_server):
    d = ai_daemon(tmp_path / "data", extra_args=["--overseas-allow", fault_server.url + "/"])
    try:
        o = Org(d, llm_server, fault_server)
        o.llm_route("tiny")
        abroad = o.route("abroad", [{"provider": "openai", "base_url": fault_server.base_url,
                                     "model": "fault:echo", "jurisdiction": "US"}])
        assert chat(o, "tiny", "こんにちは").status_code == 200                       # 2: pass
        assert chat(o, "tiny", "こんにちは", cls="1").status_code == 200              # 1: pass
        r = chat(o, "tiny", "折り返しは %s まで" % PHONE)                               # 2: mask
        assert r.status_code == 200, r.text
        r = chat(o, "tiny", "私の個人番号は %s です" % MYNUMBER)                         # 2: block
        assert r.status_code == 400 and r.json()["error"]["code"] == "content_blocked", r.text
        r = chat(o, abroad, "x", cls="3")                                              # 3: refuse
        assert r.status_code == 403, r.text
        # a second project of the same tenant, and another tenant, each with one allowed request
        p2 = d.ok("POST", "/admin/v1/tenants/%s/projects" % o.tenant, {"name": "第二", "environment": "dev"})["id"]
        d.ok("POST", "/admin/v1/projects/%s/model-routes" % p2, {"alias": "tiny", "targets": [
            {"provider": "openai", "base_url": llm_server.base_url, "model": "tiny-llama", "jurisdiction": "JP"}]})
        d.ok("POST", "/admin/v1/role-bindings", {"principal": o.user, "role": "member", "scope": "project/" + p2})
        k2 = d.ok("POST", "/admin/v1/keys", {"user": o.user, "kind": "api", "project": p2})["secret"]
        assert chat(o, "tiny", "二つ目", project_key=k2).status_code == 200
        other = Org(d, llm_server, fault_server)
        other.route("tiny", [{"provider": "openai", "base_url": llm_server.base_url, "model": "tiny-llama"}],
                    price=None)   # the model's price is the platform's, set above
        assert chat(other, "tiny", "他庁").status_code == 200

        v = wait_total(d, o.tenant, 6)
        assert v["total"] == {"requests": 6, "pass": 3, "mask": 1, "block": 1, "refuse": 1}, v
        assert v["unscanned"] == 0, v
        assert v["by_classification"] == {
            "1": {"requests": 1, "pass": 1, "mask": 0, "block": 0, "refuse": 0},
            "2": {"requests": 4, "pass": 2, "mask": 1, "block": 1, "refuse": 0},
            "3": {"requests": 1, "pass": 0, "mask": 0, "block": 0, "refuse": 1}}, v["by_classification"]
        assert v["by_model"]["tiny"]["requests"] == 5 and v["by_model"]["abroad"]["refuse"] == 1, v["by_model"]
        assert v["by_project"][p2] == {"requests": 1, "pass": 1, "mask": 0, "block": 0, "refuse": 0}, v
        assert v["by_project"][o.project]["requests"] == 5, v
        # per user: all six were the one member's (through two keys), none the other tenant's
        assert v["by_principal"] == {o.user: v["total"]}, v["by_principal"]
        # one project alone; a period before the requests has none
        vp = decisions(d, o.tenant, project=o.project)
        assert vp["total"]["requests"] == 5 and list(vp["by_project"]) == [o.project], vp
        assert decisions(d, o.tenant, since="2020-01-01T00:00:00Z",
                         until="2020-02-01T00:00:00Z")["total"]["requests"] == 0
        # the other tenant sees its own only; its administrator cannot ask about ours
        vo = wait_total(d, other.tenant, 1)
        assert vo["total"]["requests"] == 1, vo
        _, other_admin = d.tenant_admin(other.tenant)
        r = d.api("GET", "/admin/v1/ai/decisions?tenant=" + o.tenant, token=other_admin)
        assert r.status_code == 404, r.text
        r = d.api("GET", "/admin/v1/ai/decisions?project=" + o.project, token=other_admin)
        assert r.status_code == 400, r.text
        # a member of the project has no usage.read
        r = d.api("GET", "/admin/v1/ai/decisions?tenant=%s&project=%s" % (o.tenant, o.project), token=o.key)
        assert r.status_code == 403, r.text

        # as CSV, for a spreadsheet: the total, then each grouping's rows in the order of their keys
        r = d.api("GET", "/admin/v1/ai/decisions?tenant=%s&format=csv" % o.tenant)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv"), r.text
        assert 'filename="kasumi-ai-decisions.csv"' in r.headers["Content-Disposition"], r.headers
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[:2] == [["group", "key", "requests", "pass", "mask", "block", "refuse"],
                            ["total", "", "6", "3", "1", "1", "1"]], rows
        assert rows[3:6] == [["classification", "1", "1", "1", "0", "0", "0"],
                             ["classification", "2", "4", "2", "1", "1", "0"],
                             ["classification", "3", "1", "0", "0", "0", "1"]], rows
        assert ["model", "abroad", "1", "0", "0", "0", "1"] in rows and ["user", o.user, "6", "3", "1", "1", "1"] in rows
        assert rows[2] == ["unscanned", "", "0", "", "", "", ""], rows   # no content went unread
        assert ["project", p2, "1", "1", "0", "0", "0"] in rows and len(rows) == 1 + 1 + 1 + 3 + 2 + 2 + 1, rows
        assert d.api("GET", "/admin/v1/ai/decisions?tenant=%s&format=xml" % o.tenant).status_code == 400
        decisions_csv = r.text

        # the CLI: by classification (the default), by model; a fiscal year; a bad year refused
        out = d.cli("ai", "decisions", "--tenant", o.tenant).stdout
        lines = [l.split() for l in out.splitlines()]
        assert lines[:4] == [["CLASS", "REQUESTS", "PASS", "MASK", "BLOCK", "REFUSE"], ["1", "1", "1", "0", "0", "0"],
                             ["2", "4", "2", "1", "1", "0"], ["3", "1", "0", "0", "0", "1"]], out
        assert "requests 6: pass 3, mask 1, block 1, refuse 1" in out, out
        out = d.cli("ai", "decisions", "--tenant", o.tenant, "--by", "model").stdout
        assert [l.split() for l in out.splitlines()][:3] == [
            ["MODEL", "REQUESTS", "PASS", "MASK", "BLOCK", "REFUSE"], ["abroad", "1", "0", "0", "0", "1"],
            ["tiny", "5", "3", "1", "1", "0"]], out
        jst = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9)))
        fy = jst.year if jst.month >= 4 else jst.year - 1
        out = d.cli("ai", "decisions", "--tenant", o.tenant, "--fiscal-year", str(fy), "-o", "json").stdout
        assert json.loads(out)["total"] == v["total"] and json.loads(out)["since"] == "%d-03-31T15:00:00.000Z" % fy, out
        assert "requests 0:" in d.cli("ai", "decisions", "--tenant", o.tenant, "--fiscal-year", str(fy - 1)).stdout
        bad = d.cli("ai", "decisions", "--fiscal-year", str(fy), "--since", "2026-01-01T00:00:00Z", check=False)
        assert bad.returncode == 2 and "not both" in bad.stderr, bad

        # the AI page in the browser: the same counts; for this fiscal year (年度: April to March,
        # JST) too, and none in the one before
        res = run_browser(d, [{"do": "ai_decisions", "name": "ai-decisions", "tenant": o.tenant,
                               "fys": [fy, fy - 1]},
                              {"do": "ai_decisions", "name": "ai-decisions-platform", "tenant": ""}])
        # with no tenant chosen, the platform administrator sees every tenant's: ours and the other's
        everyone = d.ok("GET", "/admin/v1/ai/decisions")
        assert everyone["total"]["requests"] == 7 and everyone["tenant"] is None, everyone["total"]
        plat = res["steps"]["ai-decisions-platform"]
        assert json.loads(plat["total"]) == everyone["total"], plat
        assert sorted(row[0] for row in plat["by_project"]) == sorted(everyone["by_project"]), plat["by_project"]
        st = res["steps"]["ai-decisions"]
        assert json.loads(st["total"]) == v["total"], st
        level = {row[0]: row[1:] for row in st["by_class"]}
        assert level == {"機密性1": ["1", "1", "0", "0", "0"], "機密性2": ["4", "2", "1", "1", "0"],
                         "機密性3": ["1", "0", "0", "0", "1"]}, st["by_class"]
        models = {row[0]: row[1:] for row in st["by_model"]}
        assert models["abroad"] == ["1", "0", "0", "0", "1"] and models["tiny"][0] == "5", models
        projects = {row[0]: row[1:] for row in st["by_project"]}
        assert projects["第二"] == ["1", "1", "0", "0", "0"] and len(projects) == 2, projects
        # by user: the member's name (the admin may list the tenant's users), all six hers
        assert st["by_user"] == [["職員", "6", "3", "1", "1", "1"]], st["by_user"]
        assert st["csv"]["decisions"] == decisions_csv, st["csv"]   # the page's link: the same file
        years = st["fiscal_years"]
        this, before = years[str(fy)], years[str(fy - 1)]
        assert json.loads(this["total"]) == v["total"], this
        assert (this["since"], this["until"]) == ("%d-03-31T15:00:00.000Z" % fy, "%d-03-31T15:00:00.000Z" % (fy + 1)), this
        assert "%d年度" % fy in this["text"] and "%d年4月1日" % fy in this["text"], this["text"]
        assert json.loads(before["total"])["requests"] == 0 and json.loads(before["abroad"])["requests"] == 0, before
    finally:
        d.stop()


def destinations(d, tenant, token="__admin__", **q):
    return counted(d, "destinations", tenant, token, **q)


def place(n, c1=0, c2=0, c3=0):
    return {"requests": n, "by_classification": {"1": c1, "2": c2, "3": c3}}


def test_destinations_counted_and_shown(tmp_path, llm_server, fault_server):
    """Where each request's content went, from its own audit record: the real llama.cpp server in
    Japan, the fault server as a model server in the US (on the overseas allow-list), a route whose
    two servers, one in the US and one in Japan, both fail (each was sent the request: the first is
    drawn by weight, the other is the fallback) and one whose only server fails (it was still sent
    it). Refused and blocked requests went nowhere and are not counted."""
    d = ai_daemon(tmp_path / "data", extra_args=["--overseas-allow", fault_server.url + "/"])
    try:
        o = Org(d, llm_server, fault_server)
        o.llm_route("tiny")
        us = {"provider": "openai", "base_url": fault_server.base_url, "jurisdiction": "US"}
        o.route("abroad", [dict(us, model="fault:echo")])
        o.route("fallback", [dict(us, model="fault:500"),
                             {"provider": "openai", "base_url": fault_server.base_url, "model": "fault:500"}])
        o.route("down", [dict(us, model="fault:500")])
        assert chat(o, "tiny", "こんにちは").status_code == 200                      # 2 → JP
        assert chat(o, "tiny", "内部資料", cls="3").status_code == 200               # 3 → JP
        time.sleep(0.05)
        mid = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        time.sleep(0.05)
        assert chat(o, "abroad", "hello", cls="1").status_code == 200               # 1 → US
        assert chat(o, "abroad", "秘", cls="3").status_code == 403                  # 3: refused, nowhere
        assert chat(o, "tiny", "個人番号 %s" % MYNUMBER).status_code == 400         # blocked, nowhere
        r = chat(o, "fallback", "hello", cls="1")                                   # 1 → US and JP
        assert r.status_code >= 500, r.text
        fallback_id = r.headers["X-Request-Id"]
        assert chat(o, "down", "hello", cls="1").status_code >= 500                  # 1 → US, failed

        deadline = time.time() + 15
        while True:
            v = destinations(d, o.tenant)
            if v["total"]["requests"] >= 5 or time.time() > deadline:
                break
            time.sleep(0.2)
        assert v["total"] == place(5, c1=3, c2=1, c3=1), v
        assert v["by_jurisdiction"] == {"JP": place(3, c1=1, c2=1, c3=1), "US": place(3, c1=3)}, v
        assert v["abroad"] == place(3, c1=3), v
        assert v["by_project"] == {o.project: {"requests": 5, "abroad": 3}}, v
        r = d.api("GET", "/admin/v1/ai/destinations?tenant=%s&format=csv" % o.tenant)
        assert r.status_code == 200 and 'filename="kasumi-ai-destinations.csv"' in r.headers["Content-Disposition"]
        assert list(csv.reader(io.StringIO(r.text))) == [
            ["group", "key", "requests", "class_1", "class_2", "class_3", "abroad"],
            ["total", "", "5", "3", "1", "1", "3"], ["abroad", "", "3", "3", "0", "0", ""],
            ["jurisdiction", "JP", "3", "1", "1", "1", ""], ["jurisdiction", "US", "3", "3", "0", "0", ""],
            ["project", o.project, "5", "", "", "", "3"]], r.text
        # from a moment between requests: the index block that holds them is read record by record
        vm = destinations(d, o.tenant, since=mid)
        assert vm["total"] == place(3, c1=3) and vm["abroad"] == place(3, c1=3), vm
        assert vm["by_jurisdiction"] == {"JP": place(1, c1=1), "US": place(3, c1=3)}, vm
        # the record itself says it: both servers of the fallback, each once, in the order tried
        recs = d.ok("GET", "/admin/v1/audit?tenant=%s&action=ai.chat&limit=100" % o.tenant)["items"]
        rec = next(x for x in recs if x["request_id"] == fallback_id)
        assert rec["detail"].rsplit(" class=1 sent_to=", 1)[1] in ("US,JP", "JP,US"), rec
        # a period before the requests has none; a project alone
        assert destinations(d, o.tenant, since="2020-01-01T00:00:00Z",
                            until="2020-02-01T00:00:00Z")["total"]["requests"] == 0
        assert destinations(d, o.tenant, project=o.project)["total"]["requests"] == 5
        # another tenant's administrator cannot ask; a project's member has no usage.read
        other = Org(d, llm_server, fault_server)
        _, other_admin = d.tenant_admin(other.tenant)
        r = d.api("GET", "/admin/v1/ai/destinations?tenant=" + o.tenant, token=other_admin)
        assert r.status_code == 404, r.text
        assert destinations(d, other.tenant, token=other_admin)["total"]["requests"] == 0
        r = d.api("GET", "/admin/v1/ai/destinations?tenant=%s&project=%s" % (o.tenant, o.project), token=o.key)
        assert r.status_code == 403, r.text

        # the CLI's table: Japan first, then the US; and the abroad line
        out = d.cli("ai", "destinations", "--tenant", o.tenant).stdout
        lines = [l.split() for l in out.splitlines()]
        assert lines[0] == ["JURISDICTION", "REQUESTS", "CLASS_1", "CLASS_2", "CLASS_3"], out
        assert lines[1] == ["JP", "3", "1", "1", "1"] and lines[2] == ["US", "3", "3", "0", "0"], out
        assert "sent 5, abroad 3 (class 1: 3, class 2: 0, class 3: 0)" in out, out
        jst = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9)))
        fy = jst.year if jst.month >= 4 else jst.year - 1
        out = d.cli("ai", "destinations", "--tenant", o.tenant, "--fiscal-year", str(fy)).stdout
        assert "sent 5, abroad 3 (class 1: 3, class 2: 0, class 3: 0)" in out, out

        # the AI page in the browser: the same counts, Japan first, no level-3 warning
        res = run_browser(d, [{"do": "ai_decisions", "name": "ai-destinations", "tenant": o.tenant}])
        st = res["steps"]["ai-destinations"]
        assert json.loads(st["abroad"]) == v["abroad"] and st["class3_abroad"] == 0, st
        assert "国外へ 3 件" in st["abroad_text"], st["abroad_text"]
        assert [row[1:] for row in st["destinations"]] == [["3", "1", "1", "1"], ["3", "3", "0", "0"]], st
        assert "(JP)" in st["destinations"][0][0] and "(US)" in st["destinations"][1][0], st

        # the counts the audit index keeps are rebuilt from the log alone: the same answers after
        # the index is lost (its blocks' counts made again from the records as the log holds them)
        dec = decisions(d, o.tenant)
        assert dec["total"]["requests"] == 7, dec   # the five sent, the refused and the blocked
        d.stop()
        for f in (d.data_dir / "audit").glob("index.db*"):
            f.unlink()
        d.start()
        d.ai_addr = json.loads((d.data_dir / "listen.json").read_text())["ai"]
        same = lambda a, b: {k: a[k] for k in a if k not in ("since", "until")} == \
            {k: b[k] for k in b if k not in ("since", "until")}
        assert same(destinations(d, o.tenant), v), (destinations(d, o.tenant), v)
        assert same(decisions(d, o.tenant), dec), (decisions(d, o.tenant), dec)
        assert same(destinations(d, o.tenant, since=mid), vm)
    finally:
        d.stop()
