#!/usr/bin/env bash
# chat.sh — channel figures on real daemons (see bench/chat_bench.py).
cd "$(dirname "$0")/.." && SP_BUILD=${SP_BUILD:-build} /usr/bin/python3 bench/chat_bench.py
