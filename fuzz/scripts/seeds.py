#!/usr/bin/env python3
"""Writes the starting inputs of every fuzz target into fuzz/work/<target>/
(the fuzzer's working corpus). Run from the repository root. The committed,
minimised corpora in fuzz/corpus/ came from these plus what the fuzzer found."""
import base64, glob, json, os, struct, zlib

ROOT = os.getcwd()
OUT = os.path.join(ROOT, "fuzz", "work")

def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def sse(events):
    return "".join(("event: %s\n" % n if n else "") + "data: %s\n\n" % d for n, d in events)

# --- SSE and OpenAI: the fixtures, with a few read-split seeds.
for path in sorted(glob.glob("llmbench/tests/fixtures/openai/*.sse")):
    name = os.path.basename(path)[:-4]
    data = open(path, "rb").read()
    for seed in (0, 7, 200):
        put("sse", "%s-%d" % (name, seed), bytes([seed]) + data)
        put("openai", "%s-%d" % (name, seed), bytes([seed]) + data)
put("sse", "bom-cr", b"\x05\xef\xbb\xbfdata: a\r\rdata: b\r\n\r\n: c\nid: 1\nretry: 2\nevent: x\ndata\n\n")

# --- Anthropic.
msgs = [
    ("message_start", {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 9, "output_tokens": 1, "cache_read_input_tokens": 2}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"a\""}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}),
    ("message_stop", {"type": "message_stop"}),
]
stream = sse([(n, json.dumps(v)) for n, v in msgs])
for seed in (0, 9):
    put("anthropic", "full-%d" % seed, bytes([seed]) + stream.encode())
put("anthropic", "error", b"\x00" + sse([("error", json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}))]).encode())
put("anthropic", "cut", b"\x03" + sse([(n, json.dumps(v)) for n, v in msgs[:5]]).encode())

# --- SageMaker: format = seed % 3 (tgi, lmi, openai).
tgi = "".join("data:%s\n\n" % json.dumps(l) for l in [
    {"index": 1, "token": {"id": 1, "text": " Gr\u00fc\u00dfe", "logprob": -0.1, "special": False}, "generated_text": None, "details": None},
    {"index": 2, "token": {"id": 2, "text": "</s>", "special": True}, "generated_text": "x",
     "details": {"finish_reason": "eos_token", "generated_tokens": 1, "input_length": 5}},
])
lmi = "".join(json.dumps(l) + "\n" for l in [
    {"token": {"id": 1, "text": " hi", "log_prob": -0.1}},
    {"token": {"id": 2, "text": "", "special_token": True}, "generated_text": " hi", "details": {"finish_reason": "length", "generated_tokens": 1, "input_length": 3}},
])
lmi_batch = '{"outputs": [" a"]}\n{"outputs": [" b"]}'
lmi_err = json.dumps({"token": {"id": -1, "text": "", "special_token": True}, "generated_text": "", "details": {"finish_reason": "error", "generated_tokens": 0}}) + "\n"
tgi_err = 'data:{"error":"boom","error_type":"generation"}\n\n'
oai = open("llmbench/tests/fixtures/openai/role_first.sse", "rb").read()
put("sagemaker", "tgi", b"\x00" + tgi.encode())
put("sagemaker", "tgi-split", b"\x1e" + tgi.encode())
put("sagemaker", "tgi-error", b"\x03" + tgi_err.encode())
put("sagemaker", "lmi", b"\x01" + lmi.encode())
put("sagemaker", "lmi-batch", b"\x04" + lmi_batch.encode())
put("sagemaker", "lmi-error", b"\x07" + lmi_err.encode())
put("sagemaker", "openai", b"\x02" + oai)
put("sagemaker", "openai-lines", b"\x05" + b"\n".join(l[6:] for l in oai.split(b"\n") if l.startswith(b"data: ")))

