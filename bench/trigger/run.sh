#!/usr/bin/env bash
# The trigger benchmark: `spec exec trigger` and a hand-written reqwest +
# serde loop read the same loopback pages (1,000 records each) in the same
# run; records/s, peak RSS (GNU time %M) and the ratios are printed.
#
# Goal (issue 7 §4): spec within 1.2x of the hand-written loop, and peak
# memory flat as records grow (100k vs 1M).
#
# Usage: bench/trigger/run.sh [RECORDS...]     (default: 100000 1000000)
# Needs bash, awk and GNU time at /usr/bin/time. Builds release binaries.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release --quiet --bin spec --example trigger_server --example trigger_handloop
target="${CARGO_TARGET_DIR:-target}/release"
spec="$target/spec"
server="$target/examples/trigger_server"
handloop="$target/examples/trigger_handloop"

work="$(mktemp -d)"
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

export SPEC_BENCH_TOKEN=bench-token-0000
runs="${RUNS:-3}"

# Best of $runs: prints "seconds peak_kb".
measure() {
  local best="" best_kb=""
  for _ in $(seq "$runs"); do
    rm -f "$work/state.sqlite"*
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null
    read -r secs kb < "$work/time"
    if [[ -z "$best" ]] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; best_kb=$kb; fi
  done
  echo "$best $best_kb"
}

printf '%-9s %-9s %12s %10s %12s\n' records reader "records/s" "peak RSS" "time ratio"
for records in "${@:-100000 1000000}"; do
  for n in $records; do
    "$server" --records "$n" > "$work/server.out" &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.05; done
    url="$(awk '{print $3}' "$work/server.out")"
    pages=$(( (n + 999) / 1000 ))
    read -r hs hkb < <(measure "$handloop" "$url" "$SPEC_BENCH_TOKEN")
    read -r ss skb < <(measure "$spec" exec trigger bench/trigger/bench.yaml new_record \
      --base-url "$url" --state "$work/state.sqlite" --emit-initial all --max-pages "$pages")
    # Check both read every record once.
    got=$("$spec" exec trigger bench/trigger/bench.yaml new_record --base-url "$url" \
      --state "$work/check.sqlite" --emit-initial all --max-pages "$pages" | wc -l)
    rm -f "$work/check.sqlite"*
    [[ "$got" == "$n" ]] || { echo "spec emitted $got of $n records" >&2; exit 1; }
    awk -v n="$n" -v hs="$hs" -v hkb="$hkb" -v ss="$ss" -v skb="$skb" 'BEGIN {
      printf "%-9d %-9s %12.0f %8.1f MB %12s\n", n, "handloop", n / (hs > 0 ? hs : 0.001), hkb / 1024, "1.00x"
      printf "%-9d %-9s %12.0f %8.1f MB %11.2fx\n", n, "spec", n / (ss > 0 ? ss : 0.001), skb / 1024, ss / (hs > 0 ? hs : 0.001)
    }'
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  done
done
