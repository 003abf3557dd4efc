"""The AI gateway end to end: the official npm clients (openai, @anthropic-ai/sdk) against kasumid,
which forwards to a real llama.cpp server (tests/fixtures/llm/llm-server.mjs on a generated tiny
model) or to our fault-injecting upstream for what a real server will not do on demand.

Everything a user would notice is asserted: answers and streams in each API's shape, usage and yen
cost in the usage records, masking seen by the upstream and undone for the caller, blocks and
refusals with their audit records, retries and fallback, budgets under concurrency, and a client
that disconnects being billed for what it got while the model server sees the close."""
import concurrent.futures
import datetime
import json
import re
import socket
import time
import uuid

import pytest
import requests

from conftest import Daemon, new_corpnum
from test_tls import make_cert
from upstreams import NodeServer

MYNUMBER = "123456789018"          # valid check digit (SPEC.md)
PHONE = "03-1234-5678"


def ai_url(d):
    return "http://" + d.ai_addr


def ai_daemon(data_dir, config=None, extra_args=()):
    """A started kasumid with an AI listener on a free port (d.ai_addr), config written first."""
    d = Daemon(data_dir, extra_args=["--ai-listen", "127.0.0.1:0"] + list(extra_args))
    if config:
        d.write_config(config)
    d.start()
    d.ai_addr = json.loads((d.data_dir / "listen.json").read_text())["ai"]
    return d


class Org:
    """A tenant with a project, a member's API key narrowed to it, and helpers for routes."""

    def __init__(self, d, llm, fault):
        self.d, self.llm, self.fault = d, llm, fault
        t = d.tenant()
        self.tenant = t["id"]
        self.project = d.ok("POST", "/admin/v1/tenants/%s/projects" % self.tenant,
                            {"name": "ai-" + uuid.uuid4().hex[:6], "environment": "dev"})["id"]
        u = d.ok("POST", "/admin/v1/tenants/%s/users" % self.tenant,
                 {"name": "職員", "email": "staff-%s@example.go.jp" % uuid.uuid4().hex[:6]})
        self.binding = d.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "member",
                                                                "scope": "project/" + self.project})["id"]
        self.user = u["id"]
        self.key = d.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api", "project": self.project})["secret"]
        self.base = ai_url(d)

    def route(self, alias, targets, price=("0.5", "1.5")):
        for t in targets:
            t.setdefault("jurisdiction", "JP")
        self.d.ok("POST", "/admin/v1/projects/%s/model-routes" % self.project, {"alias": alias, "targets": targets})
        if price:
            self.d.ok("POST", "/admin/v1/model-prices", {"model": alias, "prompt_per_1k": price[0],
                                                         "completion_per_1k": price[1]})
        return alias

    def llm_route(self, alias="tiny", **kw):
        return self.route(alias, [{"provider": "openai", "base_url": self.llm.base_url, "model": "tiny-llama", **kw}])

    def fault_route(self, spec, provider="openai", alias=None, **kw):
        alias = alias or "f-" + re.sub(r"[^a-z0-9]", "-", spec.lower()) + "-" + uuid.uuid4().hex[:4]
        return self.route(alias, [{"provider": provider, "base_url": self.fault.base_url,
                                   "model": "fault:" + spec, **kw}])

    def post(self, path, body, headers=None, key=None):
        h = {"Authorization": "Bearer " + (key or self.key)}
        h.update(headers or {})
        return requests.post(self.base + path, json=body, headers=h, timeout=60)

    def usage_or_none(self, request_id, wait=0.3):
        time.sleep(wait)
        items = self.d.ok("GET", "/admin/v1/usage?tenant=%s&project=%s&limit=1000" % (self.tenant, self.project))["items"]
        return next((i for i in items if i["request_id"] == request_id), None)

    def usage(self, request_id):
        """The usage record of a request (durable within the group-commit window: poll briefly)."""
        deadline = time.time() + 5
        while time.time() < deadline:
            items = self.d.ok("GET", "/admin/v1/usage?tenant=%s&project=%s&limit=1000" % (self.tenant, self.project))["items"]
            for it in items:
                if it["request_id"] == request_id:
                    return it
            time.sleep(0.05)
        raise AssertionError("no usage record for %s" % request_id)


@pytest.fixture(scope="module")
def gw(tmp_path_factory, llm_server, fault_server):
    d = ai_daemon(tmp_path_factory.mktemp("ai") / "data",
                  extra_args=["--overseas-allow", fault_server.url + "/"])
    yield d
    d.stop()


@pytest.fixture(scope="module")
def org(gw, llm_server, fault_server):
    o = Org(gw, llm_server, fault_server)
    o.llm_route("tiny")
    return o


def sdk(npm_client, o, sdk_name, call, params, **extra):
    base = o.base + "/v1" if sdk_name == "openai" else o.base
    return npm_client(dict({"sdk": sdk_name, "baseURL": base, "apiKey": o.key, "call": call, "params": params}, **extra))


# ---- the real model through the official clients -------------------------------------------------

def test_openai_sdk_real_model(org, npm_client):
    run = sdk(npm_client, org, "openai", "chat.completions.create",
              {"model": "tiny", "messages": [{"role": "user", "content": "こんにちは"}], "max_tokens": 12,
               "temperature": 0})
    assert run.error is None, run
    res = run.result
    assert res["object"] == "chat.completion" and res["model"] == "tiny"
    assert res["choices"][0]["message"]["content"]
    assert res["usage"]["completion_tokens"] == 12 and res["usage"]["prompt_tokens"] > 0
    rid = run.response["headers"]["x-request-id"]
    rec = org.usage(rid)
    # metered exactly from the upstream's usage; cost = tokens × price in micro-yen, rounded up
    assert rec["details"]["prompt_tokens"] == res["usage"]["prompt_tokens"]
    assert rec["details"]["completion_tokens"] == 12 and rec["details"]["estimated"] is False
    assert rec["details"]["user"] == org.user and rec["details"]["key"].startswith("ky_"), rec   # per-user use
    p, c = res["usage"]["prompt_tokens"], 12
    assert rec["cost_microyen"] == -(-p * 500000 // 1000) + -(-c * 1500000 // 1000)


def test_openai_sdk_real_model_stream(org, npm_client):
    run = sdk(npm_client, org, "openai", "chat.completions.create",
              {"model": "tiny", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 10,
               "temperature": 0, "stream": True, "stream_options": {"include_usage": True}})
    assert run.error is None, run
    text = "".join((c["choices"][0]["delta"].get("content") or "") for c in run.chunks if c["choices"])
    usage = [c["usage"] for c in run.chunks if c.get("usage")]
    assert text and usage and usage[-1]["completion_tokens"] == 10
    # greedy decoding: the same text as the non-streamed answer
    whole = sdk(npm_client, org, "openai", "chat.completions.create",
                {"model": "tiny", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 10,
                 "temperature": 0})
    assert whole.result["choices"][0]["message"]["content"] == text
    rec = org.usage(run.response["headers"]["x-request-id"])
    assert rec["details"]["completion_tokens"] == 10


def test_anthropic_sdk_translated_to_openai_upstream(org, npm_client):
    run = sdk(npm_client, org, "anthropic", "messages.create",
              {"model": "tiny", "max_tokens": 8, "temperature": 0,
               "messages": [{"role": "user", "content": "hi"}]})
    assert run.error is None, run
    assert run.result["type"] == "message" and run.result["content"][0]["type"] == "text"
    assert run.result["usage"]["output_tokens"] == 8 and run.result["stop_reason"] == "max_tokens"
    st = sdk(npm_client, org, "anthropic", "messages.create",
             {"model": "tiny", "max_tokens": 8, "temperature": 0, "stream": True,
              "messages": [{"role": "user", "content": "hi"}]})
    assert st.error is None, st
    types = [c["type"] for c in st.chunks]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert "content_block_delta" in types and "message_delta" in types
    text = "".join(c["delta"].get("text", "") for c in st.chunks if c["type"] == "content_block_delta")
    assert text == run.result["content"][0]["text"]


ANSWER_TOOL = {"type": "function", "function": {"name": "answer", "parameters": {
    "type": "object", "properties": {"verdict": {"type": "string", "enum": ["yes", "no"]}}}}}


def test_real_model_calls_a_tool_through_both_sdks(org, npm_client):
    """The real model writes a tool call (its arguments under a grammar from the function's schema):
    through the openai SDK as it came, and through the Anthropic SDK translated both ways (tools and
    tool_choice out, the call back as a tool_use block), whole and streamed, metered from the model."""
    ask = [{"role": "user", "content": "is the sky blue"}]
    run = sdk(npm_client, org, "openai", "chat.completions.create",
              {"model": "tiny", "messages": ask, "max_tokens": 48, "tools": [ANSWER_TOOL],
               "tool_choice": "required"})
    assert run.error is None, run
    choice = run.result["choices"][0]
    assert choice["finish_reason"] == "tool_calls", choice
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "answer"
    assert json.loads(call["function"]["arguments"])["verdict"] in ("yes", "no")
    assert org.usage(run.response["headers"]["x-request-id"])["details"]["completion_tokens"] == \
        run.result["usage"]["completion_tokens"] > 0

    st = sdk(npm_client, org, "openai", "chat.completions.create",
             {"model": "tiny", "messages": ask, "max_tokens": 48, "tools": [ANSWER_TOOL],
              "tool_choice": {"type": "function", "function": {"name": "answer"}}, "stream": True})
    assert st.error is None, st
    args = "".join(tc["function"].get("arguments") or "" for c in st.chunks if c["choices"]
                   for tc in c["choices"][0]["delta"].get("tool_calls") or [])
    assert json.loads(args)["verdict"] in ("yes", "no")

    tool = {"name": "answer", "input_schema": ANSWER_TOOL["function"]["parameters"]}
    ant = sdk(npm_client, org, "anthropic", "messages.create",
              {"model": "tiny", "max_tokens": 48, "messages": ask, "tools": [tool],
               "tool_choice": {"type": "any"}})
    assert ant.error is None, ant
    assert ant.result["stop_reason"] == "tool_use", ant.result
    use = ant.result["content"][0]
    assert use["type"] == "tool_use" and use["name"] == "answer" and use["input"]["verdict"] in ("yes", "no")
    st = sdk(npm_client, org, "anthropic", "messages.create",
             {"model": "tiny", "max_tokens": 48, "messages": ask, "tools": [tool],
              "tool_choice": {"type": "tool", "name": "answer"}, "stream": True})
    assert st.error is None, st
    starts = [c for c in st.chunks if c["type"] == "content_block_start"]
    assert starts and starts[0]["content_block"]["type"] == "tool_use", st.chunks
    partial = "".join(c["delta"]["partial_json"] for c in st.chunks
                      if c["type"] == "content_block_delta" and c["delta"]["type"] == "input_json_delta")
    assert json.loads(partial)["verdict"] in ("yes", "no")
    # the next turn carries the call and its result back to the model: it answers in text
    two = sdk(npm_client, org, "anthropic", "messages.create",
              {"model": "tiny", "max_tokens": 8, "temperature": 0, "tools": [tool], "messages": ask + [
                  {"role": "assistant", "content": [use]},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "ok"}]}]})
    assert two.error is None, two
    assert two.result["content"][0]["type"] == "text" and two.result["usage"]["output_tokens"] == 8


def test_openai_sdk_to_anthropic_upstream(org, npm_client):
    alias = org.fault_route("ok", provider="anthropic")
    run = sdk(npm_client, org, "openai", "chat.completions.create",
              {"model": alias, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20})
    assert run.error is None, run
    assert run.result["usage"]["prompt_tokens"] == 12 and run.result["usage"]["completion_tokens"] == 7
    req = org.fault.last_request()
    assert req["path"].endswith("/v1/messages") and req["headers"].get("anthropic-version")
    st = sdk(npm_client, org, "openai", "chat.completions.create",
             {"model": alias, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20, "stream": True,
              "stream_options": {"include_usage": True}})
    assert st.error is None, st
    assert [c for c in st.chunks if c.get("usage")][-1]["usage"]["completion_tokens"] == 7


def test_anthropic_beta_reaches_an_anthropic_provider(org, npm_client):
    """The Anthropic SDK's opt-in header goes on to a model served over Anthropic's API as sent; a
    model served over OpenAI's never sees it (nothing there would read it)."""
    beta = "fine-grained-tool-streaming-2025-05-14,token-efficient-tools-2025-02-19"
    ask = {"max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    run = sdk(npm_client, org, "anthropic", "messages.create",
              dict(ask, model=org.fault_route("ok", provider="anthropic")), headers={"anthropic-beta": beta})
    assert run.error is None, run
    assert org.fault.last_request()["headers"].get("anthropic-beta") == beta
    run = sdk(npm_client, org, "anthropic", "messages.create",
              dict(ask, model=org.fault_route("ok")), headers={"anthropic-beta": beta})
    assert run.error is None, run
    assert "anthropic-beta" not in org.fault.last_request()["headers"]
    r = org.post("/v1/messages", dict(ask, model="tiny"), headers={"anthropic-beta": "a;b"})
    assert r.status_code == 400 and "anthropic-beta" in r.json()["error"]["message"], r.text


