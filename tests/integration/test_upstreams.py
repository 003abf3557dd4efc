"""Tests of the AI upstream fixtures themselves (tests/fixtures/llm/): the generated model, the real
llama.cpp server, the fault server, and the official npm clients driven through client.mjs.
The gateway tests build on these; if one of these fails, fix the fixture first."""
import hashlib
import json
import socket
import subprocess
import time

import pytest
import requests

from upstreams import FIXTURES, fault_server, llm_server, node_binary, npm_client, tiny_model  # noqa: F401

CHAT = [{"role": "user", "content": "hello there, who are you?"}]


def oa(server, call="chat.completions.create", **kw):
    """A client.mjs command for the openai SDK against server."""
    return dict({"sdk": "openai", "baseURL": server.base_url, "apiKey": "sk-test-upstream", "call": call}, **kw)


def an(server, **kw):
    """A client.mjs command for the anthropic SDK against server (messages.create)."""
    return dict({"sdk": "anthropic", "baseURL": server.url, "apiKey": "sk-ant-test", "call": "messages.create"}, **kw)


def content_chunks(run):
    return [c for c in run.chunks if c.get("choices") and c["choices"][0]["delta"].get("content")]


# --- the model ------------------------------------------------------------------------------------

def test_gen_model_is_deterministic(tmp_path):
    def gen(name, *args):
        p = subprocess.run([node_binary(), str(FIXTURES / "gen-model.mjs"), str(tmp_path / name)] + list(args),
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return None, json.loads(p.stdout), hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    _, info, h1 = gen("a.gguf")
    assert info["arch"] == "llama" and info["layers"] == 2 and info["bytes"] < 2_000_000
    assert (tmp_path / "a.gguf").read_bytes()[:4] == b"GGUF"
    _, _, h2 = gen("b.gguf")
    _, _, h3 = gen("c.gguf", "--seed", "8")
    assert h1 == h2 and h1 != h3
    assert not list(tmp_path.glob("*.tmp-*"))


# --- the llama.cpp server -------------------------------------------------------------------------

def test_llm_chat_non_stream_and_stream_agree(llm_server, npm_client):
    params = {"model": "kasumi-tiny", "messages": CHAT, "max_tokens": 24, "temperature": 0}
    full = npm_client(oa(llm_server, params=params))
    assert full.error is None, full
    res = full.result
    assert res["object"] == "chat.completion" and res["choices"][0]["finish_reason"] == "length"
    u = res["usage"]
    assert u["completion_tokens"] == 24 and u["prompt_tokens"] > 5
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    text = full.content()
    assert len(text.split()) >= 12

    streamed = npm_client(oa(llm_server, params=dict(params, stream=True, stream_options={"include_usage": True})))
    assert streamed.error is None and streamed.done, streamed
    first, *middle, finish, usage = streamed.chunks
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert finish["choices"][0]["finish_reason"] == "length"
    assert usage["choices"] == [] and usage["usage"] == u
    # One token per content chunk: the chunk count is completion_tokens.
    assert len(content_chunks(streamed)) == u["completion_tokens"] == len(middle)
    assert streamed.content() == text, "greedy decoding must give the same text streamed or not"


def test_llm_stream_without_include_usage_has_no_usage_chunk(llm_server, npm_client):
    run = npm_client(oa(llm_server, params={"model": "m", "messages": CHAT, "max_tokens": 3, "temperature": 0,
                                            "stream": True}))
    assert run.done and all("usage" not in c or c["usage"] is None for c in run.chunks), run
    assert run.chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_llm_sampling_ends_its_turn(llm_server):
    body = {"model": "m", "messages": CHAT, "max_tokens": 400, "temperature": 0.8, "seed": 1}
    r1 = requests.post(llm_server.base_url + "/chat/completions", json=body, timeout=60).json()
    r2 = requests.post(llm_server.base_url + "/chat/completions", json=body, timeout=60).json()
    assert r1["choices"][0]["finish_reason"] == "stop", r1
    assert r1["usage"]["completion_tokens"] < 400
    assert r1["choices"][0]["message"]["content"] == r2["choices"][0]["message"]["content"], "same seed, same text"


def test_llm_client_abort_is_seen_by_the_server(llm_server, npm_client):
    before = llm_server.stats()["client_disconnects"]
    run = npm_client(oa(llm_server, params={"model": "m", "messages": CHAT, "max_tokens": 900, "temperature": 0,
                                            "stream": True},
                        headers={"x-request-id": "abort-k5"}, abort_after_chunks=5))
    assert run.aborted and len(run.chunks) == 5, run
    s = llm_server.wait_stats(lambda s: s["by_request_id"].get("abort-k5", {}).get("disconnected"))
    assert s["client_disconnects"] == before + 1
    assert s["by_request_id"]["abort-k5"]["tokens_generated"] < 900, "generation must stop on disconnect"
    assert "client disconnected" in llm_server.stderr()


def test_llm_embeddings(llm_server, npm_client):
    # The openai SDK asks for base64 and decodes it; the server gives real model embeddings.
    run = npm_client(oa(llm_server, "embeddings.create", params={"model": "m", "input": ["hello world", "the sea"]}))
    assert run.error is None, run
    d = run.result["data"]
    assert [e["index"] for e in d] == [0, 1] and len(d[0]["embedding"]) == 64
    assert d[0]["embedding"] != d[1]["embedding"]
    assert run.result["usage"]["prompt_tokens"] > 2
    r = requests.post(llm_server.base_url + "/embeddings", json={"input": "hello world", "encoding_format": "float"},
                      timeout=30).json()
    assert r["data"][0]["embedding"] == pytest.approx(d[0]["embedding"], rel=1e-5)


def test_llm_models_health_and_errors(llm_server, npm_client):
    run = npm_client(oa(llm_server, "models.list"))
    assert [m["id"] for m in run.result] == ["kasumi-tiny"]
    assert requests.get(llm_server.url + "/health", timeout=5).json() == {"status": "ok"}
    r = requests.post(llm_server.base_url + "/chat/completions", data="{nope", timeout=5)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert requests.get(llm_server.url + "/v2/x", timeout=5).status_code == 404
    bad = npm_client(oa(llm_server, params={"model": "m", "messages": []}))
    assert bad.error["status"] == 400 and bad.error["name"] == "BadRequestError"


# --- the fault server: correct answers ------------------------------------------------------------

def test_fault_ok_openai_fixed_usage_and_recorded_request(fault_server, npm_client):
    run = npm_client(oa(fault_server, params={"model": "gpt-x", "messages": CHAT}, headers={"x-request-id": "ok-1"}))
    assert run.result["usage"] == {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    assert run.content() == "Hello from the fault server. Bye"
    assert run.response["headers"]["x-request-id"] == "ok-1"
    last = fault_server.last_request()
    assert last["headers"]["authorization"] == "Bearer sk-test-upstream"
    assert last["body"]["messages"] == CHAT and last["fault"] == "ok" and last["request_id"] == "ok-1"

    params = {"model": "gpt-x", "messages": CHAT, "stream": True, "stream_options": {"include_usage": True}}
    run = npm_client(oa(fault_server, params=params))
    assert len(content_chunks(run)) == 7 and run.chunks[-1]["usage"]["total_tokens"] == 19
    assert fault_server.last_request()["body"]["stream_options"] == {"include_usage": True}

    custom = npm_client(oa(fault_server, params={"model": "fault:ok;prompt_tokens=1000;completion_tokens=3",
                                                 "messages": CHAT}))
    assert custom.result["usage"] == {"prompt_tokens": 1000, "completion_tokens": 3, "total_tokens": 1003}


def test_fault_echo_and_embeddings(fault_server, npm_client):
    run = npm_client(oa(fault_server, params={"model": "fault:echo", "messages": [
        {"role": "user", "content": "my number is [MASKED]"}]}))
    assert run.content() == "my number is [MASKED]"
    emb = npm_client(oa(fault_server, "embeddings.create", params={"model": "e", "input": ["a", "b"]}))
    assert emb.result["usage"] == {"prompt_tokens": 10, "total_tokens": 10}
    assert len(emb.result["data"][0]["embedding"]) == 8
    assert fault_server.last_request()["body"]["encoding_format"] == "base64"
    again = npm_client(oa(fault_server, "embeddings.create", params={"model": "e", "input": ["a", "b"]}))
    assert again.result["data"] == emb.result["data"]


def test_fault_anthropic_messages(fault_server, npm_client):
    params = {"model": "claude-x", "max_tokens": 50, "messages": CHAT}
    run = npm_client(an(fault_server, params=params))
    assert run.error is None, run
    assert run.result["usage"]["input_tokens"] == 12 and run.result["usage"]["output_tokens"] == 7
    assert run.content() == "Hello from the fault server. Bye" and run.result["stop_reason"] == "end_turn"
    hdrs = fault_server.last_request()["headers"]
    # @anthropic-ai/sdk 1.x sends the API key as a bearer token, not x-api-key.
    assert hdrs.get("authorization") == "Bearer sk-ant-test" or hdrs.get("x-api-key") == "sk-ant-test"
    assert "anthropic-version" in hdrs

    run = npm_client(an(fault_server, params=dict(params, stream=True)))
    assert run.done and run.error is None, run
    types = [c["type"] for c in run.chunks]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert types.count("content_block_delta") == 7
    assert run.chunks[-2]["usage"]["output_tokens"] == 7
    assert run.content() == "Hello from the fault server. Bye"


# --- the fault server: faults ---------------------------------------------------------------------

@pytest.mark.parametrize("fault,status,name", [
    ("429", 429, "RateLimitError"), ("500", 500, "InternalServerError"), ("503", 503, "InternalServerError"),
    ("status;code=401", 401, "AuthenticationError")])
def test_fault_http_errors_openai(fault_server, npm_client, fault, status, name):
    run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT}, headers={"x-fault": fault}))
    assert run.error["status"] == status and run.error["name"] == name, run
    assert "injected" in run.error["body"]["message"]
    if status in (429, 503):
        assert run.error["headers"]["retry-after"] == "1"


