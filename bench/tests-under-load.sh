#!/usr/bin/env bash
# Runs the test suite (or the test files given) ROUNDS times in a row (default 5) while two
# busy loops keep both cores of the machine occupied, and records each round's result:
# the check that no test depends on the machine being quiet.
#   bench/tests-under-load.sh                     # the whole suite, 5 rounds
#   ROUNDS=5 bench/tests-under-load.sh test/http-client.test.ts ...
# Results: bench/.data/tests-under-load.txt (one line per round), each round's output beside it.
set -uo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-5}"
out=bench/.data
mkdir -p "$out"
npx tsc # compiled (and type-checked) once, before the loops start; each round finds it done

node -e 'for(;;){}' &
busy1=$!
node -e 'for(;;){}' &
busy2=$!
trap 'kill "$busy1" "$busy2" 2>/dev/null' EXIT

summary="$out/tests-under-load.txt"
echo "$(date -u +%FT%TZ) ${rounds} rounds under 2 busy loops: ${*:-the whole suite}" >>"$summary"
failed=0
for round in $(seq 1 "$rounds"); do
  started=$(date +%s)
  if npx ava "$@" >"$out/tests-under-load-$round.log" 2>&1; then result=passed; else result=FAILED; failed=1; fi
  line="round $round: $result in $(($(date +%s) - started)) s ($(grep -Eo '[0-9]+ tests? passed' "$out/tests-under-load-$round.log" | tail -1))"
  echo "$line" | tee -a "$summary"
done
exit "$failed"
