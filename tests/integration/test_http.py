"""The HTTP/1.1 layer as a raw client sees it: keep-alive, pipelining, request-smuggling rejects,
limits, timeouts, 100-continue, and the shape of every error."""
import json
import threading
import time

import pytest
import requests

from conftest import new_corpnum


def auth(d):
    return b"Authorization: Bearer " + d.token.encode() + b"\r\n"


def assert_error_body(resp, status, code=None):
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    rid = resp.header("x-request-id")
    assert rid, "no x-request-id on %r" % resp
    ct = resp.header("content-type") or ""
    assert ct.startswith("application/json"), "error without a JSON body: %r" % resp
    err = resp.json()["error"]
    assert err["request_id"] == rid, "error.request_id %r != x-request-id %r" % (err["request_id"], rid)
    assert err["message"], resp
    if code:
        assert err["code"] == code, "expected code %s, got %r" % (code, err)
    return err


def test_keep_alive_three_requests(shared):
    c = shared.raw()
    ids = []
    for i in range(3):
        c.send(b"GET /healthz HTTP/1.1\r\nHost: kasumi\r\n\r\n")
        r = c.read_response()
        assert r.status == 200, "request %d on one connection: %r" % (i + 1, r)
        assert (r.header("connection") or "").lower() != "close", r
        ids.append(r.header("x-request-id"))
    assert len(set(ids)) == 3 and all(ids), "x-request-id not unique per request: %r" % ids
    c.close()


def test_pipelining_in_order(shared):
    c = shared.raw()
    c.send(b"GET /healthz HTTP/1.1\r\nHost: kasumi\r\n\r\n"
           b"GET /admin/v1/no-such-thing HTTP/1.1\r\nHost: kasumi\r\n\r\n"
           b"GET /readyz HTTP/1.1\r\nHost: kasumi\r\n\r\n")
    r1, r2, r3 = c.read_response(), c.read_response(), c.read_response()
    assert r1.status == 200 and r1.json() == {"status": "ok"}, r1
    assert r2.status == 404, r2
    assert r3.status == 200 and r3.json().get("status") == "ready", r3
    c.close()


