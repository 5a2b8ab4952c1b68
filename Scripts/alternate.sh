#!/usr/bin/env bash
# Alternating runs: two dppsync binaries timed on one generated workload, before and after in
# turn, each run on a fresh copy of a root whose reference data its own binary loaded (as
# benchmark.sh prepares one). This host's speed moves by a fifth within an hour, so a change is
# judged run for run against the binary it replaces, not against a table from another hour.
#
#   bash Scripts/alternate.sh BEFORE AFTER       # two dppsync binaries; 3 rounds of 100k XML work orders
#   bash Scripts/alternate.sh BEFORE AFTER --rounds 5 --work-orders 10000 --format jsonl
#   bash Scripts/alternate.sh BEFORE AFTER --part-order sequential   # parts in registry order
#   bash Scripts/alternate.sh BEFORE AFTER --work-orders 30000 --duplicates 0.1 --stale 0.05 --conflicts 0.02   # one in six re-sent
#
# Prints each run's wall, user and system seconds, peak RSS and when in the run it was reached
# (RSS sampled every 0.2 s: in the file, or in the tail that writes the outbox and the report),
# the deciding thread's file phase (reconcile + commit), the emit stage (the outbox decided and
# written after the file) and the decoding thread's look-ahead of parts, then each side's median
# wall and CPU time. The side that runs first alternates from round to round.
set -euo pipefail
cd "$(dirname "$0")/.."

if (($# < 2)) || [ ! -x "$1" ] || [ ! -x "$2" ]; then sed -n 2,16p "$0" >&2; exit 2; fi
before="$(realpath "$1")"; after="$(realpath "$2")"; shift 2
rounds=3; work_orders=100000; components=20000; format=xml; top=0
options=()
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    *) options+=("$1"); shift ;;
  esac
done
source Scripts/workload-root.sh
read_workload_options ${options[@]+"${options[@]}"}
build_tools release  # the workload generator

work="$(mktemp -d /tmp/dppsync-alternate.XXXXXX)"
trap 'rm -rf "$work"' EXIT
for side in before after; do
  mkdir "$work/$side-bin"
  ln -s "${!side}" "$work/$side-bin/dppsync"
  ln -s "$(realpath "$bin/dppsync-workload")" "$work/$side-bin/dppsync-workload"
  prepare_root "$work/$side-bin" "$work/$side-root" "$components" "$work_orders" "$format" "$work/export"
  # The reference data's outbox files stay out of the copies (tens of thousands of small files).
  mv "$work/$side-root/Outbox" "$work/$side-outbox" && mkdir "$work/$side-root/Outbox"
done
export_path="${EXPORT_FILE#"$work/after-root/"}"

# Waits for the timed run (the pid of `/usr/bin/time`) while sampling its dppsync's resident
# memory; prints when the largest sample was taken, in seconds from the start.
sample_peak() {
  local timer="$1" pid="" start peak=0 peak_ms=0 rss
  start=$(date +%s%N)
  while kill -0 "$timer" 2>/dev/null; do
    [ -z "$pid" ] && pid=$(pgrep -P "$timer" || true)
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/${pid:-0}/status" 2>/dev/null || true)
    if [ -n "$rss" ] && ((rss > peak)); then
      peak=$rss; peak_ms=$((($(date +%s%N) - start) / 1000000))
    fi
    sleep 0.2
  done
  wait "$timer" || true
  printf "%d.%d\n" $((peak_ms / 1000)) $((peak_ms % 1000 / 100))
}

echo "$work_orders work orders ($format), $components components; before: $before; after: $after"
printf "%-6s %5s %8s %8s %8s %8s %8s %10s %6s %6s\n" side round wall user system "RSS MB" "peak at" "file phase" emit ahead
for ((round = 1; round <= rounds; round++)); do
  # The side that goes first alternates too: the first run of a set pays ext4's wait for inodes
  # freed minutes before (README), and the run after a large file's copy finds a busier page cache.
  sides="before after"; ((round % 2 == 0)) && sides="after before"
  for side in $sides; do
    copy="$work/run-$side-$round"
    cp -r "$work/$side-root" "$copy"
    cp "$work/export" "$copy/$export_path"
    sync
    wait_for_inodes "$work"
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$work/$side-bin/dppsync" run --root "$copy" --once \
      --stability-window 0 --as-of 2026-01-10 --timings >/dev/null 2>"$work/stderr" &
    peak_at=$(sample_peak $!)
    read -r wall user system rss_kb < <(tail -n 1 "$work/time")  # after "Command exited with non-zero status 1" (held records)
    read -r file_phase emit ahead < <(sed -n 's/^timings //p' "$work/stderr" | python3 -c \
      'import json, sys; t = json.load(sys.stdin); print("%.2f %.2f %.2f" % (t["reconcileSeconds"] + t["commitSeconds"], t["emitSeconds"], t.get("prefetchSeconds", 0)))')
    printf "%-6s %5d %8.2f %8.2f %8.2f %8.0f %8s %10s %6s %6s\n" "$side" "$round" "$wall" "$user" "$system" "$((rss_kb / 1024))" "$peak_at" "$file_phase" "$emit" "$ahead"
    echo "$side $wall $user $system" >>"$work/walls"
    # The large files go now (the store, and the export wherever the run left it: at a million
    # work orders each run's archived copy is 2.2 GB), the copy's small ones at exit (ext4 is slow
    # to create files while inodes freed minutes ago are skipped).
    rm -f "$copy/State/"dppsync.sqlite* "$copy/$export_path"
    find "$copy/Archive" "$copy/Quarantine" -type f -name "$(basename "$export_path")" -delete 2>/dev/null || true
  done
done
python3 - "$work/walls" <<'PY'
import statistics, sys
walls, cpus = {}, {}
for line in open(sys.argv[1]):
    side, wall, user, system = line.split()
    walls.setdefault(side, []).append(float(wall))
    cpus.setdefault(side, []).append(float(user) + float(system))
for name, runs in (("wall", walls), ("CPU (user + system)", cpus)):
    before, after = statistics.median(runs["before"]), statistics.median(runs["after"])
    print(f"median {name}: before {before:.2f} s, after {after:.2f} s ({(after - before) / before * 100:+.1f} %)")
PY
