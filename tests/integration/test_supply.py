"""The supply-chain register (IT調達申合せ) through the admin API and the `kasumi` CLI: cases and
their scope decision, equipment lists from CSV (UTF-8 and CP932) and XLSX (made by openpyxl) with
every problem reported by row and column and nothing half-imported, exports that re-import, the
review workflow with its audit trail, the concern list, chains, statistics and the SBOM."""
import io
import json
import re
import subprocess
import time
import uuid

import openpyxl
import pytest

from conftest import KASUMI, KASUMID, corpnum, new_corpnum

HEADER = ["法人名", "通番", "区分", "製造業者名", "製造業者の法人番号(半角数字)", "製品名", "型番"]
MAKER_CN = corpnum("123456789012")   # a valid 法人番号 for a maker


def form_rows(items, title="〇〇システム", company="〇〇株式会社"):
    return [["購入等件名(調達案件名)", "", title], ["法人名", "", company], [],
            ["○ 機器等一覧"], HEADER] + items


def to_csv(rows):
    out = io.StringIO()
    for r in rows:
        out.write(",".join('"%s"' % c.replace('"', '""') if any(x in c for x in ',"\n') else c
                           for c in map(str, r)) + "\r\n")
    return out.getvalue()


def to_xlsx(rows, merges=(), formulas=()):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append([None if c == "" else c for c in r])
    for m in merges:
        ws.merge_cells(m)
    for ref, f in formulas:
        ws[ref] = f
    b = io.BytesIO()
    wb.save(b)
    return b.getvalue()


GOOD = [["〇〇株式会社", 1, "サーバ", "㈱ＡＢＣ", MAKER_CN, "①サーバ～改", "AAA－0123"],
        ["", "２", "ストレージ", "Foo Inc.", "海外法人のため法人番号なし", "ストレージ", "BBB-bb"]]


