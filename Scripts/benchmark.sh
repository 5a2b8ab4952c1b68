#!/usr/bin/env bash
# Benchmark: the real pipeline (`dppsync run --once`, release build) on generated
# Maximo-style XML and JSON Lines exports, with per-stage timings, records/s, CPU time,
# MB/s and peak RSS, next to the machine's floor measured in the same run:
# libxml2 streaming read of the same file (`xmllint --stream`) and SQLite
# inserting the rows dppsync wrote for it (same schema and indexes, one transaction).
#
#   bash Scripts/benchmark.sh                      # M = 10k and 100k work orders, 20k components
#   bash Scripts/benchmark.sh --sizes "10000 100000 1000000"
#   bash Scripts/benchmark.sh --smoke              # tiny, for CI: proves it runs, times nothing
#   bash Scripts/benchmark.sh --part-order sequential   # parts taken in registry order (rounds 1-12)
#   bash Scripts/benchmark.sh --sizes 100000 --formats xml --invalid 1.0   # every record rejected (quarantine extracts)
set -euo pipefail
cd "$(dirname "$0")/.."

sizes="10000 100000"; components=20000; formats="xml jsonl"; smoke=0; config=release; part_order=shuffled
while (($#)); do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --components) components="$2"; shift 2 ;;
    --formats) formats="$2"; shift 2 ;;
    --part-order) part_order="$2"; shift 2 ;;
    --invalid) resends=(--invalid "$2"); shift 2 ;;  # the generator's share of invalid records (prepare_root passes it on)
    --smoke) smoke=1; sizes="300"; components=100; config=debug; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in libsqlite3-dev libxml2-dev libdeflate-dev libxml2-utils sqlite3 time; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

source Scripts/workload-root.sh
build_tools "$config"

work="$(mktemp -d /tmp/dppsync-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), build: $config"
printf "| format | work orders | MB | end to end s | WO/s | MB/s | peak RSS MB | CPU s (µs/WO) | decode ‖ | map ‖ | parts ahead ‖ | reconcile | commit: rows + ledger + outcomes + durable | emit: plan + sign + files | report ‖ | floor s (parse + SQLite) | × floor |\n"
printf "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
for format in $formats; do
  for m in $sizes; do
    root="$work/$format-$m"
    # Reference data first (registry, programme, certifications): not timed.
    prepare_root "$bin" "$root" "$components" "$m" "$format" "$work/export.$format"
    export_file="$EXPORT_FILE"
    # Set the reference data's outbox files aside (a move, not a delete: ext4 without a journal
    # skips inodes freed in the last minutes, which would slow the timed run's file creation).
    mv "$root/Outbox" "$work/outbox-$format-$m" && mkdir "$root/Outbox"
    cp "$work/export.$format" "$export_file"
    export_copy="$work/export.$format"
    bytes=$(stat -c %s "$export_file")
    ((smoke)) || wait_for_inodes "$work"
    /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$bin/dppsync" run --root "$root" --once --stability-window 0 --as-of 2026-01-10 --timings \
      >/dev/null 2>"$work/stderr" || true
    read -r elapsed rss_kb user_s system_s < <(tail -n 1 "$work/time")  # after "Command exited with non-zero status 1" (held records)
    timings=$(grep '^timings ' "$work/stderr" | sed 's/^timings //')
    # The floor: parsing the same file with libxml2, and SQLite inserting the rows dppsync wrote for it.
    parse_s=0
    if [ "$format" = xml ]; then
      start=$(date +%s.%N); xmllint --stream --noout "$export_copy"; end=$(date +%s.%N)
      parse_s=$(python3 -c "print($end - $start)")
    else
      start=$(date +%s.%N); python3 -c "
import sys
n = 0
for line in open(sys.argv[1], 'rb'): n += 1
" "$export_copy"; end=$(date +%s.%N)
      parse_s=$(python3 -c "print($end - $start)")
    fi
    sqlite3 "$root/State/dppsync.sqlite" .schema | grep -v '^CREATE TABLE sqlite_' >"$work/schema.sql"
    rm -f "$work/floor.sqlite"
    # Same page size as the store (16 KB for a store dppsync created).
    page_size=$(sqlite3 "$root/State/dppsync.sqlite" "PRAGMA page_size")
    { echo "PRAGMA page_size = $page_size;"; cat "$work/schema.sql"; } | sqlite3 "$work/floor.sqlite"
    batch=$(sqlite3 "$root/State/dppsync.sqlite" "SELECT MAX(id) FROM batch")
    start=$(date +%s.%N)
    sqlite3 "$work/floor.sqlite" >/dev/null <<SQL
PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
ATTACH '$root/State/dppsync.sqlite' AS src;
BEGIN;
INSERT INTO main.ledger_entry SELECT * FROM src.ledger_entry WHERE batch_id = $batch;
INSERT INTO main.record_outcome SELECT * FROM src.record_outcome WHERE batch_id = $batch;
INSERT INTO main.work_order SELECT * FROM src.work_order;
INSERT INTO main.work_order_part SELECT * FROM src.work_order_part;
INSERT INTO main.work_order_labor SELECT * FROM src.work_order_labor;
INSERT INTO main.work_order_test SELECT * FROM src.work_order_test;
INSERT INTO main.installation SELECT * FROM src.installation;
INSERT INTO main.ledger_subject SELECT * FROM src.ledger_subject;
INSERT INTO main.outbox_queue SELECT q.* FROM src.outbox_queue q JOIN src.ledger_entry l ON l.seq = q.ledger_seq WHERE l.batch_id = $batch;
INSERT INTO main.outbox_message SELECT m.* FROM src.outbox_message m JOIN main.outbox_queue q ON q.message_id = m.message_id;
COMMIT;
SQL
    end=$(date +%s.%N)
    sqlite_s=$(python3 -c "print($end - $start)")
    python3 - "$format" "$m" "$bytes" "$elapsed" "$rss_kb" "$user_s" "$system_s" "$parse_s" "$sqlite_s" "$timings" "$work/rows.jsonl" <<'PY'
import json, sys
f, m, b, e, rss, user, system, p, q, t, rows = sys.argv[1:]
m, b, e, rss, p, q, t = int(m), int(b), float(e), int(rss), float(p), float(q), json.loads(t)
with open(rows, "a") as out:
    out.write(json.dumps({"format": f, "m": m, "wall": e, "cpu": float(user) + float(system), "rss": rss, "floor": p + q, "stages": t}) + "\n")
cpu = float(user) + float(system)  # both cores' work: on two busy cores the wall time is at least half of it
s = lambda name: t[name + "Seconds"]
floor = p + q
files = s("emit") - s("plan") - s("sign")
other = s("commit") - s("rows") - s("ledger") - s("outcomes") - s("durable")
print(f"| {f} | {m:,} | {b/1e6:.0f} | {e:.2f} | {m/e:,.0f} | {b/1e6/e:.1f} | {rss/1024:.0f} | {cpu:.2f} ({cpu / m * 1e6:,.0f}) | {s('decode'):.2f} | {s('map'):.2f} | {s('prefetch'):.2f} | {s('reconcile'):.2f} | "
      f"{s('commit'):.2f}: {s('rows'):.2f} + {s('ledger'):.2f} + {s('outcomes'):.2f} + {s('durable'):.2f} | "
      f"{s('emit'):.2f}: {s('plan'):.2f} + {s('sign'):.2f} + {files:.2f} | {s('report'):.2f} | {floor:.2f} ({p:.2f} + {q:.2f}) | {e/floor:.1f} |")
PY
    if ((smoke)); then
      grep -q '"records"' <<<"$timings" || { echo "smoke: no timings" >&2; exit 1; }
      outcomes=$(sqlite3 "$root/State/dppsync.sqlite" "SELECT COUNT(*) FROM record_outcome WHERE batch_id = $batch AND outcome IN ('applied', 'rejected')")
      [ "$outcomes" -ge "$m" ] || { echo "smoke: only $outcomes of $m work orders applied or rejected" >&2; exit 1; }
      rejected=$(sqlite3 "$root/State/dppsync.sqlite" "SELECT COUNT(*) FROM record_outcome WHERE batch_id = $batch AND outcome = 'rejected'")
      extracts=0
      [ ! -d "$root/Quarantine/workorders" ] || extracts=$(find "$root/Quarantine/workorders" -name '*.reason.json' | wc -l)
      [ "$extracts" -eq "$rejected" ] || { echo "smoke: $rejected records rejected, $extracts quarantine extracts" >&2; exit 1; }
      [ -n "${resends[*]:-}" ] || [ "$rejected" -eq 0 ] || { echo "smoke: $rejected records rejected without --invalid" >&2; exit 1; }
    fi
    if [ -n "${KEEP_ROOT:-}" ]; then cp -r "$root" "$KEEP_ROOT-$format-$m"; fi
    # Roots are removed at exit: a tree of thousands of files deleted just before the next
    # run makes ext4 skip the recently freed inodes while that run creates its outbox files.
    rm -f "$export_copy"
  done
done

# How the cost per work order changes with the export's size (it must grow linearly, not worse):
# each size against the smallest, next to the floor's own change on the same rows.
((smoke)) || python3 - "$work/rows.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
for f in dict.fromkeys(r["format"] for r in rows):
    runs = sorted((r for r in rows if r["format"] == f), key=lambda r: r["m"])
    if len(runs) < 2:
        continue
    per = lambda r, key: r[key] / r["m"] * 1e6
    stage = lambda r, name: r["stages"][name + "Seconds"] / r["m"] * 1e6
    sizes = " → ".join(f"{r['m']:,}" for r in runs)
    line = lambda label, values: f"  {label}: " + " → ".join(f"{v:,.0f}" for v in values) + f" (×{values[-1] / values[0]:.2f})"
    print(f"\nscaling, {f}, µs per work order, {sizes} work orders:")
    print(line("end to end", [per(r, "wall") for r in runs]))
    print(line("CPU", [per(r, "cpu") for r in runs]))
    print(line("reconcile + commit", [stage(r, "reconcile") + stage(r, "commit") for r in runs]))
    print(line("floor (parse + SQLite)", [per(r, "floor") for r in runs]))
    print("  peak RSS MB: " + " → ".join(f"{r['rss'] / 1024:.0f}" for r in runs))
PY
