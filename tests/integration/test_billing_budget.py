"""Budgets against the real kasumid: one budget per project covers all its spend (here storage requests
made with boto3, priced so that each write costs 100 yen); crossing 50/80/100% gives one audit record
and one webhook notification per threshold and month, never repeated, POSTed as JSON to a real HTTP
receiver that checks the HMAC-SHA256 signature with the secret shown once at registration; a failed
delivery is retried with backoff, a pending one survives a restart of kasumid, and the delivery state
is visible through the API and `kasumi billing notifications`. Bad webhook URLs and foreign projects
are refused; a billing_viewer reads but does not register webhooks."""
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
import uuid

import pytest

from conftest import Daemon
from test_s3 import S3Org


class Receiver:
    """A webhook endpoint: records every POST; answers 500 to the first `fail` of them."""

    def __init__(self, port=0, fail=0):
        self.hits, self.fail = [], fail
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                rec.hits.append((dict(self.headers), body))
                code = 500 if rec.fail > 0 else 200
                rec.fail -= 1
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
        self.url = "http://127.0.0.1:%d/hooks/budget" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()

    def verified(self, secret):
        """The bodies whose signature checks out under secret (all of them, or the test fails)."""
        out = []
        for headers, body in self.hits:
            want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers.get("X-Kasumi-Signature", ""), want), headers
            assert headers.get("Content-Type") == "application/json"
            out.append(json.loads(body))
        return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def bb(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("budget") / "data", extra_args=["--s3-listen", "127.0.0.1:0"])
    d.write_config("[billing]\nnotify_interval_ms = 100\nwebhook_retry_ms = 300\n"
                   "webhook_max_attempts = 4\n")
    d.start()
    d.s3_addr = json.loads((d.data_dir / "listen.json").read_text())["s3"]
    # every write request costs 100 yen from now on: spend is counted in hundreds
    d.ok("POST", "/admin/v1/billing/prices", {"service": "storage", "meter": "requests_write",
                                               "unit": "request", "price": "100"})
    yield d
    d.stop()


