#!/usr/bin/env bash
# Smoke test of the reference terminal: a simulated kiosk syncs records over TCP through
# a lossy line; the terminal must store each exactly once (SQLite) and print each as a
# JSON line; replaying the captured line into a fresh terminal gives the same records.
# Then the same sealed: the terminal provisions the kiosk (key and epoch), rotates its key
# at the next hello, the sealed stream is stored exactly once, a replay of the captured sealed line is refused (same
# database) or unknown (fresh database), and a revoked kiosk gets nothing stored.
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
check "--export reproduces the JSON lines from the database" \
  cmp -s "$work/out.jsonl" <("$build/terminal" --db "$work/t.db" --export 2>/dev/null)

# Replay the captured line into a fresh terminal on stdin (no replies needed).
"$build/terminal" --db "$work/replay.db" --trusted-link < "$work/line.bin" > "$work/replay.jsonl" 2>/dev/null
check "replay stores the same records" test "$(count_rows "$work/replay.db" 'select count(*) from records')" = "$records"
check "replay prints the same lines" cmp -s "$work/out.jsonl" "$work/replay.jsonl"

check "a sealed terminal refuses the unsealed line" test "$("$build/terminal" --db "$work/refuse.db" < "$work/line.bin" 2>&1 >/dev/null | grep -c 'unsealed frame refused')" -gt 0

# ---- sealed ----------------------------------------------------------------------------
sport=$((port + 1))
"$build/terminal" --db "$work/s.db" --provision 0x1001 --listen "$sport" --timeout 20 2> "$work/prov.err" &
ppid_=$!
pok=0
for _ in $(seq 1 50); do
  if "$build/kiosk_sim" --connect "$sport" --provision --seal-state "$work/kiosk.seal" 2> "$work/kprov.err"; then pok=1; break; fi
  grep -q "cannot connect" "$work/kprov.err" || break
  sleep 0.1
done
wait "$ppid_"; pstatus=$?
check "kiosk provisioned" test "$pok" = 1
check "terminal confirms the provisioning" test "$pstatus" = 0
check "one active key of 32 bytes stored" test "$(count_rows "$work/s.db" "select count(*) from device_keys where device = 4097 and length(key) = 32")" = 1
check "the key never appears in the logs" test "$(cat "$work/prov.err" "$work/kprov.err" | grep -ci 'key [0-9a-f]\{16\}')" = 0

# A key rotation, prepared now, goes to the kiosk (sealed under key 1) at its next hello.
old_key=$(count_rows "$work/s.db" 'select hex(key) from device_keys where device = 4097')
"$build/terminal" --db "$work/s.db" --rotate 0x1001 2> "$work/rot.err"
check "rotation prepared" grep -q "key id 2 stored" "$work/rot.err"

"$build/terminal" --db "$work/s.db" --listen "$sport" > "$work/s.jsonl" 2> "$work/s.err" &
tpid=$!
ok=0
for _ in $(seq 1 50); do
  if "$build/kiosk_sim" --connect "$sport" --records "$records" --mtu 160 --drop 3 --seal-state "$work/kiosk.seal" \
       --capture "$work/sealed.bin" 2> "$work/skiosk.err"; then ok=1; break; fi
  grep -q "cannot connect" "$work/skiosk.err" || break
  sleep 0.1
done
check "sealed kiosk got every record acknowledged" test "$ok" = 1
kill -INT "$tpid"; wait "$tpid"
check "sealed: each record stored once" test "$(count_rows "$work/s.db" 'select count(*) from records where device = 4097')" = "$records"
check "rotation done: the kiosk seals under key id 2" grep -q "now seals under key id 2: rotation done" "$work/s.err"
check "only the new key is kept" test "$(count_rows "$work/s.db" 'select group_concat(key_id) from device_keys where device = 4097')" = 2
check "the new key is not the old one" test "$(count_rows "$work/s.db" 'select hex(key) from device_keys where device = 4097')" != "$old_key"
check "sealed: replay counter stored" test "$(count_rows "$work/s.db" 'select count(*) from seal_counters where device = 4097 and counter > 0')" = 1

# The captured sealed line replayed into the same database: every frame refused.
"$build/terminal" --db "$work/s.db" < "$work/sealed.bin" > /dev/null 2> "$work/replay-s.err"
check "sealed replay refused" grep -q "replayed or old sealed frame" "$work/replay-s.err"
check "sealed replay stores nothing" test "$(count_rows "$work/s.db" 'select count(*) from records')" = "$records"
"$build/terminal" --db "$work/fresh.db" < "$work/sealed.bin" > /dev/null 2> "$work/replay-f.err"
check "unknown kiosk refused" test "$(count_rows "$work/fresh.db" 'select count(*) from records')" = 0

# Revoked: the kiosk's new records are never stored.
"$build/terminal" --db "$work/s.db" --revoke 0x1001 2> /dev/null
check "revocation recorded" test "$(count_rows "$work/s.db" 'select count(*) from devices where device = 4097 and revoked = 1')" = 1
"$build/terminal" --db "$work/s.db" --listen "$sport" > /dev/null 2> "$work/r.err" &
tpid=$!
sleep 0.3
timeout 4 "$build/kiosk_sim" --connect "$sport" --records 5 --seal-state "$work/kiosk.seal" 2> /dev/null
kstatus=$?
kill -INT "$tpid"; wait "$tpid"
check "revoked kiosk gets no acknowledgement" test "$kstatus" != 0
check "revoked kiosk's frames refused" grep -q "revoked device" "$work/r.err"
check "nothing stored from the revoked kiosk" test "$(count_rows "$work/s.db" 'select count(*) from records')" = "$records"

echo "C tests (terminal): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