def test_token_count_is_governed_and_not_billed(org, npm_client, gw, llm_server, fault_server):
    """The Anthropic SDK's messages.countTokens (Claude Code calls it often): the prompt goes to the
    provider through the same guardrail (masked, or blocked), the count comes back as the provider
    gave it, and nothing is billed; the request is audited with its count."""
    alias = org.fault_route("ok", provider="anthropic")
    user = {"role": "user", "content": "折り返しは %s までお願いします" % PHONE}
    ask = {"model": alias, "messages": [user, {"role": "assistant", "content": "はい"}, user]}
    run = sdk(npm_client, org, "anthropic", "messages.countTokens", ask)
    assert run.error is None, run
    assert run.result["input_tokens"] == 31   # the fault server's 1 + 10 per message
    sent = org.fault.last_request()
    assert sent["path"].endswith("/v1/messages/count_tokens"), sent["path"]
    assert PHONE not in json.dumps(sent["body"], ensure_ascii=False) and sent["body"]["model"] == "fault:ok"
    rid = run.response["headers"]["x-request-id"]
    assert "decision=mask" in org.d.audit_wait(rid, action="ai.decision")["detail"]
    assert "input_tokens=31" in org.d.audit_wait(rid, action="ai.count_tokens")["detail"]
    assert org.usage_or_none(rid) is None
    # Claude Code asks through the SDK's beta namespace: the same path with ?beta=true
    r = requests.post(org.base + "/v1/messages/count_tokens?beta=true", json=ask, timeout=30,
                      headers={"x-api-key": org.key, "anthropic-version": "2023-06-01"})
    assert r.status_code == 200 and r.json() == {"input_tokens": 31}, r.text

    blocked = sdk(npm_client, org, "anthropic", "messages.countTokens",
                  {"model": alias, "messages": [{"role": "user", "content": "個人番号 " + MYNUMBER}]})
    assert blocked.error and blocked.error["status"] == 400, blocked
    # a model served over OpenAI's API has no count: a clear error in Anthropic's format
    other = sdk(npm_client, org, "anthropic", "messages.countTokens", {"model": "tiny", "messages": [user]})
    assert other.error and other.error["status"] == 400, other
    assert "Anthropic's API" in other.error["body"]["error"]["message"]
    # the same rule for embeddings, which only OpenAI's API has
    r = org.post("/v1/embeddings", {"model": alias, "input": "x"})
    assert r.status_code == 400 and "OpenAI's API" in r.json()["error"]["message"], r.text

    # a count is a request to the provider like any: the requests-per-minute quota holds
    o = Org(gw, llm_server, fault_server)
    gw.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"key_rpm": 2})
    counted = dict(ask, model=o.fault_route("ok", provider="anthropic"))
    codes = [o.post("/v1/messages/count_tokens", counted).status_code for _ in range(3)]
    assert codes == [200, 200, 429], codes


def test_models_and_embeddings(org, npm_client):
    run = sdk(npm_client, org, "openai", "models.list", {})
    assert run.error is None, run
    models = run.result if isinstance(run.result, list) else run.result["data"]
    ids = [m["id"] for m in models]
    assert "tiny" in ids
    other = Org(org.d, org.llm, org.fault)   # another project's aliases are not listed
    other.llm_route("only-there")
    assert "only-there" not in ids
    emb = sdk(npm_client, org, "openai", "embeddings.create", {"model": "tiny", "input": ["霞が関", "hello"]})
    assert emb.error is None, emb
    assert len(emb.result["data"]) == 2 and len(emb.result["data"][0]["embedding"]) > 0
    rec = org.usage(emb.response["headers"]["x-request-id"])
    assert rec["details"]["prompt_tokens"] > 0 and rec["details"]["completion_tokens"] == 0


def test_rerank_real_model(gw, org):
    """POST /v1/rerank (the shape vLLM, llama.cpp's server and Jina serve): documents scored by the
    real model, governed like any request — a phone number in a document is masked for the model
    and restored in the documents quoted back, a My Number refused, the tokens metered and audited;
    bad input gets OpenAI's error format."""
    docs = ["確定申告の手続きと期限", "今日の天気は晴れ", "窓口の電話番号は %s です" % PHONE]
    r = org.post("/v1/rerank", {"model": "tiny", "query": "税の申告はいつまで", "documents": docs})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert sorted(x["index"] for x in res) == [0, 1, 2], res
    scores = [x["relevance_score"] for x in res]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1, scores   # the model's, ranked
    assert {x["index"]: x["document"]["text"] for x in res} == dict(enumerate(docs)), res   # restored
    rid = r.headers["X-Request-Id"]
    dec = gw.audit_wait(rid, action="ai.decision")
    assert "masked=phone:1" in dec["detail"] and PHONE not in json.dumps(dec), dec
    assert gw.audit_wait(rid, action="ai.rerank")["status"] == 200
    rec = org.usage(rid)
    assert rec["details"]["prompt_tokens"] == r.json()["usage"]["prompt_tokens"] > 0, rec
    assert rec["details"]["completion_tokens"] == 0 and rec["cost_microyen"] > 0, rec

    top = org.post("/v1/rerank", {"model": "tiny", "query": "天気", "documents": docs, "top_n": 1,
                                   "return_documents": False})
    assert top.status_code == 200 and len(top.json()["results"]) == 1, top.text
    assert "document" not in top.json()["results"][0], top.text
    blocked = org.post("/v1/rerank", {"model": "tiny", "query": "照会", "documents": ["個人番号 " + MYNUMBER]})
    assert blocked.status_code == 400 and MYNUMBER not in blocked.text, blocked.text
    for bad, why in (({"query": "q", "documents": [{"text": "x"}]}, "documents must be"),
                     ({"documents": ["x"]}, "query must be"),
                     ({"query": "q", "documents": ["x"], "top_n": 0}, "top_n must be")):
        r = org.post("/v1/rerank", dict(bad, model="tiny"))
        assert r.status_code == 400 and why in r.json()["error"]["message"], r.text


def test_models_in_each_api(org, npm_client):
    # the official clients' models.retrieve, and Anthropic's models.list: the project's aliases in
    # each API's own shape; an alias of another project is model_not_found, in that API's format
    other = Org(org.d, org.llm, org.fault)
    other.llm_route("only-there")
    run = sdk(npm_client, org, "openai", "models.retrieve", {"model": "tiny"})
    assert run.error is None, run
    assert run.result["id"] == "tiny" and run.result["object"] == "model", run.result
    run = sdk(npm_client, org, "openai", "models.retrieve", {"model": "only-there"})
    assert run.error["status"] == 404 and run.error["body"]["code"] == "model_not_found", run
    run = sdk(npm_client, org, "anthropic", "models.list", {})
    assert run.error is None, run
    ids = [m["id"] for m in run.result]   # the module's org has the other tests' routes too
    assert "tiny" in ids and "only-there" not in ids and ids == sorted(ids), ids
    m = run.result[ids.index("tiny")]
    assert m["type"] == "model" and m["display_name"] == "tiny", m
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", m["created_at"]), m
    run = sdk(npm_client, org, "anthropic", "models.retrieve", {"model": "tiny"})
    assert run.error is None and run.result["id"] == "tiny" and run.result["type"] == "model", run
    run = sdk(npm_client, org, "anthropic", "models.retrieve", {"model": "only-there"})
    assert run.error["status"] == 404 and run.error["name"] == "NotFoundError", run
    assert run.error["body"]["type"] == "error", run   # Anthropic's error shape


# ---- errors in each API's own shape ---------------------------------------------------------------