def wait(pred, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def budget(d, project):
    return d.ok("GET", "/admin/v1/projects/%s/budget" % project)


def spend_to(d, s3, bucket, project, yen):
    """Writes objects until the project's month-to-date spend is at least yen."""
    i = 0
    while budget(d, project)["spent_microyen"] < yen * 1000000:
        s3.put_object(Bucket=bucket, Key="k%d-%s" % (i, uuid.uuid4().hex[:6]), Body=b"x")
        i += 1
        time.sleep(0.05)


def notifications(d, tenant):
    return d.list_all("/admin/v1/tenants/%s/billing/notifications" % tenant)


def test_thresholds_notify_once_signed_and_audited(bb):
    org = S3Org(bb)
    rx = Receiver(fail=1)   # the first delivery fails: it is retried
    try:
        hook = json.loads(bb.cli("billing", "webhook", "add", "--tenant", org.tenant, "--url", rx.url,
                                 "--project", org.project, "-o", "json").stdout)
        secret = hook["secret"]
        assert secret.startswith("whsec_") and len(secret) == 70
        listed = bb.ok("GET", "/admin/v1/tenants/%s/billing/webhooks" % org.tenant)["items"]
        assert [w["id"] for w in listed] == [hook["id"]] and "secret" not in listed[0]
        assert secret not in bb.stderr()
        bb.cli("billing", "budget", "set", "--project", org.project, "--monthly-yen", "1000",
               "--alert-thresholds", "50,80,100")
        s3 = org.client()
        b = "bud-" + uuid.uuid4().hex[:10]
        s3.create_bucket(Bucket=b)
        spend_to(bb, s3, b, org.project, 500)
        wait(lambda: len([n for n in notifications(bb, org.tenant) if n["state"] == "delivered"]) == 1,
             what="the 50% notification")
        n50 = notifications(bb, org.tenant)
        assert len(n50) == 1 and n50[0]["attempts"] == 2 and n50[0]["last_status"] == 200, n50
        spend_to(bb, s3, b, org.project, 1000)
        wait(lambda: sum(1 for n in notifications(bb, org.tenant) if n["state"] == "delivered") == 3,
             what="the 80% and 100% notifications")
        # more spend and more checks cross nothing new: each threshold fires once a month
        spend_to(bb, s3, b, org.project, 1200)
        time.sleep(1.0)
        events = rx.verified(secret)
        got = sorted(e["threshold_percent"] for e in events)
        assert got == [50, 50, 80, 100], got   # 50 twice: the 500 and its retry
        assert len({e["id"] for e in events}) == 3
        e = events[-1]
        assert e["type"] == "budget.threshold_crossed" and e["project"] == org.project
        assert e["tenant"] == org.tenant and e["budget_yen"] == "1000.000000"
        assert int(e["spent_microyen"]) >= 1000 * 1000000
        assert len(notifications(bb, org.tenant)) == 3
        st = json.loads(bb.cli("billing", "budget", "show", "--project", org.project, "-o", "json").stdout)
        assert [a["threshold"] for a in st["alerts_recorded"]] == [50, 80, 100]
        assert st["other_spent_microyen"] >= 1200 * 1000000 and st["ai_spent_microyen"] == 0
        assert st["remaining_microyen"] < 0 and st["alerts_crossed"] == [50, 80, 100]
        # one audit record per threshold (indexed later than durable: poll)
        def alerts():
            recs = bb.audit_records(tenant=org.tenant, action="billing.budget.alert")
            return recs if len(recs) >= 3 else None
        recs = wait(alerts, what="the audit records")
        assert len(recs) == 3 and all(r["principal"] == "system" and r["target"] == org.project for r in recs)
        out = bb.cli("billing", "notifications", "--tenant", org.tenant).stdout
        assert out.count("delivered") == 3, out
    finally:
        rx.close()


def test_pending_notification_survives_restart(bb):
    org = S3Org(bb)
    port = free_port()   # nobody listens there yet: deliveries fail and stay pending
    url = "http://127.0.0.1:%d/h" % port
    hook = bb.ok("POST", "/admin/v1/tenants/%s/billing/webhooks" % org.tenant, {"url": url}, status=201)
    bb.ok("PUT", "/admin/v1/projects/%s/budget" % org.project, {"monthly_yen": 1000, "alert_thresholds": [10]})
    s3 = org.client()
    b = "rst-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=b)
    spend_to(bb, s3, b, org.project, 100)
    wait(lambda: any(n["attempts"] >= 1 and n["state"] == "pending" and n["last_error"]
                     for n in notifications(bb, org.tenant)), what="a failed attempt")
    bb.stop()
    rx = Receiver(port=port)
    try:
        bb.start()
        bb.s3_addr = json.loads((bb.data_dir / "listen.json").read_text())["s3"]
        n = wait(lambda: [x for x in notifications(bb, org.tenant) if x["state"] == "delivered"],
                 timeout=30, what="delivery after the restart")
        assert len(n) == 1 and n[0]["webhook"] == hook["id"]
        events = rx.verified(hook["secret"])
        assert [e["threshold_percent"] for e in events] == [10]
        assert rx.hits[0][0]["X-Kasumi-Delivery"] == str(n[0]["id"])
    finally:
        rx.close()


def test_webhooks_refuse_bad_input_and_foreign_callers(bb):
    t = bb.tenant()
    other = bb.tenant()
    foreign = bb.ok("POST", "/admin/v1/tenants/%s/projects" % other["id"], {"name": "x", "environment": "dev"})
    path = "/admin/v1/tenants/%s/billing/webhooks" % t["id"]
    for url, why in (("ftp://example.jp/x", "http"), ("http://user:pw@example.jp/", "credentials"),
                     ("http:///nohost", "host"), ("http://example.jp/a b", "printable"),
                     ("http://example.jp/#frag", "fragment")):
        r = bb.api("POST", path, {"url": url})
        assert r.status_code == 400 and why in r.json()["error"]["message"], (url, r.text)
    r = bb.api("POST", path, {"url": "http://example.jp/", "project": foreign["id"]})
    assert r.status_code == 404, r.text
    r = bb.api("POST", path, {"url": "http://example.jp/", "secret": "mine"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_field", r.text
    _, viewer, _ = bb.user_key(t["id"], role="billing_viewer")
    assert bb.api("POST", path, {"url": "http://example.jp/"}, token=viewer).status_code == 403
    hook = bb.ok("POST", path, {"url": "http://example.jp/"}, status=201)
    seen = bb.ok("GET", path, token=viewer)["items"]
    assert [w["id"] for w in seen] == [hook["id"]] and "secret" not in seen[0]
    # another tenant's administrator cannot see or delete it
    _, other_admin = bb.tenant_admin(other["id"])
    assert bb.api("GET", path, token=other_admin).status_code in (403, 404)
    r = bb.api("DELETE", path + "/" + hook["id"], token=other_admin)
    assert r.status_code in (403, 404)
    r = bb.api("DELETE", "/admin/v1/tenants/%s/billing/webhooks/%s" % (other["id"], hook["id"]))
    assert r.status_code == 404
    bb.cli("billing", "webhook", "delete", hook["id"], "--tenant", t["id"])
    assert bb.ok("GET", path)["items"] == []
