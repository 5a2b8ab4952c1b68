# Sourced by the benchmark, profile and statement-cycles scripts: the tools built, their workload
# options read, and a dppsync root with a generated workload's reference data (registry,
# programme, certifications) already loaded, and its export set aside.

# Builds dppsync and the workload generator (`release` or `debug`); sets `bin` to their folder.
build_tools() {
  swift build -c "$1" --product dppsync >/dev/null
  swift build -c "$1" --product dppsync-workload >/dev/null
  bin="$(swift build -c "$1" --show-bin-path)"
}

# Reads --work-orders, --components, --format, --top and --part-order into the variables of those
# names (`part_order`), whose defaults the caller sets first; --duplicates, --stale and --conflicts
# (shares of re-sent work orders, the generator's options) into `resends`, which `prepare_root` passes on.
read_workload_options() {
  while (($#)); do
    case "$1" in
      --work-orders) work_orders="$2"; shift 2 ;;
      --components) components="$2"; shift 2 ;;
      --format) format="$2"; shift 2 ;;
      --top) top="$2"; shift 2 ;;
      --part-order) part_order="$2"; shift 2 ;;
      --duplicates|--stale|--conflicts) resends+=("$1" "$2"); shift 2 ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
}

#
#   start_benchmark CONFIG NAME [BINARY]
#
# Builds the tools (`build_tools CONFIG`), sets `dppsync` to BINARY (or the build's), `work` to a new
# /tmp/dppsync-NAME.* folder removed at exit, and `root` to a root in it that the binary timed has
# initialised: an older dppsync may not read a newer one's configuration.
start_benchmark() {
  build_tools "$1"
  dppsync="${3:-$bin/dppsync}"
  work="$(mktemp -d "/tmp/dppsync-$2.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  root="$work/root"
  "$dppsync" init --root "$root" >/dev/null
}

#
#   prepare_root BIN_DIR ROOT COMPONENTS WORK_ORDERS FORMAT SET_ASIDE
#
# Leaves the export at SET_ASIDE and sets EXPORT_FILE to the inbox path it goes back to for the
# measured run; what loading the reference data took is not part of any measurement. The work
# orders take their parts in `$part_order` (the generator's `--part-order`; shuffled if unset), and
# `resends` (the generator's re-send shares, if set) repeat some of them.
prepare_root() {
  local bin="$1" root="$2" components="$3" work_orders="$4" format="$5" set_aside="$6"
  "$bin/dppsync" init --root "$root" >/dev/null
  "$bin/dppsync-workload" --root "$root" --components "$components" --work-orders "$work_orders" --format "$format" \
    --part-order "${part_order:-shuffled}" ${resends[@]+"${resends[@]}"} >/dev/null
  EXPORT_FILE="$(ls "$root"/Inbox/workorders/export.*)"
  mv "$EXPORT_FILE" "$set_aside"
  "$bin/dppsync" run --root "$root" --once --stability-window 0 --as-of 2026-01-10 >/dev/null 2>&1 || true
}

#
#   wait_for_inodes DIR
#
# Waits (up to 6 minutes) until creating files is as fast as usual again. For minutes after many
# files were deleted (a test run's roots, an earlier benchmark's work folder), ext4 skips the freed
# inodes on every create (`recently_deleted`), and a 100k run's outbox files then take seconds
# instead of a second (README). A probe of 1,000 creates in a new folder under DIR takes ~30 ms
# otherwise; it is kept (deleting it would free inodes in turn) and goes with DIR. The wait ends as
# a step (inodes freed together stop being skipped together, 60 or 300 s later), so a probe that is
# no faster than the one before says nothing. A disk still slow after the whole wait is simply
# slower: later calls in the same script take its time as their limit and do not wait again.
wait_for_inodes() {
  local probe start elapsed_ms waited=0 i limit_ms="${INODE_PROBE_LIMIT_MS:-150}"
  while :; do
    probe="$(mktemp -d "$1/inode-probe.XXXXXX")"
    start=$(date +%s%N)
    for ((i = 0; i < 1000; i++)); do : >"$probe/$i"; done
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    ((elapsed_ms < limit_ms)) && break
    if ((waited >= 360)); then
      INODE_PROBE_LIMIT_MS=$((elapsed_ms * 3 / 2 + 1))
      echo "creating files stayed slow for six minutes (1,000 creates took $elapsed_ms ms): taken as this disk's speed" >&2
      break
    fi
    echo "waiting for ext4 to stop skipping freed inodes (1,000 creates took $elapsed_ms ms)" >&2
    sleep 30; waited=$((waited + 30))
  done
}

#
#   timed WORK_DIR COMMAND...
#
# Runs COMMAND under /usr/bin/time, its output to WORK_DIR/stdout and WORK_DIR/stderr, and sets
# `elapsed`, `rss_kb`, `user_s` and `system_s` from time's last line (a command that exits 1 has
# "Command exited with non-zero status 1" before it) and `status`. Exit 1 is a result (records
# that need attention, a verify finding); anything above it (a crash, a configuration error)
# stops the script with the command's messages.
timed() {
  local work="$1"; shift
  status=0
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr" || status=$?
  if ((status > 1)); then echo "$*: exit $status" >&2; cat "$work/stderr" >&2; exit 1; fi
  read -r elapsed rss_kb user_s system_s < <(tail -n 1 "$work/time")
}