@pytest.fixture(scope="module")
def org(shared):
    t = shared.tenant(name="総務省-" + uuid.uuid4().hex[:4])
    admin, token = shared.tenant_admin(t["id"])
    # a reviewer: a platform-level user bound to supply_reviewer at platform scope
    rv = shared.ok("POST", "/admin/v1/platform/users", {"name": "NISC 審査", "email": "rv-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    shared.ok("POST", "/admin/v1/role-bindings", {"principal": rv["id"], "role": "supply_reviewer", "scope": "platform"})
    rkey = shared.ok("POST", "/admin/v1/keys", {"user": rv["id"], "kind": "api"})["secret"]
    other = shared.tenant(name="他省-" + uuid.uuid4().hex[:4])
    _, other_token = shared.tenant_admin(other["id"])
    return {"tenant": t, "admin": admin, "token": token, "reviewer": rv, "rtoken": rkey, "other_token": other_token}


def new_case(shared, org, **extra):
    body = {"title": "〇〇システム", "agency": "総務省", "categories": ["サーバ装置"], "criteria": [2],
            "submission_due": "令和8. 6. 20", "inspection_due": "2026/6/25", "bid_due": "令和８年６月３０日"}
    body.update(extra)
    return shared.ok("POST", "/admin/v1/tenants/%s/supply-cases" % org["tenant"]["id"], body, token=org["token"])


def test_case_scope_decision_and_dates(shared, org):
    c = new_case(shared, org)
    assert (c["submission_due"], c["inspection_due"], c["bid_due"]) == ("2026-06-20", "2026-06-25", "2026-06-30")
    assert c["in_scope"] is True and c["scope"]["agency_listed"] is True, c
    assert any("サーバ装置" in r for r in c["scope"]["reasons"]) and any(r.startswith("criterion 2") for r in c["scope"]["reasons"])
    # each condition missing takes it out, and the reason says which
    out = new_case(shared, org, agency="株式会社どこか")
    assert out["in_scope"] is False and any("not among the agencies" in r for r in out["scope"]["reasons"])
    out = new_case(shared, org, criteria=[])
    assert out["in_scope"] is False and "importance: no criterion is met" in out["scope"]["reasons"]
    out = new_case(shared, org, categories=["ゲーム機"])
    assert out["in_scope"] is False and any("ゲーム機 is not a listed category" in r for r in out["scope"]["reasons"])
    # the agreement's own spelling of an agency is recognised and named
    seed = new_case(shared, org, agency="労働者退職金共済機構")
    assert seed["scope"]["agency_listed"] and any("勤労者退職金共済機構" in r for r in seed["scope"]["reasons"])
    for bad in ({"bid_due": "令和元年4月30日"}, {"bid_due": "2026-02-30"}, {"criteria": [6]}, {"extra": 1}, {"title": 5}):
        r = shared.api("POST", "/admin/v1/tenants/%s/supply-cases" % org["tenant"]["id"], dict({"title": "x", "agency": "総務省"}, **bad), token=org["token"])
        assert r.status_code == 400, (bad, r.text)


def test_cli_case_create_json_equals_api(shared, org):
    p = shared.cli("supply", "case", "create", "--tenant", org["tenant"]["id"], "--title", "CLI案件", "--agency", "デジタル庁",
                   "--categories", "サーバ装置,役務", "--criteria", "1,4", "--bid-due", "令和9.1.20", "--output", "json", token=org["token"])
    c = json.loads(p.stdout)
    assert c["bid_due"] == "2027-01-20" and c["criteria"] == [1, 4] and c["in_scope"] is True
    assert shared.ok("GET", "/admin/v1/supply-cases/" + c["id"], token=org["token"]) == c
    p = shared.cli("supply", "case", "create", "--tenant", org["tenant"]["id"], "--title", "x", "--agency", "y",
                   "--bid-due", "令和〇.6.30", token=org["token"], check=False)
    assert p.returncode == 1 and "bid_due" in p.stderr, p.stderr
    d = json.loads(shared.cli("supply", "case", "deadlines", "--tenant", org["tenant"]["id"], "--within-days", "3660",
                              "-o", "json", token=org["token"]).stdout)
    assert any(x["case"] == c["id"] and x["label"] == "入札予定期日" for x in d["items"]), d


def import_cli(shared, org, case_id, tmp_path, data, name, *extra, check=True):
    f = tmp_path / name
    f.write_bytes(data)
    return shared.cli("supply", "list", "import", "--case", case_id, str(f), *extra, token=org["token"], check=check)


def test_csv_utf8_and_cp932_with_cp932_only_characters(shared, org, tmp_path):
    text = to_csv(form_rows(GOOD))
    for enc, data in (("utf-8", text.encode("utf-8")), ("utf-8", b"\xef\xbb\xbf" + text.encode("utf-8")),
                      ("cp932", text.encode("cp932"))):
        c = new_case(shared, org)
        p = import_cli(shared, org, c["id"], tmp_path, data, "list.csv", "-o", "json")
        lst = json.loads(p.stdout)
        assert lst["encoding"] == enc and lst["item_count"] == 2, lst
        a, b = lst["items"]
        # ㈱ ① ～ － survive CP932 (Shift_JIS has no ㈱ ① and maps ～ － elsewhere)
        assert (a["maker"], a["product"], a["model"]) == ("㈱ＡＢＣ", "①サーバ～改", "AAA－0123"), a
        assert a["maker_corporate_number"] == MAKER_CN and b["seq"] == 2   # full-width ２ normalised
        assert b["maker_corporate_number"] is None and b["maker_no_number_reason"] == "海外法人のため法人番号なし"
        assert a["company"] == b["company"] == "〇〇株式会社"   # 法人名 carries down as in the form


def test_xlsx_import_export_roundtrip(shared, org, tmp_path):
    c = new_case(shared, org, department="〇〇局〇〇課")
    rows = form_rows([["X社", 1, "サーバ", "A社", int(MAKER_CN), "S", "M-1"],
                      ["", 2, "プリンタ", "B社", "７０００ ０１２ ０５０００２", "P", "E1234e"]])
    lst = json.loads(import_cli(shared, org, c["id"], tmp_path, to_xlsx(rows, merges=["C1:E1"]), "l.xlsx", "-o", "json").stdout)
    assert lst["format"] == "xlsx" and [i["maker_corporate_number"] for i in lst["items"]] == [MAKER_CN, "7000012050002"]
    assert lst["submitter"]["title"] == "〇〇システム"
    out = tmp_path / "out.xlsx"
    shared.cli("supply", "list", "export", "--case", c["id"], "--format", "xlsx", "--out", str(out), token=org["token"])
    ws = openpyxl.load_workbook(out).active
    cells = [[ws.cell(r, k).value for k in range(1, 8)] for r in range(1, ws.max_row + 1)]
    hdr = cells.index(HEADER)
    assert cells[hdr + 1][:7] == ["X社", 1, "サーバ", "A社", MAKER_CN, "S", "M-1"], cells[hdr + 1]
    assert ["提出予定期日", None, "2026-06-20"] in [r[:3] for r in cells]   # the case's ministry block
    assert ["担当部局課名", None, "〇〇局〇〇課"] in [r[:3] for r in cells]
    # each export re-imports as the same list
    for fmt in ("xlsx", "csv", "json"):
        f = tmp_path / ("again." + fmt)
        shared.cli("supply", "list", "export", "--case", c["id"], "--format", fmt, "--out", str(f), token=org["token"])
        c2 = new_case(shared, org)
        again = json.loads(import_cli(shared, org, c2["id"], tmp_path, f.read_bytes(), "again." + fmt, "-o", "json").stdout)
        assert again["items"] == lst["items"], fmt


BAD = [
    ("cp932 bytes that are not CP932", "csv", to_csv(form_rows(GOOD)).encode("cp932") + b"\x85\x40\r\n", "nor CP932"),
    ("UTF-16", "csv", to_csv(form_rows(GOOD)).encode("utf-16"), "UTF-16"),
    ("bad check digit", "csv", to_csv(form_rows([["X", 1, "a", "b", "8000012050002", "c", "d"]])).encode(), "row 6, column E"),
    ("通番 gap", "csv", to_csv(form_rows([["X", 1, "a", "b", MAKER_CN, "c", "d"], ["", 3, "a", "b", MAKER_CN, "c", "d"]])).encode(), "row 7, column B"),
    ("required cell", "csv", to_csv(form_rows([["X", 1, "", "b", MAKER_CN, "c", "d"]])).encode(), "row 6, column C"),
    ("no 法人番号 and no reason", "csv", to_csv(form_rows([["X", 1, "a", "b", "", "c", "d"]])).encode(), "row 6, column E"),
    ("extra column", "csv", to_csv([HEADER + ["備考"], ["X", 1, "a", "b", MAKER_CN, "c", "d", "e"]]).encode(), "row 1, column H"),
    ("missing header cell", "xlsx", to_xlsx([HEADER[:3] + [""] + HEADER[4:], ["X", 1, "a", "b", MAKER_CN, "c", "d"]]), "製造業者名 is missing"),
    ("merged header cells", "xlsx", to_xlsx([HEADER, ["X", 1, "a", "b", MAKER_CN, "c", "d"]], merges=["F1:G1"]), "merged"),
    ("formula", "xlsx", to_xlsx([HEADER, ["X", 1, "a", "b", MAKER_CN, "c", "d"]], formulas=[("G2", "=F2")]), "row 2, column G"),
    ("not a workbook", "xlsx", b"PK\x03\x04garbage", "ZIP"),
]


@pytest.mark.parametrize("label,fmt,data,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_lists_import_nothing(shared, org, tmp_path, label, fmt, data, needle):
    c = new_case(shared, org)
    good = json.loads(import_cli(shared, org, c["id"], tmp_path, to_csv(form_rows(GOOD)).encode(), "g.csv", "-o", "json").stdout)
    p = import_cli(shared, org, c["id"], tmp_path, data, "bad." + fmt, check=False)
    assert p.returncode == 1, (label, p.stdout, p.stderr)
    assert needle in p.stderr, (label, p.stderr)
    r = shared.api("POST", "/admin/v1/supply-cases/%s/lists?format=%s" % (c["id"], fmt), raw=data, token=org["token"])
    assert r.status_code == 400 and r.json()["error"]["errors"], r.text
    # nothing half-imported: the case still has the good list, whole
    cur = shared.ok("GET", "/admin/v1/supply-cases/%s/list?format=json" % c["id"], token=org["token"])
    assert cur["id"] == good["id"] and cur["items"] == good["items"]


def test_huge_file_is_refused_whole(shared, org, tmp_path):
    c = new_case(shared, org)
    rows = form_rows([["X", i, "a", "b", MAKER_CN, "c" * 40, "d" * 40] for i in range(1, 12000)])
    p = import_cli(shared, org, c["id"], tmp_path, to_csv(rows).encode(), "huge.csv", check=False)
    assert p.returncode == 1 and "payload_too_large" in p.stderr, p.stderr
    assert shared.ok("GET", "/admin/v1/supply-cases/" + c["id"], token=org["token"])["list"] is None


def test_workflow_roles_audit_and_reopen(shared, org, tmp_path):
    c = new_case(shared, org)
    cid, tok, rtok = c["id"], org["token"], org["rtoken"]
    r = shared.api("POST", "/admin/v1/supply-cases/%s/submit" % cid, token=tok)
    assert r.status_code == 409 and "equipment list" in r.text   # nothing to review yet
    import_cli(shared, org, cid, tmp_path, to_csv(form_rows(GOOD)).encode(), "l.csv")
    assert shared.ok("POST", "/admin/v1/supply-cases/%s/submit" % cid, token=tok, status=200)["state"] == "submitted"
    # the agency cannot review its own case; another tenant cannot even see it
    assert shared.api("POST", "/admin/v1/supply-cases/%s/review" % cid, token=tok).status_code == 403
    assert shared.api("GET", "/admin/v1/supply-cases/" + cid, token=org["other_token"]).status_code == 404
    assert shared.api("GET", "/admin/v1/tenants/%s/supply-cases" % org["tenant"]["id"], token=org["other_token"]).status_code == 404
    # the reviewer sees every tenant's submitted cases, takes this one, cannot change it
    subs = shared.ok("GET", "/admin/v1/supply-cases?state=submitted", token=rtok)["items"]
    assert cid in [x["id"] for x in subs]
    shared.cli("supply", "case", "review", cid, token=rtok)
    assert shared.api("PATCH", "/admin/v1/supply-cases/" + cid, {"title": "x"}, token=rtok).status_code == 403
    p = shared.cli("supply", "case", "advise", cid, "--concern", "yes", "--reason", "r", token=rtok, check=False)
    assert p.returncode == 1 and "alternative" in p.stderr
    a = json.loads(shared.cli("supply", "case", "advise", cid, "--concern", "yes", "--reason", "遠隔保守機能に懸念",
                              "--alternative", "国内製品への差替", "-o", "json", token=rtok).stdout)
    assert a["state"] == "advised" and a["advice"]["result"] == "懸念あり" and a["advice"]["reviewer"] == org["reviewer"]["id"]
    r = shared.api("POST", "/admin/v1/supply-cases/%s/resolve" % cid, {}, token=tok)
    assert r.status_code == 400 and "measures" in r.text
    # a change after advice reopens the review and supersedes the advice
    re_ = shared.ok("PATCH", "/admin/v1/supply-cases/" + cid, {"criteria": [2, 3]}, token=tok, status=200)
    assert re_["state"] == "under_review" and re_["advice"] is None
    shared.ok("POST", "/admin/v1/supply-cases/%s/advice" % cid, {"concern": False}, token=rtok, status=200)
    done = shared.ok("POST", "/admin/v1/supply-cases/%s/resolve" % cid, {"measures": "差替済み"}, token=tok, status=200)
    assert done["state"] == "resolved"
    ev = shared.ok("GET", "/admin/v1/supply-cases/%s/events" % cid, token=tok)["items"]
    steps = [(e["action"], e["actor"]) for e in ev]
    admin, rv = org["admin"]["id"], org["reviewer"]["id"]
    assert steps == [("created", admin), ("list_imported", admin), ("submit", admin), ("review", rv),
                     ("advise", rv), ("reopened", admin), ("advise", rv), ("resolve", admin)], steps
    # the audit log has every transition with its actor (the index may trail the records a moment)
    wanted = [("supply.case.submit", admin), ("supply.case.review", rv), ("supply.case.advise", rv),
              ("supply.case.update", admin), ("supply.case.resolve", admin)]
    deadline = time.time() + 15
    while True:
        recs = shared.audit_records(tenant=org["tenant"]["id"])
        mine = [(x["action"], x["principal"]) for x in recs if x.get("target") == cid and x["outcome"] == "success"]
        if all(w in mine for w in wanted) or time.time() > deadline:
            break
        time.sleep(0.2)
    for want in wanted:
        assert want in mine, (want, mine)


def test_concern_list_matching(shared, org, tmp_path):
    c = new_case(shared, org)
    import_cli(shared, org, c["id"], tmp_path, to_csv(form_rows(GOOD + [["", 3, "端末", "Other", "海外法人", "T", "CCC-1111"]])).encode(), "l.csv")
    rtok = org["rtoken"]
    # concern entries: by name (another spelling of ㈱ＡＢＣ), by 法人番号 narrowed to models, by model pattern
    shared.ok("POST", "/admin/v1/supply-concerns", {"name": "ABC 株式会社", "reason": "名前で一致"}, token=rtok)
    shared.ok("POST", "/admin/v1/supply-concerns", {"corporate_number": MAKER_CN, "model_pattern": "AAA-*", "reason": "番号と型番"}, token=rtok)
    shared.ok("POST", "/admin/v1/supply-concerns", {"model_pattern": "ccc*", "reason": "型番"}, token=rtok)
    shared.ok("POST", "/admin/v1/supply-concerns", {"model_pattern": "zzz*", "reason": "当たらない"}, token=rtok)
    # agencies neither see nor edit the list
    assert shared.api("GET", "/admin/v1/supply-concerns", token=org["token"]).status_code == 403
    m = json.loads(shared.cli("supply", "concern", "match", "--case", c["id"], "-o", "json", token=rtok).stdout)
    why = {(x["seq"], x["concern_reason"]): x["why"] for x in m["matches"]}
    assert set(why) == {(1, "名前で一致"), (1, "番号と型番"), (3, "型番")}, m
    assert any("normalise to 'abc'" in w for w in why[(1, "名前で一致")])
    assert any(MAKER_CN in w for w in why[(1, "番号と型番")]) and any("AAA－0123" in w for w in why[(1, "番号と型番")])
    assert shared.api("GET", "/admin/v1/supply-cases/%s/concerns" % c["id"], token=org["token"]).status_code == 403


def test_chain_tree(shared, org):
    c = new_case(shared, org)
    tree = {"contractors": [{"name": "元請株式会社", "corporate_number": MAKER_CN, "country": "JP", "scope": "開発",
                             "touches_information_assets": True, "subcontractors": [
                                 {"name": "下請", "corporate_number": "７０００ ０１２ ０５０００２", "country": "JP", "scope": "運用",
                                  "touches_information_assets": True, "subcontractors": [
                                      {"name": "Overseas Ltd.", "no_number_reason": "海外法人", "country": "US", "scope": "保守",
                                       "touches_information_assets": False}]}]}]}
    got = shared.ok("PUT", "/admin/v1/supply-cases/%s/chain" % c["id"], tree, token=org["token"], status=200)
    n1 = got["contractors"][0]
    n2 = n1["subcontractors"][0]
    n3 = n2["subcontractors"][0]
    assert [n["level_name"] for n in (n1, n2, n3)] == ["委託", "再委託", "再々委託"]
    assert n2["corporate_number"] == "7000012050002" and n3["corporate_number"] is None and n3["country"] == "US"
    for bad in ({"contractors": [{"name": "x", "corporate_number": "8000012050002", "country": "JP", "scope": "s", "touches_information_assets": True}]},
                {"contractors": [{"name": "x", "country": "JP", "scope": "s", "touches_information_assets": True}]},
                {"contractors": [{"name": "x", "no_number_reason": "r", "country": "japan", "scope": "s", "touches_information_assets": True}]}):
        r = shared.api("PUT", "/admin/v1/supply-cases/%s/chain" % c["id"], bad, token=org["token"])
        assert r.status_code == 400, r.text
    assert shared.ok("GET", "/admin/v1/supply-cases/%s/chain" % c["id"], token=org["token"])["contractors"] == got["contractors"]


def test_statistics_per_fiscal_year(fresh, tmp_path):
    d = fresh.start()
    t = d.tenant()
    c = d.ok("POST", "/admin/v1/tenants/%s/supply-cases" % t["id"], {"title": "t", "agency": "総務省"})
    before = d.ok("GET", "/admin/v1/supply-statistics")["items"]
    assert before == []
    for concern in (True, False):
        r = d.api("POST", "/admin/v1/supply-cases/%s/lists" % c["id"], raw=to_csv(form_rows(GOOD)).encode(), headers={"Content-Type": "text/csv"})
        assert r.status_code == 201, r.text
        st = d.ok("GET", "/admin/v1/supply-cases/" + c["id"])["state"]
        if st == "draft":
            d.ok("POST", "/admin/v1/supply-cases/%s/submit" % c["id"], status=200)
            d.ok("POST", "/admin/v1/supply-cases/%s/review" % c["id"], status=200)
        body = {"concern": True, "reason": "r", "mitigation": "m"} if concern else {"concern": False}
        d.ok("POST", "/admin/v1/supply-cases/%s/advice" % c["id"], body, status=200)
    items = d.ok("GET", "/admin/v1/supply-statistics")["items"]
    assert len(items) == 1, items
    row = items[0]
    assert (row["lists_advised"], row["items"], row["lists_with_concern"], row["cases"], row["cases_with_concern"]) == (2, 4, 1, 1, 1), row
    assert row["reiwa"] == row["fiscal_year"] - 2018
    assert d.ok("GET", "/admin/v1/supply-statistics?fiscal_year=%d" % (row["fiscal_year"] - 1))["items"] == []


def test_sbom_matches_ldd_and_imports_as_a_list(shared, org, tmp_path):
    p = subprocess.run([KASUMI, "sbom"], capture_output=True, text=True, check=True)
    bom = json.loads(p.stdout)
    assert bom["bomFormat"] == "CycloneDX" and bom["metadata"]["component"]["name"] == "kasumid"
    sonames = {pr["value"] for c in bom["components"] for pr in c["properties"] if pr["name"] == "kasumi:soname"}
    ldd = subprocess.run(["ldd", KASUMID], capture_output=True, text=True, check=True).stdout
    from_ldd = set()
    for line in ldd.splitlines():
        m = re.match(r"\s*(\S+)( =>|\s+\()", line)
        if m and not m.group(1).startswith("linux-vdso"):
            from_ldd.add(m.group(1).rsplit("/", 1)[-1])
    assert sonames == from_ldd, (sonames ^ from_ldd)
    for comp in bom["components"]:
        assert comp["version"] and comp["supplier"]["name"] and comp["purl"].startswith("pkg:deb/debian/")
        owner = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", comp["name"]], capture_output=True, text=True)
        assert owner.stdout == comp["version"], comp["name"]
    csv = subprocess.run([KASUMI, "sbom", "--format", "csv", "--company", "運用者"], capture_output=True, check=True).stdout
    c = new_case(shared, org)
    lst = json.loads(import_cli(shared, org, c["id"], tmp_path, csv, "sbom.csv", "-o", "json").stdout)
    assert lst["item_count"] == len(bom["components"])
    assert {i["product"] for i in lst["items"]} == {c["name"] for c in bom["components"]}
