"""AI upstreams for the gateway tests: a real llama.cpp server and a fault-injecting server (both
Node programs in tests/fixtures/llm/), and a runner for the official npm clients.

Use from a test module (or from conftest.py, once, for every module):

    from upstreams import tiny_model, llm_server, fault_server, npm_client  # noqa: F401

Fixtures
    tiny_model    (session) path of a GGUF model generated into a tmp dir by gen-model.mjs
    llm_server    (session) NodeServer running llm-server.mjs on that model (1 thread)
    fault_server  (session) NodeServer running fault-server.mjs
    npm_client    (function) the run_client function below

NodeServer: .url ("http://127.0.0.1:PORT"), .base_url (url + "/v1"), .port, .stats(),
.reset_stats(), .wait_stats(pred, timeout), .last_request() (fault server), .stderr().

run_client(cmd) runs tests/fixtures/llm/client.mjs with the command dict (see that file) and
returns a ClientRun: .lines, .response, .chunks (list of chunk data), .result, .error, .aborted.

Nothing is skipped: without node or without node_modules the fixtures fail and say to run
`sh scripts/npm-deps.sh` (which runs npm ci).
"""
import json
import os
import pathlib
import selectors
import shutil
import signal
import subprocess
import time

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "llm"
NODE_MODULES = ROOT / "node_modules"
REQUIRED_PACKAGES = ("node-llama-cpp", "@node-llama-cpp/linux-x64", "openai", "@anthropic-ai/sdk")


def node_binary():
    """The node executable, or a test failure that says what to do."""
    node = shutil.which("node")
    if not node:
        pytest.fail("node is not on PATH: the AI gateway tests need Node.js 20+ (it is on every machine "
                    "of this project; do not apt-install nodejs)", pytrace=False)
    missing = [p for p in REQUIRED_PACKAGES if not (NODE_MODULES / p / "package.json").exists()]
    if missing:
        pytest.fail("npm packages missing from %s: %s. Run `sh scripts/npm-deps.sh` at the repo root "
                    "(npm ci --omit=optional; `make check` runs it)" % (NODE_MODULES, ", ".join(missing)),
                    pytrace=False)
    return node


