"""Fixtures that start the real kasumid on 127.0.0.1 with a random port and a temporary data dir.

Tests use it as users do: HTTP with requests, raw sockets for protocol edge cases, and the real
`kasumi` CLI. Every daemon is stopped with SIGTERM and must exit 0 with nothing from the sanitizers
on stderr.
"""
import json
import os
import pathlib
import random
import re
import signal
import socket
import subprocess
import time
import uuid

import pytest
import requests

from upstreams import fault_server, llm_server, npm_client, tiny_model  # noqa: F401  (fixtures)

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIVE = []   # the daemons running now, whose stderr a failing test's report carries
KASUMID = os.environ.get("KASUMID", str(ROOT / "bin" / "kasumid"))
KASUMI = os.environ.get("KASUMI", str(ROOT / "bin" / "kasumi"))

# Valid 法人番号 (check digit first) for test tenants: 7000012050002 is the National Tax Agency.
def corpnum(base12: str) -> str:
    digits = [int(c) for c in base12]
    s = sum(d * (1 if n % 2 else 2) for n, d in enumerate(reversed(digits), start=1))
    return str(9 - s % 9) + base12


_counter = [100000000000]


def new_corpnum() -> str:
    _counter[0] += 7
    return corpnum(str(_counter[0]))


ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def random_id(like: str) -> str:
    """A well-formed id that exists nowhere: the prefix of `like` (e.g. "ten") and 20 random
    base32 characters, the shape iam_util.c accepts."""
    prefix = like.rsplit("_", 1)[0]
    return prefix + "_" + "".join(random.choice(ID_ALPHABET) for _ in range(20))


class RawResponse:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s %r %r>" % (self.status, self.reason, self.headers, self.body[:300])


class RawConn:
    """One TCP connection for protocol cases: send bytes, read HTTP/1.1 responses one by one."""

    def __init__(self, addr, timeout=10):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.buf = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed by kasumid; unread: %r" % self.buf[:200])
        self.buf += d

    def read_response(self) -> RawResponse:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.1 (\d{3}) ?(.*)", lines[0])
        assert m, "bad status line %r" % lines[0]
        status = int(m.group(1))
        headers = []
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers.append((k.strip(), v.strip()))
        resp = RawResponse(status, m.group(2), headers, b"")
        if 100 <= status < 200:
            return resp
        te = (resp.header("transfer-encoding") or "").lower()
        if "chunked" in te:
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
            resp.body = body
            return resp
        n = int(resp.header("content-length") or 0)
        while len(self.buf) < n:
            self._fill()
        resp.body, self.buf = self.buf[:n], self.buf[n:]
        return resp

    def is_closed(self, timeout=3.0) -> bool:
        """True when the peer closes (EOF or reset) within timeout and sends nothing more."""
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if d:
            self.buf += d
            return False
        return True

    def close(self):
        self.sock.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report ends with what every running kasumid wrote to stderr (its last 6,000
    characters): CI keeps the report, while pytest removes old temporary directories, and the
    daemons' logs with them."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for d in LIVE:
            tail = d.stderr()[-6000:]
            if tail:
                rep.sections.append(("kasumid stderr (%s)" % d.data_dir, tail))


