#!/usr/bin/env bash
# Operations benchmark: what the commands people and the watcher run between nights cost on a
# store that has taken a large night. The nightly run itself is Scripts/benchmark.sh's; here it
# only fills the store (and is timed for scale). Then, on that store: the watcher's passes with
# nothing new (the same day: the plan is skipped; the next day: it is made), `status`, the review
# queue, the reports an auditor asks for, and the ledger's commands, `ledger verify` last.
#
#   bash Scripts/benchmark-operations.sh                       # 100,000 work orders, 20,000 components
#   bash Scripts/benchmark-operations.sh --work-orders 20000 --components 5000
#   bash Scripts/benchmark-operations.sh --binary /tmp/dppsync-old   # another dppsync build, same store
#   bash Scripts/benchmark-operations.sh --smoke               # tiny, for CI: proves it runs, times nothing
#
# The export re-sends some work orders (2 % duplicates, 1 % stale, 1 % conflicting: the conflicts
# wait in the review queue); --duplicates, --stale and --conflicts each change their share.
set -euo pipefail
cd "$(dirname "$0")/.."

work_orders=100000; components=20000; format=xml; config=release; smoke=0; binary=""
duplicates=0.02; stale=0.01; conflicts=0.01
while (($#)); do
  case "$1" in
    --smoke) smoke=1; work_orders=300; components=100; config=debug; shift ;;
    --binary|--work-orders|--components|--format|--duplicates|--stale|--conflicts)
      (($# >= 2)) || { echo "$1 needs a value" >&2; exit 2; }
      case "$1" in
        --binary) binary="$(realpath "$2")" ;;
        --work-orders) work_orders="$2" ;;
        --components) components="$2" ;;
        --format) format="$2" ;;
        --duplicates) duplicates="$2" ;;
        --stale) stale="$2" ;;
        --conflicts) conflicts="$2" ;;
      esac
      shift 2 ;;
    *) echo "unknown option $1 (--work-orders, --components, --format, --duplicates, --stale, --conflicts, --binary, --smoke)" >&2; exit 2 ;;
  esac
done
resends=(--duplicates "$duplicates" --stale "$stale" --conflicts "$conflicts")
source Scripts/workload-root.sh

start_benchmark "$config" operations "$binary"
prepare_root "$bin" "$root" "$components" "$work_orders" "$format" "$work/export"
mv "$work/export" "$EXPORT_FILE"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), build: $config; $work_orders work orders ($format, ${resends[*]:-no re-sends}) on $components components"
printf "| command | wall s | CPU s | peak RSS MB | exit | what it did |\n|---|---|---|---|---|---|\n"
# One timed command and a row for it; `said` is the part of its output the last column shows.
measure() {
  local label="$1" said="$2"; shift 2
  ((smoke)) || wait_for_inodes "$work"
  timed "$work" "$@"
  local what
  what="$( (eval "$said" || echo "?") | tr '\n|' ' /' | cut -c1-90)"
  printf "| %s | %.2f | %.2f | %d | %d | %s |\n" "$label" "$elapsed" "$(python3 -c "print($user_s + $system_s)")" \
    $((rss_kb / 1024)) "$status" "$what"
}
timings() {
  sed -n 's/^timings //p' "$work/stderr" | python3 -c 'import json, sys; t = json.load(sys.stdin)
print("{:,} records, plan {:.2f} s, plans skipped {}".format(t["records"], t["planSeconds"], t["plansSkipped"]))'
}
sql() { sqlite3 "$root/State/dppsync.sqlite" "$1"; }

measure "run --once: the night (for scale)" timings \
  "$dppsync" run --root "$root" --once --stability-window 0 --as-of 2026-01-10 --timings
measure "run --once: nothing new, same day" timings \
  "$dppsync" run --root "$root" --once --stability-window 0 --as-of 2026-01-10 --timings
measure "run --once: nothing new, next day" timings \
  "$dppsync" run --root "$root" --once --stability-window 0 --as-of 2026-01-11 --timings
measure "status" "grep -i -m1 'review' $work/stdout" \
  "$dppsync" status --root "$root"
measure "review list" "echo \$(grep -c . $work/stdout) lines" \
  "$dppsync" review list --root "$root"
item=$(sql "SELECT MIN(id) FROM review_item WHERE status = 'open'")
if [ -n "$item" ]; then
  measure "review show $item" "head -n 1 $work/stdout" \
    "$dppsync" review show "$item" --root "$root"
fi
batch=$(sql "SELECT MAX(id) FROM batch")
measure "report reconciliation (batch $batch)" "echo \$(wc -c <$work/stdout) bytes of JSON" \
  "$dppsync" report reconciliation --root "$root" --batch "$batch" --format json
measure "report compliance (October 2025)" "echo \$(wc -c <$work/stdout) bytes of JSON" \
  "$dppsync" report compliance --root "$root" --from 2025-10-01 --to 2025-10-31 --format json
asset=$(sql "SELECT dpp_id FROM work_order ORDER BY work_order_id LIMIT 1")
measure "ledger show --asset $asset" "echo \$(grep -c . $work/stdout) lines" \
  "$dppsync" ledger show --root "$root" --asset "$asset"
size=$(sql "SELECT MAX(seq) FROM ledger_entry")
measure "ledger proof $((size / 2))" "echo \$(wc -c <$work/stdout) bytes of JSON" \
  "$dppsync" ledger proof --root "$root" $((size / 2))
measure "ledger checkpoint" "echo tree size \$(sed -n 2p $work/stdout)" \
  "$dppsync" ledger checkpoint --root "$root"
measure "ledger verify ($size entries)" "tail -n 2 $work/stdout" \
  "$dppsync" ledger verify --root "$root"
if ((smoke)); then
  # A verify that finds anything on the store the benchmark built is a failure, not a figure.
  grep -q "ledger OK" "$work/stdout" || { echo "smoke: ledger verify did not say OK" >&2; cat "$work/stdout" >&2; exit 1; }
fi
