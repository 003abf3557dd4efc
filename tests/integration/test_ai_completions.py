"""OpenAI's text completions (POST /v1/completions) through the gateway, with the official openai
npm client: a prompt continued as it is, or filled in before a suffix — what code editors'
autocompletion asks of a local code model. The body goes to the model as the caller sent it, every
string in it scanned and masked like a chat prompt; the texts that come back are restored, whole and
streamed; each request is budgeted, metered and audited (ai.completions)."""
EMAIL = "taro@example.go.jp"

from test_ai_gateway import MYNUMBER, PHONE, billed_for_delivered, gw, org, sdk, sent_to_model  # noqa: F401


def texts(run):
    """Each choice's text over a stream's chunks, by index."""
    out = {}
    for c in run.chunks:
        assert c["object"] == "text_completion", c
        for ch in c["choices"]:
            out[ch["index"]] = out.get(ch["index"], "") + ch["text"]
    return out


def test_real_model_whole_and_streamed(gw, org, npm_client):
    ask = {"model": "tiny", "prompt": "def add(a, b):", "max_tokens": 8, "temperature": 0}
    whole = sdk(npm_client, org, "openai", "completions.create", ask)
    assert whole.error is None, whole
    res = whole.result
    assert res["object"] == "text_completion" and res["model"] == "tiny"
    assert res["choices"][0]["text"] and res["choices"][0]["finish_reason"] == "length"
    assert res["usage"]["completion_tokens"] == 8 and res["usage"]["prompt_tokens"] > 0
    rid = whole.response["headers"]["x-request-id"]
    assert org.usage(rid)["details"]["completion_tokens"] == 8 and org.usage(rid)["cost_microyen"] > 0
    assert gw.audit_wait(rid, action="ai.completions")["status"] == 200

    run = sdk(npm_client, org, "openai", "completions.create",
              dict(ask, stream=True, stream_options={"include_usage": True}))
    assert run.error is None, run
    assert texts(run) == {0: res["choices"][0]["text"]}   # greedy decoding: the same text
    assert run.chunks[-1]["choices"] == [] and run.chunks[-1]["usage"]["completion_tokens"] == 8
    assert org.usage(run.response["headers"]["x-request-id"])["details"]["completion_tokens"] == 8


def test_masked_for_the_model_and_restored_for_the_caller(org, npm_client):
    """The prompt and the suffix (a fill-in-the-middle) reach the model with placeholders; the
    caller gets the values back in the text, whole and streamed, and in every choice."""
    alias = org.fault_route("echo")
    prompt, suffix = "# 担当: %s\n" % PHONE, "    return %r  # %s\n" % ("x", EMAIL)
    ask = {"model": alias, "prompt": prompt, "suffix": suffix, "max_tokens": 64}
    whole = sdk(npm_client, org, "openai", "completions.create", ask)
    assert whole.error is None, whole
    sent = sent_to_model(org)
    assert PHONE not in sent and EMAIL not in sent and "⟦PHONE_1⟧" in sent and "⟦EMAIL_1⟧" in sent
    assert whole.result["choices"][0]["text"] == prompt + suffix
    assert whole.response["headers"]["x-kasumi-guardrail"] == "mask phone=1 email=1"

    run = sdk(npm_client, org, "openai", "completions.create", dict(ask, stream=True, n=2))
    assert run.error is None, run
    assert texts(run) == {0: prompt + suffix, 1: prompt + suffix}
    # the usage the gateway asked for is shown only to callers who asked
    assert all(c["choices"] for c in run.chunks)


def test_what_cannot_be_served_is_refused_saying_why(org, npm_client):
    alias = org.fault_route("echo")
    r = org.post("/v1/completions", {"model": alias, "prompt": [1, 2, 3]})
    assert r.status_code == 400 and "token ids" in r.json()["error"]["message"], r.text
    r = org.post("/v1/completions", {"model": alias, "prompt": "x", "suffix": "個人番号 " + MYNUMBER})
    assert r.status_code == 400 and r.json()["error"]["code"] == "content_blocked", r.text
    r = org.post("/v1/completions", {"model": alias, "prompt": "x", "n": 0})
    assert r.status_code == 400 and "n must be" in r.json()["error"]["message"], r.text
    # a model served only over Anthropic's API has no text completions
    claude = org.fault_route("echo", provider="anthropic")
    r = org.post("/v1/completions", {"model": claude, "prompt": "x"})
    assert r.status_code == 400 and "text completions" in r.json()["error"]["message"], r.text


def test_client_disconnect_billed_for_delivered(org, npm_client, llm_server):
    """An editor drops a completion it no longer wants (the user typed on): the model server sees
    the close and stops; the call is billed for what was delivered."""
    run = sdk(npm_client, org, "openai", "completions.create",
              {"model": "tiny", "prompt": "Once upon a time", "max_tokens": 400, "temperature": 0,
               "stream": True}, abort_after_chunks=6)
    billed_for_delivered(org, llm_server, run, 400)
