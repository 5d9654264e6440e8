#!/usr/bin/env python3
"""The reference terminal's database is core's schema (issue #13, item 4).

Usage: terminal_schema.py BUILD_DIR   (expects BUILD_DIR/terminal; run from ffi/)

- terminal.c holds no schema of its own (no CREATE statement): it runs tcm_store_schema();
- a database the terminal creates has exactly the tables, indexes and SQL (sqlite_master)
  of one made by running core/sql/store.sql with plain SQLite, and its version row;
- a version-1 database (no key tables) is upgraded in place to the same schema, its
  records kept.

Closes with "C tests (terminal schema): N passed, M failed".
"""

import os
import re
import sqlite3
import subprocess
import sys
import tempfile

BUILD = sys.argv[1]
TERMINAL = os.path.join(BUILD, "terminal")
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "examples", "terminal.c")
CORE_SQL = os.path.join(HERE, "..", "..", "core", "sql", "store.sql")
WORK = tempfile.mkdtemp(prefix="terminal-schema-")
passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL terminal schema: {name}{': ' + detail if detail else ''}", flush=True)


def master(path):
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    meta = db.execute("SELECT key, value FROM meta WHERE key = 'schema'").fetchall()
    db.close()
    return rows, meta


def core_database(path):
    with open(CORE_SQL, encoding="utf-8") as f:
        sql = f.read()
    db = sqlite3.connect(path)
    db.executescript(sql)
    db.close()


def export(path):
    r = subprocess.run([TERMINAL, "--db", path, "--export"], capture_output=True, text=True,
                       timeout=60)
    check(f"terminal --export on {os.path.basename(path)} exits 0", r.returncode == 0,
          r.stderr.strip())
    return r


def test_no_copy_in_terminal_c():
    with open(SOURCE, encoding="utf-8") as f:
        source = f.read()
    creates = re.findall(r"CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)", source)
    check("terminal.c has no CREATE TABLE / CREATE INDEX of its own", not creates,
          f"{len(creates)} found")
    check("terminal.c runs the library's schema", "tcm_store_schema(" in source)


def test_new_database():
    want = os.path.join(WORK, "core.db")
    core_database(want)
    got = os.path.join(WORK, "new.db")
    export(got)
    want_rows, want_meta = master(want)
    got_rows, got_meta = master(got)
    check("a new database has core's tables, indexes and their SQL", got_rows == want_rows,
          f"{got_rows} != {want_rows}")
    check("... and the version row ('schema', '2')", got_meta == want_meta == [("schema", "2")],
          f"{got_meta}")
    tables = sorted(n for (t, n, _, _) in got_rows if t == "table")
    check("... the six tables", tables == ["device_keys", "devices", "meta", "records",
                                          "seal_counters", "watermarks"], f"{tables}")


def test_version_1_upgraded():
    path = os.path.join(WORK, "v1.db")
    core_database(path)
    db = sqlite3.connect(path)
    db.executescript(
        "DROP TABLE devices; DROP TABLE device_keys; DROP TABLE seal_counters;"
        " UPDATE meta SET value = '1' WHERE key = 'schema';"
        " INSERT INTO records (kind, status, envelope, received_utc)"
        "   VALUES (1, 'valid', x'0102', 1700000000);"
    )
    db.close()
    export(path)
    want_rows, _ = master(os.path.join(WORK, "core.db"))
    got_rows, got_meta = master(path)
    check("a version-1 database is upgraded to core's schema", got_rows == want_rows,
          f"{got_rows}")
    check("... its version row is now 2", got_meta == [("schema", "2")], f"{got_meta}")
    db = sqlite3.connect(path)
    kept = db.execute("SELECT kind, envelope FROM records").fetchall()
    db.close()
    check("... its records are kept", kept == [(1, b"\x01\x02")], f"{kept}")


def main():
    test_no_copy_in_terminal_c()
    test_new_database()
    test_version_1_upgraded()
    print(f"C tests (terminal schema): {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