class Daemon:
    def __init__(self, data_dir: pathlib.Path, extra_args=(), env_kind="govcloud", wrapper=()):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.env_kind = env_kind
        self.wrapper = list(wrapper)   # e.g. ["strace", "-f", ...]: kasumid runs under it
        self.allow_swap = True         # overseas-ai: pass --allow-swap (unset to test the refusal)
        self.asan_extra = ""           # appended to ASAN_OPTIONS (":quarantine_size_mb=4")
        self.config_path = None
        self.proc = None
        self.token = None
        self.url = None
        self.stderr_path = data_dir.parent / (data_dir.name + ".stderr")
        self.stdout_path = data_dir.parent / (data_dir.name + ".stdout")

    def start(self, wait=True):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        token_file = self.data_dir.parent / (self.data_dir.name + ".token")
        listen = self.data_dir / "listen.json"
        if listen.exists():
            listen.unlink()
        args = self.wrapper + [KASUMID, "--data-dir", str(self.data_dir), "--admin-listen", "127.0.0.1:0",
                "--bootstrap-token-file", str(token_file), "--env-kind", self.env_kind] + self.extra_args
        if self.env_kind == "overseas-ai" and "--jurisdiction" not in self.extra_args:
            args += ["--jurisdiction", "US"]   # overseas-ai must say where it runs
        if self.env_kind == "overseas-ai" and self.allow_swap:
            args += ["--allow-swap"]   # the test machine may have swap; test_overseas.py tests the refusal
        if self.config_path:
            args += ["--config", str(self.config_path)]
        # LeakSanitizer cannot run under ptrace (strace): leaks are checked by every other test.
        leaks = "0" if self.wrapper else "1"
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=%s:abort_on_error=0:exitcode=66%s" % (leaks, self.asan_extra))
        self.proc = subprocess.Popen(args, stdout=open(self.stdout_path, "ab"),
                                     stderr=open(self.stderr_path, "ab"), env=env)
        if self not in LIVE:
            LIVE.append(self)
        if not wait:
            return self
        deadline = time.time() + 30
        while not listen.exists():
            if self.proc.poll() is not None:
                raise RuntimeError("kasumid exited %s: %s" % (self.proc.returncode, self.stderr()))
            if time.time() > deadline:
                raise RuntimeError("kasumid did not start: " + self.stderr())
            time.sleep(0.02)
        self.addr = json.loads(listen.read_text())["admin"]
        self.url = "http://" + self.addr
        if token_file.exists():
            self.token = token_file.read_text().strip()
        return self

    def write_config(self, text: str) -> pathlib.Path:
        """Writes the config file (outside the data dir) that the next start() passes as --config."""
        self.config_path = self.data_dir.parent / (self.data_dir.name + ".conf")
        self.config_path.write_text(text)
        return self.config_path

    @property
    def token_file(self):
        return self.data_dir.parent / (self.data_dir.name + ".token")

    def pid(self):
        """kasumid's own pid (the child of the wrapper when there is one)."""
        if not self.wrapper:
            return self.proc.pid
        deadline = time.time() + 10
        while time.time() < deadline:
            for task in pathlib.Path("/proc/%d/task" % self.proc.pid).iterdir():
                kids = (task / "children").read_text().split()
                if kids:
                    return int(kids[0])
            time.sleep(0.05)
        raise RuntimeError("no child under the wrapper")

    def raw(self, timeout=10) -> RawConn:
        return RawConn(self.addr, timeout)

    def stderr(self):
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self, sig=signal.SIGTERM, expect_clean=True):
        if self.proc is None:
            return
        if self.wrapper:
            os.kill(self.pid(), sig)
        else:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=60)
        self.proc = None
        if self in LIVE:
            LIVE.remove(self)
        if expect_clean:
            err = self.stderr()
            assert rc == 0, "kasumid exited %d: %s" % (rc, err[-4000:])
            assert "ERROR: AddressSanitizer" not in err and "runtime error:" not in err, err[-4000:]

    def kill9(self):
        if self.wrapper:
            os.kill(self.pid(), signal.SIGKILL)
        else:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.proc = None
        if self in LIVE:
            LIVE.remove(self)

    # --- HTTP helpers -------------------------------------------------------------------------
    def api(self, method, path, body=None, token="__admin__", headers=None, raw=None):
        h = dict(headers or {})
        tok = self.token if token == "__admin__" else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        if raw is not None:
            return requests.request(method, self.url + path, data=raw, headers=h, timeout=30)
        return requests.request(method, self.url + path, json=body, headers=h, timeout=30)

    def ok(self, method, path, body=None, token="__admin__", status=None):
        r = self.api(method, path, body, token)
        expected = status or (201 if method == "POST" else 200)
        assert r.status_code == expected, "%s %s -> %d %s" % (method, path, r.status_code, r.text)
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else r

    def list_all(self, path, token="__admin__", limit=None):
        """Every item of a paged list, following next_cursor."""
        items, cursor, seen = [], None, set()
        while True:
            q = {}
            if limit:
                q["limit"] = str(limit)
            if cursor:
                q["cursor"] = cursor
            sep = "&" if "?" in path else "?"
            qs = "&".join("%s=%s" % (k, requests.utils.quote(v, safe="")) for k, v in q.items())
            page = self.ok("GET", path + (sep + qs if qs else ""), token=token)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items
            assert cursor not in seen, "next_cursor repeats on %s: %s" % (path, cursor)
            seen.add(cursor)

    def audit_records(self, token="__admin__", **filters):
        """Every audit record matching filters (tenant, principal, action, since, until), newest
        first, following next_cursor."""
        q = "&".join("%s=%s" % (k, requests.utils.quote(v, safe="")) for k, v in filters.items() if v)
        return self.list_all("/admin/v1/audit" + ("?" + q if q else ""), token=token, limit=1000)

    def audit_wait(self, request_id, token="__admin__", timeout=10, **filters):
        """The record of request_id, waiting for a read's record to become durable and indexed."""
        deadline = time.time() + timeout
        while True:
            for rec in self.audit_records(token=token, **filters):
                if rec.get("request_id") == request_id:
                    return rec
            if time.time() > deadline:
                raise AssertionError("no audit record with request_id %s (filters %r) after %ss"
                                     % (request_id, filters, timeout))
            time.sleep(0.1)

    # --- fixtures of data ---------------------------------------------------------------------
    def tenant(self, name=None, kind="ministry"):
        return self.ok("POST", "/admin/v1/tenants", {
            "kind": kind, "name": name or "テスト庁-" + uuid.uuid4().hex[:6], "corporate_number": new_corpnum()})

    def tenant_admin(self, tenant_id):
        """A user with tenant_admin on the tenant and an API key; returns (user, secret)."""
        u = self.ok("POST", "/admin/v1/tenants/%s/users" % tenant_id,
                    {"name": "管理者 " + uuid.uuid4().hex[:4], "email": "admin-%s@example.go.jp" % uuid.uuid4().hex[:6]})
        self.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "tenant_admin",
                                                    "scope": "tenant/" + tenant_id})
        k = self.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api"})
        return u, k["secret"]

    def user_key(self, tenant_id, role=None, scope=None, project=None):
        """A user of the tenant, optionally bound to role at scope, and an API key (optionally
        narrowed to project); returns (user, secret, key)."""
        u = self.ok("POST", "/admin/v1/tenants/%s/users" % tenant_id,
                    {"name": "利用者 " + uuid.uuid4().hex[:4],
                     "email": "u-%s@example.lg.jp" % uuid.uuid4().hex[:8]})
        if role:
            self.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": role,
                                                        "scope": scope or "tenant/" + tenant_id})
        body = {"user": u["id"], "kind": "api"}
        if project:
            body["project"] = project
        k = self.ok("POST", "/admin/v1/keys", body)
        return u, k["secret"], k

    def cli(self, *args, token="__admin__", check=True, env_extra=None):
        env = dict(os.environ, KASUMI_ENDPOINT=self.url)
        env.pop("KASUMI_TOKEN", None)
        env.pop("KASUMI_TOKEN_FILE", None)
        env.update(env_extra or {})
        tok = self.token if token == "__admin__" else token
        if tok:
            env["KASUMI_TOKEN"] = tok
        p = subprocess.run([KASUMI] + list(args), capture_output=True, text=True, env=env, timeout=60)
        if check:
            assert p.returncode == 0, "kasumi %s -> %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr)
        return p


@pytest.fixture(scope="session")
def shared(tmp_path_factory):
    """One daemon shared by the read-mostly tests."""
    # S3 on a port of its own: tests that need a bucket (test_isolation) must not reach another
    # daemon on the default port
    d = Daemon(tmp_path_factory.mktemp("shared") / "data", extra_args=["--s3-listen", "127.0.0.1:0"]).start()
    yield d
    d.stop()


@pytest.fixture
def fresh(tmp_path):
    """A daemon of the test's own, for tests that restart, kill or tamper."""
    d = Daemon(tmp_path / "data")
    yield d
    if d.proc is not None:
        d.stop()
