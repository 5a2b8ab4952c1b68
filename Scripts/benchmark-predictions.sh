#!/usr/bin/env bash
# Predictive-alert benchmark: what a pass costs with N stored CAOS predictions. Every pass assesses
# every stored prediction again (answered by work since? which priority now? which ground window?),
# so the cost of a pass with nothing new grows with the predictions a store has kept.
#
#   bash Scripts/benchmark-predictions.sh                          # 20,000 predictions, 20,000 components
#   bash Scripts/benchmark-predictions.sh --predictions 100000
#   bash Scripts/benchmark-predictions.sh --smoke                  # tiny, for CI: proves it runs, times nothing
#   bash Scripts/benchmark-predictions.sh --binary /tmp/dppsync-old   # another dppsync build (same workload)
#
# Rows: the pass that loads the predictions (and decides an alert for each open one), a pass the
# day after with nothing new, and `report predictive` that day. The reference data (registry,
# programme, certifications, ground windows) is loaded first and not timed.
set -euo pipefail

predictions=20000; components=20000; config=release; smoke=0; binary=""
while (($#)); do
  case "$1" in
    --predictions) predictions="$2"; shift 2 ;;
    --components) components="$2"; shift 2 ;;
    --smoke) smoke=1; predictions=200; components=100; config=debug; shift ;;
    --binary) binary="$(realpath "$2")"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
source Scripts/workload-root.sh
start_benchmark "$config" predictions "$binary"
"$bin/dppsync-workload" --root "$root" --components "$components" --work-orders 0 --format none --predictions "$predictions" >/dev/null
mv "$root/Inbox/caos/predictions.json" "$work/predictions.json"
"$dppsync" run --root "$root" --once --stability-window 0 --as-of 2026-01-10 >/dev/null 2>&1 || true
# The reference data's outbox files set aside (moved, not deleted: see `wait_for_inodes`).
mv "$root/Outbox" "$work/outbox-reference" && mkdir "$root/Outbox"
cp "$work/predictions.json" "$root/Inbox/caos/predictions.json"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), build: $config; $predictions predictions on $components components"
printf "| step | wall s | CPU s | peak RSS MB | plan s | files s | alert files | µs per prediction |\n|---|---|---|---|---|---|---|---|\n"
# One timed command: its wall, CPU and RSS, and the plan and file stages of its `--timings`.
measure() {
  local label="$1"; shift
  ((smoke)) || wait_for_inodes "$work"
  timed "$work" "$@"
  python3 - "$label" "$elapsed" "$rss_kb" "$user_s" "$system_s" "$predictions" "$root/Outbox/predictive-alerts" "$work/stderr" <<'PY'
import json, os, sys
label, elapsed, rss, user, system, n, alerts, stderr = sys.argv[1:]
t = next((json.loads(l[8:]) for l in open(stderr) if l.startswith("timings ")), {})
plan = t.get("planSeconds"); files = None if plan is None else t["emitSeconds"] - plan - t["signSeconds"]
fmt = lambda v: "–" if v is None else f"{v:.2f}"
count = len(os.listdir(alerts)) if os.path.isdir(alerts) else 0
print(f"| {label} | {float(elapsed):.2f} | {float(user) + float(system):.2f} | {int(rss) // 1024} | {fmt(plan)} | {fmt(files)} | {count:,} | "
      f"{float(elapsed) * 1e6 / max(1, int(n)):.0f} |")
PY
}
measure "load the predictions (2026-01-10)" "$dppsync" run --root "$root" --once --stability-window 0 --as-of 2026-01-10 --timings
measure "a pass with nothing new (2026-01-11)" "$dppsync" run --root "$root" --once --stability-window 0 --as-of 2026-01-11 --timings
measure "report predictive (2026-01-11)" "$dppsync" report predictive --root "$root" --as-of 2026-01-11 --format json
