#!/usr/bin/env bash
# The four calls of examples/openai_client.py with curl, through openrouter-guard (Envoy on 127.0.0.1:10000).
#
#   examples/curl.sh chat | stream | denied | redact | all
#
# GUARD_URL (default http://127.0.0.1:10000/api/v1), MODEL, DENIED_MODEL, PROFILE (x-data-classification),
# USER_ID (x-user-id). With credential injection (`OPENROUTER_API_KEY=... make run`) Envoy adds the key and this
# script sends none; if OPENROUTER_API_KEY is set here it is sent (Envoy without injection).
# Exit status: 0 when every call behaved as expected (the denied one must be refused with 403).
set -euo pipefail

GUARD_URL=${GUARD_URL:-http://127.0.0.1:10000/api/v1}
MODEL=${MODEL:-anthropic/claude-3.5-sonnet}
DENIED_MODEL=${DENIED_MODEL:-meta-llama/llama-3-8b-instruct:free}
DEMO_EMAIL=jane.doe@example.com
DEMO_KEY=sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

headers=(-H 'content-type: application/json')
[[ -n ${PROFILE:-} ]] && headers+=(-H "x-data-classification: $PROFILE")
[[ -n ${USER_ID:-} ]] && headers+=(-H "x-user-id: $USER_ID")
# The key goes in a header file read by curl (-H @file), not on the command line where `ps` would show it.
if [[ -n ${OPENROUTER_API_KEY:-} ]]; then
  keyfile=$(mktemp)
  trap 'rm -f "$keyfile"' EXIT
  printf 'Authorization: Bearer %s\n' "$OPENROUTER_API_KEY" >"$keyfile"
  headers+=(-H "@$keyfile")
fi

# post BODY [curl options...]: prints the response body, then a line "HTTP <status>".
post() {
  local body=$1
  shift
  curl -sS "$@" "${headers[@]}" -d "$body" -w '\nHTTP %{http_code}\n' "$GUARD_URL/chat/completions"
}

chat() {
  echo "== chat"
  out=$(post "{\"model\":\"$MODEL\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"Say hello in five words.\"}]}")
  echo "$out"
  [[ $out == *"HTTP 200" ]]
}

stream() {
  echo "== stream (server-sent events, printed as they arrive)"
  out=$(post "{\"model\":\"$MODEL\",\"max_tokens\":50,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Count from one to five.\"}]}" -N)
  echo "$out"
  [[ $out == *"data: [DONE]"* && $out == *"HTTP 200" ]]
}

denied() {
  echo "== denied ($DENIED_MODEL)"
  out=$(post "{\"model\":\"$DENIED_MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}")
  echo "$out"
  [[ $out == *'"reason":"model_denied"'* && $out == *"HTTP 403" ]]
}

redact() {
  echo "== redact (the filter replaces the e-mail and the key before the request leaves Envoy)"
  out=$(post "{\"model\":\"$MODEL\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"Repeat this line exactly: mail $DEMO_EMAIL the new key $DEMO_KEY\"}]}")
  echo "$out"
  [[ $out == *"HTTP 200" && $out != *"$DEMO_EMAIL"* && $out != *"$DEMO_KEY"* ]]
}

cmd=${1:-all}
case $cmd in
  chat | stream | denied | redact) "$cmd" ;;
  all)
    rc=0
    for c in chat stream denied redact; do
      "$c" || { echo "!! $c did not behave as expected"; rc=1; }
    done
    exit $rc
    ;;
  *)
    echo "usage: $0 chat|stream|denied|redact|all" >&2
    exit 2
    ;;
esac
