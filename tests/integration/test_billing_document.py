"""The Japanese monthly report and the cost in groups, against the real kasumid: storage usage made
with boto3, then `kasumi billing report --format html|pdf` (the admin API's Content-Type, the same
numbers as the JSON: 登録番号, 税抜 + 税 = 税込, every line's amount; the PDF read back by poppler's
pdftotext, its Japanese font embedded per pdffonts) and GET /admin/v1/billing/usage by day, service
and project (each adding up to the invoice's usage subtotal; `kasumi billing usage`); who may read
them."""
import datetime
import json
import subprocess
import time
import uuid
from decimal import Decimal

import pytest

from conftest import Daemon
from test_s3 import S3Org

JST = datetime.timezone(datetime.timedelta(hours=9))
REG = "T8700110005901"
GIB = 1073741824


@pytest.fixture(scope="module")
def bd(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("billing-doc") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.write_config('[billing]\noperator_name = "霞クラウド運営"\nregistration_number = "%s"\n' % REG)
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    yield d
    d.stop()


@pytest.fixture(scope="module")
def org(bd):
    for meter, unit, yen, per in (("requests_write", "request", "0.005", 1),
                                  ("requests_read", "request", "0.4", 1000),
                                  ("bytes_out", "byte", "11.5", GIB)):
        r = bd.api("POST", "/admin/v1/billing/prices", {"service": "storage", "meter": meter, "unit": unit,
                                                        "price": yen, "per": per})
        assert r.status_code == 201, r.text
    o = S3Org(bd)
    s3 = o.client()
    b = "doc-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=b)
    for i in range(3):
        s3.put_object(Bucket=b, Key="k%d" % i, Body=b"x" * 400000)
    s3.get_object(Bucket=b, Key="k1")["Body"].read()
    o.bucket = b
    o.month = datetime.datetime.now(JST).strftime("%Y-%m")
    deadline = time.time() + 15   # usage records are written after the answer: poll
    while True:
        items = bd.list_all("/admin/v1/usage?tenant=%s&service=storage" % o.tenant, limit=1000)
        if any(i["meter"] == "bytes_out" for i in items) and \
                sum(1 for i in items if i["meter"] == "requests_write") >= 4:
            break
        assert time.time() < deadline, items
        time.sleep(0.2)
    return o


def report_json(bd, org):
    return bd.ok("GET", "/admin/v1/billing/report?month=%s&tenant=%s" % (org.month, org.tenant))


def yen_text(d):
    """Decimal yen as the report's tables write it: digits grouped, six decimals."""
    return "{:,.6f}".format(d)


def test_html_report(bd, org, tmp_path):
    js = report_json(bd, org)
    (inv,) = js["invoices"]
    r = bd.api("GET", "/admin/v1/billing/report?month=%s&tenant=%s&format=html" % (org.month, org.tenant))
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8", r.headers
    assert r.headers["content-disposition"].startswith("inline")
    out = tmp_path / "report.html"
    bd.cli("billing", "report", "--tenant", org.tenant, "--month", org.month, "--format", "html",
           "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert html == r.text
    assert html.startswith("<!DOCTYPE html>") and '<html lang="ja">' in html and "<script" not in html
    assert "<dt>登録番号</dt><dd>%s</dd>" % REG in html
    cells = '<td class="num">%s</td><td class="num">%s</td><td class="num">%s</td>' % (
        inv["amount_excluding_tax"], inv["consumption_tax"], inv["amount_including_tax"])
    assert int(inv["amount_excluding_tax"]) + int(inv["consumption_tax"]) == int(inv["amount_including_tax"])
    assert html.count(cells) >= 2   # the invoice's row and the 合計 row (one invoice)
    for line in inv["lines"]:
        if line["ChargeCategory"] != "Tax":
            assert '<td class="num">%s</td>' % yen_text(Decimal(line["BilledCost"])) in html, line
    assert html.count("<svg ") == 3 and "サービス別" in html and "プロジェクト別" in html and "日別" in html


def test_pdf_report(bd, org, tmp_path):
    js = report_json(bd, org)
    (inv,) = js["invoices"]
    r = bd.api("GET", "/admin/v1/billing/report?month=%s&tenant=%s&format=pdf" % (org.month, org.tenant))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    out = tmp_path / "report.pdf"
    bd.cli("billing", "report", "--tenant", org.tenant, "--month", org.month, "--format", "pdf",
           "--out", str(out))
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    t = bd.ok("GET", "/admin/v1/tenants/" + org.tenant)
    assert "利用実績報告書" in text and REG in text and t["name"] in text and t["corporate_number"] in text
    assert "霞クラウド運営" in text and inv["invoice_id"] in text
    for line in inv["lines"]:
        if line["ChargeCategory"] != "Tax":
            assert yen_text(Decimal(line["BilledCost"])) in text, (line, text)
    total = [l for l in text.splitlines() if l.strip().startswith("税込 合計")]
    assert total and total[0].split()[-1] == "{:,}".format(int(inv["amount_including_tax"])), total
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert any("IPAexGothic" in l and " yes " in l for l in fonts.splitlines()), fonts


def test_usage_groups(bd, org):
    inv = report_json(bd, org)["invoices"][0]
    subtotal = int(Decimal(inv["usage_subtotal"]) * 1000000)
    for by in ("day", "service", "project"):
        u = bd.ok("GET", "/admin/v1/billing/usage?month=%s&tenant=%s&group_by=%s" % (org.month, org.tenant, by))
        assert u["group_by"] == by and u["state"] == "open" and u["currency"] == "JPY"
        assert u["total_microyen"] == subtotal == sum(g["cost_microyen"] for g in u["groups"]), u
        assert all(Decimal(g["cost"]) * 1000000 == g["cost_microyen"] for g in u["groups"])
        if by == "day":
            today = datetime.datetime.now(JST).strftime("%Y-%m-%d")
            assert [g["key"] for g in u["groups"]][0] == org.month + "-01"
            assert {g["key"]: g["cost_microyen"] for g in u["groups"]}[today] == subtotal
        if by == "service":
            assert [(g["key"], g["name"]) for g in u["groups"]] == [("storage", "オブジェクトストレージ")]
        if by == "project":
            assert [g["key"] for g in u["groups"]] == [org.project]
    p = bd.cli("billing", "usage", "--month", org.month, "--tenant", org.tenant, "--group-by", "service")
    assert "オブジェクトストレージ" in p.stdout and "total %s JPY" % inv["usage_subtotal"] in p.stdout
    r = bd.api("GET", "/admin/v1/billing/usage?month=%s&tenant=%s&group_by=week" % (org.month, org.tenant))
    assert r.status_code == 400 and "group_by" in r.json()["error"]["message"]


def test_who_may_read(bd, org):
    q = "month=%s&tenant=%s" % (org.month, org.tenant)
    _, viewer, _ = bd.user_key(org.tenant, role="billing_viewer")
    assert bd.api("GET", "/admin/v1/billing/usage?" + q, token=viewer).status_code == 200
    assert bd.api("GET", "/admin/v1/billing/report?format=pdf&" + q, token=viewer).status_code == 200
    _, member, _ = bd.user_key(org.tenant, role="member")
    assert bd.api("GET", "/admin/v1/billing/usage?" + q, token=member).status_code == 403
    other = bd.tenant()
    _, foreign, _ = bd.user_key(other["id"], role="billing_viewer")
    for path in ("/admin/v1/billing/usage?", "/admin/v1/billing/report?format=html&"):
        assert bd.api("GET", path + q, token=foreign).status_code in (403, 404)
    assert bd.api("GET", "/admin/v1/billing/usage?month=" + org.month, token=viewer).status_code == 403


def test_late_usage_is_a_correction_in_the_open_month(bd, org):
    """A usage record for a closed month that arrives after its close (written straight into the
    store here, as a delayed sink would, with the per-day rollup row the sink adds for it: a
    correction of that month, on the day it arrived) leaves that month's report as it was and shows in this
    month's report as a Correction line naming the closed month; the totals still add up."""
    import csv
    import io
    import sqlite3
    first = datetime.datetime.now(JST).replace(day=1)
    prev = (first - datetime.timedelta(days=1)).strftime("%Y-%m")
    if prev not in [m["month"] for m in bd.ok("GET", "/admin/v1/billing/months")["items"]]:
        bd.cli("billing", "month", "close", prev)
    q = "--tenant", org.tenant, "--month"
    before = bd.cli("billing", "report", *q, prev, "--format", "csv").stdout
    when = int((first - datetime.timedelta(days=2)).timestamp() * 1000)   # in the closed month
    now = int(time.time() * 1000)
    day = (now + 9 * 3600000) // 86400000 * 86400000 - 9 * 3600000
    db = sqlite3.connect(str(bd.data_dir / "meta.db"), timeout=10)
    db.execute("INSERT INTO usage_records(tenant, project, service, meter, quantity, time_ms,"
               " idempotency_key, resource, recorded_ms, cost_microyen) VALUES(?, ?, 'storage',"
               " 'bytes_out', ?, ?, ?, ?, ?, 11500000)",
               (org.tenant, org.project, GIB, when, "late-" + uuid.uuid4().hex, org.bucket, now))
    db.execute("INSERT INTO billing_rollup VALUES(?, ?, ?, 'storage', 'bytes_out', ?, ?, ?,"
               " 11500000, 1) ON CONFLICT(day_ms, tenant, project, service, meter, resource,"
               " correction_of) DO UPDATE SET quantity = quantity + excluded.quantity,"
               " cost_microyen = cost_microyen + excluded.cost_microyen, records = records + 1",
               (day, org.tenant, org.project, org.bucket, prev, GIB))
    db.commit()
    db.close()
    assert bd.cli("billing", "report", *q, prev, "--format", "csv").stdout == before
    rows = list(csv.DictReader(io.StringIO(bd.cli("billing", "report", *q, org.month, "--format",
                                                   "csv").stdout)))
    corr = [r for r in rows if r["ChargeClass"] == "Correction"]
    assert len(corr) == 1 and corr[0]["x_CorrectionOf"] == prev, rows
    assert corr[0]["BilledCost"] == "11.500000" and corr[0]["ChargePeriodStart"] < corr[0]["BillingPeriodStart"]
    assert all(r["x_CorrectionOf"] == "" for r in rows if r is not corr[0])
    inv = report_json(bd, org)["invoices"][0]
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal(inv["amount_including_tax"])
    u = bd.ok("GET", "/admin/v1/billing/usage?month=%s&tenant=%s&group_by=day" % (org.month, org.tenant))
    assert u["total_microyen"] == int(Decimal(inv["usage_subtotal"]) * 1000000)


def test_s3_audit_records_carry_byte_counts(bd, org):
    """An S3 request's audit record ends with the bytes metered for it, so that recompute can rebuild
    a storage byte record's size from the log and not only check that its request happened."""
    s3 = org.client()
    put = s3.put_object(Bucket=org.bucket, Key="sized", Body=b"y" * 12345)
    rec = bd.audit_wait(put["ResponseMetadata"]["RequestId"], action="s3.PutObject")
    assert rec["detail"].startswith("size=12345") and rec["detail"].endswith(" bytes_in=12345 bytes_out=0")
    get = s3.get_object(Bucket=org.bucket, Key="sized")
    assert get["Body"].read() == b"y" * 12345
    rec = bd.audit_wait(get["ResponseMetadata"]["RequestId"], action="s3.GetObject")
    assert rec["detail"] == "bytes_in=0 bytes_out=12345", rec
