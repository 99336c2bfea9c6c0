#!/usr/bin/env bash
# Measures how `spec validate` (release build) copes with hostile input:
# exit code, wall time and peak memory for each case, next to a small valid
# spec validated in the same run as the baseline.
#
# Target (issue §7): every bomb is refused within 1 s and under 200 MB.
#
# Usage: bench/bad_input.sh            (from anywhere; builds first)
# Needs bash, awk and GNU time at /usr/bin/time for peak memory; without it
# wall time comes from bash's `time` and peak memory is unmeasured.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/spec"
[[ -x "$bin" ]] || { echo "no binary at $bin" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- Inputs -------------------------------------------------------------------

cp tests/fixtures/valid/fakeshop.yaml "$work/valid.yaml"

# Billion laughs: 10 levels of 10 aliases (10^10 nodes if expanded).
{
  echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
  prev=a
  for name in b c d e f g h i j; do
    refs=$(printf "*$prev,%.0s" {1..10})
    echo "$name: &$name [${refs%,}]"
    prev=$name
  done
} > "$work/alias_bomb.yaml"

# 10,000-deep flow nesting: [[[[...]]]].
{ printf '[%.0s' {1..10000}; printf ']%.0s' {1..10000}; echo; } > "$work/deep_flow.yaml"

# 10,000-deep block nesting, compact form: `- - - ... x` on one line.
{ printf -- '- %.0s' {1..10000}; echo x; } > "$work/deep_block.yaml"

# 10,000-deep block mappings with real indentation (about 50 MB).
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "%" i "sk:\n", "" }' > "$work/deep_indent.yaml"

# A 50 MB spec: a real connector followed by 50 MB of config.
{
  sed '/^actions:/,$d' tests/fixtures/valid/fakeshop.yaml
  echo 'config:'
  awk 'BEGIN { for (i = 0; i < 1400000; i++) printf "  key_%d: padding padding padding\n", i }'
} > "$work/50mb.yaml"

# Near the largest file the loader accepts: a clean connector plus about
# 4 MiB of config (36,000 entries of 110 bytes, within the node budget).
{
  cat tests/fixtures/valid/fakeshop.yaml
  echo 'config:'
  awk 'BEGIN { pad = sprintf("%96s", ""); gsub(/ /, "x", pad)
               for (i = 0; i < 36000; i++) printf "  key_%05d: %s\n", i, pad }'
} > "$work/4mib_valid.yaml"
(( $(wc -c < "$work/4mib_valid.yaml") <= 4 * 1024 * 1024 )) || { echo "4mib_valid.yaml is too large" >&2; exit 2; }

# --- Measuring ----------------------------------------------------------------------

if [[ -x /usr/bin/time ]]; then
  have_time=1
else
  have_time=0
  echo "note: /usr/bin/time is missing; peak memory is unmeasured" >&2
fi

printf '%-22s %10s %6s %9s %13s %s\n' input size exit "wall s" "peak RSS MB" verdict
measure() {
  local name=$1 file=$2 target=$3
  local size exit_code wall rss verdict
  size=$(wc -c < "$file" | awk '{ if ($1 < 1048576) printf "%.1f KB", $1 / 1024; else printf "%.1f MB", $1 / 1048576 }')
  if (( have_time )); then
    set +e
    /usr/bin/time -v -o "$work/time.txt" "$bin" validate "$file" > /dev/null 2>&1
    exit_code=$?
    set -e
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$work/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/time.txt")
  else
    local TIMEFORMAT=%R
    set +e
    { time "$bin" validate "$file" > /dev/null 2>&1; } 2> "$work/time.txt"
    exit_code=$?
    set -e
    wall=$(cat "$work/time.txt")
    rss=unmeasured
  fi
  verdict=""
  if [[ $target == bomb ]]; then
    verdict="ok"
    [[ $exit_code == 1 ]] || verdict="WRONG EXIT"
    awk -v w="$wall" 'BEGIN { exit !(w > 1.0) }' && verdict="OVER 1 s"
    [[ $rss != unmeasured ]] && awk -v r="$rss" 'BEGIN { exit !(r > 200) }' && verdict="OVER 200 MB"
  fi
  printf '%-22s %10s %6s %9s %13s %s\n' "$name" "$size" "$exit_code" "$wall" "$rss" "$verdict"
}

measure "valid spec (baseline)" "$work/valid.yaml" baseline
measure "largest accepted file" "$work/4mib_valid.yaml" baseline
measure "alias bomb" "$work/alias_bomb.yaml" bomb
measure "10,000-deep flow" "$work/deep_flow.yaml" bomb
measure "10,000-deep block" "$work/deep_block.yaml" bomb
measure "10,000-deep indented" "$work/deep_indent.yaml" bomb
measure "50 MB file" "$work/50mb.yaml" bomb
