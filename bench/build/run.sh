#!/usr/bin/env bash
# Benchmark of `spec validate` + `spec build` (and `spec apply` into
# MariaDB and PostgreSQL) over a synthetic corpus: N connectors x 20
# actions x 15 fields with nested groups (bench/build/gen_corpus.py).
# A benchmark, not a test: for each step it prints wall time, peak memory
# (RSS) and CPU time, each wall time as a ratio to a baseline measured in
# the same run (reading the corpus: `cat` of every file), and how time and
# memory grow per connector relative to the first N (1.0 = linear).
#
#   bench/build/run.sh [N...]        # default: 100 1000; e.g. 100 1000 10000
#   SPEC_BENCH_BIN=path/to/spec bench/build/run.sh ...   # another build, e.g. an older one
#
# Build steps: a fresh output directory on disk, the same directory again
# (up to date: compared, nothing written), and a fresh one on tmpfs.
# Apply steps use SPEC_BENCH_MYSQL_URL / SPEC_BENCH_POSTGRES_URL (a server
# URL without a database; defaults: the local services), are skipped when
# the server is unreachable, and run only up to SPEC_BENCH_APPLY_MAX_N
# connectors (default 1000: 10,000 connectors are 2.9 million rows).
# Disk: about 60 MB of YAML and 430 MB of output per 1,000 connectors.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
if [ -n "${SPEC_BENCH_BIN:-}" ]; then
  spec="$SPEC_BENCH_BIN"
else
  cargo build --release -q
  spec="$CARGO_TARGET_DIR/release/spec"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mysql_url="${SPEC_BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
pg_url="${SPEC_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
apply_max="${SPEC_BENCH_APPLY_MAX_N:-1000}"

declare -A first_secs first_kb first_n
summary=()

measure() { # label command...
  local label=$1; shift
  /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { echo "$label: failed"; cat "$work/err"; return 1; }
  local secs kb user sys
  read -r secs kb user sys <"$work/time"
  if [ -z "${first_n[$label]:-}" ]; then
    first_n[$label]=$n first_secs[$label]=$secs first_kb[$label]=$kb
  fi
  # Growth: cost per connector relative to the first N measured.
  local time_growth mem_growth
  time_growth=$(echo "($secs / $n) / (${first_secs[$label]} / ${first_n[$label]})" | bc -l)
  mem_growth=$(echo "($kb / $n) / (${first_kb[$label]} / ${first_n[$label]})" | bc -l)
  printf '%-29s %8.2f s  x%-7.1f %7.0f MB  cpu %6.2f s  growth: time x%.2f, memory x%.2f\n' \
    "$label" "$secs" "$(echo "$secs / $baseline" | bc -l)" "$((kb / 1024))" \
    "$(echo "$user + $sys" | bc -l)" "$time_growth" "$mem_growth"
  summary+=("$(printf '| %s | %s | %.2f s (x%.0f) | %d MB |' "$label" "$n" "$secs" "$(echo "$secs / $baseline" | bc -l)" "$((kb / 1024))")")
}

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000)
for n in "${sizes[@]}"; do
  corpus="$work/corpus$n"
  python3 bench/build/gen_corpus.py "$n" "$corpus"
  sync
  start=$(date +%s.%N)
  find "$corpus" -type f -exec cat {} + >/dev/null
  baseline=$(echo "$(date +%s.%N) - $start + 0.001" | bc -l)
  echo "== N=$n connectors ($(du -sh "$corpus" | cut -f1)); baseline (cat): $(printf '%.3f' "$baseline") s"
  measure "validate" "$spec" validate "$corpus"
  measure "validate + build" "$spec" build "$corpus" --out "$work/out$n"
  echo "   (output: $(du -sh "$work/out$n" | cut -f1))"
  # The usual CI case: generated/ is current, every file is compared and
  # none written.
  measure "build, output up to date" "$spec" build "$corpus" --out "$work/out$n"
  rm -rf "$work/out$n"
  # The same build into memory (tmpfs): the program's own cost, without
  # the disk file system's (ext4 spends long creating files right after
  # many were deleted, as a benchmark that repeats itself does).
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    shm=$(mktemp -d /dev/shm/spec-bench.XXXXXX)
    measure "validate + build (tmpfs)" "$spec" build "$corpus" --out "$shm/out"
    rm -rf "$shm"
  fi
  if [ "$n" -le "$apply_max" ]; then
    if command -v mysql >/dev/null && mysql -u root -e 'SELECT 1' >/dev/null 2>&1; then
      mysql -u root -e "DROP DATABASE IF EXISTS spec_bench; CREATE DATABASE spec_bench"
      measure "validate + apply (MariaDB)" "$spec" apply "$corpus" --database-url "$mysql_url/spec_bench"
      mysql -u root -e "DROP DATABASE spec_bench"
    fi
    if command -v psql >/dev/null && psql "$pg_url/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
      psql -q "$pg_url/postgres" -c "DROP DATABASE IF EXISTS spec_bench" -c "CREATE DATABASE spec_bench" 2>/dev/null
      measure "validate + apply (PostgreSQL)" "$spec" apply "$corpus" --database-url "$pg_url/spec_bench"
      psql -q "$pg_url/postgres" -c "DROP DATABASE spec_bench"
    fi
  fi
  rm -rf "$corpus"
done
echo
echo "| step | N | wall (x baseline) | peak RSS |"
echo "| ---- | - | ----------------- | -------- |"
printf '%s\n' "${summary[@]}"
