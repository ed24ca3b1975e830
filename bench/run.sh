#!/usr/bin/env bash
# run.sh — make bench: runs every benchmark program in $SP_BUILD/bench and every bench/*.sh.
# Benchmarks print figures; they do not pass or fail on speed.
set -u
B=${SP_BUILD:-build}
export SP_BUILD=$B
cd "$(dirname "$0")/.."
for b in "$B"/bench/*; do
  [ -x "$b" ] || continue
  [ "$(basename "$b")" = chat_load ] && continue # the load client bench/chat.sh drives, not a benchmark
  echo "== $(basename "$b")"
  "$b"
done
for s in bench/*.sh; do
  [ "$s" = bench/run.sh ] && continue
  [ -f "$s" ] || continue
  echo "== $(basename "$s")"
  bash "$s"
done