def test_errors_in_each_format(org):
    r = org.post("/v1/chat/completions", {"model": "nope", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    r = org.post("/v1/messages", {"model": "nope", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 404 and r.json()["type"] == "error" and r.json()["error"]["type"] == "not_found_error"
    r = requests.post(org.base + "/v1/chat/completions", data=b"{not json",
                      headers={"Authorization": "Bearer " + org.key, "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = requests.post(org.base + "/v1/chat/completions", json={"model": "tiny"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = org.post("/v1/chat/completions", {"model": "tiny"})   # no messages
    assert r.status_code == 400 and "messages" in r.json()["error"]["message"]
    # the admin key of the platform has no project: it must name one
    r = org.post("/v1/chat/completions", {"model": "tiny", "messages": []}, key=org.d.token)
    assert r.status_code in (400, 404)
    # an endpoint kasumi does not serve: in Anthropic's shape for the Anthropic SDK (which sends
    # anthropic-version), in OpenAI's otherwise
    r = org.post("/v1/messages/batches", {"requests": []}, headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 404 and r.json()["type"] == "error", r.text
    assert r.json()["error"]["type"] == "not_found_error"
    r = org.post("/v1/images/generations", {"model": "tiny", "prompt": "x"})   # image generation
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error" and "type" not in r.json()


# ---- the guardrail ---------------------------------------------------------------------------------

def test_mynumber_is_blocked_and_audited(org):
    r = org.post("/v1/chat/completions", {"model": "tiny", "messages": [
        {"role": "system", "content": "丁寧に答えてください。"},
        {"role": "user", "content": "私の個人番号は %s です" % MYNUMBER}]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "content_blocked"
    rid = r.headers["x-request-id"]
    rec = org.d.audit_wait(rid, action="ai.decision")
    assert "decision=block" in rec["detail"] and "mynumber:1" in rec["detail"]
    assert "prompt_hmac=" in rec["detail"]   # the prompt is identified only by its HMAC
    # HMAC-SHA256 under the environment's key of the request's texts, each followed by a newline
    import hashlib, hmac
    key = (org.d.data_dir / "keys" / "ai-prompt-hmac.key").read_bytes()
    text = ("丁寧に答えてください。\n" + "私の個人番号は %s です" % MYNUMBER + "\n").encode()
    assert "prompt_hmac=" + hmac.new(key, text, hashlib.sha256).hexdigest() in rec["detail"], rec["detail"]
    final = org.d.audit_wait(rid, action="ai.chat")
    assert final["outcome"] == "error" and final["status"] == 400
    # nothing of the prompt anywhere in the audit log
    export = requests.get("http://%s/admin/v1/audit/export" % org.d.addr, timeout=30,
                          headers={"Authorization": "Bearer " + org.d.token}).text
    assert MYNUMBER not in export and "個人番号は" not in export


def test_phone_masked_for_upstream_and_restored(org, npm_client):
    alias = org.fault_route("echo")
    prompt = "折り返しは %s までお願いします" % PHONE
    r = org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": prompt}]})
    assert r.status_code == 200, r.text
    sent = json.dumps(org.fault.last_request()["body"], ensure_ascii=False)
    assert PHONE not in sent and "⟦PHONE_1⟧" in sent
    assert PHONE in r.json()["choices"][0]["message"]["content"]
    # the caller is told what the guardrail did (as the audit records it), and under which class
    assert (r.headers["X-Kasumi-Guardrail"], r.headers["X-Kasumi-Classification"]) == ("mask phone=1", "2")
    # streamed: the placeholder may be split across chunks, the caller still sees the number
    st = sdk(npm_client, org, "openai", "chat.completions.create",
             {"model": alias, "stream": True, "messages": [{"role": "user", "content": prompt}]},
             headers={"X-Kasumi-Classification": "1"})
    assert st.error is None, st
    text = "".join((c["choices"][0]["delta"].get("content") or "") for c in st.chunks if c["choices"])
    assert PHONE in text and "⟦" not in text
    assert st.response["headers"]["x-kasumi-guardrail"] == "mask phone=1"
    assert st.response["headers"]["x-kasumi-classification"] == "1"
    r = org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "こんにちは"}]})
    assert r.headers["X-Kasumi-Guardrail"] == "pass", r.headers


def test_project_terms_are_masked_or_blocked(gw, llm_server, fault_server, npm_client):
    """A project's own terms (a code name, a marking such as 取扱厳重注意), as Azure's blocklists
    and Bedrock's word filters give: a masked term never reaches the model and comes back in the
    caller's own spelling (ASCII in any case), streamed too and in an embeddings body; a blocked one
    refuses the request; both are counted in the header and the decision record."""
    o = Org(gw, llm_server, fault_server)
    path = "/admin/v1/projects/%s/ai-policy" % o.project
    pol = gw.ok("PUT", path, {"terms": [{"term": "Project Kasumi", "action": "mask"},
                                        {"term": "取扱厳重注意", "action": "block"}]})
    assert pol["terms"] == [{"term": "project kasumi", "action": "mask"},
                            {"term": "取扱厳重注意", "action": "block"}], pol
    alias = o.fault_route("echo")
    prompt = "PROJECT KASUMI の進捗は %s へ" % PHONE
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": prompt}]})
    assert r.status_code == 200, r.text
    sent = json.dumps(o.fault.last_request()["body"], ensure_ascii=False)
    assert "kasumi" not in sent.lower() and "⟦TERM_1⟧" in sent and PHONE not in sent, sent
    assert r.json()["choices"][0]["message"]["content"] == prompt
    assert r.headers["X-Kasumi-Guardrail"] == "mask phone=1 term=1", r.headers
    rec = gw.audit_wait(r.headers["X-Request-Id"], action="ai.decision")
    assert "term:1" in rec["detail"] and "kasumi" not in json.dumps(rec).lower(), rec
    st = sdk(npm_client, o, "openai", "chat.completions.create",
             {"model": alias, "stream": True, "messages": [{"role": "user", "content": prompt}]})
    assert st.error is None, st
    assert "".join((c["choices"][0]["delta"].get("content") or "") for c in st.chunks if c["choices"]) == prompt
    # an IME's full-width letters and space are the same term
    wide = "ＰＲＯＪＥＣＴ　Ｋａｓｕｍｉ の件"
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": wide}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == wide, r.text
    assert "ａｓｕｍｉ" not in json.dumps(o.fault.last_request()["body"], ensure_ascii=False)
    r = o.post("/v1/embeddings", {"model": o.fault_route("ok"), "input": ["project kasumi の概要"]})
    assert r.status_code == 200 and "kasumi" not in json.dumps(o.fault.last_request()["body"]), r.text

    r = o.post("/v1/chat/completions", {"model": alias, "messages": [
        {"role": "user", "content": "【取扱厳重注意】来年度の計画について"}]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "content_blocked", r.text
    assert "term" in r.json()["error"]["message"]
    rec = gw.audit_wait(r.headers["X-Request-Id"], action="ai.decision")
    assert "reason=term_blocked" in rec["detail"] and "取扱" not in json.dumps(rec, ensure_ascii=False), rec

    # what a term may be: text, at most 32 of them, each once, mask or block
    for bad in ([{"term": "", "action": "mask"}], [{"term": "x", "action": "allow"}], [{"term": "x"}],
                [{"term": "a\nb", "action": "mask"}], [{"term": "A", "action": "mask"}, {"term": "a", "action": "block"}],
                [{"term": "t%d" % i, "action": "mask"} for i in range(33)], ["x"], [{"term": "x" * 65, "action": "mask"}]):
        r = gw.api("PUT", path, {"terms": bad})
        assert r.status_code == 400 and "terms" in r.json()["error"]["message"], (bad, r.text)
    assert gw.ok("PUT", path, {"terms": [{"term": "ＸＹＺ計画", "action": "mask"}]})["terms"] == [
        {"term": "xyz計画", "action": "mask"}]   # kept folded, as texts are matched
    assert gw.ok("PUT", path, {"terms": []})["terms"] == []


def test_model_output_redacted_by_pii_output_rules(gw, llm_server, fault_server, npm_client):
    """pii_output: values the model writes itself are replaced by ⟦KIND⟧ before the caller sees them,
    whole and streamed (a grouped My Number split over three chunks), in every API (chat, Messages,
    Responses, completions with two choices); a caller's own value that was masked for the model
    is restored, not redacted; tool-call arguments are redacted as JSON and stay JSON; the request's
    audit record and the metrics count what was redacted; the default redacts nothing."""
    o = Org(gw, llm_server, fault_server)
    path = "/admin/v1/projects/%s/ai-policy" % o.project
    alias = o.fault_route("echo")
    grouped = "1234 5678 9018"   # 123456789018 in 4-4-4 groups: the echo sends one group per chunk
    prompt = "番号は %s です。連絡は %s か taro@example.lg.jp へ" % (grouped, PHONE)
    want = "番号は ⟦MYNUMBER⟧ です。連絡は %s か ⟦EMAIL⟧ へ" % PHONE

    # the default: nothing the model writes is touched (here the input rules let the number through)
    pol = gw.ok("PUT", path, {"pii": {"mynumber": "allow", "email": "allow"}})
    assert pol["pii_output"] == {k: "allow" for k in ("mynumber", "phone", "email", "card", "pension", "passport")}
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": prompt}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == prompt, r.text

    pol = gw.ok("PUT", path, {"pii_output": {"mynumber": "mask", "email": "mask", "phone": "mask"}})
    assert pol["pii_output"]["mynumber"] == "mask" and pol["pii_output"]["card"] == "allow", pol
    r = gw.api("PUT", path, {"pii_output": {"mynumber": "block"}})
    assert r.status_code == 400 and "pii_output.mynumber" in r.json()["error"]["message"], r.text

    before = metric_by_label(gw, "kasumi_ai_redacted_values_total", "kind")
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": prompt}]})
    assert r.status_code == 200, r.text
    sent = sent_to_model(o)
    assert grouped in sent and PHONE not in sent, sent   # the number went in (allowed), the phone masked
    assert r.json()["choices"][0]["message"]["content"] == want
    final = gw.audit_wait(r.headers["X-Request-Id"], action="ai.chat")
    assert "redacted=mynumber:1,email:1" in final["detail"], final
    assert "1234" not in json.dumps(final)
    after = metric_by_label(gw, "kasumi_ai_redacted_values_total", "kind")
    assert {k: after[k] - before.get(k, 0) for k in ("mynumber", "email", "phone")} == {
        "mynumber": 1, "email": 1, "phone": 0}, (before, after)

    st = sdk(npm_client, o, "openai", "chat.completions.create",
             {"model": alias, "stream": True, "messages": [{"role": "user", "content": prompt}]})
    assert st.error is None, st
    pieces = [c["choices"][0]["delta"].get("content") or "" for c in st.chunks if c["choices"]]
    assert "".join(pieces) == want and not any("9018" in p for p in pieces), pieces
    an = sdk(npm_client, o, "anthropic", "messages.create",
             {"model": alias, "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": prompt}]})
    assert an.error is None, an
    assert "".join(c["delta"].get("text", "") for c in an.chunks if c["type"] == "content_block_delta") == want
    whole = sdk(npm_client, o, "anthropic", "messages.create",
                {"model": alias, "max_tokens": 64, "messages": [{"role": "user", "content": prompt}]})
    assert whole.error is None and whole.result["content"][0]["text"] == want, whole

    # the Responses API and text completions (every choice of a stream) go through the same rules
    resp = sdk(npm_client, o, "openai", "responses.create", {"model": alias, "input": prompt, "stream": True})
    assert resp.error is None, resp
    assert "".join(e["delta"] for e in resp.chunks if e["type"] == "response.output_text.delta") == want
    comp = sdk(npm_client, o, "openai", "completions.create",
               {"model": alias, "prompt": prompt, "max_tokens": 64, "n": 2, "stream": True})
    assert comp.error is None, comp
    texts = {}
    for c in comp.chunks:
        for ch in c["choices"]:
            texts[ch["index"]] = texts.get(ch["index"], "") + ch["text"]
    assert texts == {0: want, 1: want}, texts

    # log-probabilities would spell out, token by token, what the text redacts: refused, saying why
    for path_, body in (("/v1/chat/completions", {"model": alias, "logprobs": True,
                                                  "messages": [{"role": "user", "content": "hi"}]}),
                        ("/v1/completions", {"model": alias, "prompt": "hi", "logprobs": 2})):
        r = o.post(path_, body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_parameter", r.text
        assert "pii_output" in r.json()["error"]["message"], r.text
        rec = gw.audit_wait(r.headers["X-Request-Id"], action="ai.decision")
        assert "reason=logprobs_with_redaction" in rec["detail"], rec
    assert o.post("/v1/chat/completions", {"model": alias, "logprobs": False, "messages": [
        {"role": "user", "content": "hi"}]}).status_code == 200
    r = o.post("/v1/messages", {"model": alias, "max_tokens": 64, "thinking": {"type": "enabled", "budget_tokens": 1024},
                                "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 400 and "thinking" in r.json()["error"]["message"], r.text
    # the reasoning text some servers add beside the answer is left out, whole and streamed
    reasoner = o.fault_route("echo;reasoning")
    r = o.post("/v1/chat/completions", {"model": reasoner, "messages": [{"role": "user", "content": prompt}]})
    assert r.status_code == 200, r.text
    msg = r.json()["choices"][0]["message"]
    assert msg["content"] == want and "reasoning_content" not in msg and "9018" not in r.text, r.text
    st = sdk(npm_client, o, "openai", "chat.completions.create",
             {"model": reasoner, "stream": True, "messages": [{"role": "user", "content": prompt}]})
    assert st.error is None and "9018" not in json.dumps(st.chunks), st
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in st.chunks if c["choices"]) == want
    # a refusal is the model's words as well, whole and streamed
    refuser = o.fault_route("echo;refuse")
    r = o.post("/v1/chat/completions", {"model": refuser, "messages": [{"role": "user", "content": prompt}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["refusal"] == want, r.text
    st = sdk(npm_client, o, "openai", "chat.completions.create",
             {"model": refuser, "stream": True, "messages": [{"role": "user", "content": prompt}]})
    assert st.error is None and "9018" not in json.dumps(st.chunks), st
    assert "".join(c["choices"][0]["delta"].get("refusal") or "" for c in st.chunks if c["choices"]) == want
    gw.ok("PUT", path, {"pii_output": {"mynumber": "allow", "email": "allow", "phone": "allow"}})
    r = o.post("/v1/chat/completions", {"model": reasoner, "messages": [{"role": "user", "content": "hi there"}]})
    assert r.json()["choices"][0]["message"]["reasoning_content"] == "hi there", r.text   # untouched when off
    gw.ok("PUT", path, {"pii_output": {"mynumber": "mask", "email": "mask", "phone": "mask"}})

    # a tool call's arguments are JSON for the caller's code: redacted value by value, and still
    # JSON — a My Number the model writes as a bare number becomes the string "⟦MYNUMBER⟧" —
    # whole and streamed (in pieces of 5 characters), in both APIs; a custom tool's free-form input
    # is redacted as text
    tool = o.fault_route("tool;number=123456789018")
    redacted = {"query": want, "number": "⟦MYNUMBER⟧"}
    user = [{"role": "user", "content": prompt}]
    one = sdk(npm_client, o, "openai", "chat.completions.create",
              {"model": tool, "messages": user, "tools": [LOOKUP_OPENAI]})
    assert one.error is None, one
    args = one.result["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(args) == redacted and "9018" not in args, args
    rec = gw.audit_wait(one.response["headers"]["x-request-id"], action="ai.chat")
    assert "redacted=mynumber:2,email:1" in rec["detail"], rec
    st = sdk(npm_client, o, "openai", "chat.completions.create",
             {"model": tool, "messages": user, "tools": [LOOKUP_OPENAI], "stream": True})
    assert st.error is None, st
    pieces = [tc["function"].get("arguments") or "" for c in st.chunks if c["choices"]
              for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert json.loads("".join(pieces)) == redacted and not any("9018" in p for p in pieces), pieces
    for stream in (False, True):
        an = sdk(npm_client, o, "anthropic", "messages.create",
                 {"model": tool, "max_tokens": 64, "messages": user, "tools": [LOOKUP_ANTHROPIC], "stream": stream})
        assert an.error is None, an
        got = (json.loads("".join(c["delta"]["partial_json"] for c in an.chunks
                                  if c["type"] == "content_block_delta")) if stream
               else an.result["content"][0]["input"])
        assert got == redacted, (stream, got)
    free = sdk(npm_client, o, "openai", "responses.create",
               {"model": o.fault_route("tool;custom"), "input": prompt, "stream": True,
                "tools": [{"type": "custom", "name": "lookup"}]})
    assert free.error is None, free
    assert "".join(e["delta"] for e in free.chunks if e["type"] == "response.custom_tool_call_input.delta") == want


def test_cancelled_redacted_stream_billed_for_what_reached_the_caller(gw, llm_server, fault_server):
    """With pii_output on, the gateway holds a stream's last ~48 bytes back (a value is never split
    between chunks); a caller who leaves is billed for the pieces that reached it, not for the ones
    the gateway still held (before, every piece taken in was billed: here ~10 more)."""
    o = Org(gw, llm_server, fault_server)
    gw.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"pii_output": {"email": "mask"}})
    alias = o.fault_route("slow;interval=150;chunks=40")   # the fault server's pieces, one a token
    pieces = ["Hello", " from", " the", " fault", " server", ".", " Bye"] + [" more"] * 33
    r = requests.post(o.base + "/v1/chat/completions", stream=True, timeout=30,
                      json={"model": alias, "stream": True, "messages": [{"role": "user", "content": "x"}]},
                      headers={"Authorization": "Bearer " + o.key})
    assert r.status_code == 200, r.text
    seen, chunks = "", 0
    for line in r.iter_lines():
        c = json.loads(line[6:]) if line.startswith(b"data: {") else {"choices": []}
        text = (c["choices"][0]["delta"].get("content") or "") if c["choices"] else ""
        seen, chunks = seen + text, chunks + bool(text)
        if chunks == 2:
            break
    rid = r.headers["X-Request-Id"]
    r.close()
    whole = 0   # the pieces the caller got all of
    while whole < len(pieces) and seen.startswith("".join(pieces[:whole + 1])):
        whole += 1
    rec = o.usage(rid)
    billed = rec["details"]["completion_tokens"]
    assert rec["details"]["cancelled"] is True, rec
    assert whole <= billed <= whole + 3, (billed, whole, seen)   # (a piece or two in flight)


def test_masked_values_are_counted_over_every_text(gw, org):
    """The counts by kind (the answer's header, the audit record, the metrics) are the request's:
    a value in an early message counts though later texts have none (before, each text scanned
    replaced the counts, so only the last one's showed)."""
    alias = org.fault_route("echo")
    r = org.post("/v1/chat/completions", {"model": alias, "messages": [
        {"role": "system", "content": "窓口: %s" % PHONE},
        {"role": "user", "content": "連絡先 taro@example.go.jp と %s" % PHONE},
        {"role": "assistant", "content": "承知しました"}, {"role": "user", "content": "続けて"}]})
    assert r.status_code == 200, r.text
    assert r.headers["X-Kasumi-Guardrail"] == "mask phone=2 email=1", r.headers
    rec = gw.audit_wait(r.headers["X-Request-Id"], action="ai.decision")
    assert " masked=email:1,phone:2 " in rec["detail"] or " masked=phone:2,email:1 " in rec["detail"], rec


def test_every_choice_of_a_stream_is_restored(org, npm_client):
    """n > 1, streamed: the choices' chunks interleave, and each choice's text is restored through a
    hold-back state of its own (before, only choice 0's was: choice 1 showed the placeholder)."""
    alias = org.fault_route("echo")
    prompt = "折り返しは %s までお願いします" % PHONE
    st = sdk(npm_client, org, "openai", "chat.completions.create",
             {"model": alias, "n": 2, "stream": True, "messages": [{"role": "user", "content": prompt}]})
    assert st.error is None, st
    assert PHONE not in sent_to_model(org)
    texts = {}
    for c in st.chunks:
        for ch in c["choices"]:
            texts[ch["index"]] = texts.get(ch["index"], "") + (ch["delta"].get("content") or "")
    assert texts == {0: prompt, 1: prompt}, texts


def test_every_choice_of_a_tool_call_is_restored(org, npm_client):
    """n > 1 with tools, whole and streamed: each choice's call carries the number the model got as
    a placeholder (streamed, in pieces of 5 characters, the choices' chunks interleaved, each
    choice's arguments through a hold-back state of its own; before, choice 1 showed ⟦PHONE_1⟧)."""
    alias = org.fault_route("tool")
    user = {"role": "user", "content": "折り返しは %s までお願いします" % PHONE}
    ask = {"model": alias, "n": 2, "messages": [user], "tools": [LOOKUP_OPENAI]}
    one = sdk(npm_client, org, "openai", "chat.completions.create", ask)
    assert one.error is None, one
    assert PHONE not in sent_to_model(org)
    got = [json.loads(c["message"]["tool_calls"][0]["function"]["arguments"]) for c in one.result["choices"]]
    assert got == [{"query": user["content"]}] * 2, got
    st = sdk(npm_client, org, "openai", "chat.completions.create", dict(ask, stream=True))
    assert st.error is None, st
    args = {}
    for c in st.chunks:
        for ch in c["choices"]:
            for tc in ch["delta"].get("tool_calls") or []:
                args[ch["index"]] = args.get(ch["index"], "") + (tc["function"].get("arguments") or "")
    assert {k: json.loads(v) for k, v in args.items()} == {0: {"query": user["content"]},
                                                          1: {"query": user["content"]}}, args


LOOKUP_OPENAI = {"type": "function", "function": {"name": "lookup", "description": "電話番号で検索する",
                                                  "parameters": {"type": "object",
                                                                 "properties": {"query": {"type": "string"}}}}}
LOOKUP_ANTHROPIC = {"name": "lookup", "description": "電話番号で検索する",
                    "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}}


def sent_to_model(org):
    return json.dumps(org.fault.last_request()["body"], ensure_ascii=False)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_tool_calls_through_openai_scanned_masked_and_restored(org, npm_client, provider):
    """A tool loop with the openai SDK, to a model served over either API: the model gets
    placeholders (in the prompt, in its earlier tool call's arguments, in the tool's result); the
    caller's tool gets the real value back in the arguments, whole and streamed; a blocked kind in
    the arguments is found."""
    alias = org.fault_route("tool", provider=provider)
    user = {"role": "user", "content": "折り返しは %s までお願いします" % PHONE}
    one = sdk(npm_client, org, "openai", "chat.completions.create",
              {"model": alias, "messages": [user], "tools": [LOOKUP_OPENAI]})
    assert one.error is None, one
    assert PHONE not in sent_to_model(org) and "⟦PHONE_1⟧" in sent_to_model(org)
    call = one.result["choices"][0]["message"]["tool_calls"][0]
    assert one.result["choices"][0]["finish_reason"] == "tool_calls"
    assert json.loads(call["function"]["arguments"]) == {"query": user["content"]}

    # the second turn carries the call and the tool's answer: both are scanned, and masked
    history = [user, {"role": "assistant", "content": None, "tool_calls": [call]},
               {"role": "tool", "tool_call_id": call["id"], "content": "%s は本庁の代表番号です" % PHONE}]
    two = sdk(npm_client, org, "openai", "chat.completions.create",
              {"model": alias, "messages": history, "tools": [LOOKUP_OPENAI]})
    assert two.error is None, two
    sent = sent_to_model(org)
    assert PHONE not in sent and sent.count("⟦PHONE_1⟧") == 3, sent
    args = json.loads(two.result["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert args == {"query": "%s は本庁の代表番号です" % PHONE}

    # streamed in pieces of 5 characters: the 9-character placeholder is split, the caller sees the number
    st = sdk(npm_client, org, "openai", "chat.completions.create",
             {"model": alias, "messages": [user], "tools": [LOOKUP_OPENAI], "stream": True})
    assert st.error is None, st
    pieces = [tc["function"].get("arguments") or "" for c in st.chunks if c["choices"]
              for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert json.loads("".join(pieces)) == {"query": user["content"]}, pieces

    # a personal number in the arguments of an earlier call is blocked like one in the prompt
    bad = dict(call, function={"name": "lookup", "arguments": json.dumps({"query": "個人番号 " + MYNUMBER},
                                                                         ensure_ascii=False)})
    r = org.post("/v1/chat/completions", {"model": alias, "tools": [LOOKUP_OPENAI], "messages": [
        user, {"role": "assistant", "content": None, "tool_calls": [bad]},
        {"role": "tool", "tool_call_id": call["id"], "content": "なし"}]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "content_blocked", r.text

    # a card number in the arguments: masked inside a JSON string; where it stands as a JSON number a
    # placeholder would break the arguments, so the request is refused with the reason instead
    def with_args(args):
        return org.post("/v1/chat/completions", {"model": alias, "tools": [LOOKUP_OPENAI], "messages": [
            user, {"role": "assistant", "content": None,
                   "tool_calls": [dict(call, function={"name": "lookup", "arguments": args})]},
            {"role": "tool", "tool_call_id": call["id"], "content": "なし"}]})
    r = with_args('{"card": "4111111111111111"}')
    assert r.status_code == 200 and "4111111111111111" not in sent_to_model(org), r.text
    r = with_args('{"card": 4111111111111111}')
    assert r.status_code == 400 and "send it as a string" in r.json()["error"]["message"], r.text

    # a tool's description goes to the model like the prompt: a sample value in it is masked too
    described = {"type": "function", "function": dict(LOOKUP_OPENAI["function"], description="例: " + PHONE)}
    r = org.post("/v1/chat/completions", {"model": alias, "messages": [user], "tools": [described]})
    assert r.status_code == 200, r.text
    assert PHONE not in sent_to_model(org) and "lookup" in sent_to_model(org)


def test_options_the_gateway_does_not_read_are_scanned_too(org, npm_client):
    """Fields the gateway passes through without reading (a structured-output schema, a predicted
    output, metadata, the end user's id, stop sequences) reach the provider like the prompt, so a
    value in them is masked or blocked by the same rules."""
    schema = {"type": "object", "properties": {"tel": {"type": "string", "description": "例: " + PHONE}}}
    ask = {"model": org.fault_route("ok"), "messages": [{"role": "user", "content": "連絡先は?"}],
           "response_format": {"type": "json_schema", "json_schema": {"name": "contact", "schema": schema}},
           "prediction": {"type": "content", "content": "電話は %s です" % PHONE},
           "metadata": {"case": "窓口 " + PHONE}, "user": PHONE, "stop": [PHONE], "seed": 7}
    run = sdk(npm_client, org, "openai", "chat.completions.create", ask)
    assert run.error is None, run
    sent = org.fault.last_request()["body"]
    assert PHONE not in json.dumps(sent, ensure_ascii=False), sent
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["tel"]["description"] == "例: ⟦PHONE_1⟧"
    assert sent["prediction"]["content"] == "電話は ⟦PHONE_1⟧ です" and sent["user"] == "⟦PHONE_1⟧"
    assert sent["metadata"] == {"case": "窓口 ⟦PHONE_1⟧"} and sent["stop"] == ["⟦PHONE_1⟧"]
    assert sent["seed"] == 7 and sent["response_format"]["json_schema"]["name"] == "contact"

    # a kind that is blocked is blocked there too, in the caller's format
    r = org.post("/v1/chat/completions", dict(ask, metadata={"case": "個人番号 " + MYNUMBER}))
    assert r.status_code == 400 and r.json()["error"]["code"] == "content_blocked", r.text
    run = sdk(npm_client, org, "anthropic", "messages.create", {
        "model": org.fault_route("ok", provider="anthropic"), "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}], "metadata": {"user_id": PHONE},
        "stop_sequences": [PHONE], "output_format": {"type": "json_schema", "schema": schema}})
    assert run.error is None, run
    sent = org.fault.last_request()["body"]
    assert PHONE not in json.dumps(sent, ensure_ascii=False), sent
    assert sent["metadata"] == {"user_id": "⟦PHONE_1⟧"} and sent["stop_sequences"] == ["⟦PHONE_1⟧"]
    r = org.post("/v1/messages", {"model": "tiny", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}],
                                  "output_format": {"type": "json_schema", "schema": {"description": "個人番号 " + MYNUMBER}}},
                 headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", r.text
    assert "personal identifiers" in r.json()["error"]["message"], r.text
    # a plain-text document (citations, RAG) is read like the prompt; a PDF cannot be, and is refused
    doc = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "代表番号 " + PHONE},
           "title": "庁舎案内", "citations": {"enabled": True}}
    run = sdk(npm_client, org, "anthropic", "messages.create", {
        "model": org.fault_route("ok", provider="anthropic"), "max_tokens": 16,
        "messages": [{"role": "user", "content": [doc, {"type": "text", "text": "代表番号は?"}]}]})
    assert run.error is None, run
    sent = org.fault.last_request()["body"]["messages"][0]["content"][0]
    assert sent == dict(doc, source=dict(doc["source"], data="代表番号 ⟦PHONE_1⟧")), sent
    # the model's citation of it quotes the masked text: the caller gets the value back, whole and streamed
    cite = org.fault_route("cite", provider="anthropic")
    for stream in (False, True):
        run = sdk(npm_client, org, "anthropic", "messages.create", {"model": cite, "max_tokens": 16, "stream": stream,
                  "messages": [{"role": "user", "content": [doc, {"type": "text", "text": "代表番号は?"}]}]})
        assert run.error is None, run
        citations = ([c["delta"]["citation"] for c in run.chunks if c.get("delta", {}).get("type") == "citations_delta"]
                     if stream else run.result["content"][0]["citations"])
        assert [c["cited_text"] for c in citations] == ["代表番号 " + PHONE], citations
        assert "⟦PHONE_1⟧" in json.dumps(org.fault.last_request()["body"], ensure_ascii=False)
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}}
    run = sdk(npm_client, org, "anthropic", "messages.create", {
        "model": org.fault_route("ok", provider="anthropic"), "max_tokens": 16,
        "messages": [{"role": "user", "content": [pdf, {"type": "text", "text": "要約して"}]}]})
    assert run.error["status"] == 400 and "cannot read" in run.error["body"]["error"]["message"], run

    # embeddings: the end user's id goes to the provider as the input does
    emb = sdk(npm_client, org, "openai", "embeddings.create",
              {"model": org.fault_route("ok"), "input": ["窓口 " + PHONE], "user": PHONE})
    assert emb.error is None, emb
    sent = org.fault.last_request()["body"]
    assert sent["user"] == "⟦PHONE_1⟧" and sent["input"] == ["窓口 ⟦PHONE_1⟧"], sent


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_tool_use_through_anthropic_scanned_masked_and_restored(org, npm_client, provider):
    alias = org.fault_route("tool", provider=provider)
    user = {"role": "user", "content": "折り返しは %s までお願いします" % PHONE}
    one = sdk(npm_client, org, "anthropic", "messages.create",
              {"model": alias, "max_tokens": 64, "messages": [user], "tools": [LOOKUP_ANTHROPIC]})
    assert one.error is None, one
    assert PHONE not in sent_to_model(org)
    use = one.result["content"][0]
    assert one.result["stop_reason"] == "tool_use" and use["type"] == "tool_use"
    assert use["input"] == {"query": user["content"]}

    history = [user, {"role": "assistant", "content": [use]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"],
                                             "content": "%s は本庁の代表番号です" % PHONE}]}]
    two = sdk(npm_client, org, "anthropic", "messages.create",
              {"model": alias, "max_tokens": 64, "messages": history, "tools": [LOOKUP_ANTHROPIC]})
    assert two.error is None, two
    sent = sent_to_model(org)
    assert PHONE not in sent and sent.count("⟦PHONE_1⟧") == 3, sent
    assert two.result["content"][0]["input"] == {"query": "%s は本庁の代表番号です" % PHONE}

    st = sdk(npm_client, org, "anthropic", "messages.create",
             {"model": alias, "max_tokens": 64, "messages": [user], "tools": [LOOKUP_ANTHROPIC],
              "stream": True})
    assert st.error is None, st
    partial = "".join(c["delta"]["partial_json"] for c in st.chunks
                      if c.get("type") == "content_block_delta" and c["delta"]["type"] == "input_json_delta")
    assert json.loads(partial) == {"query": user["content"]}, partial

    # a number a placeholder cannot replace is not sent unread
    r = org.post("/v1/messages", {"model": alias, "max_tokens": 64, "tools": [LOOKUP_ANTHROPIC], "messages": [
        user, {"role": "assistant", "content": [dict(use, input={"id": int(MYNUMBER)})]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "なし"}]}]})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", r.text

    # a long number that is no identifier (a time stamp, an id) goes as it is; a card number, which
    # a placeholder cannot replace in a number, is refused with the reason (send it as a string)
    def turn(value):
        return org.post("/v1/messages", {"model": alias, "max_tokens": 64, "tools": [LOOKUP_ANTHROPIC], "messages": [
            user, {"role": "assistant", "content": [dict(use, input={"since": value})]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "なし"}]}]},
            headers={"anthropic-version": "2023-06-01"})
    r = turn(1763856000)
    assert r.status_code == 200, r.text
    assert "1763856000" in json.dumps(org.fault.last_request()["body"])   # as input, or as arguments
    r = turn(4111111111111111)
    assert r.status_code == 400 and "send it as a string" in r.json()["error"]["message"], r.text
    assert "4111111111111111" not in json.dumps(org.fault.last_request()["body"])


def test_extended_thinking_tool_loop_through_the_guardrail(gw, org, npm_client):
    """Claude's extended thinking in a tool loop (as Claude Code runs it): the model's signed
    thinking block must come back unchanged on the next turn. It holds placeholders, not values
    (thinking is not restored on the way out), so the guardrail reads it and lets it pass as it
    came; one that holds a value a rule would mask is refused, with a reason, since a signed block
    cannot be changed and must not leave unmasked."""
    alias = org.fault_route("tool;think", provider="anthropic")
    user = {"role": "user", "content": "折り返しは %s までお願いします" % PHONE}
    ask = {"model": alias, "max_tokens": 64, "tools": [LOOKUP_ANTHROPIC],
           "thinking": {"type": "enabled", "budget_tokens": 1024}}
    for stream in (False, True):
        one = sdk(npm_client, org, "anthropic", "messages.create", dict(ask, messages=[user], stream=stream))
        assert one.error is None, one
        if stream:   # the SDK's events put together as the blocks they make
            blocks = {}
            for ev in one.chunks:
                if ev["type"] == "content_block_start":
                    blocks[ev["index"]] = dict(ev["content_block"])
                elif ev["type"] == "content_block_delta":
                    d, b = ev["delta"], blocks[ev["index"]]
                    if d["type"] == "thinking_delta":
                        b["thinking"] += d["thinking"]
                    elif d["type"] == "signature_delta":
                        b["signature"] = d["signature"]
                    elif d["type"] == "input_json_delta":
                        b["json"] = b.get("json", "") + d["partial_json"]
            content = [blocks[i] for i in sorted(blocks)]
            content[1]["input"] = json.loads(content[1].pop("json"))
        else:
            content = one.result["content"]
        thought, use = content
        assert thought["type"] == "thinking" and "⟦PHONE_1⟧" in thought["thinking"], thought
        assert use["input"] == {"query": user["content"]}   # the call is restored for the caller's tool

        history = [user, {"role": "assistant", "content": [thought, use]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "なし"}]}]
        two = sdk(npm_client, org, "anthropic", "messages.create", dict(ask, messages=history))
        assert two.error is None, two   # the fault server checks the signature as Anthropic does
        sent = org.fault.last_request()["body"]["messages"][1]["content"][0]
        assert sent == thought and PHONE not in sent_to_model(org)

    # a value in a signed block: neither masked (its signature would break) nor sent
    forged = dict(thought, thinking="The caller wrote: " + PHONE)
    r = org.post("/v1/messages", dict(ask, messages=[user, {"role": "assistant", "content": [forged, use]},
                                                     history[2]]), headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 400 and "signed thinking block" in r.json()["error"]["message"], r.text
    rec = gw.audit_wait(r.headers["x-request-id"], action="ai.decision")
    assert "decision=block reason=pii_in_signed_block" in rec["detail"], rec


def test_redacted_thinking_goes_back_as_it_came(gw, org, npm_client):
    """When the provider's safety systems encrypt the model's reasoning, the answer carries a
    redacted_thinking block whose data only that provider can read, and a tool loop must send it
    back unchanged. Claude Code hits this in ordinary sessions; the gateway used to refuse the next
    turn as content it cannot read. It goes now, as it came (it was made by the provider from the
    masked prompt); a value written into its data in plain text is still refused."""
    alias = org.fault_route("tool;think=redacted", provider="anthropic")
    user = {"role": "user", "content": "折り返しは %s までお願いします" % PHONE}
    ask = {"model": alias, "max_tokens": 64, "tools": [LOOKUP_ANTHROPIC],
           "thinking": {"type": "enabled", "budget_tokens": 1024}}
    for stream in (False, True):
        one = sdk(npm_client, org, "anthropic", "messages.create", dict(ask, messages=[user], stream=stream))
        assert one.error is None, one
        if stream:
            starts = [ev["content_block"] for ev in one.chunks if ev["type"] == "content_block_start"]
            hidden = starts[0]
            use = dict(starts[1], input=json.loads("".join(
                ev["delta"]["partial_json"] for ev in one.chunks
                if ev["type"] == "content_block_delta" and ev["delta"]["type"] == "input_json_delta")))
        else:
            hidden, use = one.result["content"]
        assert hidden["type"] == "redacted_thinking" and hidden["data"], hidden
        assert use["input"] == {"query": user["content"]}

        history = [user, {"role": "assistant", "content": [hidden, use]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "なし"}]}]
        two = sdk(npm_client, org, "anthropic", "messages.create", dict(ask, messages=history))
        assert two.error is None, two   # the fault server accepts only data it issued, unchanged
        sent = org.fault.last_request()["body"]["messages"][1]["content"][0]
        assert sent == hidden and PHONE not in sent_to_model(org)

    forged = {"type": "redacted_thinking", "data": "The caller wrote: " + PHONE}
    r = org.post("/v1/messages", dict(ask, messages=[user, {"role": "assistant", "content": [forged, use]},
                                                     history[2]]), headers={"anthropic-version": "2023-06-01"})
    assert r.status_code == 400 and "redacted" in r.json()["error"]["message"], r.text
    rec = gw.audit_wait(r.headers["x-request-id"], action="ai.decision")
    assert "decision=block reason=pii_in_signed_block" in rec["detail"], rec


# ---- the byte path -----------------------------------------------------------------------------------

def raw_post(org, path, raw):
    return requests.post(org.base + path, data=raw.encode(), timeout=30,
                         headers={"Authorization": "Bearer " + org.key, "Content-Type": "application/json"})


def test_same_protocol_forwards_the_callers_bytes(org):
    """Same protocol and nothing masked: the provider gets the caller's bytes with only the model
    replaced (spacing, escapes, number spelling and fields kasumi does not model kept), and the
    caller gets the provider's answer with the alias as model, metered exactly. A masked request is
    rebuilt from the parsed body (compact JSON): the byte path is never taken for it."""
    spec = "ok;prompt_tokens=1117;completion_tokens=3"
    alias, upstream_model = org.fault_route(spec), "fault:" + spec
    raw = ('{\n  "model" : "%s",\n  "messages": [{"role": "user", "content": "caf\\u00e9 こんにちは"}],\n'
           '  "temperature": 0.50,\n  "seed": 7\n}') % alias
    r = raw_post(org, "/v1/chat/completions", raw)
    assert r.status_code == 200, r.text
    assert r.json()["model"] == alias and r.json()["usage"]["prompt_tokens"] == 1117
    sent = org.fault.last_request()
    assert sent["body"]["model"] == upstream_model and sent["body"]["seed"] == 7
    assert sent["body"]["messages"][0]["content"] == "café こんにちは"
    assert sent["body_bytes"] == len(raw.encode()) - len(alias) + len(upstream_model)
    rec = org.usage(r.headers["x-request-id"])
    assert rec["details"]["prompt_tokens"] == 1117 and rec["details"]["completion_tokens"] == 3
    assert rec["details"]["estimated"] is False
    assert rec["cost_microyen"] == -(-1117 * 500000 // 1000) + -(-3 * 1500000 // 1000)

    # a stream: include_usage forced on inside the bytes, usage metered from the last chunk
    raw_stream = raw[:-2] + ',\n  "stream": true, "stream_options": {"include_usage": false}\n}'
    r = raw_post(org, "/v1/chat/completions", raw_stream)
    assert r.status_code == 200 and "data: [DONE]" in r.text
    sent = org.fault.last_request()
    assert sent["body"]["stream_options"] == {"include_usage": True}
    assert sent["body_bytes"] == (len(raw_stream.encode()) - len(alias) + len(upstream_model)
                                  - len("false") + len("true"))
    rec = org.usage(r.headers["x-request-id"])
    assert rec["details"]["prompt_tokens"] == 1117 and rec["details"]["completion_tokens"] == 3

    # Anthropic to an Anthropic upstream: the same, top_k (which OpenAI lacks) kept
    alias_a = org.fault_route(spec, provider="anthropic")
    raw_a = ('{"model":"%s", "max_tokens": 16, "top_k": 5,\n "messages":[{"role":"user","content":"hi"}]}'
             % alias_a)
    r = raw_post(org, "/v1/messages", raw_a)
    assert r.status_code == 200, r.text
    assert r.json()["model"] == alias_a
    sent = org.fault.last_request()
    assert sent["body"]["top_k"] == 5
    assert sent["body_bytes"] == len(raw_a.encode()) - len(alias_a) + len(upstream_model)
    u = r.json()["usage"]
    rec = org.usage(r.headers["x-request-id"])
    assert rec["details"]["prompt_tokens"] == (u["input_tokens"] + u.get("cache_read_input_tokens", 0)
                                               + u.get("cache_creation_input_tokens", 0))
    assert rec["details"]["completion_tokens"] == u["output_tokens"] == 3

    # masked: rebuilt from the parsed body, the number replaced, restored for the caller
    alias_e = org.fault_route("echo")
    masked = ('{ "model" : "%s", "messages": [{"role": "user", "content": "折り返しは %s まで"}],'
              '  "seed": 7 }') % (alias_e, PHONE)
    r = raw_post(org, "/v1/chat/completions", masked)
    assert r.status_code == 200, r.text
    assert PHONE in r.json()["choices"][0]["message"]["content"]
    sent = org.fault.last_request()
    assert PHONE not in json.dumps(sent["body"], ensure_ascii=False)
    compact = json.dumps(sent["body"], ensure_ascii=False, separators=(",", ":"))
    assert sent["body_bytes"] == len(compact.encode())


def test_classification_policy(gw, llm_server, fault_server):
    o = Org(gw, llm_server, fault_server)
    abroad = o.route("abroad", [{"provider": "openai", "base_url": fault_server.base_url,
                                 "model": "fault:echo", "jurisdiction": "US"}])
    body = {"model": abroad, "messages": [{"role": "user", "content": "電話 %s" % PHONE}]}
    # 機密性3 never leaves Japan; unlabelled is 2, which needs the tenant admin's permission
    for hdr, status in (("3", 403), (None, 403), ("2", 403)):
        r = o.post("/v1/chat/completions", body, headers={"X-Kasumi-Classification": hdr} if hdr else {})
        assert r.status_code == status, (hdr, r.text)
    r = o.post("/v1/chat/completions", body, headers={"X-Kasumi-Classification": "1"})
    assert r.status_code == 200, r.text
    r = o.post("/v1/chat/completions", body, headers={"X-Kasumi-Classification": "9"})
    assert r.status_code == 400
    # the tenant administrator enables 機密性2 abroad: it goes, masked even where the rule says allow
    gw.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"class2_overseas": True, "pii": {"phone": "allow"}})
    r = o.post("/v1/chat/completions", body, headers={"X-Kasumi-Classification": "2"})
    assert r.status_code == 200, r.text
    assert PHONE not in json.dumps(fault_server.last_request()["body"], ensure_ascii=False)
    assert PHONE in r.json()["choices"][0]["message"]["content"]
    # the tenant forbids 機密性3 everywhere, even in Japan
    jp = o.route("jp-echo", [{"provider": "openai", "base_url": fault_server.base_url, "model": "fault:echo"}])
    gw.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"class3_forbidden": True})
    r = o.post("/v1/chat/completions", {"model": jp, "messages": [{"role": "user", "content": "x"}]},
               headers={"X-Kasumi-Classification": "3"})
    assert r.status_code == 403


