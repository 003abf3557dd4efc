"""OpenAI's Responses API (POST /v1/responses) through the gateway, with the official openai npm
client: the request becomes the chat request it means and goes the governed chat path (the
guardrail, the budget, the meter and the audit see it as one); the answer comes back as a
Response, whole or as the Responses stream's events. Nothing is stored."""
import json
import subprocess

import pytest
import requests

from test_ai_gateway import MYNUMBER, PHONE, gw, org, sdk, sent_to_model  # noqa: F401  (fixtures)

LOOKUP = {"type": "function", "name": "lookup", "description": "電話番号で検索する",
          "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}


def events(run):
    """The stream's events, checked for what every Responses stream promises: numbered from 0 in
    order, opened by response.created and ended by one terminal event."""
    evs = run.chunks
    assert [e["sequence_number"] for e in evs] == list(range(len(evs))), evs
    assert evs[0]["type"] == "response.created" and evs[0]["response"]["status"] == "in_progress"
    assert evs[-1]["type"] in ("response.completed", "response.incomplete", "response.failed")
    return evs


def test_real_model_whole_and_streamed(gw, org, npm_client):
    ask = {"model": "tiny", "instructions": "Answer briefly.", "input": "hello", "max_output_tokens": 10,
           "temperature": 0, "metadata": {"案件": "試験"}}
    whole = sdk(npm_client, org, "openai", "responses.create", ask)
    assert whole.error is None, whole
    res = whole.result
    assert res["object"] == "response" and res["id"].startswith("resp_") and res["model"] == "tiny"
    # the model stopped at its token limit: an incomplete Response, saying why
    assert res["status"] == "incomplete" and res["incomplete_details"] == {"reason": "max_output_tokens"}
    assert res["output_text"] and res["output"][0]["content"][0]["type"] == "output_text"
    assert res["usage"]["output_tokens"] == 10 and res["usage"]["input_tokens"] > 0
    assert res["usage"]["total_tokens"] == res["usage"]["input_tokens"] + 10
    assert res["store"] is False and res["metadata"] == {"案件": "試験"} and res["instructions"] == "Answer briefly."
    rid = whole.response["headers"]["x-request-id"]
    rec = org.usage(rid)
    assert rec["details"]["completion_tokens"] == 10 and rec["cost_microyen"] > 0
    assert gw.audit_wait(rid, action="ai.responses")["status"] == 200

    run = sdk(npm_client, org, "openai", "responses.create", dict(ask, stream=True))
    assert run.error is None, run
    evs = events(run)
    text = "".join(e["delta"] for e in evs if e["type"] == "response.output_text.delta")
    assert text == res["output_text"]   # greedy decoding: the same text as the whole answer
    done = [e for e in evs if e["type"] == "response.output_text.done"]
    assert len(done) == 1 and done[0]["text"] == text
    last = evs[-1]["response"]
    assert evs[-1]["type"] == "response.incomplete" and last["usage"]["output_tokens"] == 10
    # the message the limit cut is itself incomplete, as OpenAI marks it
    assert last["output"][0]["content"][0]["text"] == text and last["output"][0]["status"] == "incomplete"
    assert org.usage(run.response["headers"]["x-request-id"])["details"]["completion_tokens"] == 10


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_masked_for_the_model_and_restored_for_the_caller(org, npm_client, provider):
    """Masked and restored like a chat request, to a model served over either API."""
    alias = org.fault_route("echo", provider=provider)
    ask = {"model": alias, "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "折り返しは %s まで" % PHONE}]}]}
    for stream in (False, True):
        run = sdk(npm_client, org, "openai", "responses.create", dict(ask, stream=stream))
        assert run.error is None, run
        sent = org.fault.last_request()["body"]
        assert PHONE not in sent_to_model(org) and "⟦PHONE_1⟧" in sent_to_model(org)
        masked = "折り返しは ⟦PHONE_1⟧ まで"
        content = [{"type": "text", "text": masked}] if provider == "openai" else masked
        assert sent["messages"] == [{"role": "user", "content": content}]
        if stream:
            evs = events(run)
            text = "".join(e["delta"] for e in evs if e["type"] == "response.output_text.delta")
            assert evs[-1]["type"] == "response.completed"
        else:
            text = run.result["output_text"]
        assert PHONE in text and "⟦" not in text, text
        assert run.response["headers"]["x-kasumi-guardrail"] == "mask phone=1"

    # a blocked kind is refused before anything is sent, in OpenAI's error format
    n = org.fault.stats()["requests"]
    r = org.post("/v1/responses", {"model": alias, "input": "個人番号 %s" % MYNUMBER})
    assert r.status_code == 400 and r.json()["error"]["code"] == "content_blocked", r.text
    assert org.fault.stats()["requests"] == n


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_function_tool_loop(org, npm_client, provider):
    """The model calls a function; the caller runs it and sends the call and its output back as
    input items: the model gets the assistant turn with its call and the tool's result, masked;
    the caller's function gets the real value. To a model served over either API."""
    alias = org.fault_route("tool", provider=provider)
    user = {"role": "user", "content": "折り返しは %s までお願いします" % PHONE}
    for stream in (False, True):
        one = sdk(npm_client, org, "openai", "responses.create",
                  {"model": alias, "input": [user], "tools": [LOOKUP], "stream": stream})
        assert one.error is None, one
        sent = org.fault.last_request()["body"]
        if provider == "openai":
            assert sent["tools"] == [{"type": "function", "function": {k: v for k, v in LOOKUP.items() if k != "type"}}]
        else:
            assert sent["tools"] == [{"name": "lookup", "description": LOOKUP["description"],
                                      "input_schema": LOOKUP["parameters"]}]
        if stream:
            evs = events(run := one)
            adds = [e["item"] for e in evs if e["type"] == "response.output_item.added"]
            assert [a["type"] for a in adds] == ["function_call"] and adds[0]["name"] == "lookup"
            args = "".join(e["delta"] for e in evs if e["type"] == "response.function_call_arguments.delta")
            done = [e for e in evs if e["type"] == "response.function_call_arguments.done"]
            assert done[0]["arguments"] == args
            call = evs[-1]["response"]["output"][0]
            assert run.chunks[-1]["type"] == "response.completed"
        else:
            call = one.result["output"][0]
        assert call["type"] == "function_call" and call["name"] == "lookup" and call["status"] == "completed"
        assert json.loads(call["arguments"]) == {"query": user["content"]}   # restored for the caller

        history = [user, {k: call[k] for k in ("type", "id", "call_id", "name", "arguments", "status")},
                   {"type": "function_call_output", "call_id": call["call_id"], "output": "該当: %s 霞が関" % PHONE}]
        two = sdk(npm_client, org, "openai", "responses.create", {"model": alias, "input": history, "tools": [LOOKUP]})
        assert two.error is None, two
        msgs = org.fault.last_request()["body"]["messages"]
        if provider == "openai":
            assert [m["role"] for m in msgs] == ["user", "assistant", "tool"]
            assert msgs[1]["tool_calls"][0]["id"] == call["call_id"] and msgs[2]["tool_call_id"] == call["call_id"]
            result = msgs[2]["content"]
        else:
            assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
            assert msgs[1]["content"][-1]["id"] == call["call_id"]
            assert msgs[2]["content"][0]["tool_use_id"] == call["call_id"]
            result = json.dumps(msgs[2]["content"], ensure_ascii=False)
        assert PHONE not in sent_to_model(org) and "⟦PHONE_1⟧" in result


def test_custom_tool_loop(org, npm_client):
    """A custom (freeform) tool, as Codex's apply_patch is: its call's input is plain text, streamed
    as custom_tool_call_input events; masked for the model, restored for the caller's tool."""
    alias = org.fault_route("tool;custom")
    tool = {"type": "custom", "name": "lookup", "description": "電話番号で検索する"}
    user = {"role": "user", "content": "折り返しは %s までお願いします" % PHONE}
    for stream in (False, True):
        one = sdk(npm_client, org, "openai", "responses.create",
                  {"model": alias, "input": [user], "tools": [tool], "stream": stream})
        assert one.error is None, one
        assert org.fault.last_request()["body"]["tools"] == [
            {"type": "custom", "custom": {"name": "lookup", "description": tool["description"]}}]
        if stream:
            evs = events(one)
            pieces = [e["delta"] for e in evs if e["type"] == "response.custom_tool_call_input.delta"]
            done = [e for e in evs if e["type"] == "response.custom_tool_call_input.done"]
            assert len(pieces) > 1 and done[0]["input"] == "".join(pieces)
            call = evs[-1]["response"]["output"][0]
        else:
            call = one.result["output"][0]
        assert call["type"] == "custom_tool_call" and call["input"] == user["content"], call

        history = [user, {k: call[k] for k in ("type", "id", "call_id", "name", "input")},
                   {"type": "custom_tool_call_output", "call_id": call["call_id"], "output": "なし"}]
        two = sdk(npm_client, org, "openai", "responses.create", {"model": alias, "input": history, "tools": [tool]})
        assert two.error is None, two
        msgs = org.fault.last_request()["body"]["messages"]
        assert msgs[1]["tool_calls"] == [{"id": call["call_id"], "type": "custom",
                                          "custom": {"name": "lookup", "input": "折り返しは ⟦PHONE_1⟧ までお願いします"}}]
        assert msgs[2] == {"role": "tool", "tool_call_id": call["call_id"], "content": "なし"}


def test_what_is_not_served_is_refused_saying_why(org, npm_client):
    """Stored state, built-in tools and fields the gateway does not know are refused (nothing is
    dropped unread); the refusals are OpenAI's error format, which the SDK reads."""
    alias = org.fault_route("ok")
    n = org.fault.stats()["requests"]
    cases = [({"previous_response_id": "resp_x"}, "stores no responses"),
             ({"tools": [{"type": "web_search"}]}, "only function and custom tools"),
             ({"prompt": {"id": "pmpt_1"}}, "prompt: not supported"),
             ({"input": [{"type": "reasoning", "summary": []}]}, "reasoning item"),
             ({"truncation": "auto"}, "truncation")]
    for extra, why in cases:
        run = sdk(npm_client, org, "openai", "responses.create", dict({"model": alias, "input": "x"}, **extra))
        assert run.error and run.error["status"] == 400, run
        assert run.error["body"]["code"] == "unsupported_parameter" and why in run.error["message"], run
    assert org.fault.stats()["requests"] == n
    r = org.post("/v1/responses", {"model": alias})
    assert r.status_code == 400 and "input" in r.json()["error"]["message"], r.text
    # nothing is stored, so there is nothing to retrieve, cancel or delete, and the caller is told so
    for method, path in (("GET", "/v1/responses/resp_1"), ("DELETE", "/v1/responses/resp_1"),
                         ("POST", "/v1/responses/resp_1/cancel"), ("GET", "/v1/responses/resp_1/input_items")):
        r = requests.request(method, org.base + path, headers={"Authorization": "Bearer " + org.key}, timeout=10)
        assert r.status_code == 404 and "stores no responses" in r.json()["error"]["message"], (method, path, r.text)
    r = org.post("/v1/responses/input_tokens", {"model": alias, "input": "x"})
    assert r.status_code == 404 and "input tokens is not served" in r.json()["error"]["message"], r.text
    r = org.post("/v1/responses", {"model": "nope", "input": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found", r.text


def test_a_broken_stream_ends_in_response_failed(org, npm_client):
    alias = org.fault_route("reset-mid-stream;after=2")
    run = sdk(npm_client, org, "openai", "responses.create", {"model": alias, "input": "hello", "stream": True})
    assert run.error is None, run
    evs = events(run)
    assert [e["type"] for e in evs][-2:] == ["error", "response.failed"], evs
    failed = evs[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["message"]
    assert len([e for e in evs if e["type"] == "response.output_text.delta"]) == 2


def test_a_response_is_bounded_like_a_whole_answer(org, npm_client):
    """A streamed Response keeps its text for the closing event, which carries it whole: past 16 MiB
    the Response fails saying why, and nothing more of the model's stream reaches the caller. A
    large one under the bound comes whole."""
    ok = sdk(npm_client, org, "openai", "responses.create",
             {"model": org.fault_route("huge;size=2097152"), "input": "x", "stream": True}, timeout_ms=120000)
    assert ok.error is None, ok
    done = events(ok)[-1]
    assert done["type"] == "response.completed" and len(done["response"]["output"][0]["content"][0]["text"]) == 2097152
    big = sdk(npm_client, org, "openai", "responses.create",
              {"model": org.fault_route("huge;size=20971520"), "input": "x", "stream": True}, timeout_ms=120000)
    assert big.error is None, big
    evs = events(big)
    assert [e["type"] for e in evs][-2:] == ["error", "response.failed"]
    assert evs[-1]["response"]["error"]["code"] == "response_too_large"
    deltas = [e["delta"] for e in evs if e["type"] == "response.output_text.delta"]
    kept = sum(len(d) for d in deltas)
    assert 16 * 2**20 - 65536 <= kept <= 16 * 2**20 and evs[-1]["response"]["output"][0]["content"][0]["text"]
    # billed for the pieces the caller got, not for the one that did not fit nor any after it
    rec = org.usage(big.response["headers"]["x-request-id"])
    assert rec["details"]["completion_tokens"] == len(deltas), (rec["details"], len(deltas))


@pytest.mark.parametrize("fault", ["echo", "tool"])
def test_the_sdks_stream_helper_builds_the_same_response(org, npm_client, fault):
    """The openai SDK's responses.stream() builds the Response from the events, index by index, and
    throws on an event that does not fit the ones before it; what it builds is the Response that the
    closing event carries."""
    alias = org.fault_route(fault)
    ask = {"model": alias, "input": "折り返しは %s までお願いします" % PHONE}
    if fault == "tool":
        ask["tools"] = [LOOKUP]
    run = sdk(npm_client, org, "openai", "responses.stream", ask)
    assert run.error is None, run
    final = run.result
    closing = events(run)[-1]["response"]

    def ours(v):   # without what the SDK's parse helper adds (parsed, parsed_arguments)
        if isinstance(v, dict):
            return {k: ours(x) for k, x in v.items() if not k.startswith("parsed")}
        return [ours(x) for x in v] if isinstance(v, list) else v
    assert ours(final["output"]) == closing["output"] and final["status"] == "completed"
    if fault == "echo":
        assert final["output_text"] == ask["input"]
    else:
        assert json.loads(final["output"][0]["arguments"]) == {"query": ask["input"]}


def run_agent(org, alias, stream):
    """One run of tests/fixtures/llm/agent.mjs: an agent of OpenAI's Agents SDK with a lookup tool."""
    from upstreams import FIXTURES, ROOT, node_binary, node_env
    cmd = {"baseURL": org.base + "/v1", "apiKey": org.key, "model": alias, "stream": stream,
           "input": "折り返しは %s までお願いします。担当は?" % PHONE,
           "tool_result": "%s は 総務課 の直通です" % PHONE}
    p = subprocess.run([node_binary(), str(FIXTURES / "agent.mjs")], input=json.dumps(cmd), capture_output=True,
                       text=True, timeout=60, env=node_env(), cwd=str(ROOT))
    assert p.returncode == 0 and p.stdout.strip(), p.stderr
    return cmd, json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("stream", [False, True])
def test_an_agents_sdk_loop(org, stream):
    """An agent built with OpenAI's Agents SDK (npm @openai/agents, the Responses API by default):
    the model calls the agent's tool, the SDK runs it and sends the call and its result back, the
    model answers. The tool gets the number the model only saw as a placeholder; no turn carried
    the number to the model; the final answer has it back; each turn is metered."""
    alias = org.fault_route("tool;once")
    org.fault.reset_stats()
    cmd, out = run_agent(org, alias, stream)
    assert "error" not in out, out
    assert out["toolCalls"] == [{"query": cmd["input"]}], out
    assert out["items"] == ["tool_call_item", "tool_call_output_item", "message_output_item"], out
    assert out["finalOutput"] == cmd["tool_result"], out
    if stream:
        assert out["streamed"] == cmd["tool_result"], out
    turns = [r for r in org.fault.stats()["log"] if r["path"].endswith("/chat/completions")]
    assert len(turns) == 2, turns
    sent = json.dumps([t["body"] for t in turns], ensure_ascii=False)
    assert PHONE not in sent and "⟦PHONE_1⟧" in sent