def test_fault_selection_by_model_and_query(fault_server, npm_client):
    run = npm_client(oa(fault_server, params={"model": "fault:429;retry_after=7", "messages": CHAT}))
    assert run.error["status"] == 429 and run.error["headers"]["retry-after"] == "7"
    r = requests.post(fault_server.base_url + "/chat/completions?fault=503", json={"messages": CHAT}, timeout=5)
    assert r.status_code == 503
    r = requests.post(fault_server.base_url + "/chat/completions", json={"messages": CHAT},
                      headers={"x-fault": "no-such-fault"}, timeout=5)
    assert r.status_code == 400 and "known:" in r.json()["error"]["message"]


def test_fault_anthropic_errors(fault_server, npm_client):
    params = {"model": "c", "max_tokens": 5, "messages": CHAT}
    run = npm_client(an(fault_server, params=params, headers={"x-fault": "529"}))
    assert run.error["status"] == 529 and run.error["body"]["error"]["type"] == "overloaded_error", run
    run = npm_client(an(fault_server, params=params, headers={"x-fault": "429"}))
    assert run.error["name"] == "RateLimitError" and run.error["headers"]["retry-after"] == "1"
    run = npm_client(an(fault_server, params=dict(params, stream=True), headers={"x-fault": "reset-mid-stream"}))
    assert run.error is not None and not run.done and [c["type"] for c in run.chunks][:2] == [
        "message_start", "content_block_start"], run


