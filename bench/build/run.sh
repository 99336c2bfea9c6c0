#!/usr/bin/env bash
# Benchmark of `spec validate` + `spec build` (and `spec apply` into
# MariaDB and PostgreSQL) over a synthetic corpus: N connectors x 20
# actions x 15 fields with nested groups (bench/build/gen_corpus.py).
# A benchmark, not a test: it prints wall time and peak memory per step,
# and each step's ratio to a baseline measured in the same run (reading
# the corpus: `cat` of every file).
#
#   bench/build/run.sh [N...]        # default: 100 1000
#
# Apply steps use SPEC_BENCH_MYSQL_URL / SPEC_BENCH_POSTGRES_URL (a server
# URL without a database; defaults: the local services) and are skipped
# when the server is unreachable.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release -q
spec="$CARGO_TARGET_DIR/release/spec"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mysql_url="${SPEC_BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
pg_url="${SPEC_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"

measure() { # label command...
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { echo "$label: failed"; cat "$work/err"; return 1; }
  read -r secs kb <"$work/time"
  printf '%-28s %8.2f s %8.0f MB  x%.1f\n' "$label" "$secs" "$((kb / 1024))" "$(echo "$secs / $baseline" | bc -l)"
}

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000)
for n in "${sizes[@]}"; do
  corpus="$work/corpus$n"
  python3 bench/build/gen_corpus.py "$n" "$corpus"
  start=$(date +%s.%N); cat "$corpus"/* >/dev/null; baseline=$(echo "$(date +%s.%N) - $start + 0.001" | bc -l)
  echo "== N=$n connectors ($(du -sh "$corpus" | cut -f1)); baseline (cat): $(printf '%.3f' "$baseline") s"
  measure "validate" "$spec" validate "$corpus"
  measure "validate + build" "$spec" build "$corpus" --out "$work/out$n"
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
  rm -rf "$corpus" "$work/out$n"
done
