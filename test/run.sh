#!/usr/bin/env bash
# run.sh — runs every test (make check): unit programs, the official MLS/HPKE vectors for every
# category mls-vectors knows, then the integration scripts in test/integration/ (*.sh, *.py) in
# name order. Each program's last line "N passed, N failed" is summed; a program that exits
# non-zero counts as failed whatever it printed. Ends with one total line.
set -u
B=${SP_BUILD:-build}
export SP_BUILD=$B
export PYTHON=/usr/bin/python3
cd "$(dirname "$0")/.."
total_pass=0 total_fail=0 failed_progs=()
log_dir=$B/test-logs
mkdir -p "$log_dir"

run_one() { # name, command...
  local name=$1; shift
  local log="$log_dir/${name//\//_}.log"
  local start=$SECONDS
  "$@" >"$log" 2>&1
  local rc=$?
  local last p=0 f=0
  last=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [[ $last =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}; fi
  if ((rc != 0 && f == 0)); then f=1; fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  if ((rc != 0)); then
    failed_progs+=("$name")
    printf 'FAIL %-40s %s (exit %d, %ds) log: %s\n' "$name" "${last:-no summary}" "$rc" $((SECONDS - start)) "$log"
    tail -n 30 "$log" | sed 's/^/    /'
  else
    printf 'ok   %-40s %s (%ds)\n' "$name" "${last:-exit 0}" $((SECONDS - start))
  fi
}

for t in "$B"/test/*; do
  [ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done

if [ -x "$B/mls-vectors" ]; then
  for cat in $("$B/mls-vectors" --list); do
    case $cat in
      hpke) file=test/vectors/hpke/x25519-sha256-aes128gcm.json ;;
      passive-client-random) file=test/vectors/mls/passive-client-random.json ;;
      *) file=test/vectors/mls/$cat.json ;;
    esac
    run_one "vectors/$cat" "$B/mls-vectors" "$cat" "$file"
  done
fi

for t in $(ls test/integration/*.sh test/integration/*.py 2>/dev/null | sort); do
  [ -f "$t" ] || continue
  case $t in
    *.py) run_one "integration/$(basename "$t")" timeout 600 "$PYTHON" "$t" ;;
    *) run_one "integration/$(basename "$t")" timeout 600 bash "$t" ;;
  esac
done

echo
if ((${#failed_progs[@]})); then echo "failed: ${failed_progs[*]}"; fi
echo "check: $total_pass passed, $total_fail failed"
((${#failed_progs[@]} == 0 && total_pass > 0))