def test_calls_only_from_the_projects_networks(gw, llm_server, fault_server, npm_client):
    """allowed_networks: a caller outside them is refused before anything of its request is read
    or sent — chat, model listing, the SDKs alike — audited with where it came from; inside, as
    before. Networks are checked as written (a host bit set, a bad prefix, a duplicate: 400)."""
    o = Org(gw, llm_server, fault_server)
    alias = o.fault_route("ok")
    pol = "/admin/v1/projects/%s/ai-policy" % o.project
    assert gw.ok("GET", pol)["allowed_networks"] == []   # by default: anywhere
    assert gw.ok("PUT", pol, {"allowed_networks": ["10.0.0.0/8", "2001:db8::/32"]})["allowed_networks"] == \
        ["10.0.0.0/8", "2001:db8::/32"]
    sent = fault_server.stats()["requests"]
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["message"] == "this project's models may not be called from 127.0.0.1", r.text
    rec = gw.audit_wait(r.headers["X-Request-Id"], action="ai.chat")
    assert rec["outcome"] == "denied" and rec["detail"] == "network_not_allowed" and rec["source"] == "127.0.0.1", rec
    assert requests.get(o.base + "/v1/models", headers={"Authorization": "Bearer " + o.key}).status_code == 403
    run = npm_client({"sdk": "anthropic", "baseURL": o.base, "apiKey": o.key, "call": "messages.create",
                      "params": {"model": alias, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}})
    assert run.error and run.error["name"] == "PermissionDeniedError", run.error
    assert fault_server.stats()["requests"] == sent   # nothing reached the model server
    assert o.usage_or_none(r.headers["X-Request-Id"]) is None
    # this host's address allowed (written bare: one host), through the CLI: the call goes
    gw.cli("ai-policy", "set", "--project", o.project, "--allowed-networks", "10.0.0.0/8,127.0.0.1")
    assert gw.ok("GET", pol)["allowed_networks"] == ["10.0.0.0/8", "127.0.0.1/32"]
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 200, r.text
    # IPv6's loopback is not IPv4's
    gw.ok("PUT", pol, {"allowed_networks": ["::1"]})
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 403, r.text
    # what is not a network is refused with a reason and changes nothing
    for nets, says in ((["10.0.0.1/8"], "bits set beyond /8"), (["10.0.0.0/33"], "prefix length"),
                       (["999.0.0.1"], "not an IP address"), (["10.0.0.0/8", "10.0.0.0/8"], "twice"),
                       ([8], "is a string"), (["10.%d.0.0/16" % i for i in range(17)], "at most 16"),
                       ("10.0.0.0/8", "allowed_networks")):
        r = gw.api("PUT", pol, {"allowed_networks": nets})
        assert r.status_code == 400 and says in r.json()["error"]["message"], (nets, r.text)
    assert gw.ok("GET", pol)["allowed_networks"] == ["::1/128"]
    # without trusted proxies a caller's X-Forwarded-For is not believed
    gw.ok("PUT", pol, {"allowed_networks": ["10.0.0.0/8"]})
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]},
               headers={"X-Forwarded-For": "10.1.2.3"})
    assert r.status_code == 403 and r.json()["error"]["message"].endswith("from 127.0.0.1"), r.text
    # '' through the CLI: anywhere again
    gw.cli("ai-policy", "set", "--project", o.project, "--allowed-networks", "")
    assert gw.ok("GET", pol)["allowed_networks"] == []
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 200, r.text


