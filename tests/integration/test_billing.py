"""Billing against the real kasumid: the price list refuses bad prices through the admin API; storage
usage made with boto3 is rated when written (each record carries the cost of its price); the monthly
report through `kasumi billing report` (CSV and JSON) carries the FOCUS and x_ columns, its lines add
up to 税込, 税抜 + 税 = 税込 with the tax once per invoice, and the operator's 登録番号 from the config;
a month is closed explicitly, only once and only when it has ended; who may read which report."""
import csv
import datetime
import io
import json
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
    d = Daemon(tmp_path_factory.mktemp("billing") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.write_config('[billing]\noperator_name = "霞クラウド運営"\nregistration_number = "%s"\n' % REG)
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    yield d
    d.stop()


def this_month():
    return datetime.datetime.now(JST).strftime("%Y-%m")


def prev_month():
    first = datetime.datetime.now(JST).replace(day=1)
    return (first - datetime.timedelta(days=1)).strftime("%Y-%m")


def price(d, meter, unit, yen, per=1, **extra):
    body = {"service": "storage", "meter": meter, "unit": unit, "price": yen, "per": per}
    body.update(extra)
    return d.api("POST", "/admin/v1/billing/prices", body)


def test_bad_prices_are_refused_with_their_reason(bd):
    r = price(bd, "bytes_in", "byte", "-1")
    assert r.status_code == 400 and "negative" in r.json()["error"]["message"], r.text
    r = price(bd, "bytes_in", "GB", "1")
    assert r.status_code == 400 and "unknown unit" in r.json()["error"]["message"], r.text
    r = price(bd, "bytes_in", "request", "1")
    assert r.status_code == 400 and "counted in byte" in r.json()["error"]["message"], r.text
    r = price(bd, "no_such_meter", "byte", "1")
    assert r.status_code == 400 and "unknown meter" in r.json()["error"]["message"], r.text
    r = price(bd, "bytes_in", "byte", "1", valid_from="2020-01-01T00:00:00+09:00")
    assert r.status_code == 400 and "past" in r.json()["error"]["message"], r.text
    r = price(bd, "bytes_in", "byte", 0.5)   # a JSON float is not money
    assert r.status_code == 400, r.text
    later = (datetime.datetime.now(JST) + datetime.timedelta(days=400)).isoformat()
    much_later = (datetime.datetime.now(JST) + datetime.timedelta(days=500)).isoformat()
    assert price(bd, "bytes_in", "byte", "1", GIB, valid_from=later, valid_until=much_later).status_code == 201
    mid = (datetime.datetime.now(JST) + datetime.timedelta(days=450)).isoformat()
    r = price(bd, "bytes_in", "byte", "2", GIB, valid_from=mid)
    assert r.status_code == 409 and "overlaps" in r.json()["error"]["message"], r.text
    # an open-ended price is changed by ending it, never in the past, and adding the next
    soon = (datetime.datetime.now(JST) + datetime.timedelta(days=600)).isoformat()
    first = bd.ok("POST", "/admin/v1/billing/prices", {"service": "storage", "meter": "storage_byte_seconds",
                  "unit": "byte_second", "price": "3", "per": 2783138807808000, "valid_from": soon})
    p = bd.cli("billing", "price", "end", str(first["id"]), "--valid-until", "2021-01-01T00:00:00Z", check=False)
    assert p.returncode != 0 and "past" in p.stderr
    later = (datetime.datetime.now(JST) + datetime.timedelta(days=700)).isoformat()
    r = price(bd, "storage_byte_seconds", "byte_second", "2", 2783138807808000, valid_from=later)
    assert r.status_code == 409
    ended = json.loads(bd.cli("billing", "price", "end", str(first["id"]), "--valid-until", later,
                              "-o", "json").stdout)
    assert ended["valid_until"]
    assert price(bd, "storage_byte_seconds", "byte_second", "2", 2783138807808000,
                 valid_from=later).status_code == 201
    # the operator sets prices; a tenant administrator does not
    t = bd.tenant()
    _, secret = bd.tenant_admin(t["id"])
    assert bd.api("POST", "/admin/v1/billing/prices", {"service": "storage", "meter": "bytes_out",
                  "unit": "byte", "price": "1"}, token=secret).status_code == 403


def wait_usage(d, tenant, pred, timeout=15):
    deadline = time.time() + timeout
    while True:
        items = d.list_all("/admin/v1/usage?tenant=%s&service=storage" % tenant, limit=1000)
        if pred(items) or time.time() > deadline:
            return items
        time.sleep(0.2)


def test_storage_usage_is_rated_and_reported(bd, tmp_path):
    assert price(bd, "requests_write", "request", "0.005").status_code == 201
    assert price(bd, "requests_read", "request", "0.4", 1000).status_code == 201
    assert price(bd, "bytes_out", "byte", "11.5", GIB).status_code == 201
    org = S3Org(bd)
    s3 = org.client()
    b = "b-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=b)
    for i in range(3):
        s3.put_object(Bucket=b, Key="k%d" % i, Body=b"x" * 300000)
    s3.get_object(Bucket=b, Key="k0")["Body"].read()
    items = wait_usage(bd, org.tenant, lambda it: sum(1 for i in it if i["meter"] == "bytes_out") >= 1
                       and sum(1 for i in it if i["meter"] == "requests_write") >= 4)
    by = {}
    for i in items:
        by.setdefault(i["meter"], []).append(i)
    # rated when written: each record's cost is its quantity at its meter's price, rounded up
    assert all(i["cost_microyen"] == 5000 * i["quantity"] for i in by["requests_write"]), by["requests_write"]
    assert all(i["cost_microyen"] == -(-i["quantity"] * 400000 // 1000) for i in by["requests_read"])
    assert all(i["cost_microyen"] == -(-i["quantity"] * 11500000 // GIB) for i in by["bytes_out"])
    assert all(i["cost_microyen"] == 0 for i in by["bytes_in"])   # no price: free
    rated = sum(i["cost_microyen"] for i in items)

    month = this_month()
    out = tmp_path / "report.csv"
    bd.cli("billing", "report", "--tenant", org.tenant, "--month", month, "--format", "csv", "--out", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    js = json.loads(bd.cli("billing", "report", "--tenant", org.tenant, "--month", month,
                           "--format", "json").stdout)
    assert js["state"] == "open" and js["operator"]["registration_number"] == REG
    (inv,) = js["invoices"]
    t = bd.ok("GET", "/admin/v1/tenants/" + org.tenant)
    proj = bd.ok("GET", "/admin/v1/projects/" + org.project)
    usage_rows = [r for r in rows if r["ChargeCategory"] == "Usage"]
    assert sum(Decimal(r["BilledCost"]) for r in usage_rows) * 1000000 == rated
    assert Decimal(inv["usage_subtotal"]) * 1000000 == rated
    total = sum(Decimal(r["BilledCost"]) for r in rows)
    assert total == Decimal(inv["amount_including_tax"])                    # lines add up to 税込
    excl, tax = int(inv["amount_excluding_tax"]), int(inv["consumption_tax"])
    assert excl + tax == int(inv["amount_including_tax"]) and tax == excl * 10 // 100
    assert [r["ChargeCategory"] for r in rows].count("Tax") == 1               # once per invoice
    for r in rows:
        assert r["x_InvoiceRegistrationNumber"] == REG and r["InvoiceIssuerName"] == "霞クラウド運営"
        assert r["x_CorporateNumber"] == t["corporate_number"] and r["x_TenantKind"] == t["kind"]
        assert r["BillingCurrency"] == "JPY" and r["BillingAccountId"] == org.tenant
    for r in usage_rows:
        assert r["SubAccountId"] == org.project and r["x_Project"] == proj["name"]
        assert r["x_Environment"] == "prod" and r["ServiceCategory"] == "Storage"
        assert r["ResourceId"] == b
    fy = int(month[:4]) if int(month[5:]) >= 4 else int(month[:4]) - 1
    assert {r["x_FiscalYear"] for r in rows} == {str(fy)}
    assert "bytes_out" in {r["SkuMeter"] for r in usage_rows}
    assert "storage_bytes" not in {r["SkuMeter"] for r in usage_rows}   # a gauge, not usage

    # the workbook: 請求書 with the invoice's totals, 明細 with the same lines as the CSV
    import openpyxl
    xl = tmp_path / "report.xlsx"
    bd.cli("billing", "report", "--tenant", org.tenant, "--month", month, "--format", "xlsx", "--out", str(xl))
    wb = openpyxl.load_workbook(str(xl))
    assert wb.sheetnames == ["請求書", "明細"]
    head, inv_row = [[c.value for c in r] for r in wb["請求書"].iter_rows(max_row=2)]
    got = dict(zip(head, inv_row))
    assert got["税込 (円)"] == int(inv["amount_including_tax"]) and got["消費税 10% (円)"] == tax
    assert got["法人番号"] == t["corporate_number"] and got["登録番号"] == REG
    detail = [[c.value for c in r] for r in wb["明細"].iter_rows()]
    assert detail[0] == list(rows[0].keys())
    assert len(detail) == len(rows) + 1
    col = detail[0].index("BilledCost")
    assert [Decimal(str(r[col])).quantize(Decimal("0.000001")) for r in detail[1:]] == \
        [Decimal(r["BilledCost"]) for r in rows]

    # a project's report is that project's lines; a platform report has every tenant's invoice
    pj = json.loads(bd.cli("billing", "report", "--tenant", org.tenant, "--project", org.project,
                           "--month", month, "--format", "json").stdout)
    assert pj["invoices"][0]["usage_subtotal"] == inv["usage_subtotal"]
    allr = bd.ok("GET", "/admin/v1/billing/report?month=" + month)
    assert org.tenant in {i["tenant"] for i in allr["invoices"]}


def test_report_access(bd):
    org = S3Org(bd)
    month = this_month()
    _, viewer, _ = bd.user_key(org.tenant, role="billing_viewer")
    assert bd.api("GET", "/admin/v1/billing/report?month=%s&tenant=%s" % (month, org.tenant),
                  token=viewer).status_code == 200
    _, member, _ = bd.user_key(org.tenant, role="member")
    assert bd.api("GET", "/admin/v1/billing/report?month=%s&tenant=%s" % (month, org.tenant),
                  token=member).status_code == 403
    assert bd.api("GET", "/admin/v1/billing/report?month=" + month, token=viewer).status_code == 403
    other = bd.tenant()
    assert bd.api("GET", "/admin/v1/billing/report?month=%s&tenant=%s" % (month, other["id"]),
                  token=viewer).status_code in (403, 404)
    r = bd.api("GET", "/admin/v1/billing/report?month=2026-13&tenant=" + org.tenant)
    assert r.status_code == 400 and "YYYY-MM" in r.json()["error"]["message"]
    p = bd.cli("billing", "report", "--month", month, "--format", "docx", check=False)
    assert p.returncode != 0 and "--format" in p.stderr


def test_month_close(bd):
    r = bd.api("POST", "/admin/v1/billing/months/%s/close" % this_month())
    assert r.status_code == 400 and "not ended" in r.json()["error"]["message"], r.text
    prev = prev_month()
    bd.cli("billing", "month", "close", prev)
    p = bd.cli("billing", "month", "close", prev, check=False)
    assert p.returncode != 0 and "already closed" in p.stderr
    assert prev in [m["month"] for m in bd.ok("GET", "/admin/v1/billing/months")["items"]]
    rep = bd.ok("GET", "/admin/v1/billing/report?month=" + prev)
    assert rep["state"] == "closed" and rep["closed_at"]
    t = bd.tenant()
    _, secret = bd.tenant_admin(t["id"])
    assert bd.api("POST", "/admin/v1/billing/months/2020-01/close", token=secret).status_code == 403


def test_recompute_names_the_altered_ledger_row(bd):
    """`kasumi billing recompute` rebuilds a closed month from the audit log: an open month is
    refused; the closed month matches its ledger; after one ledger row is altered behind the
    daemon's back (a row no audit record backs), exactly that row is named and the exit is 1."""
    import sqlite3
    p = bd.cli("billing", "recompute", "--month", this_month(), check=False)
    assert p.returncode != 0 and "not closed" in p.stderr
    prev = prev_month()
    if prev not in [m["month"] for m in bd.ok("GET", "/admin/v1/billing/months")["items"]]:
        bd.cli("billing", "month", "close", prev)
    p = bd.cli("billing", "recompute", "--month", prev)
    assert "0 differing" in p.stdout, p.stdout
    db = sqlite3.connect(str(bd.data_dir / "meta.db"), timeout=10)
    db.execute("INSERT INTO billing_ledger(month, tenant, project, service, meter, resource, quantity,"
               " cost_microyen, records) VALUES(?, 'tn_forged', 'pj_forged', 'storage', 'bytes_out',"
               " 'b-forged', 1000, 5000000, 1)", (prev,))
    db.commit()
    db.close()
    p = bd.cli("billing", "recompute", "--month", prev, check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    lines = [l for l in p.stdout.splitlines() if l.startswith("DIFFERS")]
    assert len(lines) == 1, p.stdout
    assert "tenant=tn_forged" in lines[0] and "meter=bytes_out" in lines[0] and "recomputed=null" in lines[0]
