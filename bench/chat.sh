#!/usr/bin/env bash
# chat.sh — channel figures on real daemons: bench/chat_bench.py sets them up, build/bench/chat_load
# (bench/chat_load.c) drives the load. Builds chat_load first when run alone on the default build.
cd "$(dirname "$0")/.." || exit 1
B=${SP_BUILD:-build}
if [ "$B" = build ]; then make -s --no-print-directory build/bench/chat_load build/spacepandad >/dev/null || exit 1; fi
SP_BUILD=$B /usr/bin/python3 bench/chat_bench.py