def test_networks_behind_the_operators_proxies(tmp_path, llm_server, fault_server):
    """[ai] trusted_proxies: a call through a proxy the operator trusts is the client's that its
    X-Forwarded-For names (the nearest entry that is not a trusted proxy), so a project's
    allowed_networks hold behind a load balancer; what the client itself wrote further left is not
    believed, and an entry that is no address refuses."""
    d = ai_daemon(tmp_path / "data", config='[ai]\ntrusted_proxies = ["127.0.0.1", "10.9.0.0/16"]\n')
    try:
        o = Org(d, llm_server, fault_server)
        alias = o.fault_route("ok")
        d.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"allowed_networks": ["192.0.2.0/24"]})
        body = {"model": alias, "messages": [{"role": "user", "content": "x"}]}
        call = lambda xff: o.post("/v1/chat/completions", body, headers={"X-Forwarded-For": xff} if xff else {})
        assert call("192.0.2.7").status_code == 200
        assert call("192.0.2.7, 10.9.1.1").status_code == 200             # through a second trusted proxy
        r = call("192.0.2.7, 198.51.100.3")                                # forged on the left: not believed
        assert r.status_code == 403 and r.json()["error"]["message"].endswith("from 198.51.100.3"), r.text
        rec = d.audit_wait(r.headers["X-Request-Id"], action="ai.chat")
        assert rec["detail"] == "network_not_allowed client=198.51.100.3" and rec["source"] == "127.0.0.1", rec
        r = call("not-an-address")
        assert r.status_code == 403 and "an unknown address" in r.json()["error"]["message"], r.text
        assert call(None).status_code == 403                               # the proxy itself is not allowed
        # a bad list in the configuration stops the daemon with the reason
        bad = Daemon(tmp_path / "bad", extra_args=["--ai-listen", "127.0.0.1:0"])
        bad.write_config('[ai]\ntrusted_proxies = ["10.0.0.1/8"]\n')
        with pytest.raises(RuntimeError) as ei:
            bad.start()
        assert "trusted_proxies" in str(ei.value) and "bits set beyond /8" in str(ei.value), ei.value
    finally:
        d.stop()


