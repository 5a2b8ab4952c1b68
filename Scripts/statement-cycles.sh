#!/usr/bin/env bash
# Statement cycles: what each SQL statement of `dppsync run --once` costs, in CPU cycles (the
# x86 time-stamp counter read around every `sqlite3_step` by a preloaded shim), and how often it
# ran. It names the statements behind SQLite's share of a profile, which callgrind shows only as
# SQLite's own functions (Debian's libsqlite3 keeps few symbols), and it counts cache misses and
# page reads, which instruction counts do not. x86-64 with gcc; the run is a little slower for it.
#
#   bash Scripts/statement-cycles.sh                     # 100,000 work orders, 20,000 components, XML
#   bash Scripts/statement-cycles.sh --work-orders 10000 --format jsonl --top 20
#
# Columns: total cycles (millions), calls, cycles per call, the statement's first 110 characters.
set -euo pipefail
cd "$(dirname "$0")/.."

work_orders=100000; components=20000; format=xml; top=30
source Scripts/workload-root.sh
read_workload_options "$@"

build_tools release

work="$(mktemp -d /tmp/dppsync-cycles.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cat > "$work/shim.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

/* Totals per statement text, written at exit to $DPPSYNC_STATEMENT_CYCLES. */
static struct { const char *sql; unsigned long long calls, cycles; } seen[4096];
static int count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int sqlite3_step(sqlite3_stmt *statement) {
  static int (*step)(sqlite3_stmt *);
  if (!step) step = (int (*)(sqlite3_stmt *))dlsym(RTLD_NEXT, "sqlite3_step");
  unsigned long long start = __rdtsc();
  int result = step(statement);
  unsigned long long cycles = __rdtsc() - start;
  const char *sql = sqlite3_sql(statement);
  if (!sql) return result;
  pthread_mutex_lock(&lock);
  int i = 0;
  while (i < count && seen[i].sql != sql && strcmp(seen[i].sql, sql) != 0) i++;
  if (i == count && count < 4096) { seen[i].sql = strdup(sql); count++; }
  if (i < count) { seen[i].calls++; seen[i].cycles += cycles; }
  pthread_mutex_unlock(&lock);
  return result;
}

__attribute__((destructor)) static void report(void) {
  const char *path = getenv("DPPSYNC_STATEMENT_CYCLES");
  FILE *out = path ? fopen(path, "w") : NULL;
  if (!out) return;
  for (int i = 0; i < count; i++) {
    char text[111];
    snprintf(text, sizeof text, "%s", seen[i].sql);
    for (char *c = text; *c; c++) if (*c == '\n' || *c == '\t') *c = ' ';
    fprintf(out, "%llu\t%llu\t%s\n", seen[i].cycles, seen[i].calls, text);
  }
  fclose(out);
}
C
gcc -O2 -shared -fPIC "$work/shim.c" -o "$work/shim.so" -ldl

root="$work/root"
prepare_root "$bin" "$root" "$components" "$work_orders" "$format" "$work/export"
mv "$work/export" "$EXPORT_FILE"
DPPSYNC_STATEMENT_CYCLES="$work/cycles.tsv" LD_PRELOAD="$work/shim.so" \
  "$bin/dppsync" run --root "$root" --once --stability-window 0 --as-of 2026-01-10 >/dev/null 2>&1 || true

echo "statement cycles: $work_orders work orders ($format), $components components"
printf '%10s %10s %9s  %s\n' "M cycles" calls "per call" statement
sort -t $'\t' -k1,1nr "$work/cycles.tsv" | head -n "$top" \
  | awk -F '\t' '{ printf "%10.0f %10d %9.0f  %s\n", $1 / 1e6, $2, $1 / ($2 ? $2 : 1), $3 }'
