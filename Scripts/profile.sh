#!/usr/bin/env bash
# Profile: counts the instructions of `dppsync run --once` on a generated export with
# valgrind's callgrind. Instruction counts repeat from run to run on a noisy machine where
# wall-clock time does not, so this is how a change to the hot path is judged before the
# benchmark (Scripts/benchmark.sh) confirms it.
#
#   bash Scripts/profile.sh                                # 5,000 work orders, 2,000 components, XML
#   bash Scripts/profile.sh --work-orders 2000 --format jsonl
#
# Prints the functions with the largest inclusive counts and leaves the callgrind file for
# `callgrind_annotate --inclusive=yes --tree=calling FILE | swift demangle --simplified`.
set -euo pipefail
cd "$(dirname "$0")/.."

work_orders=5000; components=2000; format=xml; top=60
source Scripts/workload-root.sh
read_workload_options "$@"

if ! command -v valgrind >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq valgrind >/dev/null
fi

build_tools release

work="$(mktemp -d /tmp/dppsync-profile.XXXXXX)"
root="$work/root"
# Reference data first (registry, programme, certifications): not profiled.
prepare_root "$bin" "$root" "$components" "$work_orders" "$format" "$work/export"
mv "$work/export" "$EXPORT_FILE"

# Valgrind 3.19 cannot read the DWARF 5 debug information Swift 6 writes; symbols are enough.
cp "$bin/dppsync" "$work/dppsync"
strip --strip-debug "$work/dppsync"
out="$work/callgrind.out"
# Swift seeds its hashing per process: fixed, two runs of one binary count the same to a few per
# mille (what is left is malloc under two threads); random, dictionaries and sets made them drift.
SWIFT_DETERMINISTIC_HASHING=1 valgrind --tool=callgrind --callgrind-out-file="$out" \
  "$work/dppsync" run --root "$root" --once --stability-window 0 --as-of 2026-01-10 >/dev/null 2>&1 || true

echo "callgrind: $work_orders work orders ($format), $components components; file: $out"
callgrind_annotate --inclusive=yes "$out" 2>/dev/null | swift demangle --simplified \
  | grep -E "PROGRAM TOTALS|\[.*(dppsync|libsqlite3|libdeflate|libxml2)" | grep -v "partial apply\|thunk for\|^.*???:0x" \
  | head -n "$top" | cut -c1-180
rm -rf "$root" "$work/dppsync"