SMUGGLING = {
    "bare-cr": b"GET /healthz HTTP/1.1\r\nHost: a\rX: y\r\n\r\n",
    "obs-fold": b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n  two\r\n\r\n",
    "obs-fold-tab": b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n\ttwo\r\n\r\n",
    "duplicate-content-length": (b"POST /admin/v1/tenants HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x"),
    "content-length-and-chunked": (b"POST /admin/v1/tenants HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_smuggling_rejected_and_closed(shared, name):
    c = shared.raw()
    c.send(SMUGGLING[name])
    r = c.read_response()
    assert_error_body(r, 400)
    assert c.is_closed(timeout=3), "%s: connection left open after a 400 for ambiguous framing" % name
    c.close()
    assert requests.get(shared.url + "/healthz", timeout=10).status_code == 200


def test_headers_too_large_431(shared):
    c = shared.raw()
    c.send(b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"a" * (17 * 1024) + b"\r\n\r\n")
    r = c.read_response()
    assert_error_body(r, 431)
    c.close()


def test_many_headers_over_limit_431(shared):
    c = shared.raw()
    hdrs = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(200))   # ~22 KiB
    c.send(b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + hdrs + b"\r\n")
    r = c.read_response()
    assert_error_body(r, 431)
    c.close()


def test_body_content_length_over_limit_413(shared):
    c = shared.raw()
    c.send(b"POST /admin/v1/tenants HTTP/1.1\r\nHost: a\r\n" + auth(shared) +
           b"Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n")
    r = c.read_response()   # answered without waiting for the 2 MB
    assert_error_body(r, 413)
    c.close()


def test_chunked_body_growing_past_limit_413(shared):
    c = shared.raw(timeout=20)
    c.send(b"POST /admin/v1/tenants HTTP/1.1\r\nHost: a\r\n" + auth(shared) +
           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    stop = threading.Event()

    def feed():
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"   # 64 KiB of JSON white space
        try:
            for _ in range(40):   # 2.5 MiB in all, well past 1 MiB
                if stop.is_set():
                    return
                c.sock.sendall(chunk)
                time.sleep(0.01)
        except OSError:
            pass   # kasumid closed after answering: expected

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    try:
        r = c.read_response()
    finally:
        stop.set()
        t.join(10)
    assert_error_body(r, 413)
    c.close()


def test_slow_client_header_timeout(fresh):
    fresh.write_config("[limits]\nheader_timeout_ms = 500\n")
    fresh.start()
    c = fresh.raw(timeout=10)
    t0 = time.time()
    c.send(b"GET /heal")
    try:
        r = c.read_response()
        elapsed = time.time() - t0
        assert r.status == 408, "a slow request line got %r" % r
        assert_error_body(r, 408)
    except (EOFError, ConnectionResetError):
        elapsed = time.time() - t0   # closed without an answer: acceptable
    assert elapsed < 4, "the slow client was cut off only after %.1fs (header_timeout_ms = 500)" % elapsed
    assert requests.get(fresh.url + "/healthz", timeout=10).status_code == 200


def test_timeouts_of_a_keep_alive_connection(fresh):
    """Each state's timeout holds on a connection that already served a request: a keep-alive
    connection idle past idle_timeout_ms is closed, one that keeps asking stays open past it, and
    a request whose headers (or body) stop arriving gets a 408 in about its own limit, whichever
    limit was set before it (the timer is moved lazily, see conn.c)."""
    fresh.write_config("[limits]\nheader_timeout_ms = 700\nbody_timeout_ms = 700\n"
                       "idle_timeout_ms = 1500\n")
    fresh.start()
    get = b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"

    c = fresh.raw(timeout=10)   # asks every 0.5 s for 2.5 s: never idle for 1.5 s
    for _ in range(5):
        c.send(get)
        assert c.read_response().status == 200
        time.sleep(0.5)
    c.send(get)
    assert c.read_response().status == 200, "closed while it kept asking"
    t0 = time.time()
    assert c.is_closed(timeout=6), "an idle keep-alive connection was left open"
    assert 1.0 < time.time() - t0 < 4, "closed %.1fs after its last answer (idle_timeout_ms = 1500)" % (
        time.time() - t0)

    for partial in (b"GET /heal", b"POST /admin/v1/tenants HTTP/1.1\r\nHost: a\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"a"):
        c = fresh.raw(timeout=10)
        c.send(get)
        assert c.read_response().status == 200
        time.sleep(0.3)   # the idle timeout (later) is set; the next request's limit is sooner
        t0 = time.time()
        c.send(partial)
        try:
            r = c.read_response()
            assert r.status == 408, "a stalled second request got %r" % r
        except (EOFError, ConnectionResetError):
            pass
        elapsed = time.time() - t0
        assert 0.4 < elapsed < 1.4, "the stalled request %r was cut off after %.1fs (limit 0.7 s)" % (
            partial[:12], elapsed)


def test_expect_100_continue(shared):
    body = json.dumps({"kind": "ministry", "name": "デジタル庁 100-continue",
                       "corporate_number": new_corpnum()}, ensure_ascii=False).encode()
    c = shared.raw()
    c.send(b"POST /admin/v1/tenants HTTP/1.1\r\nHost: a\r\n" + auth(shared) +
           b"Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
    interim = c.read_response()
    assert interim.status == 100, "expected 'HTTP/1.1 100 Continue' before sending the body, got %r" % interim
    c.send(body)
    final = c.read_response()
    assert final.status == 201, final
    assert final.json()["name"] == "デジタル庁 100-continue", final
    c.close()


def test_unknown_path_404_json(shared):
    r = requests.get(shared.url + "/admin/v1/nothing-here", timeout=10)
    assert r.status_code == 404, r.text
    err = r.json()["error"]
    assert err["code"] == "not_found", err
    assert err["request_id"] == r.headers["x-request-id"], (err, r.headers)


def test_wrong_method_405_json(shared):
    for method, path in [("DELETE", "/admin/v1/tenants"), ("PUT", "/healthz"), ("POST", "/admin/v1/audit")]:
        r = shared.api(method, path)
        assert r.status_code == 405, "%s %s -> %d %s" % (method, path, r.status_code, r.text)
        err = r.json()["error"]
        assert err["code"] == "method_not_allowed", err
        assert err["request_id"] == r.headers["x-request-id"], (err, r.headers)


def test_every_response_has_request_id(shared):
    for method, path, tok in [("GET", "/healthz", None), ("GET", "/metrics", None), ("GET", "/readyz", None),
                              ("GET", "/admin/v1/whoami", "__admin__"), ("GET", "/admin/v1/tenants", None),
                              ("GET", "/admin/v1/tenants", "ksm_garbage")]:
        r = shared.api(method, path, token=tok)
        rid = r.headers.get("x-request-id")
        assert rid, "%s %s (%d) has no x-request-id" % (method, path, r.status_code)
        if r.status_code >= 400:
            assert r.json()["error"]["request_id"] == rid, r.text
