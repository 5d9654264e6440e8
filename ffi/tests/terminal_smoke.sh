#!/usr/bin/env bash
# Smoke test of the reference terminal: a simulated kiosk syncs records over TCP through
# a lossy line; the terminal must store each exactly once (SQLite) and print each as a
# JSON line; replaying the captured line into a fresh terminal gives the same records.
# Usage: terminal_smoke.sh BUILD_DIR   (expects BUILD_DIR/terminal and BUILD_DIR/kiosk_sim)
set -uo pipefail
build=$1
work=$(mktemp -d)
trap 'kill "$tpid" 2>/dev/null; rm -rf "$work"' EXIT
passed=0
failed=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL terminal: $1"; fi
}
count_rows() { # count_rows DB SQL
  python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$1" "$2"
}

records=60
port=$((20000 + RANDOM % 20000))
"$build/terminal" --db "$work/t.db" --listen "$port" --trusted-link > "$work/out.jsonl" 2> "$work/terminal.err" &
tpid=$!
ok=0
for _ in $(seq 1 50); do
  if "$build/kiosk_sim" --connect "$port" --records "$records" --mtu 128 --drop 3 --capture "$work/line.bin" \
       2> "$work/kiosk.err"; then ok=1; break; fi
  grep -q "cannot connect" "$work/kiosk.err" || break
  sleep 0.1
done
check "kiosk got every record acknowledged" test "$ok" = 1
kill -INT "$tpid"; wait "$tpid"; tstatus=$?
check "terminal exits cleanly on SIGINT" test "$tstatus" = 0
check "each record stored once" test "$(count_rows "$work/t.db" 'select count(*) from records')" = "$records"
check "watermark at the last position" test "$(count_rows "$work/t.db" 'select watermark from watermarks where device = 9 and epoch = 1')" = "$records"
check "ids are 1..N in order" test "$(count_rows "$work/t.db" "select count(*) from records where seq = position and status = 'valid'")" = "$records"
check "one JSON line per record" test "$(grep -c '"kind":"vitals"' "$work/out.jsonl")" = "$records"
check "gaps were seen and repaired" grep -q "gap, asked for" "$work/terminal.err"

# Replay the captured line into a fresh terminal on stdin (no replies needed).
"$build/terminal" --db "$work/replay.db" < "$work/line.bin" > "$work/replay.jsonl" 2>/dev/null
check "replay stores the same records" test "$(count_rows "$work/replay.db" 'select count(*) from records')" = "$records"
check "replay prints the same lines" cmp -s "$work/out.jsonl" "$work/replay.jsonl"

echo "C tests (terminal): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
