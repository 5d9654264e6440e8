-- The SQLite schema of the care-home terminal's database, version 2: one database that
-- the C reference terminal (ffi/examples/terminal.c) and the Python package's store
-- (tcmcare.store.SQLiteStore) both create, write and read. This file is the only copy:
-- core embeds it (tcmcare_core::store::SCHEMA_SQL), the C ABI hands it out
-- (tcm_store_schema()) and Python reads it (tcmcare._native.STORE_SCHEMA).
--
-- The version is the meta row ('schema', '2') (tcmcare_core::store::SCHEMA_VERSION). How a
-- store opens a database:
--   1. read the stored version without writing anything (no table meta or no 'schema'
--      row: a new database). A version newer than 2, or not a number, is refused and the
--      file left unchanged;
--   2. run this script. Every statement is IF NOT EXISTS (an existing table is never
--      touched), and the last one writes the version only to a database of an older one:
--      version 1 (no key tables) is upgraded in place by creating the tables it lacks.
-- Change a table only together with SCHEMA_VERSION, an upgrade path and a CHANGELOG entry.
--
-- records:       every record, its envelope bytes exactly as received, with the header's
--                columns, the library's verdict in `status` ('valid', 'unknown_kind',
--                'invalid:<rule>', 'malformed:<what>': nothing is dropped, odd records
--                are flagged) and the sync stream and position it came in (NULL for
--                records added directly, such as the terminal's own).
-- watermarks:    per sending stream (device, epoch), the highest position committed
--                without a gap; a receiver resumes each kiosk from here.
-- meta:          key/value: 'schema' = the version. The C terminal adds
--                'device_epoch:<id>' (the storage epoch of its own records),
--                'provisioned_epoch:<kiosk>', 'rotate:<kiosk>' (a pending key rotation)
--                and 'terminal_output_through' (its JSON-lines output cursor).
-- devices:       the kiosks this terminal holds keys of, and whether each is revoked.
-- device_keys:   their 256-bit keys by (device, key id), in clear (protect the file), and
--                the terminal -> kiosk frame counters leased so far per key.
-- seal_counters: per stream (device, epoch), the last kiosk frame (key id, counter)
--                accepted, stored in the same transaction as its records, so a replay is
--                refused across connections and restarts.

CREATE TABLE IF NOT EXISTS records (
    record_no     INTEGER PRIMARY KEY,  -- storage order
    device        INTEGER,              -- record id (origin device, epoch, seq) from the
    epoch         INTEGER,              --   header; NULL when the header is unreadable
    seq           INTEGER,
    kind          INTEGER NOT NULL,     -- wire kind number (known or not)
    care_home     INTEGER,
    resident      INTEGER,              -- pseudonymous resident number in the care home
    time_utc      INTEGER,              -- Unix seconds; NULL when the device had no clock
    placed_utc    INTEGER,              -- a clockless record's time placed by the receiver
    status        TEXT    NOT NULL,     -- 'valid', 'unknown_kind', 'invalid:<code>',
                                        --   'malformed:<code>'
    id_conflict   INTEGER NOT NULL DEFAULT 0,  -- 1: another record has this id (epoch reuse)
    envelope      BLOB    NOT NULL,     -- the envelope bytes as received, never rewritten
    stream_device INTEGER,              -- sync stream and position it arrived at
    stream_epoch  INTEGER,              --   (NULL when added directly)
    position      INTEGER,
    received_utc  INTEGER NOT NULL      -- when this store got it
);
CREATE UNIQUE INDEX IF NOT EXISTS records_by_id ON records (device, epoch, seq)
    WHERE id_conflict = 0 AND device IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_by_resident ON records (care_home, resident, time_utc);
CREATE TABLE IF NOT EXISTS watermarks (
    device    INTEGER NOT NULL,
    epoch     INTEGER NOT NULL,
    watermark INTEGER NOT NULL,         -- highest contiguous stream position committed
    PRIMARY KEY (device, epoch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
    device  INTEGER PRIMARY KEY,        -- a kiosk this terminal holds keys of
    revoked INTEGER NOT NULL DEFAULT 0  -- 1: every frame of the device is refused
);
CREATE TABLE IF NOT EXISTS device_keys (
    device            INTEGER NOT NULL,
    key_id            INTEGER NOT NULL, -- a rotation moves to a greater id
    key               BLOB    NOT NULL, -- 32 bytes, in clear: protect the database file
    downlink_reserved INTEGER NOT NULL DEFAULT 0,  -- terminal->kiosk counters leased so far
    PRIMARY KEY (device, key_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seal_counters (
    device  INTEGER NOT NULL,           -- the last kiosk frame accepted of stream
    epoch   INTEGER NOT NULL,           --   (device, epoch): key id, then counter
    key_id  INTEGER NOT NULL,
    counter INTEGER NOT NULL,
    PRIMARY KEY (device, epoch)
) WITHOUT ROWID;

-- The version, last: written to a new database, raised from an older version, never
-- lowered (a store refuses a newer one before running this script).
INSERT INTO meta (key, value) VALUES ('schema', '2')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
    WHERE CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER);