@pytest.mark.parametrize("fault", ["reset-before-headers", "close-before-headers"])
def test_fault_connection_dies_before_any_byte(fault_server, npm_client, fault):
    run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT}, headers={"x-fault": fault}))
    assert run.error["name"] == "APIConnectionError" and run.response is None, run


@pytest.mark.parametrize("fault", ["reset-mid-stream;after=3", "close-mid-stream;after=3"])
def test_fault_stream_dies_midway(fault_server, npm_client, fault):
    run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT, "stream": True},
                        headers={"x-fault": fault}))
    assert run.response["status"] == 200 and not run.done, run
    assert len(content_chunks(run)) == 3 and run.error["message"] == "terminated", run


def test_fault_reset_midway_non_stream(fault_server):
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.post(fault_server.base_url + "/chat/completions", json={"messages": CHAT},
                      headers={"x-fault": "reset-mid-stream"}, timeout=5)


def test_fault_slow_stream(fault_server, npm_client):
    t0 = time.time()
    run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT, "stream": True},
                        headers={"x-fault": "slow;interval=100;chunks=4"}))
    assert time.time() - t0 >= 0.4 and run.done and len(content_chunks(run)) == 4, run


def test_fault_slow_headers_and_hang_time_out(fault_server, npm_client):
    before = fault_server.stats()["disconnects"]
    for fault in ("slow-headers;delay=3000", "hang"):
        run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT}, headers={"x-fault": fault},
                            timeout_ms=300))
        assert run.error["name"] == "APIConnectionTimeoutError", run
    fault_server.wait_stats(lambda s: s["disconnects"] >= before + 2)


