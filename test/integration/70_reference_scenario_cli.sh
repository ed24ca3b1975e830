#!/usr/bin/env bash
# 70_reference_scenario_cli.sh — the reference scenario of API.md driven by the project's CLI:
# three daemons linked 1-2 and 2-3 (peer connect with the address from net status), Alice
# creates a space and a channel, Bob and Charlie join through key-package and invite files, a
# `stream` is started on each daemon, each user sends one message, and `messages` on every daemon
# and every stream show all three with the right senders. Also: a reused invite file is refused.
# With DEMO=1 it prints the conversation as each user sees it (make demo).
set -u
B=${SP_BUILD:-build}
CLI=$B/spacepanda
pass=0 fail=0
ok() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $*" >&2; fi; }
tmp=$(mktemp -d /tmp/sp-70-cli-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

port=()
for i in 1 2 3; do
  "$B/spacepandad" --grpc-port 0 --p2p-port 0 --data-dir "$tmp/d$i" 2>"$tmp/log$i" &
  pids+=($!)
done
for i in 1 2 3; do
  p=
  for _ in $(seq 200); do
    p=$(sed -n 's/.*gRPC listening on [^ ]*:\([0-9][0-9]*\)$/\1/p' "$tmp/log$i" | tail -n 1)
    [ -n "$p" ] && break
    sleep 0.05
  done
  [ -n "$p" ] || { echo "daemon $i did not start"; cat "$tmp/log$i"; echo "0 passed, 1 failed"; exit 1; }
  port[$i]=$p
done

field() { sed -n "s/^$1: //p" | head -n 1; }
say() { [ "${DEMO:-0}" = 1 ] && echo "-- $*"; return 0; }
# on N CMD...: runs the CLI against daemon N with that daemon's user's token; $out, $err, $rc
on() { local n=$1; shift; out=$(SPACEPANDA_TOKEN=${tok[$n]:-} "$CLI" --server "127.0.0.1:${port[$n]}" "$@" 2>"$tmp/err"); rc=$?; err=$(cat "$tmp/err"); }

names=(x alice bob charlie)
declare -a tok uid
for i in 1 2 3; do
  on "$i" profile create "${names[$i]}" "pw-${names[$i]}"
  ok [ "$rc" = 0 ]
  tok[$i]=$(echo "$out" | field session_token)
  uid[$i]=$(echo "$out" | field user.id)
done
for i in 1 2 3; do
  on "$i" net status
  addr[$i]=$(echo "$out" | field listen_address)
done
say "three daemons: alice on ${port[1]}, bob on ${port[2]}, charlie on ${port[3]} (gRPC ports)"
on 2 peer connect "${addr[1]}"; ok [ "$rc" = 0 ]
say "daemon 2 linked to daemon 1 (${addr[1]})"
on 3 peer connect "${addr[2]}"; ok [ "$rc" = 0 ]
say "daemon 3 linked to daemon 2 (${addr[2]}); 1 and 3 are not linked"

on 1 space create Team
ok [ "$rc" = 0 ]
sid=$(echo "$out" | field space.id)
on 1 channel create "$sid" general
ok [ "$rc" = 0 ]
cid=$(echo "$out" | field channel.id)
ok [ ${#cid} = 64 ]
say "alice created space Team and channel general ($cid), an MLS group on daemon 1"

for i in 2 3; do
  on "$i" keypackage --out "$tmp/kp$i"
  ok [ "$rc" = 0 ]
  on 1 invite "$cid" "$tmp/kp$i" --out "$tmp/inv$i"
  ok [ "$rc" = 0 ]; ok grep -q "channel_name: general" <<<"$out"
  on "$i" join "$tmp/inv$i"
  ok [ "$rc" = 0 ]; ok grep -q "success: true" <<<"$out"
  say "${names[$i]}: key package from daemon $i ($(stat -c %s "$tmp/kp$i") bytes), invite made by alice's daemon, joined on daemon $i"
  on "$i" channel list "$sid"
  ok grep -q "channels.id: $cid" <<<"$out"
done
on 2 join "$tmp/inv2"
ok [ "$rc" = 1 ]; ok grep -q FAILED_PRECONDITION <<<"$err"        # an invite is used once

for i in 1 2 3; do
  SPACEPANDA_TOKEN=${tok[$i]} "$CLI" --server "127.0.0.1:${port[$i]}" stream "$cid" --count 3 --wait-ms 15000 \
    >"$tmp/stream$i" 2>"$tmp/stream$i.err" &
  spids[$i]=$!
done
sleep 0.5

texts=(x "Hello from Alice" "Hello from Bob" "Hello from Charlie")
for i in 1 2 3; do
  on "$i" send "$cid" "${texts[$i]}"
  ok [ "$rc" = 0 ]; ok grep -q "sender_id: ${uid[$i]}" <<<"$out"
  say "${names[$i]} sent \"${texts[$i]}\" through daemon $i"
done

# every daemon shows all three, with the right senders
for i in 1 2 3; do
  got=0
  for _ in $(seq 100); do
    on "$i" messages "$cid"
    if [ "$(grep -c . <<<"$out")" = 3 ]; then got=1; break; fi
    sleep 0.1
  done
  ok [ "$got" = 1 ]
  for j in 1 2 3; do
    ok grep -q "	${uid[$j]}	[0-9]*	${texts[$j]}\$" <<<"$out"
  done
  cp <(echo "$out") "$tmp/messages$i"
done
for i in 1 2 3; do
  wait "${spids[$i]}"; src=$?
  ok [ "$src" = 0 ]
  for j in 1 2 3; do
    ok grep -q "	${uid[$j]}	[0-9]*	${texts[$j]}\$" "$tmp/stream$i"
  done
done

if [ "${DEMO:-0}" = 1 ]; then
  echo
  for i in 1 2 3; do
    echo "== the conversation as ${names[$i]} sees it (GetMessages on daemon $i) =="
    while IFS=$'\t' read -r id sender ts content; do
      who=?
      for j in 1 2 3; do [ "$sender" = "${uid[$j]}" ] && who=${names[$j]}; done
      printf '  %s  %-8s %s\n' "$(date -u -d "@$((ts / 1000))" +%H:%M:%S)" "$who:" "$content"
    done <"$tmp/messages$i"
  done
  echo
fi
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
for i in 1 2 3; do
  ok bash -c "! grep -q -e Sanitizer -e 'runtime error' '$tmp/log$i'"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