# --- Bedrock invoke: family = seed % 6, one chunk per line.
metrics = {"amazon-bedrock-invocationMetrics": {"inputTokenCount": 5, "outputTokenCount": 2, "invocationLatency": 120, "firstByteLatency": 40, "cacheReadInputTokenCount": 1}}
families = [
    [msgs[0][1], msgs[4][1], msgs[7][1], dict(msgs[8][1], **metrics)],
    [{"generation": " hi", "prompt_token_count": 5, "generation_token_count": 1, "stop_reason": None},
     dict({"generation": "", "generation_token_count": 2, "stop_reason": "stop"}, **metrics)],
    [{"messageStart": {"role": "assistant"}}, {"contentBlockDelta": {"delta": {"text": " hi"}, "contentBlockIndex": 0}},
     {"contentBlockDelta": {"delta": {"reasoningContent": {"text": "hm"}}}},
     {"messageStop": {"stopReason": "end_turn"}}, dict({"metadata": {"usage": {"inputTokens": 5, "outputTokens": 2}}}, **metrics)],
    [{"outputText": " hi", "index": 0, "totalOutputTextTokenCount": 1, "completionReason": None, "inputTextTokenCount": 5},
     dict({"outputText": "", "completionReason": "FINISH"}, **metrics)],
    [{"outputs": [{"text": " hi", "stop_reason": None}]}, dict({"outputs": [{"text": "", "stop_reason": "stop"}]}, **metrics)],
    [{"id": "c", "choices": [{"delta": {"content": " hi"}, "finish_reason": None}]},
     {"id": "c", "choices": [{"delta": {}, "finish_reason": "stop"}]}, "[DONE]"],
]
for i, chunks in enumerate(families):
    put("bedrock_invoke", "family-%d" % i, bytes([i]) + "\n".join(json.dumps(c) for c in chunks).encode())
put("bedrock_invoke", "openai-done-string", b"\x05" + b'"[DONE]"')

# --- Bedrock converse: typed fields (see llmbench/src/fuzz.rs).
def text(s):
    b = s.encode()[:255]
    return bytes([len(b)]) + b
def i64(n):
    return struct.pack("<q", n)
conv = bytes([0]) + text(" hi") + bytes([0]) + bytes([1]) + text("think") + bytes([1]) + bytes([2]) + text("{\"a\":1}") + bytes([2])
conv += bytes([3]) + text("end_turn") + bytes([4]) + i64(5) + i64(2) + i64(7) + i64(1) + i64(0) + i64(150) + bytes([5]) + i64(0)
put("bedrock_converse", "full", conv)
put("bedrock_converse", "negative", bytes([4]) + i64(-1) + i64(-5) + i64(1 << 40) + i64(-1) + i64(-1) + i64(-7))

# --- AWS event stream frames: part format = seed % 3.
def frame(headers, payload=b""):
    h = b""
    for k, v in headers:
        k, v = k.encode(), v.encode()
        h += bytes([len(k)]) + k + b"\x07" + struct.pack(">H", len(v)) + v
    total = 12 + len(h) + len(payload) + 4
    prelude = struct.pack(">II", total, len(h))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + h + payload
    return body + struct.pack(">I", zlib.crc32(body))
def event(kind, ct, payload):
    return frame([(":message-type", "event"), (":event-type", kind), (":content-type", ct)], payload)
def chunk(obj):
    return event("chunk", "application/json", json.dumps({"bytes": base64.b64encode(json.dumps(obj).encode()).decode()}).encode())
es = b"".join(chunk(c) for c in families[1])
put("eventstream", "invoke-meta", b"\x00" + es)
put("eventstream", "sagemaker-tgi", b"\x03" + b"".join(event("PayloadPart", "application/octet-stream", p.encode()) for p in (tgi[:20], tgi[20:])))
put("eventstream", "sagemaker-lmi", b"\x04" + event("PayloadPart", "application/octet-stream", lmi.encode()))
put("eventstream", "exception", b"\x00" + chunk(families[1][0]) + frame([(":message-type", "exception"), (":exception-type", "throttlingException"), (":content-type", "application/json")], b'{"message":"slow down"}'))
put("eventstream", "modelstream", b"\x01" + frame([(":message-type", "exception"), (":exception-type", "ModelStreamError"), (":content-type", "application/json")], b'{"Message":"x"}'))
put("eventstream", "error", b"\x02" + frame([(":message-type", "error"), (":error-code", "InternalFailure"), (":error-message", "oops")]))
put("eventstream", "truncated", b"\x00" + es[:-7])