def test_fault_stall_and_endless_need_an_abort(fault_server, npm_client):
    before = fault_server.stats()
    # the timer starts before the request is sent: 400 ms did not always cover the SDK's set-up and
    # the head on a loaded machine (no response yet when it fired); the stall lasts until the abort
    run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT, "stream": True},
                        headers={"x-fault": "stall"}, abort_after_ms=3000))
    assert run.response["status"] == 200 and run.aborted and len(run.chunks) == 1, run
    run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT, "stream": True},
                        headers={"x-fault": "endless;interval=10", "x-request-id": "endless-1"},
                        abort_after_chunks=20))
    assert run.aborted and len(run.chunks) == 20
    s = fault_server.wait_stats(lambda s: s["by_request_id"].get("endless-1", {}).get("disconnected"))
    assert s["disconnects_by_fault"].get("stall", 0) == before["disconnects_by_fault"].get("stall", 0) + 1
    assert s["by_request_id"]["endless-1"]["chunks_sent"] >= 19


def test_fault_sse_garbage_is_ignored_by_a_correct_parser(fault_server, npm_client):
    run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT, "stream": True,
                                              "stream_options": {"include_usage": True}},
                        headers={"x-fault": "sse-garbage"}))
    assert run.done and run.error is None, run
    assert run.content() == "Hello from the fault server. Bye" and run.chunks[-1]["usage"]["total_tokens"] == 19


def test_fault_sse_bad_json(fault_server, npm_client):
    run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT, "stream": True},
                        headers={"x-fault": "sse-bad-json;after=2"}))
    assert run.error["name"] == "SyntaxError" and len(content_chunks(run)) == 2, run


def test_fault_sse_no_done(fault_server, npm_client):
    run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT, "stream": True,
                                              "stream_options": {"include_usage": True}},
                        headers={"x-fault": "sse-no-done"}))
    # The openai SDK accepts a stream that ends without [DONE]; a gateway must notice the missing
    # finish_reason and usage itself.
    assert run.done and len(content_chunks(run)) == 7, run
    assert all(c["choices"][0]["finish_reason"] is None for c in run.chunks) and "usage" not in run.chunks[-1]


def test_fault_sse_endless_line(fault_server):
    with socket.create_connection(("127.0.0.1", fault_server.port), timeout=10) as s:
        body = json.dumps({"messages": CHAT, "stream": True}).encode()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"x-fault: sse-endless-line;size=1000000\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        data = b""
        while True:
            d = s.recv(1 << 16)
            if not d:
                break
            data += d
    head, _, rest = data.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0] and b"text/event-stream" in head
    assert rest.count(b"a") >= 1_000_000 and b"\n\n" not in rest.replace(b"\r\n", b"")


def test_fault_non_json_and_huge(fault_server, npm_client):
    run = npm_client(oa(fault_server, params={"model": "m", "messages": CHAT}, headers={"x-fault": "non-json"}))
    assert run.error["name"] == "SyntaxError" and run.response is None, run
    r = requests.post(fault_server.base_url + "/chat/completions", json={"messages": CHAT},
                      headers={"x-fault": "huge;size=4000000"}, timeout=30)
    assert r.status_code == 200 and len(r.json()["choices"][0]["message"]["content"]) == 4_000_000
    assert int(r.headers["content-length"]) == len(r.content)


def test_fault_keepalive_reset_on_reused_socket(fault_server):
    before = fault_server.stats()["reuse_resets"]
    body = json.dumps({"messages": CHAT}).encode()
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"x-fault: keepalive-reset\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    with socket.create_connection(("127.0.0.1", fault_server.port), timeout=10) as s:
        s.sendall(req)
        first = b""
        while b"Bye" not in first:
            first += s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200") and b"keep-alive: timeout=5, max=100" in first.lower()
        s.sendall(req)
        try:
            second = s.recv(65536)
        except ConnectionResetError:
            second = b""
        assert second == b"", "the reused socket must die before any response byte"
    assert fault_server.stats()["reuse_resets"] == before + 1


def test_fault_models_and_stats_reset(fault_server, npm_client):
    run = npm_client(oa(fault_server, "models.list"))
    ids = [m["id"] for m in run.result]
    assert "fault-model" in ids and "fault:429" in ids
    fault_server.reset_stats()
    s = fault_server.stats()
    assert s["requests"] == 0 and s["last_request"] is None and s["log"] == []
