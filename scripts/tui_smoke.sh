#!/usr/bin/env bash
# Real-terminal smoke test of the TUI: runs `assistant` in a detached tmux session,
# asks one Chinese and one English question with send-keys, and checks that each
# answer shows a paragraph citation ref. Saves the screens to docs/tui-capture-{zh,en}.txt.
# Then at 80x24 (issue #15): the labels keep the language chosen with `l`, the evidence
# pane shows its cited paragraph, the status line ends in its language tag, `?` in the
# empty input opens the help, and a toast stays on the last row. Saves docs/tui-capture-80x24.txt.
#
# Needs the real index (`assistant index`) and model (`assistant models fetch`);
# ASSISTANT_INDEX / ASSISTANT_CORPUS / ASSISTANT_MODEL are passed on to the app.
# Exits 0 with "skipped" when tmux is not installed; non-zero (printing the last
# screen) on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
READY_TIMEOUT="${READY_TIMEOUT:-240}"   # seconds to load the model and index
ANSWER_TIMEOUT="${ANSWER_TIMEOUT:-90}"  # seconds per question
REF='[a-z-]+-([0-9]{4}|nd):p[0-9]+'

if ! command -v tmux >/dev/null 2>&1; then
  echo "tui_smoke: skipped: tmux not installed"
  exit 0
fi
if [[ ! -x "$VENV/bin/assistant" ]]; then
  echo "tui_smoke: $VENV/bin/assistant not found; run scripts/setup.sh --install" >&2
  exit 1
fi

# A private tmux server (-L) so the test never touches the user's own sessions.
SOCK="assistant-smoke-$$"
SESSION="smoke"  # the session wait_for, ask and screen act on
tmx() { tmux -L "$SOCK" "$@"; }
cleanup() { tmx kill-server >/dev/null 2>&1 || true; }
trap cleanup EXIT

screen() { tmx capture-pane -p -t "$SESSION" 2>/dev/null || true; }

fail() {
  echo "tui_smoke: FAIL: $1" >&2
  echo "----- last screen -----" >&2
  printf '%s\n' "${LAST:-<no screen captured>}" >&2
  exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll the screen into $LAST until COMMAND succeeds on it.
wait_for() {
  local seconds="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    if ! tmx has-session -t "$SESSION" 2>/dev/null; then
      fail "the app exited while waiting for $what"
    fi
    LAST="$(screen)"
    if grep -Eq "cannot start|无法启动" <<<"$LAST"; then
      fail "the app shows a start-up error"
    fi
    if "$@" <<<"$LAST"; then
      return 0
    fi
    sleep 0.5
  done
  fail "timed out after ${seconds}s waiting for $what"
}

is_ready() { grep -Eq "● (ready|就绪)" ; }

# answered QUESTION: the screen shows the answer to QUESTION, with a citation ref, and is idle.
answered() {
  local text
  text="$(cat)"
  grep -Fq "› $1" <<<"$text" && grep -Eq "$REF" <<<"$text" && grep -Eq "● (ready|就绪)" <<<"$text"
}

ask() {
  local question="$1" out="$2"
  # Ctrl+L clears the screen and focuses the question box wherever focus is (after an
  # answer it is on the citations); -l sends the question literally, CJK and "?" included.
  tmx send-keys -t "$SESSION" C-l
  sleep 0.3
  tmx send-keys -t "$SESSION" -l "$question"
  sleep 0.3
  tmx send-keys -t "$SESSION" Enter
  wait_for "$ANSWER_TIMEOUT" "the answer to: $question" answered "$question"
  grep -Eo "$REF" <<<"$LAST" | head -n 1 | sed 's/^/tui_smoke: cited /'
  if [[ "$out" != - ]]; then
    printf '%s\n' "$LAST" >"$out"
    echo "tui_smoke: saved $out"
  fi
}

LAST=""
# Pass the index/corpus/model overrides through explicitly: the tmux server's environment
# is only a snapshot of ours.
ENVS=(LANG=C.UTF-8 LC_ALL=C.UTF-8)
for var in ASSISTANT_INDEX ASSISTANT_CORPUS ASSISTANT_MODEL ASSISTANT_MIN_SCORE ASSISTANT_CACHE HF_HOME; do
  if [[ -n "${!var:-}" ]]; then ENVS+=("$var=${!var}"); fi
done
tmx new-session -d -s "$SESSION" -x 120 -y 40 "env $(printf '%q ' "${ENVS[@]}") $VENV/bin/assistant"
tmx set-option -t "$SESSION" remain-on-exit off >/dev/null
wait_for "$READY_TIMEOUT" "the index and model to load" is_ready
echo "tui_smoke: ready"

mkdir -p docs
ask "什么是负向一体化？" docs/tui-capture-zh.txt
ask "What does negative integration mean?" docs/tui-capture-en.txt

# q quits when the input is not focused (focus is on the answer now).
tmx send-keys -t "$SESSION" q
for _ in $(seq 1 20); do
  tmx has-session -t "$SESSION" 2>/dev/null || break
  sleep 0.25
done
if tmx has-session -t "$SESSION" 2>/dev/null; then
  LAST="$(screen)"
  fail "q did not quit the app"
fi

# ---- 80x24 (issue #15)
SESSION="small"
tmx new-session -d -s "$SESSION" -x 80 -y 24 "env $(printf '%q ' "${ENVS[@]}") $VENV/bin/assistant"
tmx set-option -t "$SESSION" remain-on-exit off >/dev/null
wait_for "$READY_TIMEOUT" "the index and model to load at 80x24" is_ready

ask "什么是相互认可？" -
tmx send-keys -t "$SESSION" l  # focus is on the answer: l switches the labels to English
wait_for 5 "English labels" grep -q "─Answer"
sleep 2.5  # let the "Labels in English" toast expire
ask "相互认可制度下产品能否自由流通？" -
grep -q "─Answer" <<<"$LAST" || fail "a Chinese question switched the labels back from the chosen English"
ref="$(grep -Eo "Evidence · $REF" <<<"$LAST" | head -n 1 | sed 's/^Evidence · //')"
[[ -n "$ref" ]] || fail "no evidence pane title with a ref"
grep -q "▌ $ref" <<<"$LAST" || fail "the evidence pane does not show the cited paragraph $ref"
sed -n '23p' <<<"$LAST" | grep -Eq " ms · EN *$" || fail "the status line is cut at 80 columns"
echo "tui_smoke: 80x24 shows $ref in the evidence pane"

tmx send-keys -t "$SESSION" Escape  # idle: back to the input, which is empty
sleep 0.3
tmx send-keys -t "$SESSION" "?"
wait_for 5 "? to open the help from the empty input" grep -q "─ Keys ─"
tmx send-keys -t "$SESSION" Escape
wait_for 5 "the help to close" grep -q "─Answer"

tmx send-keys -t "$SESSION" Tab  # to the answer (on its own: y sent with it may reach the input first)
sleep 0.3
tmx send-keys -t "$SESSION" y  # copy the citation
wait_for 5 "the copy toast" grep -q "Copied $ref"
sed -n '24p' <<<"$LAST" | grep -q "Copied $ref" || fail "the toast is not on the last row"
grep -q "▌ $ref" <<<"$LAST" || fail "the toast covers the evidence"
printf '%s\n' "$LAST" >docs/tui-capture-80x24.txt
echo "tui_smoke: saved docs/tui-capture-80x24.txt"
tmx send-keys -t "$SESSION" q

echo "tui_smoke: ok"
