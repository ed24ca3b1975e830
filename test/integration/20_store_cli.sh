#!/usr/bin/env bash
# 20_store_cli.sh — the CLI's profile / space / channel commands against a real daemon: every
# RPC of the store/auth issue and the error codes the CLI reports (exit 1 + the status name).
set -u
B=${SP_BUILD:-build}
CLI=$B/spacepanda
pass=0 fail=0
ok() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $*" >&2; fi; }
tmp=$(mktemp -d /tmp/sp-20-cli-XXXXXX)
"$B/spacepandad" --grpc-port 0 --p2p-port 0 --data-dir "$tmp/d" 2>"$tmp/log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*gRPC listening on [^ ]*:\([0-9][0-9]*\)$/\1/p' "$tmp/log" | tail -n 1)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "daemon did not start"; cat "$tmp/log"; echo "0 passed, 1 failed"; exit 1; }
export SPACEPANDA_SERVER=127.0.0.1:$port
unset SPACEPANDA_TOKEN

field() { sed -n "s/^$1: //p" | head -n 1; }
# run CMD...: captures stdout in $out, stderr in $err, exit code in $rc
run() { out=$("$CLI" "$@" 2>"$tmp/err"); rc=$?; err=$(cat "$tmp/err"); }

run profile create alice secret-a
ok [ "$rc" = 0 ]
tok=$(echo "$out" | field session_token)
alice=$(echo "$out" | field user.id)
ok [ ${#tok} = 64 ]
ok [ ${#alice} = 36 ]
run profile create alice other
ok [ "$rc" = 1 ]; ok grep -q ALREADY_EXISTS <<<"$err"
run profile create bob ""
ok [ "$rc" = 1 ]; ok grep -q INVALID_ARGUMENT <<<"$err"
run profile create "$(printf 'n%.0s' $(seq 70))" pw
ok [ "$rc" = 1 ]; ok grep -q INVALID_ARGUMENT <<<"$err"
out=$(echo "secret-b" | "$CLI" profile create bob); rc=$?
ok [ "$rc" = 0 ]                                   # password from stdin
bob=$(echo "$out" | field session_token)
run profile unlock alice wrong
ok [ "$rc" = 1 ]; ok grep -q UNAUTHENTICATED <<<"$err"; msg1=$err
run profile unlock nobody wrong
ok [ "$rc" = 1 ]; ok grep -q UNAUTHENTICATED <<<"$err"
ok [ "${msg1#*UNAUTHENTICATED}" = "${err#*UNAUTHENTICATED}" ]   # same message
run profile unlock "" secret-a                     # the default profile
ok [ "$rc" = 0 ]; ok [ "$(echo "$out" | field user.id)" = "$alice" ]
tok2=$(echo "$out" | field session_token)
run profile lock "$tok2"
ok [ "$rc" = 0 ]; ok grep -q "success: true" <<<"$out"
run profile lock "$tok2"
ok [ "$rc" = 1 ]; ok grep -q UNAUTHENTICATED <<<"$err"

run space create "CLI space" --description "made by the cli" --public --token "$tok"
ok [ "$rc" = 0 ]
sid=$(echo "$out" | field space.id)
ok [ ${#sid} = 64 ]
ok grep -q "space.visibility: SPACE_VISIBILITY_PUBLIC" <<<"$out"
export SPACEPANDA_TOKEN=$tok
run space create "Private by default"
ok grep -q "space.visibility: SPACE_VISIBILITY_PRIVATE" <<<"$out"
run space create ""
ok [ "$rc" = 1 ]; ok grep -q INVALID_ARGUMENT <<<"$err"
run space create "$(printf 'x%.0s' $(seq 101))"
ok [ "$rc" = 1 ]; ok grep -q INVALID_ARGUMENT <<<"$err"
run space list
ok [ "$rc" = 0 ]; ok [ "$(echo "$out" | grep -c '^spaces.id: ')" = 2 ]
run space get "$sid"
ok [ "$rc" = 0 ]; ok grep -q "name: CLI space" <<<"$out"
run space get nothex
ok [ "$rc" = 1 ]; ok grep -q INVALID_ARGUMENT <<<"$err"
run space get "$(printf '0%.0s' $(seq 64))"
ok [ "$rc" = 1 ]; ok grep -q NOT_FOUND <<<"$err"
run space get "$sid" --token "$bob"
ok [ "$rc" = 1 ]; ok grep -q PERMISSION_DENIED <<<"$err"
run space list --token ""
ok [ "$rc" = 1 ]; ok grep -q UNAUTHENTICATED <<<"$err"

run channel create "$sid" general --description "talk here"
ok [ "$rc" = 0 ]
cid=$(echo "$out" | field channel.id)
ok [ ${#cid} = 64 ]
ok grep -q "channel.member_ids: $alice" <<<"$out"
run channel create "$sid" "$(printf 'c%.0s' $(seq 101))"
ok [ "$rc" = 1 ]; ok grep -q INVALID_ARGUMENT <<<"$err"
run channel create "$sid" x --token "$bob"
ok [ "$rc" = 1 ]; ok grep -q PERMISSION_DENIED <<<"$err"
run channel create "$(printf '1%.0s' $(seq 64))" x
ok [ "$rc" = 1 ]; ok grep -q NOT_FOUND <<<"$err"
run channel list "$sid"
ok [ "$rc" = 0 ]; ok grep -q "channels.id: $cid" <<<"$out"
run channel list bad
ok [ "$rc" = 1 ]; ok grep -q INVALID_ARGUMENT <<<"$err"
run channel list "$sid" --token nope
ok [ "$rc" = 1 ]; ok grep -q UNAUTHENTICATED <<<"$err"
run channel
ok [ "$rc" = 2 ]                                    # usage

kill -TERM "$pid"; wait "$pid"; ok [ $? = 0 ]
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