# --- llmbench.toml.
put("config", "repo", open("llmbench.toml", "rb").read())
put("config", "targets", """[defaults]
samples = 5
concurrency = [1, 8]
rate = ["5/s", "10/s"]
limits = ["ttft.p90<=500ms", "error_rate<=1%"]
slo = "ttft <= 500ms, goodput >= 99%"
params = { temperature = [0.0, 0.7] }

[benches.short]
stages = "30s@5/s, 1m@50/s"
sweep = "auto"

[sim]
ttft = { normal = { mean = "120ms", stddev = "30ms" } }
itl = { exponential = "10ms" }
error_rate = 0.1
error = "cut"

[targets.b]
provider = "bedrock"
model = "anthropic.claude"
region = "us-east-1"
api = "invoke"
family = "anthropic"

[targets.s]
provider = "sagemaker"
endpoint_name = "e"
format = "lmi"

[targets.p]
provider = "sim"
protocol = "bedrock-invoke"
family = "meta"
sim = { ttft = "1ms", itl = "1ms", capacity = 2 }

[targets.a]
provider = "anthropic"
model = "claude"
api_key_env = "KEY"
timeout = "10s"
first_content_timeout = "5s"
""")

# --- Datasets and templates.
lines = open("datasets/support.jsonl").read().splitlines()
put("dataset", "support", "\n".join(lines[:6]) + "\n")
put("dataset", "support-template", open("datasets/prompt.j2").read() + "\n---\n" + "\n".join(lines[:6]) + "\n")
put("dataset", "messages", '{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "max_tokens": 7}\n{"prompt": "p", "system": "x", "expected": "y"}\n')
put("dataset", "loop", "{% for x in items %}{{ x }}{% endfor %}{{ name | upper }}\n---\n{\"items\": [1, 2], \"name\": \"n\"}\n")

# --- Setting grammars: grammar = seed % 12 (see llmbench/src/fuzz.rs).
settings = [
    ["30s@5/s, 1m@50/s, 30s@50/s", "0/s, 1m@100/s", "20s@4, 1m@32", "spike:10/s*5", "spike:8*4:2m"],
    ["1, 2, 4, 8", "5/s,10/s", "auto", "auto:rate", "3x:20/s", "auto:8"],
    ["ttft.p90<=500ms", "error_rate<=1%", "output_tok_per_s>=100", "ttft.p50=+5%", "e2e.p99 < 2s", "cost_per_1k_ok<=$0.5"],
    ["ttft <= 500ms, tpot <= 100ms, goodput >= 99%", "p99 e2e<=2s", "ttft<=500ms,goodput>=99%"],
    ["20/s", "1200/m", "5/s, 10/s", "0.5/s", "72000/h"],
    ["30s", "500ms", "2m", "1h", "250us", "12"],
    ["1000/h", "10/s", "5000/day", "2e6/month"],
    ["poisson", "constant", "gamma:0.5"],
    ["1,8,32", "4"],
    ["0s", "10s"],
    ["100", "1"],
    ["0", "10"],
]
for g, values in enumerate(settings):
    for i, v in enumerate(values):
        put("settings", "g%d-%d" % (g, i), bytes([g]) + v.encode())

# --- Results: seed even = summary.json, odd = requests.jsonl.
for bench in sorted(os.listdir("reports/baselines")):
    d = os.path.join("reports/baselines", bench, "sim", "main")
    if not os.path.isdir(d):
        continue
    put("results", bench + "-summary", b"\x00" + open(os.path.join(d, "summary.json"), "rb").read())
    reqs = open(os.path.join(d, "requests.jsonl"), "rb").read().splitlines()
    put("results", bench + "-requests", b"\x01" + b"\n".join(reqs[:8]) + b"\n")
