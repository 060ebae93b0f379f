#!/usr/bin/env python3
"""The OpenAI Python SDK pointed at openrouter-guard (Envoy on 127.0.0.1:10000) instead of openrouter.ai.

    python3 examples/openai_client.py chat            # a normal completion
    python3 examples/openai_client.py stream          # the same, streamed (SSE), printed as it arrives
    python3 examples/openai_client.py denied          # a model the policy forbids: the filter's 403
    python3 examples/openai_client.py redact          # a prompt with an e-mail and an API key: redacted before it leaves
    python3 examples/openai_client.py all             # the four in turn (exit 0 when each behaved as expected)

Options: --base-url (default $OPENROUTER_GUARD_URL or http://127.0.0.1:10000/api/v1), --model, --denied-model,
--profile (x-data-classification: public/internal/confidential/restricted), --user (x-user-id).

The key: with credential injection (`OPENROUTER_API_KEY=... make run`) Envoy adds it, and the application needs
none; this script then sends NO Authorization header (the `restricted` profile refuses requests that carry one).
If OPENROUTER_API_KEY is set in this script's environment it is sent (Envoy without injection); --dummy-key
sends a placeholder key instead (to see it overwritten, or refused by `restricted`).
Needs `openai` (installed into .venv by `make setup`): .venv/bin/python examples/openai_client.py all
"""
from __future__ import annotations

import argparse
import os
import sys

import openai
from openai.types.chat import ChatCompletionMessageParam

DEFAULT_URL = os.environ.get("OPENROUTER_GUARD_URL", "http://127.0.0.1:10000/api/v1")
DUMMY_KEY = "sk-or-v1-dummy-the-gateway-injects-the-real-key"
# Fake PII for the redaction demo (example.com is reserved; the key has the shape of an OpenRouter key).
DEMO_EMAIL = "jane.doe@example.com"
DEMO_KEY = "sk-or-v1-" + "0123456789abcdef" * 4


def make_client(args: argparse.Namespace) -> tuple[openai.OpenAI, dict[str, str | openai.Omit]]:
    """The client and the extra headers every request carries."""
    headers: dict[str, str | openai.Omit] = {}
    if args.profile:
        headers["x-data-classification"] = args.profile
    if args.user:
        headers["x-user-id"] = args.user
    key = os.environ.get("OPENROUTER_API_KEY", "")
    if args.dummy_key:
        key = DUMMY_KEY
    if not key:
        # The SDK insists on a key; Omit() drops the Authorization header so only Envoy's key goes upstream.
        headers["Authorization"] = openai.Omit()
    client = openai.OpenAI(base_url=args.base_url, api_key=key or DUMMY_KEY, max_retries=0, timeout=args.timeout)
    return client, headers


def messages(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def cmd_chat(client: openai.OpenAI, headers: dict[str, str | openai.Omit], args: argparse.Namespace) -> bool:
    r = client.chat.completions.create(model=args.model, messages=messages("Say hello in five words."),
                                       max_tokens=50, extra_headers=headers)
    print(f"chat: model={r.model} provider={getattr(r, 'provider', None)}")
    print(f"chat: {r.choices[0].message.content}")
    if r.usage:
        print(f"chat: usage prompt={r.usage.prompt_tokens} completion={r.usage.completion_tokens}")
    return True


def cmd_stream(client: openai.OpenAI, headers: dict[str, str | openai.Omit], args: argparse.Namespace) -> bool:
    stream = client.chat.completions.create(model=args.model, messages=messages("Count from one to five."),
                                            max_tokens=50, stream=True, extra_headers=headers)
    print("stream: ", end="", flush=True)
    chunks = 0
    text = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            chunks += 1
            text.append(chunk.choices[0].delta.content)
            print(chunk.choices[0].delta.content, end="", flush=True)
    print()
    print(f"stream: {chunks} content chunks, {len(''.join(text))} characters")
    return chunks > 0


def cmd_denied(client: openai.OpenAI, headers: dict[str, str | openai.Omit], args: argparse.Namespace) -> bool:
    try:
        client.chat.completions.create(model=args.denied_model, messages=messages("hello"), extra_headers=headers)
    except openai.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        err = body.get("error", body) if isinstance(body, dict) else {}
        reason = err.get("reason") if isinstance(err, dict) else None
        print(f"denied: HTTP {e.status_code} reason={reason}")
        print(f"denied: {err.get('message') if isinstance(err, dict) else e.message}")
        return e.status_code == 403
    print(f"denied: {args.denied_model} was NOT refused: is the filter running, and does the policy deny it?")
    return False


def cmd_redact(client: openai.OpenAI, headers: dict[str, str | openai.Omit], args: argparse.Namespace) -> bool:
    prompt = (f"Repeat this line exactly: mail {DEMO_EMAIL} the new key {DEMO_KEY}")
    print("redact: sending a prompt with an e-mail address and an API key;")
    print("redact: the filter replaces them ([EMAIL], [OPENROUTER_KEY]) before the request leaves Envoy")
    r = client.chat.completions.create(model=args.model, messages=messages(prompt), max_tokens=100,
                                       extra_headers=headers)
    reply = r.choices[0].message.content or ""
    print(f"redact: reply: {reply}")
    leaked = DEMO_EMAIL in reply or DEMO_KEY in reply
    print("redact: the model never saw the originals" if not leaked else "redact: ORIGINAL VALUES CAME BACK")
    return not leaked


COMMANDS = {"chat": cmd_chat, "stream": cmd_stream, "denied": cmd_denied, "redact": cmd_redact}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=[*COMMANDS, "all"])
    ap.add_argument("--base-url", default=DEFAULT_URL)
    ap.add_argument("--model", default="anthropic/claude-3.5-sonnet")
    ap.add_argument("--denied-model", default="meta-llama/llama-3-8b-instruct:free")
    ap.add_argument("--profile", help="x-data-classification header (default: the policy's default profile)")
    ap.add_argument("--user", help="x-user-id header (the audit record's user)")
    ap.add_argument("--dummy-key", action="store_true", help="send a placeholder key instead of none")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args(argv)
    client, headers = make_client(args)
    names = list(COMMANDS) if args.command == "all" else [args.command]
    ok = True
    for name in names:
        try:
            ok = COMMANDS[name](client, headers, args) and ok
        except openai.APIStatusError as e:
            print(f"{name}: HTTP {e.status_code}: {e.message}")
            ok = False
        except openai.APIConnectionError as e:
            print(f"{name}: cannot reach {args.base_url}: {e} (is `make run` running?)")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