def test_classification_markings_raise_the_class(gw, llm_server, fault_server):
    """A document's own 機密性 marking (機密性３, 機密性2情報, 機密性：３) raises its request to that
    class once the project turns classification_markings on: a pasted 機密性3 document does not leave
    Japan though the caller said 1; a marking never lowers a class; the decision record says marked=N."""
    o = Org(gw, llm_server, fault_server)
    path = "/admin/v1/projects/%s/ai-policy" % o.project
    abroad = o.route("abroad-m", [{"provider": "openai", "base_url": fault_server.base_url,
                                   "model": "fault:echo", "jurisdiction": "US"}])
    jp = o.route("jp-m", [{"provider": "openai", "base_url": fault_server.base_url, "model": "fault:echo"}])
    one = {"X-Kasumi-Classification": "1"}
    ask = lambda model, text, **kw: o.post("/v1/chat/completions", {
        "model": model, "messages": [{"role": "user", "content": text}]}, **kw)
    doc = "【機密性３】来年度予算の内訳について要約してください"
    assert ask(abroad, doc, headers=one).status_code == 200   # off by default: the header decides
    assert gw.ok("PUT", path, {"classification_markings": True})["classification_markings"] is True

    r = ask(abroad, doc, headers=one)
    assert r.status_code == 403, r.text
    rec = gw.audit_wait(r.headers["X-Request-Id"], action="ai.decision")
    assert "class=3 marked=3 " in rec["detail"], rec
    r = ask(jp, "機密性：3\n" + doc[6:], headers=one)   # in Japan it goes, as 機密性3
    assert r.status_code == 200 and r.headers["X-Kasumi-Classification"] == "3", r.headers
    # 機密性2 in a system message: abroad needs the tenant administrator's permission
    r = o.post("/v1/chat/completions", {"model": abroad, "messages": [
        {"role": "system", "content": "以下は機密性2情報です。"}, {"role": "user", "content": "要約して"}]},
        headers=one)
    assert r.status_code == 403, r.text
    # a marking never lowers: 機密性1 under a 機密性3 header stays 3
    assert ask(abroad, "機密性1 公開資料", headers={"X-Kasumi-Classification": "3"}).status_code == 403
    r = ask(abroad, "機密性１の公開資料です", headers=one)
    assert r.status_code == 200 and r.headers["X-Kasumi-Classification"] == "1"
    assert ask(abroad, "機密性について教えて", headers=one).status_code == 200   # no level: no marking
    # a body kept as sent (embeddings) and Anthropic's API are read the same way
    emb = o.route("abroad-emb", [{"provider": "openai", "base_url": fault_server.base_url,
                                  "model": "fault:ok", "jurisdiction": "US"}])
    r = o.post("/v1/embeddings", {"model": emb, "input": ["機密性３ 人事評価"]}, headers=one)
    assert r.status_code == 403, r.text
    r = o.post("/v1/messages", {"model": abroad, "max_tokens": 8, "system": "機密性3",
                                "messages": [{"role": "user", "content": "x"}]}, headers=one)
    assert r.status_code == 403 and r.json()["type"] == "error", r.text


def test_unreadable_content_goes_only_where_no_rule_must_read_it(gw, llm_server, fault_server):
    """An image is content the guardrail cannot read: refused (and the refusal audited) while any PII
    kind is masked or blocked, unless the project lets it go unread to its model servers in Japan
    (unscanned_content allow_in_japan: the text beside it still read, a server abroad passed over,
    the decision record counting what went unread); a project whose policy allows every kind sends
    it; 機密性2 bound abroad is always masked, so it is refused there whatever the policy."""
    o = Org(gw, llm_server, fault_server)
    alias = o.fault_route("echo")
    page = {"role": "user", "content": [
        {"type": "text", "text": "この申請書を読んでください"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="}}]}
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [page]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_parameter", r.text
    assert "PII policy" in r.json()["error"]["message"]
    rec = gw.audit_wait(r.headers["x-request-id"], action="ai.decision")
    assert "decision=block reason=unreadable_content" in rec["detail"] and rec["outcome"] == "denied", rec

    # the project lets it go unread, to its model servers in Japan only (the PII rules unchanged)
    r = gw.api("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"unscanned_content": "anywhere"})
    assert r.status_code == 400 and "allow_in_japan" in r.text, r.text
    pol = gw.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"unscanned_content": "allow_in_japan"})
    assert pol["unscanned_content"] == "allow_in_japan" and pol["pii"]["phone"] == "mask", pol
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [page]})
    assert r.status_code == 200, r.text
    assert "image_url" in json.dumps(fault_server.last_request()["body"])
    rec = gw.audit_wait(r.headers["x-request-id"], action="ai.decision")
    assert "decision=pass" in rec["detail"] and " unscanned=1 " in rec["detail"], rec
    # the text beside it is still read: a phone number masked on its way
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "連絡先 03-1234-5678"}, page["content"][1]]}]})
    assert r.status_code == 200 and "03-1234-5678" not in json.dumps(fault_server.last_request()["body"]), r.text
    # Anthropic's API the same: an image block goes unread to the server in Japan
    claude = o.fault_route("echo", provider="anthropic")
    r = o.post("/v1/messages", {"model": claude, "max_tokens": 8, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "この写真の文字を読んでください"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}]})
    assert r.status_code == 200 and r.json()["type"] == "message", r.text
    assert "iVBORw0KGgo=" in json.dumps(fault_server.last_request()["body"])
    # a route with a server abroad as well: only the one in Japan is sent it (the other would fail)
    us_jp = o.route("img-us-jp-" + uuid.uuid4().hex[:4], [
        {"provider": "openai", "base_url": fault_server.base_url, "model": "fault:500", "jurisdiction": "US",
         "weight": 100},
        {"provider": "openai", "base_url": fault_server.base_url, "model": "fault:echo", "jurisdiction": "JP"}])
    r = o.post("/v1/chat/completions", {"model": us_jp, "messages": [page]}, headers={"X-Kasumi-Classification": "1"})
    assert r.status_code == 200, r.text
    rec = gw.audit_wait(r.headers["x-request-id"], action="ai.chat")
    assert rec["detail"].endswith(" class=1 sent_to=JP"), rec
    # a route with servers abroad only: nowhere to send it
    us_only = o.route("img-us-" + uuid.uuid4().hex[:4], [
        {"provider": "openai", "base_url": fault_server.base_url, "model": "fault:echo", "jurisdiction": "US"}])
    r = o.post("/v1/chat/completions", {"model": us_only, "messages": [page]}, headers={"X-Kasumi-Classification": "1"})
    assert r.status_code == 400 and "only to model servers in Japan" in r.json()["error"]["message"], r.text
    # text alone still goes abroad as the class allows
    r = o.post("/v1/chat/completions", {"model": us_only, "messages": [{"role": "user", "content": "hello"}]},
               headers={"X-Kasumi-Classification": "1"})
    assert r.status_code == 200, r.text
    # the decisions count the requests that carried content sent unread: the four that went (of
    # seven: two refused, one of text alone)
    deadline = time.time() + 15
    while True:
        dec = gw.ok("GET", "/admin/v1/ai/decisions?tenant=%s&project=%s" % (o.tenant, o.project))
        if dec["total"]["requests"] >= 7 or time.time() > deadline:   # every decision so far indexed
            break
        time.sleep(0.2)
    assert dec["unscanned"] == 4 and dec["total"]["block"] == 2, json.dumps(dec)
    gw.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"unscanned_content": "refuse"})

    kinds = ("mynumber", "phone", "email", "card", "pension", "passport")
    gw.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project,
          {"class2_overseas": True, "pii": {k: "allow" for k in kinds}})
    r = o.post("/v1/chat/completions", {"model": alias, "messages": [page]})
    assert r.status_code == 200, r.text
    assert "image_url" in json.dumps(fault_server.last_request()["body"])

    abroad = o.route("img-abroad-" + uuid.uuid4().hex[:4], [{"provider": "openai", "base_url": fault_server.base_url,
                                                             "model": "fault:echo", "jurisdiction": "US"}])
    r = o.post("/v1/chat/completions", {"model": abroad, "messages": [page]}, headers={"X-Kasumi-Classification": "2"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_parameter", r.text
    r = o.post("/v1/chat/completions", {"model": abroad, "messages": [page]}, headers={"X-Kasumi-Classification": "1"})
    assert r.status_code == 200, r.text


# ---- faults: retries, fallback, broken streams ------------------------------------------------------

def test_retry_and_fallback(org):
    fault = org.fault
    # a 500 then an answer: the fallback target serves it, the caller never sees the 500
    alias = org.route("fallback-" + uuid.uuid4().hex[:4], [
        {"provider": "openai", "base_url": fault.base_url, "model": "fault:500"},
        {"provider": "openai", "base_url": fault.base_url, "model": "fault:ok"}])
    r = org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 200, r.text
    # a connection reset before any byte, with a fallback
    alias = org.route("reset-" + uuid.uuid4().hex[:4], [
        {"provider": "openai", "base_url": fault.base_url, "model": "fault:reset-before-headers"},
        {"provider": "openai", "base_url": fault.base_url, "model": "fault:ok"}])
    assert org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]}).status_code == 200
    # 429 everywhere: retried with back-off, then 429 for the caller with Retry-After
    alias = org.fault_route("429")
    before = fault.stats()["by_fault"].get("429", 0)
    r = org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 429 and r.headers.get("Retry-After"), r.text
    assert fault.stats()["by_fault"]["429"] - before == 2
    # nothing is billed for a failed call
    assert org.usage_or_none(r.headers["x-request-id"]) is None


def test_azure_openai_deployment(org, npm_client, tmp_path):
    """An Azure OpenAI target: the deployment's URL with its api-version, the key in api-key (never
    as a bearer token), chat whole and streamed, embeddings and completions, through the official
    client."""
    key = tmp_path / "azure.key"
    key.write_text("azure-secret-1\n")
    key.chmod(0o600)
    base = org.fault.base_url.rsplit("/v1", 1)[0]   # https://{resource}.openai.azure.com
    alias = org.route("azure-" + uuid.uuid4().hex[:4], [{
        "provider": "openai", "base_url": base, "model": "fault:ok", "credential_ref": str(key),
        "azure_deployment": "gpt-4o-jp", "azure_api_version": "2024-10-21"}])
    for stream in (False, True):
        run = sdk(npm_client, org, "openai", "chat.completions.create",
                  {"model": alias, "messages": [{"role": "user", "content": "こんにちは"}], "stream": stream})
        assert run.error is None, run
        sent = org.fault.last_request()
        assert (sent["path"], sent["query"]) == ("/openai/deployments/gpt-4o-jp/chat/completions",
                                                 "?api-version=2024-10-21"), sent
        assert sent["headers"].get("api-key") == "azure-secret-1" and "authorization" not in sent["headers"]
        assert org.usage(run.response["headers"]["x-request-id"])["quantity"] > 0
    emb = sdk(npm_client, org, "openai", "embeddings.create", {"model": alias, "input": "霞が関"})
    assert emb.error is None, emb
    assert org.fault.last_request()["path"] == "/openai/deployments/gpt-4o-jp/embeddings"
    cmpl = sdk(npm_client, org, "openai", "completions.create", {"model": alias, "prompt": "霞が関"})
    assert cmpl.error is None and cmpl.result["object"] == "text_completion", cmpl
    assert org.fault.last_request()["path"] == "/openai/deployments/gpt-4o-jp/completions"


def test_azure_openai_callers(org, npm_client):
    """A system written for Azure OpenAI keeps its client: the openai package's AzureOpenAI (the
    deployment in the path, the key in api-key, an api-version) names a model alias of the project
    as its deployment, and the call is governed like any — the real model answers, a phone is
    masked for the model and restored (streamed too), usage and audit say which alias."""
    azure = lambda dep, call, params, **kw: npm_client(dict(
        {"sdk": "azure", "baseURL": org.base, "apiKey": org.key, "deployment": dep, "call": call,
         "params": params}, **kw))
    # the model the app names is Azure's business; the deployment in the path decides
    run = azure("tiny", "chat.completions.create",
                {"model": "gpt-4o", "messages": [{"role": "user", "content": "こんにちは"}], "max_tokens": 6,
                 "temperature": 0})
    assert run.error is None, run
    assert run.result["model"] == "tiny" and run.result["usage"]["completion_tokens"] == 6, run.result
    rid = run.response["headers"]["x-request-id"]
    assert org.usage(rid)["resource"] == "tiny"
    assert org.d.audit_wait(rid, action="ai.chat")["target"] == "tiny"

    echo = org.fault_route("echo")
    prompt = "折り返しは %s までお願いします" % PHONE
    for stream in (False, True):
        run = azure(echo, "chat.completions.create",
                    {"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": prompt}]})
        assert run.error is None, run
        text = ("".join((c["choices"][0]["delta"].get("content") or "") for c in run.chunks if c["choices"])
                if stream else run.result["choices"][0]["message"]["content"])
        assert PHONE in text and "⟦" not in text, text
        sent = json.dumps(org.fault.last_request()["body"], ensure_ascii=False)
        assert PHONE not in sent and sent.count('"model"') == 1, sent
        assert run.response["headers"]["x-kasumi-guardrail"] == "mask phone=1"
    emb = azure("tiny", "embeddings.create", {"model": "text-embedding-3-small", "input": "霞が関"})
    assert emb.error is None and len(emb.result["data"][0]["embedding"]) > 0, emb
    cmpl = azure("tiny", "completions.create", {"model": "gpt-35-turbo-instruct", "prompt": "霞が関", "max_tokens": 3})
    assert cmpl.error is None and cmpl.result["object"] == "text_completion", cmpl
    assert cmpl.result["usage"]["completion_tokens"] == 3

    # Azure's v1 API: OpenAI's paths under /openai/v1, the plain OpenAI client, api-key or Bearer
    v1 = npm_client({"sdk": "openai", "baseURL": org.base + "/openai/v1", "apiKey": org.key,
                     "call": "chat.completions.create",
                     "params": {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}})
    assert v1.error is None and v1.result["model"] == "tiny", v1
    r = requests.post(org.base + "/openai/deployments/tiny/chat/completions?api-version=2024-10-21",
                      json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
                      headers={"api-key": org.key}, timeout=60)   # REST, as Azure's docs show it: no model
    assert r.status_code == 200 and r.json()["model"] == "tiny", r.text

    # refusals: a deployment that is not an alias of the project, an operation not served, no key
    run = azure("not-here", "chat.completions.create", {"model": "x", "messages": [{"role": "user", "content": "x"}]})
    assert run.error["status"] == 404 and run.error["body"]["code"] == "model_not_found", run
    r = requests.post(org.base + "/openai/deployments/tiny/audio/transcriptions", headers={"api-key": org.key},
                      timeout=10)
    assert r.status_code == 404 and r.json()["error"]["message"] == "no such endpoint", r.text
    r = requests.post(org.base + "/openai/deployments/tiny/chat/completions", json={"messages": []},
                      headers={"api-key": "wrong"}, timeout=10)
    assert r.status_code == 401, r.text