def node_env():
    """The environment for node children: no SDK variables of the host (ANTHROPIC_BASE_URL,
    OPENAI_API_KEY, ANTHROPIC_CUSTOM_HEADERS... would change what the clients send)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env["NODE_LLAMA_CPP_SKIP_DOWNLOAD"] = "true"
    return env


class NodeServer:
    """A fixture server: node SCRIPT ARGS --port 0; reads {"port": N} from its first stdout line."""

    def __init__(self, script, args, log_path, ca=None):
        """ca: the CA file of the server's certificate when args give it one (--cert/--key): https."""
        self.script, self.args, self.log_path = script, list(args), pathlib.Path(log_path)
        self.proc = None
        self.port = None
        self.ca = ca

    def start(self, timeout=60):
        self.proc = subprocess.Popen([node_binary(), str(FIXTURES / self.script), "--port", "0"] + self.args,
                                     stdout=subprocess.PIPE, stderr=open(self.log_path, "ab"), env=node_env(),
                                     cwd=str(ROOT))
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.time() + timeout
        line = b""
        while not line.endswith(b"\n"):
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited %s: %s" % (self.script, self.proc.returncode, self.stderr()[-3000:]))
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("%s printed no port within %ss: %s" % (self.script, timeout, self.stderr()[-3000:]))
            if sel.select(timeout=0.1):
                b = self.proc.stdout.read1(4096) if hasattr(self.proc.stdout, "read1") else os.read(
                    self.proc.stdout.fileno(), 4096)
                line += b
        sel.close()
        self.port = json.loads(line.split(b"\n")[0])["port"]
        self.url = "%s://127.0.0.1:%d" % ("https" if self.ca else "http", self.port)
        self.base_url = self.url + "/v1"
        while True:
            try:
                if requests.get(self.url + "/health", timeout=2, verify=self.ca or True).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("%s: /health did not answer: %s" % (self.script, self.stderr()[-3000:]))
            time.sleep(0.05)

    def stop(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()

    def stderr(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stats(self):
        r = requests.get(self.url + "/stats", timeout=10, verify=self.ca or True)
        r.raise_for_status()
        return r.json()

    def reset_stats(self):
        requests.post(self.url + "/stats/reset", timeout=10, verify=self.ca or True).raise_for_status()

    def wait_stats(self, pred, timeout=5.0):
        """The stats once pred(stats) is true; AssertionError with the last stats after timeout."""
        deadline = time.time() + timeout
        while True:
            s = self.stats()
            if pred(s):
                return s
            if time.time() > deadline:
                raise AssertionError("condition not met within %ss; stats: %s" % (timeout, json.dumps(s)[:3000]))
            time.sleep(0.05)

    def last_request(self):
        return self.stats()["last_request"]


class ClientRun:
    def __init__(self, lines, stderr, returncode):
        self.lines, self.stderr, self.returncode = lines, stderr, returncode
        self.response = next((l for l in lines if l["type"] == "response"), None)
        self.chunks = [l["data"] for l in lines if l["type"] == "chunk"]
        res = next((l for l in lines if l["type"] == "result"), None)
        self.result = res["data"] if res else None
        self.done = res is not None
        self.error = next((l for l in lines if l["type"] == "error"), None)
        self.aborted = any(l["type"] == "aborted" for l in lines)

    def content(self):
        """The text of an OpenAI chat result or stream, or of an Anthropic message or stream."""
        if self.chunks:
            out = []
            for c in self.chunks:
                for ch in c.get("choices") or []:
                    out.append(ch.get("delta", {}).get("content") or "")
                if c.get("type") == "content_block_delta":
                    out.append(c["delta"].get("text", ""))
            return "".join(out)
        if self.result and "choices" in self.result:
            return self.result["choices"][0]["message"]["content"]
        if self.result and "content" in self.result:
            return "".join(b.get("text", "") for b in self.result["content"])
        return None

    def __repr__(self):
        return "<ClientRun rc=%s %s stderr=%r>" % (self.returncode, json.dumps(self.lines)[:2000], self.stderr[-1000:])


def run_client(cmd, timeout=60):
    """Runs client.mjs with cmd (a dict, see tests/fixtures/llm/client.mjs); returns a ClientRun."""
    p = subprocess.run([node_binary(), str(FIXTURES / "client.mjs")], input=json.dumps(cmd), capture_output=True,
                       text=True, timeout=timeout, env=node_env(), cwd=str(ROOT))
    lines = []
    for ln in p.stdout.splitlines():
        ln = ln.strip()
        if ln:
            lines.append(json.loads(ln))
    run = ClientRun(lines, p.stderr, p.returncode)
    assert p.returncode == 0, "client.mjs failed: %r" % run
    return run


# One process per server for the whole session, even if several modules import these fixtures.
_servers = {}


def _shared_server(key, factory):
    srv = _servers.get(key)
    if srv is None or srv.proc is None or srv.proc.poll() is not None:
        srv = factory()
        _servers[key] = srv
    return srv


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    if "model" not in _servers:
        path = tmp_path_factory.mktemp("llm") / "tiny-llama.gguf"
        p = subprocess.run([node_binary(), str(FIXTURES / "gen-model.mjs"), str(path)], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, "gen-model.mjs failed: %s%s" % (p.stdout, p.stderr)
        _servers["model"] = path
    return _servers["model"]


@pytest.fixture(scope="session")
def llm_server(tiny_model, tmp_path_factory):
    log = tmp_path_factory.getbasetemp() / "llm-server.log"
    srv = _shared_server("llm", lambda: NodeServer("llm-server.mjs", ["--model", str(tiny_model), "--threads", "1"],
                                                   log).start())
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def fault_server(tmp_path_factory):
    log = tmp_path_factory.getbasetemp() / "fault-server.log"
    srv = _shared_server("fault", lambda: NodeServer("fault-server.mjs", [], log).start())
    yield srv
    srv.stop()


@pytest.fixture
def npm_client():
    return run_client
