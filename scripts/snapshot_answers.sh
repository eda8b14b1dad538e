#!/usr/bin/env bash
# Answer every eval set with batch at k = 1, 5 and 10 (timings stripped) and run eval --failures on each,
# into OUT: run before and after a refactor, then `diff -r BEFORE AFTER` shows every changed answer.
set -uo pipefail
OUT=$(realpath -m "$1"); mkdir -p "$OUT"
cd "$(dirname "$0")/.."
A=.venv/bin/assistant
for set in questions short holdout holdout2 holdout3 holdout4; do
  for k in 1 5 10; do
    $A batch evals/$set.jsonl -k $k -o "$OUT/$set.k$k.jsonl" --force 2>/dev/null  # OUT may hold an earlier snapshot
    .venv/bin/python - "$OUT/$set.k$k.jsonl" <<'PY'
import json, sys
p = sys.argv[1]
rows = [json.loads(l) for l in open(p, encoding="utf-8")]
with open(p, "w", encoding="utf-8") as f:
    for r in rows:
        r.pop("timings_ms", None)
        f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
PY
  done
  $A eval --questions evals/$set.jsonl --failures > "$OUT/$set.eval.txt" 2>&1
done
sed -i -E '/^time a question/d' "$OUT"/*.eval.txt  # latencies differ from run to run