def test_rotated_credential_is_used_within_a_second(org, tmp_path):
    # a provider key is a file named by the route (credential_ref): rewriting the file rotates the
    # key without a restart; the gateway looks at the file at most once a second
    key = tmp_path / "provider.key"
    key.write_text("sk-first\n")
    key.chmod(0o600)
    alias = org.fault_route("ok", credential_ref=str(key))
    body = {"model": alias, "messages": [{"role": "user", "content": "x"}]}

    def sent_key():
        assert org.post("/v1/chat/completions", body).status_code == 200
        return org.fault.last_request()["headers"].get("authorization")

    assert sent_key() == "Bearer sk-first"
    key.write_text("sk-second-and-longer\n")
    deadline = time.time() + 3
    while sent_key() != "Bearer sk-second-and-longer":
        assert time.time() < deadline, "the rotated key was not used"
        time.sleep(0.2)
    key.unlink()   # a removed key is not used any more either (the request goes without one)
    deadline = time.time() + 3
    while sent_key() is not None:
        assert time.time() < deadline, "the removed key was still used"
        time.sleep(0.2)


def test_keepalive_reset_retried(org):
    alias = org.fault_route("keepalive-reset")
    for _ in range(4):
        r = org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 200, r.text


def metric_by_label(d, name, label):
    """A metric with one label, {label value: count}, from the admin listener's /metrics."""
    text = requests.get(d.url + "/metrics", timeout=10).text
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r'^%s\{%s="(\w+)"\} (\d+)$' % (name, label), text, re.M)}


def upstream_exchanges(d):
    """kasumi_ai_upstream_exchanges_total by event."""
    return metric_by_label(d, "kasumi_ai_upstream_exchanges_total", "event")


def test_upstream_connections_are_kept_alive(org):
    # sequential calls to one upstream run on one kept-alive connection, not one connection each
    alias = org.fault_route("ok")
    body = {"model": alias, "messages": [{"role": "user", "content": "x"}]}
    assert org.post("/v1/chat/completions", body).status_code == 200   # the connection is open now
    before = upstream_exchanges(org.d)
    for _ in range(8):
        assert org.post("/v1/chat/completions", body).status_code == 200
    after = upstream_exchanges(org.d)
    assert after["started"] - before["started"] == 8, (before, after)
    assert after["reused"] - before["reused"] >= 7, (before, after)
    assert after["failed"] == before["failed"], (before, after)


def test_upstream_time_out_ends_the_call(org):
    # an upstream that never answers is cut off at the target's timeout_ms (tried twice, as every
    # failure before the first byte), the caller gets 504 in its format, the upstream sees the close
    alias = org.fault_route("hang", timeout_ms=600)
    gone = org.fault.stats()["disconnects_by_fault"].get("hang", 0)
    t0 = time.time()
    r = org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    took = time.time() - t0
    assert r.status_code == 504 and r.json()["error"]["type"] == "api_error", r.text
    assert 1.1 < took < 10, took
    org.fault.wait_stats(lambda s: s["disconnects_by_fault"].get("hang", 0) - gone == 2)
    # headers that come later than the time-out: the same
    alias = org.fault_route("slow-headers;delay=3000", timeout_ms=500)
    r = org.post("/v1/messages", {"model": alias, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 504 and r.json()["type"] == "error", r.text


def ai_metrics(d, alias):
    """The AI metrics of one model alias, summed over its upstreams: {name: value} for the counters
    (tokens by kind as name:kind) and the histograms' _count and _sum."""
    text = requests.get(d.url + "/metrics", timeout=10).text
    out = {}
    for m in re.finditer(r'^(kasumi_ai_\w+)\{model="%s",upstream="[^"]*"(?:,kind="(\w+)")?\} (\S+)$'
                         % re.escape(alias), text, re.M):
        name = m.group(1) + (":" + m.group(2) if m.group(2) else "")
        out[name] = out.get(name, 0) + float(m.group(3))
    return out


def test_failed_model_calls_show_in_metrics(org):
    # an upstream that fails every call shows to the operator as calls and errors of the alias,
    # with the time spent on it, not as silence; a call that succeeds is counted without an error
    alias = org.fault_route("status")
    r = org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code >= 500, r.text
    m = ai_metrics(org.d, alias)
    assert m.get("kasumi_ai_requests_total") == 1 and m.get("kasumi_ai_errors_total") == 1, m
    assert m.get("kasumi_ai_upstream_seconds_count") == 1, m
    alias = org.fault_route("hang", timeout_ms=300)
    r = org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 504, r.text
    m = ai_metrics(org.d, alias)
    assert m.get("kasumi_ai_errors_total") == 1, m
    assert m.get("kasumi_ai_upstream_seconds_sum", 0) >= 0.6, m   # two attempts of 300 ms each
    alias = org.fault_route("ok")
    assert org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]}).status_code == 200
    m = ai_metrics(org.d, alias)
    assert m.get("kasumi_ai_requests_total") == 1 and m.get("kasumi_ai_errors_total") == 0, m


def test_guardrail_decisions_show_in_metrics(org):
    """What the guardrail decided, for an operator's alerts: decisions by decision and reason, and
    the values masked by kind, counted as the audit log records them."""
    def counts():
        text = requests.get(org.d.url + "/metrics", timeout=10).text
        out = {}
        for m in re.finditer(r'^kasumi_ai_(decisions|masked_values)_total\{(\w+)="(\w+)"(?:,reason="(\w*)")?\} (\d+)$',
                             text, re.M):
            out[(m.group(3), m.group(4))] = int(m.group(5))
        return out
    alias = org.fault_route("ok")
    before = counts()
    for content in ("こんにちは", "折り返しは %s まで、控えは %s へ" % (PHONE, PHONE.replace("5678", "0000")),
                    "個人番号 " + MYNUMBER):
        org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": content}]})
    after = counts()
    delta = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert delta == {("pass", ""): 1, ("mask", ""): 1, ("block", "pii_blocked"): 1, ("phone", None): 2}, delta


def test_caller_that_gives_up_is_recorded_as_gone(org):
    # a caller that stops waiting for a non-streamed answer: the upstream sees the close, the
    # audit says 499 client_gone (nginx's "client closed request", as S3 records it) rather than
    # a failure of the platform, and nothing is billed (nothing was delivered)
    alias = org.fault_route("hang", timeout_ms=30000)
    gone = org.fault.stats()["disconnects_by_fault"].get("hang", 0)
    host, port = org.d.ai_addr.rsplit(":", 1)
    body = json.dumps({"model": alias, "messages": [{"role": "user", "content": "x"}]}).encode()
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + org.key.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: "
                  + str(len(body)).encode() + b"\r\n\r\n" + body)
        time.sleep(0.5)
    org.fault.wait_stats(lambda s: s["disconnects_by_fault"].get("hang", 0) - gone == 1)
    deadline = time.time() + 10
    while True:
        recs = [r for r in org.d.audit_records(tenant=org.tenant, action="ai.chat") if r["target"] == alias]
        if recs or time.time() > deadline:
            break
        time.sleep(0.1)
    assert len(recs) == 1, recs
    # the model server was sent the request (it is in Japan), which the record says
    assert recs[0]["status"] == 499 and recs[0]["detail"] == "client_gone class=2 sent_to=JP", recs[0]
    assert org.usage_or_none(recs[0]["request_id"]) is None
    m = ai_metrics(org.d, alias)   # a model call, but not the model's error
    assert m.get("kasumi_ai_requests_total") == 1 and m.get("kasumi_ai_errors_total") == 0, m


