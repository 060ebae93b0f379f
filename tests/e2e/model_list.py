"""A model list in the shape of OpenRouter's public `GET /api/v1/models` (docs/spend.md, price refresh): every field
the real list carries per model, prices as decimal strings in USD per token (per request, per image), and the id
forms the filter must handle: `author/slug`, `:free` variants listed apart at price "0", a `:nitro` and an
`:extended` variant, routers priced "-1" (variable), and a few hundred more models so the size is realistic."""
from __future__ import annotations

import json
from typing import Any

# (id, prompt, completion, request, image, internal_reasoning, context): USD per token as OpenRouter writes them.
KNOWN: list[tuple[str, str, str, str, str, str, int]] = [
    ("anthropic/claude-3.5-sonnet", "0.000003", "0.000015", "0", "0.0048", "0", 200000),
    ("anthropic/claude-3-haiku", "0.00000025", "0.00000125", "0", "0.0004", "0", 200000),
    ("anthropic/claude-opus-4", "0.000015", "0.000075", "0", "0.024", "0", 200000),
    ("openai/gpt-4o-mini", "0.00000015", "0.0000006", "0", "0.000217", "0", 128000),
    ("openai/gpt-4o", "0.0000025", "0.00001", "0", "0.003613", "0", 128000),
    ("openai/o3", "0.000002", "0.000008", "0", "0.00153", "0.000008", 200000),
    ("google/gemini-2.5-flash", "0.0000003", "0.0000025", "0", "0.001238", "0", 1048576),
    ("meta-llama/llama-3.3-70b-instruct", "0.00000013", "0.0000004", "0", "0", "0", 131072),
    ("meta-llama/llama-3.3-70b-instruct:free", "0", "0", "0", "0", "0", 65536),
    ("meta-llama/llama-3.1-8b-instruct:nitro", "0.00000005", "0.00000008", "0", "0", "0", 131072),
    ("mistralai/mistral-large", "0.000002", "0.000006", "0", "0", "0", 128000),
    ("qwen/qwen2.5-vl-72b-instruct", "0.00000025", "0.00000075", "0", "0", "0", 32000),
    ("deepseek/deepseek-r1", "0.0000004", "0.000002", "0", "0", "0", 163840),
    ("deepseek/deepseek-r1:free", "0", "0", "0", "0", "0", 163840),
    ("perplexity/sonar", "0.000001", "0.000001", "0.005", "0", "0", 127072),
    ("gryphe/mythomax-l2-13b:extended", "0.0000001", "0.0000001", "0", "0", "0", 8192),
]
ROUTERS = ["openrouter/auto", "openrouter/free"]


def entry(model_id: str, prompt: str, completion: str, request: str = "0", image: str = "0",
          internal_reasoning: str = "0", context: int = 131072) -> dict[str, Any]:
    author, slug = model_id.split("/", 1)
    vision = image not in ("0", "-1")
    return {
        "id": model_id,
        "canonical_slug": model_id.split(":")[0] + "-20250101",
        "hugging_face_id": "" if author in ("anthropic", "openai", "google") else f"{author}/{slug.split(':')[0]}",
        "name": f"{author.title()}: {slug}",
        "created": 1735689600,
        "description": f"{slug} by {author}. " + "A general-purpose model with long context. " * 6,
        "context_length": context,
        "architecture": {
            "modality": "text+image->text" if vision else "text->text",
            "input_modalities": ["text", "image"] if vision else ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {"prompt": prompt, "completion": completion, "request": request, "image": image,
                    "web_search": "0", "internal_reasoning": internal_reasoning, "input_cache_read": "0",
                    "input_cache_write": "0"},
        "top_provider": {"context_length": context, "max_completion_tokens": 16384, "is_moderated": False},
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature", "top_p", "stop", "tools", "tool_choice",
                                 "response_format", "seed"],
        "default_parameters": {"temperature": None, "top_p": None, "frequency_penalty": None},
    }


def model_list(overrides: dict[str, tuple[str, str]] | None = None, filler: int = 300) -> dict[str, Any]:
    """The list; `overrides` sets (prompt, completion) of known ids (a price change between two fetches)."""
    over = overrides or {}
    data = []
    for mid, p, c, r, img, ir, ctx in KNOWN:
        p, c = over.get(mid, (p, c))
        data.append(entry(mid, p, c, r, img, ir, ctx))
    data += [entry(r, "-1", "-1", "-1", "-1", "-1", 2000000) for r in ROUTERS]
    # Realistic volume: a few hundred more models with ordinary prices.
    data += [entry(f"vendor{i % 40}/model-{i}", f"0.000000{i % 9 + 1}", f"0.00000{i % 7 + 1}") for i in range(filler)]
    return {"data": data}


def model_list_bytes(overrides: dict[str, tuple[str, str]] | None = None) -> bytes:
    return json.dumps(model_list(overrides)).encode()
