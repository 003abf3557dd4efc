"""Recommendations against the real kasumid, each case made to happen: a bucket with no request for 90
days, an API key unused for 90 days (beside one used and the S3 key boto3 signs with), a multipart
upload left incomplete for a week holding its parts, and AI spend (through the gateway, on the fault
upstream's fixed token counts) on an alias where the project's routes offer a cheaper one. kasumi has
no clock to turn, so time is moved the way no user can: with kasumid stopped, the test backdates rows
of its database (when buckets, keys and uploads were made; when the idle bucket's requests were).
Each recommendation carries its exact monthly saving; who may ask is checked."""
import json
import sqlite3
import time
import uuid

import pytest
import requests

from conftest import Daemon
from test_s3 import S3Org
from upstreams import fault_server  # noqa: F401  (fixture)

DAY = 86400000
GIB = 1073741824
GIB_MONTH = 2783138807808000   # byte-seconds in a GiB-month of 30 days
MONTH_S = 2592000


def ceil_div(a, b):
    return -(-a // b)


@pytest.fixture(scope="module")
def rd(tmp_path_factory, fault_server):  # noqa: F811
    d = Daemon(tmp_path_factory.mktemp("reco") / "data",
               extra_args=["--s3-listen", "127.0.0.1:0", "--ai-listen", "127.0.0.1:0",
                           "--overseas-allow", fault_server.url + "/"])
    d.start()
    yield d
    d.stop()


def addrs(d):
    listen = json.loads((d.data_dir / "listen.json").read_text())
    d.s3_addr, d.ai_addr = listen["s3"], listen["ai"]


def backdate(d, sql_args):
    d.stop()
    db = sqlite3.connect(str(d.data_dir / "meta.db"))
    for sql, args in sql_args:
        db.execute(sql, args)
    db.commit()
    db.close()
    d.start()
    addrs(d)


def chat(d, key, model):
    r = requests.post("http://%s/v1/chat/completions" % d.ai_addr, headers={"Authorization": "Bearer " + key},
                      json={"model": model, "messages": [{"role": "user", "content": "見積り"}]}, timeout=30)
    assert r.status_code == 200, r.text
    return r.headers.get("x-request-id") or r.json().get("id")


def test_each_recommendation_with_its_saving(rd, fault_server):  # noqa: F811
    addrs(rd)
    # a month of storage costs 2 yen per GiB
    rd.ok("POST", "/admin/v1/billing/prices", {"service": "storage", "meter": "storage_byte_seconds",
                                                "unit": "byte_second", "price": "2", "per": GIB_MONTH})
    org = S3Org(rd)
    s3 = org.client()
    idle, busy = "idle-" + uuid.uuid4().hex[:8], "busy-" + uuid.uuid4().hex[:8]
    for b in (idle, busy):
        s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=idle, Key="old.bin", Body=b"i" * 1048576)
    s3.put_object(Bucket=busy, Key="new.bin", Body=b"b" * 1000)
    up = s3.create_multipart_upload(Bucket=busy, Key="half/done.bin")["UploadId"]
    s3.upload_part(Bucket=busy, Key="half/done.bin", UploadId=up, PartNumber=1, Body=b"p" * 5242880)
    # keys: one never used, one used (the S3 key is used by every call above)
    u = rd.ok("POST", "/admin/v1/tenants/%s/users" % org.tenant,
              {"name": "鍵 担当", "email": "keys-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    rd.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "member", "scope": "project/" + org.project})
    unused = rd.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api", "project": org.project})
    used = rd.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api", "project": org.project})
    # AI: "big" and "small" reach the same upstream; "big" costs 100x
    for alias, price in (("big", ("100", "300")), ("small", ("1", "3"))):
        rd.ok("POST", "/admin/v1/projects/%s/model-routes" % org.project, {"alias": alias, "targets": [
            {"provider": "openai", "base_url": fault_server.base_url, "model": "fault:ok", "jurisdiction": "JP"}]})
        rd.ok("POST", "/admin/v1/model-prices", {"model": alias, "prompt_per_1k": price[0],
                                                 "completion_per_1k": price[1]})
    for _ in range(3):
        chat(rd, used["secret"], "big")

    def ai_cost():
        items = rd.list_all("/admin/v1/usage?tenant=%s&service=ai" % org.tenant)
        return sum(i["cost_microyen"] for i in items) if len(items) == 3 else None
    deadline = time.time() + 10
    while ai_cost() is None and time.time() < deadline:
        time.sleep(0.1)
    big_cost = ai_cost()
    assert big_cost == 3 * (ceil_div(12 * 100000000, 1000) + ceil_div(7 * 300000000, 1000)), big_cost

    # nothing is old yet: only the model advice applies
    now = rd.ok("GET", "/admin/v1/billing/recommendations?tenant=" + org.tenant)["items"]
    assert [i["kind"] for i in now] == ["cheaper_model"], now

    # 100 days pass for the buckets, keys and the idle bucket's requests; 8 for the upload
    backdate(rd, [
        ("UPDATE store_buckets SET created = created - ? WHERE tenant = ?", (100 * DAY, org.tenant)),
        ("UPDATE iam_keys SET created_at = created_at - ? WHERE tenant_id = ?", (100 * DAY, org.tenant)),
        ("UPDATE usage_records SET time_ms = time_ms - ? WHERE tenant = ? AND resource = ?",
         (100 * DAY, org.tenant, idle)),
        ("UPDATE store_uploads SET initiated = initiated - ? WHERE id = ?", (8 * DAY, up)),
    ])
    rd.ok("GET", "/admin/v1/whoami", token=used["secret"])   # used again after the restart: still used
    got = rd.ok("GET", "/admin/v1/billing/recommendations?tenant=%s&project=%s" % (org.tenant, org.project))
    by = {}
    for i in got["items"]:
        by.setdefault(i["kind"], []).append(i)
    assert sorted(by) == ["cheaper_model", "idle_bucket", "incomplete_multipart_upload", "unused_key"], got

    [b] = by["idle_bucket"]
    assert b["resource"] == idle and b["bytes"] == 1048576
    assert b["estimated_monthly_saving_microyen"] == ceil_div(1048576 * MONTH_S * 2000000, GIB_MONTH)

    [k] = by["unused_key"]
    assert k["resource"] == unused["id"] and k["estimated_monthly_saving_microyen"] == 0
    assert k["last_used_at"] is None

    [m] = by["incomplete_multipart_upload"]
    assert m["upload_id"] == up and m["bytes"] == 5242880 and m["resource"] == busy + "/half/done.bin"
    assert m["estimated_monthly_saving_microyen"] == ceil_div(5242880 * MONTH_S * 2000000, GIB_MONTH)

    [c] = by["cheaper_model"]
    small_cost = 3 * (ceil_div(12 * 1000000, 1000) + ceil_div(7 * 3000000, 1000))
    assert c["resource"] == "big" and c["cheaper_model"] == "small"
    assert c["estimated_monthly_saving_microyen"] == big_cost - small_cost, (c, big_cost, small_cost)
    total = sum(i["estimated_monthly_saving_microyen"] for i in got["items"])
    assert got["estimated_monthly_saving_microyen"] == total
    assert all(i["estimated_monthly_saving_yen"] == "%d.%06d" % divmod(i["estimated_monthly_saving_microyen"], 1000000)
               for i in got["items"])

    # the CLI prints the same, one line each
    out = rd.cli("billing", "recommendations", "--tenant", org.tenant).stdout
    assert all(kind in out for kind in by), out

    # who may ask: usage.read at the tenant (a billing_viewer), not another tenant's administrator
    _, viewer, _ = rd.user_key(org.tenant, role="billing_viewer")
    assert rd.api("GET", "/admin/v1/billing/recommendations?tenant=" + org.tenant, token=viewer).status_code == 200
    other = rd.tenant()
    _, stranger = rd.tenant_admin(other["id"])
    r = rd.api("GET", "/admin/v1/billing/recommendations?tenant=" + org.tenant, token=stranger)
    assert r.status_code in (403, 404), r.text
    assert rd.api("GET", "/admin/v1/billing/recommendations").status_code == 400