def test_broken_streams_end_cleanly(org, npm_client):
    # lines that are not SSE fields are ignored (WHATWG), so that stream still ends normally
    alias = org.fault_route("sse-garbage")
    r = requests.post(org.base + "/v1/chat/completions", stream=True, timeout=30,
                      headers={"Authorization": "Bearer " + org.key},
                      json={"model": alias, "stream": True, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 200 and r.raw.read().decode().rstrip().endswith("data: [DONE]")
    for spec in ("sse-bad-json", "reset-mid-stream;after=3", "sse-no-done"):
        alias = org.fault_route(spec)
        r = requests.post(org.base + "/v1/chat/completions", stream=True, timeout=30,
                          headers={"Authorization": "Bearer " + org.key},
                          json={"model": alias, "stream": True, "messages": [{"role": "user", "content": "x"}]})
        body = r.raw.read().decode()
        assert r.status_code == 200, (spec, body)
        assert body.rstrip().endswith("data: [DONE]"), (spec, body[-300:])
        assert '"error"' in body, (spec, body[-300:])
    alias = org.fault_route("non-json")
    r = org.post("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 502 and r.json()["error"]["type"] == "api_error"
    assert requests.get("http://" + org.d.addr + "/healthz", timeout=5).status_code == 200


# ---- access: what IAM changes takes effect on the very next request ----------------------------------

def test_revocation_takes_effect_at_once(gw, llm_server, fault_server):
    # the worker memoises key → principal, project → owner and the decisions; each IAM write
    # invalidates them, so no request after the write is answered from the old state (no sleep here)
    o = Org(gw, llm_server, fault_server)
    alias = o.fault_route("ok")
    body = {"model": alias, "messages": [{"role": "user", "content": "x"}], "max_tokens": 5}
    k2 = gw.ok("POST", "/admin/v1/keys", {"user": o.user, "kind": "api", "project": o.project})
    for _ in range(3):   # gateway workers: every one has answered from its memo at least once
        assert o.post("/v1/chat/completions", body, key=k2["secret"]).status_code == 200
        assert o.post("/v1/chat/completions", body).status_code == 200
    r = gw.api("DELETE", "/admin/v1/keys/" + k2["id"])
    assert r.status_code in (200, 204), r.text
    for _ in range(3):
        r = o.post("/v1/chat/completions", body, key=k2["secret"])
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error", r.text
    # the other key of the same user still works; losing the role binding ends that too
    assert o.post("/v1/chat/completions", body).status_code == 200
    r = gw.api("DELETE", "/admin/v1/role-bindings/" + o.binding)
    assert r.status_code in (200, 204), r.text
    for _ in range(3):
        assert o.post("/v1/chat/completions", body).status_code in (403, 404)
    # and a suspended tenant is refused, resumed it is not (its binding is back first)
    gw.ok("POST", "/admin/v1/role-bindings", {"principal": o.user, "role": "member", "scope": "project/" + o.project})
    assert o.post("/v1/chat/completions", body).status_code == 200
    gw.ok("POST", "/admin/v1/tenants/%s/suspend" % o.tenant, {}, status=200)
    assert o.post("/v1/chat/completions", body).status_code == 403
    gw.ok("POST", "/admin/v1/tenants/%s/resume" % o.tenant, {}, status=200)
    assert o.post("/v1/chat/completions", body).status_code == 200
    # the project a request names is memoised with its owner: once deleted, it is gone at once
    u = gw.ok("POST", "/admin/v1/tenants/%s/users" % o.tenant,
              {"name": "係長", "email": "chief-%s@example.go.jp" % uuid.uuid4().hex[:6]})
    gw.ok("POST", "/admin/v1/role-bindings", {"principal": u["id"], "role": "member", "scope": "tenant/" + o.tenant})
    tkey = gw.ok("POST", "/admin/v1/keys", {"user": u["id"], "kind": "api"})["secret"]
    p2 = gw.ok("POST", "/admin/v1/tenants/%s/projects" % o.tenant, {"name": "tmp-" + uuid.uuid4().hex[:6],
                                                                   "environment": "dev"})["id"]
    for _ in range(3):   # the project exists and has no routes
        r = o.post("/v1/chat/completions", body, headers={"X-Kasumi-Project": p2}, key=tkey)
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found", r.text
    gw.ok("DELETE", "/admin/v1/projects/" + p2, status=200)
    r = o.post("/v1/chat/completions", body, headers={"X-Kasumi-Project": p2}, key=tkey)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text


# ---- money: budgets under concurrency, cancelled streams ---------------------------------------------

def test_budget_holds_under_concurrency(gw, llm_server, fault_server):
    o = Org(gw, llm_server, fault_server)
    # each request reserves exactly 1 yen: prompt free, 10,000 completion tokens at 0.1 yen per 1,000
    # streams of ~4 s: every request arrives while the first admitted ones still hold their
    # reservation (a settled one costs almost nothing and would let a late request in legitimately)
    alias = o.route("slow", [{"provider": "openai", "base_url": fault_server.base_url,
                              "model": "fault:slow;interval=100;chunks=40"}], price=("0", "0.1"))
    gw.ok("PUT", "/admin/v1/projects/%s/budget" % o.project, {"monthly_yen": 10})

    def call(_):
        return o.post("/v1/chat/completions", {"model": alias, "max_tokens": 10000, "stream": True,
                                               "messages": [{"role": "user", "content": "x"}]})
    with concurrent.futures.ThreadPoolExecutor(64) as ex:
        results = list(ex.map(call, range(64)))
    admitted = [r for r in results if r.status_code == 200]
    refused = [r for r in results if r.status_code == 429]
    assert len(admitted) + len(refused) == 64, [r.status_code for r in results]
    assert 1 <= len(admitted) <= 10, len(admitted)
    assert all(r.headers.get("Retry-After") for r in refused)
    # spend equals the sum of the usage records
    deadline = time.time() + 5
    while True:
        items = gw.ok("GET", "/admin/v1/usage?tenant=%s&project=%s&limit=1000" % (o.tenant, o.project))["items"]
        if len(items) >= len(admitted) or time.time() > deadline:
            break
        time.sleep(0.05)
    assert len(items) == len(admitted)
    b = gw.ok("GET", "/admin/v1/projects/%s/budget" % o.project)
    spent = sum(i["cost_microyen"] for i in items)
    assert b["spent_microyen"] == spent <= 10 * 1_000_000, b


def test_metering_backlog_sheds_load_and_loses_nothing(tmp_path_factory, llm_server, fault_server):
    """The metadata database held by a long transaction elsewhere (a backup, a stuck report), past
    the usage writer's 5 s busy timeout: admitted requests' usage records wait in memory and are
    retried; above `[ai] backlog_max` new requests get 503 with Retry-After in the API's own format
    (the official SDKs retry those); once the lock is gone every admitted request has its usage
    record — none dropped — and requests are admitted again."""
    import sqlite3
    d = ai_daemon(tmp_path_factory.mktemp("ai-backlog") / "data",   # refused at once (the wait: below)
                  "[ai]\nbacklog_max = 3\nbacklog_wait_ms = 0\n")
    try:
        o = Org(d, llm_server, fault_server)
        alias = o.fault_route("ok")
        body = {"model": alias, "messages": [{"role": "user", "content": "hello"}]}
        assert o.post("/v1/chat/completions", body).status_code == 200
        o.usage(o.post("/v1/chat/completions", body).headers["x-request-id"])   # all written so far
        db = sqlite3.connect(str(d.data_dir / "meta.db"), timeout=10, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")   # the writer's lock, held
        # Admitted until the usage backlog (a record per admitted request, none written) is over
        # the limit: 4. The audit backlog counts too and can refuse one in between (two records
        # a request, durable every few ms), so count admissions rather than attempts — and after
        # a refusal wait a little, as a client would: a refusal is audited too, and a loop that
        # retries at once on a loaded machine keeps the audit writer's backlog over 3 by itself.
        admitted, refused = [], []
        while len(admitted) < 4 and len(admitted) + len(refused) < 40:
            r = o.post("/v1/chat/completions", body)
            assert r.status_code in (200, 503), r.text
            (admitted if r.status_code == 200 else refused).append(r)
            if r.status_code == 503:
                time.sleep(0.1)
        assert len(admitted) == 4, [r.status_code for r in admitted + refused]
        e = o.post("/v1/chat/completions", body)   # now refused by the usage backlog alone
        assert e.status_code == 503, e.text
        assert e.headers.get("Retry-After") == "1"
        assert "metering" in e.json()["error"]["message"]
        a = o.post("/v1/messages", {"model": alias, "max_tokens": 16,
                                    "messages": [{"role": "user", "content": "hello"}]})
        assert a.status_code == 503 and a.json()["type"] == "error", a.text
        time.sleep(6)                   # the writer's first attempt has now timed out
        for r in admitted:              # not stored yet
            assert o.usage_or_none(r.headers["x-request-id"], wait=0) is None
        db.execute("ROLLBACK")
        for r in admitted:              # and then every one, once
            assert o.usage(r.headers["x-request-id"])["quantity"] >= 0
        # admitted again: the admin reads just made are audited too, and with backlog_max = 3 a
        # few of their records still in the audit's group-commit window can refuse one request
        # more (on a fast machine they often do); a client retrying after Retry-After gets in
        deadline = time.time() + 3
        while True:
            last = o.post("/v1/chat/completions", body)
            if last.status_code != 503 or time.time() > deadline:
                break
            assert last.headers.get("Retry-After") == "1"
            time.sleep(0.05)
        assert last.status_code == 200, last.text
        db.close()
    finally:
        d.stop()


def backlog_gauges(d):
    """kasumi_backlog_bytes by writer."""
    return metric_by_label(d, "kasumi_backlog_bytes", "writer")


def test_metering_stall_is_waited_out_within_a_memory_bound(tmp_path_factory, llm_server, fault_server):
    """A disk or a database that stalls for a moment must cost the callers latency, not errors, and
    must not let memory grow without bound: above `[ai] backlog_max_bytes` of records not yet
    written, a new request waits (up to `backlog_wait_ms`) for the writers to catch up and then
    goes on; only a stall longer than that is refused, with 503 and Retry-After. The bytes held
    are told in kasumi_backlog_bytes, and nothing admitted is lost."""
    import sqlite3
    import threading
    d = ai_daemon(tmp_path_factory.mktemp("ai-stall") / "data",
                  "[ai]\nbacklog_max_bytes = 4096\nbacklog_wait_ms = 2500\n")
    try:
        o = Org(d, llm_server, fault_server)
        alias = o.fault_route("ok")
        body = {"model": alias, "messages": [{"role": "user", "content": "hello"}]}
        o.usage(o.post("/v1/chat/completions", body).headers["x-request-id"])   # all written so far
        db = sqlite3.connect(str(d.data_dir / "meta.db"), timeout=10, isolation_level=None)

        def fill():
            """The usage writer held by the lock: admitted requests' records pile up in memory
            until they hold more than 4096 bytes; the request that finds them over it waits."""
            admitted = []
            while backlog_gauges(d).get("usage", 0) <= 4096:
                r = o.post("/v1/chat/completions", body)
                assert r.status_code == 200, r.text
                admitted.append(r.headers["x-request-id"])
                assert len(admitted) < 100, backlog_gauges(d)
            return admitted

        db.execute("BEGIN IMMEDIATE")
        admitted = fill()
        held = {}
        waiter = threading.Thread(target=lambda: held.update(
            r=o.post("/v1/chat/completions", body), t=time.time()))
        t0 = time.time()
        waiter.start()
        time.sleep(1.0)
        assert waiter.is_alive()       # waiting, not refused
        db.execute("ROLLBACK")         # the stall ends: the writer catches up, the caller goes on
        waiter.join(10)
        assert held["r"].status_code == 200, held["r"].text
        assert 1.0 <= held["t"] - t0 < 2.5
        admitted.append(held["r"].headers["x-request-id"])
        for rid in admitted:           # every one written, once the lock was gone
            assert o.usage(rid)["quantity"] >= 0
        deadline = time.time() + 5
        while backlog_gauges(d).get("usage") != 0 and time.time() < deadline:
            time.sleep(0.05)
        assert backlog_gauges(d)["usage"] == 0
        waits = metric_by_label(d, "kasumi_ai_metering_waits_total", "outcome")
        assert waits["admitted"] >= 1 and waits["refused"] == 0, waits

        db.execute("BEGIN IMMEDIATE")  # a stall longer than the wait
        admitted = fill()
        t0 = time.time()
        r = o.post("/v1/chat/completions", body)
        assert r.status_code == 503 and r.headers.get("Retry-After") == "1", r.text
        assert "metering" in r.json()["error"]["message"]
        assert time.time() - t0 >= 2.4
        assert metric_by_label(d, "kasumi_ai_metering_waits_total", "outcome")["refused"] == 1
        # a caller who gives up while waiting is let go: audited as gone, nothing sent or billed
        host, port = d.ai_addr.rsplit(":", 1)
        raw = json.dumps(body).encode()
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      + o.key.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: "
                      + str(len(raw)).encode() + b"\r\n\r\n" + raw)
            time.sleep(0.3)
        gone = []
        deadline = time.time() + 10
        while not gone and time.time() < deadline:
            time.sleep(0.1)
            gone = [r for r in d.audit_records(tenant=o.tenant, action="ai.chat") if r["status"] == 499]
        # (no model server was sent it: the record names none)
        assert len(gone) == 1 and gone[0]["detail"] == "client_gone", gone
        db.execute("ROLLBACK")
        assert o.usage_or_none(gone[0]["request_id"], wait=1) is None
        for rid in admitted:
            assert o.usage(rid)["quantity"] >= 0
        db.close()
    finally:
        d.stop()


def test_https_model_server_verified_against_the_operators_ca(tmp_path_factory, tmp_path, npm_client,
                                                              llm_server):
    """Every provider is behind TLS, and a ministry's in-house model server behind its own CA: the
    gateway verifies the server's certificate against `[ai] upstream_ca_file` (the system's CAs
    when unset); a server whose certificate that file does not vouch for gets nothing."""
    (tmp_path / "trusted").mkdir()
    (tmp_path / "untrusted").mkdir()
    cert, key = make_cert(tmp_path / "trusted")
    other_cert, other_key = make_cert(tmp_path / "untrusted")
    tls = NodeServer("fault-server.mjs", ["--cert", str(cert), "--key", str(key)], tmp_path / "tls.log",
                     ca=str(cert)).start()
    rogue = NodeServer("fault-server.mjs", ["--cert", str(other_cert), "--key", str(other_key)],
                       tmp_path / "rogue.log", ca=str(other_cert)).start()
    d = ai_daemon(tmp_path_factory.mktemp("ai-tls") / "data", '[ai]\nupstream_ca_file = "%s"\n' % cert)
    try:
        o = Org(d, llm_server, tls)
        alias = o.fault_route("ok;completion_tokens=3")
        for stream in (False, True):
            run = sdk(npm_client, o, "openai", "chat.completions.create",
                      {"model": alias, "messages": [{"role": "user", "content": "こんにちは"}], "stream": stream})
            assert run.error is None, run
            text = ("".join(c["choices"][0]["delta"].get("content") or "" for c in run.chunks if c["choices"])
                    if stream else run.result["choices"][0]["message"]["content"])
            assert text == "Hello from the", run
        assert tls.last_request()["path"] == "/v1/chat/completions"
        untrusted = o.route("rogue-" + uuid.uuid4().hex[:4], [{"provider": "openai", "base_url": rogue.base_url,
                                                               "model": "fault:ok"}])
        r = o.post("/v1/chat/completions", {"model": untrusted, "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 502 and r.json()["error"]["type"], r.text
        assert rogue.stats()["requests"] == 0   # the handshake failed: not a byte of the prompt went
    finally:
        d.stop()
        tls.stop()
        rogue.stop()


def test_client_disconnect_billed_for_delivered(org, npm_client, llm_server):
    run = sdk(npm_client, org, "openai", "chat.completions.create",
              {"model": "tiny", "max_tokens": 400, "temperature": 0, "stream": True,
               "messages": [{"role": "user", "content": "write a long story"}]},
              abort_after_chunks=6)
    billed_for_delivered(org, llm_server, run, 400)


def billed_for_delivered(org, llm_server, run, asked):
    """A stream the client dropped after 6 chunks: the model server saw the close and stopped
    before the asked tokens; the call is billed for what the gateway delivered — at least what the
    client read, never more than was generated."""
    assert run.aborted, run
    rid = run.response["headers"]["x-request-id"]
    st = llm_server.wait_stats(lambda s: s.get("by_request_id", {}).get(rid, {}).get("disconnected"), timeout=10)
    generated = st["by_request_id"][rid]["tokens_generated"]
    assert generated < asked
    rec = org.usage(rid)
    billed = rec["details"]["completion_tokens"]
    assert rec["details"]["cancelled"] is True
    assert 5 <= billed <= generated, (billed, generated)


def test_rate_limit_headers_in_each_api(gw, llm_server, fault_server, npm_client):
    """What is left of this minute's quotas, in each API's own headers (as OpenAI, Azure OpenAI and
    Anthropic tell theirs), read through the official clients' withResponse(); a refusal says 0."""
    o = Org(gw, llm_server, fault_server)
    alias = o.fault_route("ok")
    gw.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"key_rpm": 3, "project_tpm": 100000})
    body = {"model": alias, "messages": [{"role": "user", "content": "x"}], "max_tokens": 5}
    if time.time() % 60 > 45:   # the quotas are fixed minutes: all four calls in one of them
        time.sleep(61 - time.time() % 60)
    first = sdk(npm_client, o, "openai", "chat.completions.create", body)
    assert first.error is None, first
    h = first.response["headers"]
    assert h["x-ratelimit-limit-requests"] == "3" and h["x-ratelimit-remaining-requests"] == "2", h
    assert h["x-ratelimit-limit-tokens"] == "100000"
    counted = 100000 - int(h["x-ratelimit-remaining-tokens"])   # the request's estimate, max_tokens in it
    assert 5 < counted < 100, h
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(m?s)", h["x-ratelimit-reset-requests"])
    assert m and 0 < float(m.group(1)) / (1000 if m.group(2) == "ms" else 1) <= 60, h
    assert h["x-ratelimit-reset-tokens"] == h["x-ratelimit-reset-requests"]
    assert not any(k.startswith("anthropic-ratelimit") for k in h)

    # Anthropic's names and an RFC 3339 reset for a caller of the Messages API, streamed too
    second = sdk(npm_client, o, "anthropic", "messages.create", dict(body, stream=True))
    assert second.error is None, second
    a = second.response["headers"]
    assert a["anthropic-ratelimit-requests-limit"] == "3" and a["anthropic-ratelimit-requests-remaining"] == "1", a
    assert int(a["anthropic-ratelimit-tokens-remaining"]) < 100000 - counted
    reset = datetime.datetime.fromisoformat(a["anthropic-ratelimit-requests-reset"].replace("Z", "+00:00"))
    assert 0 < (reset - datetime.datetime.now(datetime.timezone.utc)).total_seconds() <= 61, a
    assert reset.second == 0 and reset.microsecond == 0   # a minute's start
    assert not any(k.startswith("x-ratelimit") for k in a)

    third = o.post("/v1/chat/completions", body)
    assert third.status_code == 200 and third.headers["x-ratelimit-remaining-requests"] == "0"
    refused = o.post("/v1/chat/completions", body)
    assert refused.status_code == 429 and refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-limit-requests"] == "3" and int(refused.headers["Retry-After"]) >= 1

    # a project without quotas tells none
    free = Org(gw, llm_server, fault_server)
    r = free.post("/v1/chat/completions", dict(body, model=free.fault_route("ok")))
    assert r.status_code == 200 and not any(k.lower().startswith("x-ratelimit") for k in r.headers), r.headers


def test_rate_limits_per_key_and_project(gw, llm_server, fault_server):
    o = Org(gw, llm_server, fault_server)
    alias = o.fault_route("ok")
    gw.ok("PUT", "/admin/v1/projects/%s/ai-policy" % o.project, {"key_rpm": 3})
    body = {"model": alias, "messages": [{"role": "user", "content": "x"}], "max_tokens": 5}
    codes = [o.post("/v1/chat/completions", body).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429], codes
    r = o.post("/v1/chat/completions", body)
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json()["error"]["type"] == "rate_limit_error"
    # the Anthropic API gets its own error shape for the same refusal
    r = o.post("/v1/messages", dict(body, max_tokens=5))
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error" and r.json()["type"] == "error"
