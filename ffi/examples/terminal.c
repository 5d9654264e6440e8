/*
 * terminal.c: a reference nursing-home terminal for libtcmcare.
 *
 * It collects records from the care home's kiosks over their serial lines (or TCP) and
 * keeps them in SQLite, records what the staff enter at the terminal itself, and stores
 * both in one database that the Python package (`tcmcare.store.SQLiteStore`) reads:
 *
 *   1. read bytes from each line (stdin, or any number of TCP connections at once);
 *   2. cut them into frames with a streaming frame decoder per line;
 *   3. hand each frame payload to that line's sealed sync receiver: it authenticates the
 *      frame with the kiosk's key (table device_keys), refuses tampered, replayed,
 *      unknown, revoked and unsealed frames, and answers hellos and batches;
 *   4. the receiver calls back into this file to commit each batch: the records AND the
 *      stream's new watermark go into the database in ONE transaction, so a power cut
 *      leaves either both or neither (the kiosk then simply resends);
 *   5. send the receiver's reply (an ack, or a nack) back to the kiosk, framed; every
 *      few seconds (--time-sync) also send each kiosk the terminal's time;
 *   6. record the staff's own entries (--script: constitution assessments, treatments,
 *      herbal prescriptions and deliveries, follow-ups, registrations) as records of
 *      the terminal itself: its device id, its storage epoch, its sequence numbers;
 *   7. print every stored record as one JSON line on stdout, flushed before the kiosk
 *      is acknowledged; a record committed but not printed (a crash between the two) is
 *      printed when the terminal next serves (the output cursor), so the output loses
 *      nothing (after a crash the last batch may appear twice, same record ids).
 *
 * Usage:
 *   terminal --db FILE [--listen PORT] [--trusted-link] [--reply PATH]
 *            [--device ID --script FILE] [--clock START [--clock-rate R]]
 *            [--time-sync SECONDS] [--stats FILE]
 *            [--max-connections N] [--handshake-timeout S] [--idle-timeout S]
 *            [--write-buffer BYTES]
 *   terminal --db FILE --export [--after RECORD_NO]
 *   terminal --db FILE --provision KIOSK_ID --listen PORT [--timeout SECONDS]
 *   terminal --db FILE --revoke KIOSK_ID
 *   terminal --db FILE --rotate KIOSK_ID
 *
 *   --db FILE         SQLite database (created 0600 if missing: it holds keys), of the
 *                     library's schema (tcm_store_schema(), core/sql/store.sql). A database
 *                     of a newer schema is refused, unchanged: exit 3.
 *   --listen PORT     serve kiosks on TCP PORT (127.0.0.1), each connection with its own
 *                     frame decoder and receiver; replies go back on the connection,
 *                     never blocking the terminal. Until SIGINT / SIGTERM.
 *   --max-connections N   connections at once (default 64). At the cap, the oldest
 *                     connection without an accepted hello is closed for the new one; if
 *                     every connection is a kiosk's, the new one is closed.
 *   --handshake-timeout S a connection without an accepted hello after S seconds is
 *                     closed (default 10).
 *   --idle-timeout S  a kiosk's connection silent for S seconds is closed (default 0:
 *                     never; a kiosk's new connection closes its older ones anyway).
 *   --write-buffer B  replies a connection has not read, at most B bytes (default 65536,
 *                     also its socket send buffer); beyond, the connection is dropped.
 *   --trusted-link    also accept unsealed (plain) frames, answered plain, from a device
 *                     the terminal holds no key of (a kiosk with a key is never accepted
 *                     unsealed). Only for a link you trust (a bench, a cable inside a
 *                     locked enclosure); by default every frame must be sealed.
 *   --export          print every stored record (after record_no --after) as the JSON
 *                     lines it was printed as when it arrived, and exit.
 *   --provision ID    give kiosk ID its identity and a fresh key: generate the key, store
 *                     it (device_keys; older keys of the kiosk are retired), choose the
 *                     kiosk's epoch (one past any epoch of it in the database), then wait
 *                     on --listen PORT for the kiosk (in provisioning mode: button held
 *                     at power-up) to connect, send it the provisioning frame and wait
 *                     for its acknowledgement (--timeout, default 60 s). Exits 0 when the
 *                     kiosk confirmed (a revoked kiosk provisioned again is trusted again).
 *   --revoke ID       revoke kiosk ID: every frame of it is refused from now on.
 *   --rotate ID       prepare a key rotation for kiosk ID: a new key (next key id) is
 *                     stored next to the current one; a terminal serving --listen sends it
 *                     to the kiosk, sealed under the current key, whenever the kiosk says
 *                     hello, until the kiosk's frames arrive under the new key; then the
 *                     old key is deleted.
 *   (default)         read one line from stdin; replies are written to --reply PATH (a
 *                     serial device, a FIFO) or dropped if no --reply is given (replaying
 *                     a capture needs no replies).
 *   --device ID       this terminal's device id (decimal or 0x hex) for its own records.
 *   --script FILE     the staff's entries of the day (format: terminal_script.h); each is
 *                     recorded when the terminal's clock reaches its time, the rest when
 *                     the terminal stops.
 *   --clock START     run the terminal's clock from START (Unix seconds, or
 *                     YYYY-MM-DDTHH:MM:SS+HH:MM), R times faster than real time
 *                     (--clock-rate, default 1): a simulated day. Default: this machine's
 *                     clock.
 *   --time-sync S     send every kiosk the terminal's time every S seconds (real time).
 *   --stats FILE      write what the lines did (frames, CRC rejects, hellos, batches,
 *                     duplicates re-acknowledged, gaps, per kiosk; connections closed by
 *                     reason) as JSON on exit. Per kiosk means per authenticated kiosk: a
 *                     refused frame counts for the kiosk whose hello the connection
 *                     carried, else as "unattributed", never for the id its header claims.
 *
 * Build:
 *   cc -std=c99 terminal.c terminal_script.c $(pkg-config --cflags --libs tcmcare) -lsqlite3
 *
 * Vendors: copy freely. The part to adapt is how the line is opened; the database schema
 * is the library's (shared with the Python store: add tables of your own beside it, do not
 * change its own) and the protocol handling (sections "Receiver store" and "The lines")
 * should stay as it is.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tcmcare.h"
#include "terminal_script.h"

/* Prints a library status with its message and the detail of the failure. */
static void report(const char *what, tcm_status status) {
    char msg[160];
    char detail[256];
    size_t n = 0;
    if (tcm_status_message(status, msg, sizeof msg, &n) != TCM_STATUS_OK) {
        msg[0] = '\0';
    }
    if (tcm_last_error_detail(detail, sizeof detail, &n) != TCM_STATUS_OK) {
        detail[0] = '\0';
    }
    fprintf(stderr, "terminal: %s: %s (%u)%s%s\n", what, msg, (unsigned)status,
            detail[0] ? ": " : "", detail);
}

/* ====================================================================================
 * The database
 * ==================================================================================== */

/*
 * The schema is libtcmcare's (tcm_store_schema(): the text of core/sql/store.sql, which
 * documents every table), the one the Python package's store (tcmcare.store.SQLiteStore)
 * runs too: one database that kiosks' records, the terminal's own records, the Python
 * reports and exports all share. Its version (TCM_STORE_SCHEMA_VERSION, 2; at run time
 * tcm_store_schema_version() of the library linked) is the meta row `schema`; a database
 * of version 1 (no key tables) is upgraded in place by the script.
 *
 * records:    every record, its envelope bytes exactly as received, the header's columns,
 *             the library's verdict (`status`) and the sync stream and position it came in.
 * watermarks: per sending stream (kiosk device, storage epoch), the highest position
 *             committed without a gap. The receiver resumes each kiosk from here.
 * meta:       `schema`; this terminal adds `device_epoch:<id>` (the storage epoch of its
 *             own records), `provisioned_epoch:<kiosk>`, `rotate:<kiosk>` and the output
 *             cursor OUTPUT_CURSOR.
 * devices, device_keys, seal_counters: the kiosks' keys (in clear: protect the file),
 *             revocations, reply counter leases and per-stream replay counters.
 */
#define BUSY_TIMEOUT_MS 2000

typedef struct terminal_db {
    sqlite3 *db;
    sqlite3_stmt *get_watermark;
    sqlite3_stmt *set_watermark;
    sqlite3_stmt *find_id; /* the envelope stored under an id */
    sqlite3_stmt *insert_record;
    sqlite3_stmt *is_revoked;   /* a device's revoked flag */
    sqlite3_stmt *get_key;      /* a key */
    sqlite3_stmt *get_counter;  /* a stream's replay counter */
    sqlite3_stmt *set_counter;  /* raise it */
    int checkpoint_pending;     /* a deleted key may still be in the WAL */
    int checkpoint_warned;      /* ... and that was said */
} terminal_db;

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt) {
    if (sqlite3_prepare_v2(db, sql, -1, stmt, NULL) != SQLITE_OK) {
        fprintf(stderr, "terminal: sqlite: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

/* Reads a meta value into `out` (empty string if absent); -1 on a database error. */
static int meta_get(terminal_db *t, const char *key, char *out, size_t cap) {
    sqlite3_stmt *s = NULL;
    int rc;
    out[0] = '\0';
    if (prepare(t->db, "SELECT value FROM meta WHERE key = ?1", &s) != 0) {
        return -1;
    }
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int meta_set(terminal_db *t, const char *key, const char *value) {
    sqlite3_stmt *s = NULL;
    int rc;
    if (prepare(t->db,
                "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &s) != 0) {
        return -1;
    }
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* db_open's result for a database this terminal must not touch (exit status 3). */
#define DB_REFUSED (-2)
#define EXIT_SCHEMA_REFUSED 3

/* Makes the database file and its -wal / -shm (which SQLite creates with the database's
 * mode) readable by the owner only: the database holds the kiosks' keys in clear. A new
 * file is created 0600 (never briefly 0644); an existing one that others could read is
 * tightened, and said so. */
static int db_protect(const char *path) {
    static const char *const SUFFIXES[] = {"", "-wal", "-shm"};
    char p[4096];
    struct stat st;
    size_t i;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOCTTY, 0600);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno != EEXIST) {
        fprintf(stderr, "terminal: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (i = 0; i < sizeof SUFFIXES / sizeof SUFFIXES[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, SUFFIXES[i]);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
            if (chmod(p, st.st_mode & 0700) != 0) {
                fprintf(stderr, "terminal: %s is readable by others and cannot be made 0600: %s\n",
                        p, strerror(errno));
                return -1;
            }
            fprintf(stderr, "terminal: %s was readable by others (%03o): now %03o (it holds keys)\n",
                    p, (unsigned)(st.st_mode & 0777), (unsigned)(st.st_mode & 0700));
        }
    }
    return 0;
}

/*
 * The store schema version of an open database, read without writing anything: 0 for a
 * database without one (new, or not a store yet), the version, or DB_REFUSED for a version
 * this terminal cannot read (newer, or not a number; reported here); -1 on an error.
 */
static int db_schema_version(terminal_db *t, const char *path) {
    sqlite3_stmt *s = NULL;
    char version[32];
    char *end = NULL;
    long v;
    int rc;
    uint32_t supported = 0;
    tcm_status st = tcm_store_schema_version(&supported);
    if (st != TCM_STATUS_OK) {
        report("store schema version", st);
        return -1;
    }
    if (prepare(t->db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                &s) != 0) {
        return -1;
    }
    rc = sqlite3_step(s);
    v = rc == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    if (v < 0) {
        fprintf(stderr, "terminal: cannot read %s: %s\n", path, sqlite3_errmsg(t->db));
        return -1;
    }
    if (v == 0) {
        return 0;
    }
    if (meta_get(t, "schema", version, sizeof version) != 0) {
        fprintf(stderr, "terminal: cannot read %s: %s\n", path, sqlite3_errmsg(t->db));
        return -1;
    }
    if (version[0] == '\0') {
        return 0;
    }
    errno = 0;
    v = strtol(version, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1) {
        fprintf(stderr,
                "terminal: %s has store schema \"%s\", which this terminal cannot read: "
                "refused, the file is left unchanged\n",
                path, version);
        return DB_REFUSED;
    }
    if (v > (long)supported) {
        fprintf(stderr,
                "terminal: %s has store schema %ld, newer than this terminal's %u: refused, "
                "the file is left unchanged (use a terminal of that version)\n",
                path, v, (unsigned)supported);
        return DB_REFUSED;
    }
    return (int)v;
}

/* Opens (or creates) the database. A database of a schema this terminal cannot read is
 * refused (DB_REFUSED) before anything is written to it: the version is read first, then
 * the file is switched to WAL and libtcmcare's schema script run (it creates what is
 * missing and writes the version to a new or older database). */
static int db_open(terminal_db *t, const char *path) {
    char *err = NULL;
    const char *schema = NULL;
    size_t schema_len = 0;
    tcm_status st;
    int version;
    memset(t, 0, sizeof *t);
    st = tcm_store_schema(&schema, &schema_len);
    if (st != TCM_STATUS_OK) {
        report("store schema", st);
        return -1;
    }
    (void)schema_len; /* sqlite3_exec reads the script up to its NUL */
    if (db_protect(path) != 0) {
        return -1;
    }
    if (sqlite3_open_v2(path, &t->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "terminal: cannot open %s: %s\n", path, sqlite3_errmsg(t->db));
        return -1;
    }
    /* Wait for a busy database (another process reading it) instead of failing. */
    sqlite3_busy_timeout(t->db, BUSY_TIMEOUT_MS);
    /* Deleted content (a retired key) is overwritten, not left in free space. */
    if (sqlite3_exec(t->db, "PRAGMA secure_delete = ON", NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "terminal: %s: %s\n", path, err);
        sqlite3_free(err);
        return -1;
    }
    version = db_schema_version(t, path);
    if (version < 0) {
        return version;
    }
    if (sqlite3_exec(t->db, "PRAGMA journal_mode=WAL", NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(t->db, schema, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "terminal: schema: %s\n", err);
        sqlite3_free(err);
        return -1;
    }
    if (prepare(t->db, "SELECT watermark FROM watermarks WHERE device = ?1 AND epoch = ?2",
                &t->get_watermark) ||
        prepare(t->db,
                "INSERT INTO watermarks (device, epoch, watermark) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (device, epoch) DO UPDATE SET watermark = excluded.watermark",
                &t->set_watermark) ||
        prepare(t->db,
                "SELECT envelope FROM records WHERE device = ?1 AND epoch = ?2 AND seq = ?3 "
                "ORDER BY id_conflict, record_no LIMIT 1",
                &t->find_id) ||
        prepare(t->db,
                "INSERT INTO records (device, epoch, seq, kind, care_home, resident, time_utc,"
                " placed_utc, status, id_conflict, envelope, stream_device, stream_epoch,"
                " position, received_utc)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                &t->insert_record) ||
        prepare(t->db, "SELECT revoked FROM devices WHERE device = ?1", &t->is_revoked) ||
        prepare(t->db, "SELECT key FROM device_keys WHERE device = ?1 AND key_id = ?2",
                &t->get_key) ||
        prepare(t->db,
                "SELECT key_id, counter FROM seal_counters WHERE device = ?1 AND epoch = ?2",
                &t->get_counter) ||
        prepare(t->db,
                "INSERT INTO seal_counters (device, epoch, key_id, counter)"
                " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (device, epoch) DO UPDATE SET"
                " key_id = excluded.key_id, counter = excluded.counter"
                " WHERE excluded.key_id > key_id"
                "    OR (excluded.key_id = key_id AND excluded.counter > counter)",
                &t->set_counter)) {
        return -1;
    }
    return 0;
}

static void db_close(terminal_db *t) {
    if (t->checkpoint_pending) {
        sqlite3_wal_checkpoint_v2(t->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    }
    sqlite3_finalize(t->get_watermark);
    sqlite3_finalize(t->set_watermark);
    sqlite3_finalize(t->find_id);
    sqlite3_finalize(t->insert_record);
    sqlite3_finalize(t->is_revoked);
    sqlite3_finalize(t->get_key);
    sqlite3_finalize(t->get_counter);
    sqlite3_finalize(t->set_counter);
    sqlite3_close(t->db);
}

/*
 * After a key is deleted: secure_delete has zeroed it in the page's new version, but the
 * old version stays in the database file (and older WAL frames) until a checkpoint copies
 * the new pages back. A TRUNCATE checkpoint does that and empties the WAL. It cannot run
 * inside a callback of the receiver (a statement or transaction may be open), and a reader
 * of another process can hold it back: then it stays pending and is retried.
 */
static void db_checkpoint_after_key_deletion(terminal_db *t, int wait) {
    int log = 0, copied = 0;
    int rc;
    if (!wait) {
        sqlite3_busy_timeout(t->db, 0);
    }
    rc = sqlite3_wal_checkpoint_v2(t->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied);
    if (!wait) {
        sqlite3_busy_timeout(t->db, BUSY_TIMEOUT_MS);
    }
    if (rc == SQLITE_OK) {
        if (t->checkpoint_warned) {
            fprintf(stderr, "terminal: the deleted key is now checkpointed out of the WAL\n");
        }
        t->checkpoint_pending = 0;
        t->checkpoint_warned = 0;
        return;
    }
    if (!t->checkpoint_warned) {
        fprintf(stderr,
                "terminal: a deleted key is still in the WAL: checkpoint incomplete (%s); "
                "retrying\n",
                sqlite3_errstr(rc));
        t->checkpoint_warned = 1;
    }
    t->checkpoint_pending = 1;
}

/* Reads the stored watermark of a stream (0 if never seen); -1 on a database error. */
static int db_watermark(terminal_db *t, uint32_t device, uint32_t epoch, uint32_t *out) {
    int rc;
    sqlite3_reset(t->get_watermark);
    sqlite3_bind_int64(t->get_watermark, 1, device);
    sqlite3_bind_int64(t->get_watermark, 2, epoch);
    rc = sqlite3_step(t->get_watermark);
    if (rc == SQLITE_ROW) {
        *out = (uint32_t)sqlite3_column_int64(t->get_watermark, 0);
        /* Reset now: a statement left on its row keeps a read transaction open, which
         * holds back checkpoints (a deleted key would stay in the WAL). */
        sqlite3_reset(t->get_watermark);
        return 0;
    }
    if (rc == SQLITE_DONE) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* Is `id` already stored? 0 no, 1 with these very bytes, 2 with other bytes (a device
 * reused an epoch: the new record is kept, flagged id_conflict); -1 on an error. */
static int db_find_id(terminal_db *t, const tcm_record_id *id, const uint8_t *envelope,
                      size_t len) {
    int rc;
    int found;
    sqlite3_reset(t->find_id);
    sqlite3_bind_int64(t->find_id, 1, id->device);
    sqlite3_bind_int64(t->find_id, 2, id->epoch);
    sqlite3_bind_int64(t->find_id, 3, id->seq);
    rc = sqlite3_step(t->find_id);
    if (rc == SQLITE_DONE) {
        return 0;
    }
    if (rc != SQLITE_ROW) {
        return -1;
    }
    found = (size_t)sqlite3_column_bytes(t->find_id, 0) == len &&
                    memcmp(sqlite3_column_blob(t->find_id, 0), envelope, len) == 0
                ? 1
                : 2;
    sqlite3_reset(t->find_id);
    return found;
}

/* The `status` column: the Python store's names for the library's verdicts. */
static const char *const DECODE_CODES[] = {"truncated",     "varint_overflow",
                                           "non_canonical_varint", "invalid_utf8",
                                           "invalid_value", "trailing_bytes"};
/* A record that breaks a rule is stored as "invalid:<code>", with the library's code of the
 * rule (tcm_status_code(), the Python package's ValidationError.code). */

static void status_text(tcm_status s, char *out, size_t cap) {
    const char *code = NULL;
    if (s == TCM_STATUS_OK) {
        snprintf(out, cap, "valid");
    } else if (s == TCM_STATUS_UNKNOWN_KIND) {
        snprintf(out, cap, "unknown_kind");
    } else if (s >= TCM_STATUS_DECODE_TRUNCATED && s <= TCM_STATUS_DECODE_TRAILING_BYTES) {
        snprintf(out, cap, "malformed:%s", DECODE_CODES[s - TCM_STATUS_DECODE_TRUNCATED]);
    } else if (tcm_status_code(s, &code) == TCM_STATUS_OK) {
        snprintf(out, cap, "invalid:%s", code);
    } else {
        snprintf(out, cap, "malformed:status_%u", (unsigned)s);
    }
}

/* The inverse of status_text (for records read back from the database). */
static tcm_status status_from_text(const char *text) {
    size_t i;
    if (strcmp(text, "valid") == 0) {
        return TCM_STATUS_OK;
    }
    if (strcmp(text, "unknown_kind") == 0) {
        return TCM_STATUS_UNKNOWN_KIND;
    }
    if (strncmp(text, "malformed:status_", 17) == 0) {
        return (tcm_status)strtoul(text + 17, NULL, 10);
    }
    if (strncmp(text, "malformed:", 10) == 0) {
        for (i = 0; i < sizeof DECODE_CODES / sizeof DECODE_CODES[0]; i++) {
            if (strcmp(text + 10, DECODE_CODES[i]) == 0) {
                return (tcm_status)(TCM_STATUS_DECODE_TRUNCATED + i);
            }
        }
    }
    if (strncmp(text, "invalid:", 8) == 0) {
        /* The rules are the consecutive statuses from TCM_STATUS_DEVICE_ID_ZERO. */
        uint32_t v;
        const char *code = NULL;
        for (v = TCM_STATUS_DEVICE_ID_ZERO; tcm_status_code(v, &code) == TCM_STATUS_OK; v++) {
            if (strcmp(text + 8, code) == 0) {
                return (tcm_status)v;
            }
        }
    }
    return TCM_STATUS_DECODE_INVALID_VALUE;
}

/* One row of `records` (the caller holds the transaction). */
typedef struct row {
    uint8_t kind;
    const tcm_record_header *header; /* NULL when unreadable */
    int has_placed;
    uint64_t placed_utc;
    tcm_status status;
    int id_conflict;
    const uint8_t *envelope;
    size_t envelope_len;
    int has_stream;
    uint32_t stream_device, stream_epoch, position;
    uint64_t received_utc;
} row;

static int db_insert(terminal_db *t, const row *r) {
    sqlite3_stmt *s = t->insert_record;
    char status[64];
    status_text(r->status, status, sizeof status);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (r->header != NULL) {
        sqlite3_bind_int64(s, 1, r->header->id.device);
        sqlite3_bind_int64(s, 2, r->header->id.epoch);
        sqlite3_bind_int64(s, 3, r->header->id.seq);
        sqlite3_bind_int64(s, 5, r->header->care_home);
        sqlite3_bind_int64(s, 6, r->header->resident);
        if (r->header->time_known) {
            sqlite3_bind_int64(s, 7, (sqlite3_int64)r->header->utc_seconds);
        }
    }
    sqlite3_bind_int(s, 4, r->kind);
    if (r->has_placed) {
        sqlite3_bind_int64(s, 8, (sqlite3_int64)r->placed_utc);
    }
    sqlite3_bind_text(s, 9, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 10, r->id_conflict);
    /* SQLITE_STATIC: the envelope stays valid until the statement is stepped. */
    sqlite3_bind_blob(s, 11, r->envelope, (int)r->envelope_len, SQLITE_STATIC);
    if (r->has_stream) {
        sqlite3_bind_int64(s, 12, r->stream_device);
        sqlite3_bind_int64(s, 13, r->stream_epoch);
        sqlite3_bind_int64(s, 14, r->position);
    }
    sqlite3_bind_int64(s, 15, (sqlite3_int64)r->received_utc);
    return sqlite3_step(s);
}

/* ====================================================================================
 * Printing records as JSON lines
 * ==================================================================================== */

/* Prints a JSON string (the library's messages are ASCII; escape what JSON requires). */
static void print_json_string(const char *text) {
    putchar('"');
    for (; *text != '\0'; text++) {
        if (*text == '"' || *text == '\\') {
            putchar('\\');
        }
        putchar(*text);
    }
    putchar('"');
}

static void print_hex(const uint8_t *bytes, size_t len) {
    size_t i;
    for (i = 0; i < len; i++) {
        printf("%02x", bytes[i]);
    }
}

/*
 * A record the library can read prints as the library's JSON view (the same keys as the
 * Python bindings and the platform's exports). Anything else prints its kind, id, status
 * and bytes, so it is visible and can be traced.
 */
static void print_envelope(uint8_t kind, tcm_status status, const tcm_record_header *header,
                           const uint8_t *envelope, size_t len) {
    tcm_record rec;
    size_t extension = 0;
    char json[8192];
    size_t n = 0;
    char msg[160];
    if (status == TCM_STATUS_OK &&
        tcm_record_decode_lenient(envelope, len, &rec, &extension) == TCM_STATUS_OK &&
        tcm_record_to_json(&rec, json, sizeof json, &n) == TCM_STATUS_OK) {
        puts(json);
        return;
    }
    if (tcm_status_message(status, msg, sizeof msg, &n) != TCM_STATUS_OK) {
        msg[0] = '\0';
    }
    printf("{\"kind\":%u,\"status\":%u,\"status_message\":", (unsigned)kind, (unsigned)status);
    print_json_string(msg);
    if (header != NULL) {
        printf(",\"id\":{\"device\":%u,\"epoch\":%u,\"seq\":%u}", (unsigned)header->id.device,
               (unsigned)header->id.epoch, (unsigned)header->id.seq);
    }
    printf(",\"envelope_hex\":\"");
    print_hex(envelope, len);
    printf("\"}\n");
}

/*
 * Prints the stored records after `after` (record_no, storage order) as print_envelope
 * printed them when they arrived; the last record_no printed goes to `*last` (unchanged if
 * none). Returns the number printed, or -1 on a database error.
 */
static long print_stored(terminal_db *t, int64_t after, int64_t *last) {
    sqlite3_stmt *s = NULL;
    long printed = 0;
    int rc;
    if (prepare(t->db,
                "SELECT record_no, kind, status, device, epoch, seq, envelope FROM records"
                " WHERE record_no > ?1 ORDER BY record_no",
                &s) != 0) {
        return -1;
    }
    sqlite3_bind_int64(s, 1, after);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        tcm_record_header header;
        const unsigned char *status = sqlite3_column_text(s, 2);
        int has_id = sqlite3_column_type(s, 3) != SQLITE_NULL;
        memset(&header, 0, sizeof header);
        header.id.device = (uint32_t)sqlite3_column_int64(s, 3);
        header.id.epoch = (uint32_t)sqlite3_column_int64(s, 4);
        header.id.seq = (uint32_t)sqlite3_column_int64(s, 5);
        print_envelope((uint8_t)sqlite3_column_int(s, 1),
                       status_from_text(status != NULL ? (const char *)status : ""),
                       has_id ? &header : NULL, sqlite3_column_blob(s, 6),
                       (size_t)sqlite3_column_bytes(s, 6));
        *last = sqlite3_column_int64(s, 0);
        printed++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "terminal: reading records: %s\n", sqlite3_errmsg(t->db));
        return -1;
    }
    return printed;
}

/* Pushes what was printed to the kernel (it survives a SIGKILL), and to the disk when
 * stdout is a file (it survives a power cut, like the records it names). */
static int output_flush(void) {
    static int regular = -1;
    if (fflush(stdout) != 0) {
        return -1;
    }
    if (regular < 0) {
        struct stat st;
        regular = fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode);
    }
    return regular && fsync(STDOUT_FILENO) != 0 ? -1 : 0;
}

/* ====================================================================================
 * The terminal's clock
 * ==================================================================================== */

typedef struct terminal_clock {
    int simulated;         /* 0: this machine's clock */
    uint64_t start_utc;    /* simulated: the time at start-up */
    double rate;           /* simulated seconds per real second */
    struct timespec t0;    /* monotonic time at start-up */
} terminal_clock;

static double real_seconds_since(const struct timespec *t0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The receiver's clock: Unix seconds, or 0 when this machine's clock is obviously unset
 * (a kiosk without a clock must not be given a wrong one). */
static uint64_t clock_now(const terminal_clock *c) {
    time_t t;
    if (c->simulated) {
        return c->start_utc + (uint64_t)(real_seconds_since(&c->t0) * c->rate);
    }
    t = time(NULL);
    return t > 1704067200 ? (uint64_t)t : 0; /* 2024-01-01 */
}

/* Parses Unix seconds or YYYY-MM-DDTHH:MM:SS(Z|+HH:MM|-HH:MM). */
static int parse_start(const char *text, uint64_t *out) {
    char date[11];
    unsigned hh, mm, ss;
    int n = 0;
    long days;
    long offset = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (end != text && *end == '\0') {
        *out = (uint64_t)v;
        return 0;
    }
    if (strlen(text) < 19 || text[10] != 'T') {
        return -1;
    }
    memcpy(date, text, 10);
    date[10] = '\0';
    days = script_parse_date_days(date);
    if (days < 0 || sscanf(text + 11, "%2u:%2u:%2u%n", &hh, &mm, &ss, &n) != 3) {
        return -1;
    }
    text += 11 + n;
    if (strcmp(text, "Z") != 0) {
        int oh, om, k = 0;
        if ((text[0] != '+' && text[0] != '-') ||
            sscanf(text + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || text[1 + k] != '\0') {
            return -1;
        }
        offset = (text[0] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
    }
    *out = (uint64_t)(days * 86400L + hh * 3600L + mm * 60L + ss - offset);
    return 0;
}

/* ====================================================================================
 * What the lines did, per kiosk (--stats)
 * ==================================================================================== */

#define MAX_STREAMS 64

/* The rejections counted per reason (TCM_STATUS_SEAL_BAD_TAG + i), by name. */
#define REJECTION_REASONS 9
static const char *const REJECTION_NAMES[REJECTION_REASONS] = {
    "bad_tag", "unknown_device", "unknown_key", "revoked", "replayed",
    "wrong_epoch", "malformed", "unsealed", "key_store_failed"};

/* Why a TCP line is closed (CLOSE_NONE: it is not). */
enum close_reason {
    CLOSE_NONE,
    CLOSE_HUNG_UP,           /* the peer closed, or the socket failed */
    CLOSE_HANDSHAKE_TIMEOUT, /* no authenticated hello within --handshake-timeout */
    CLOSE_IDLE_TIMEOUT,      /* a kiosk silent for --idle-timeout */
    CLOSE_EVICTED,           /* unauthenticated, the oldest, when the cap was reached */
    CLOSE_REFUSED_FULL,      /* accepted and closed: the cap reached, every line a kiosk */
    CLOSE_SLOW_READER,       /* its replies exceeded --write-buffer: it does not read */
    CLOSE_SUPERSEDED,        /* its kiosk authenticated again on a newer connection */
    CLOSE_STOP,              /* the terminal stops */
    CLOSE_REASONS
};
static const char *const CLOSE_NAMES[CLOSE_REASONS] = {
    "none",        "hung_up",    "handshake_timeout", "idle_timeout", "evicted",
    "refused_full", "slow_reader", "superseded",       "stopped"};

/*
 * Log noise. Whoever can reach the port can make the terminal refuse frames and close
 * connections at will; logging each would write ~100 bytes per 41-byte frame. So the
 * lines about refused frames, corrupted frames and closed unauthenticated connections
 * share a budget of LOG_BURST lines per LOG_WINDOW_S seconds; beyond it they are counted
 * and summarised once per window (and when the terminal stops), by reason. What kiosks
 * that authenticated do (hellos, batches, gaps) is always logged.
 */
#define LOG_BURST 20
#define LOG_WINDOW_S 10.0

typedef struct log_limiter {
    struct timespec window; /* start of the current window */
    unsigned lines;         /* lines logged in it */
    unsigned refused[REJECTION_REASONS + 1]; /* not logged, by reason (last: other) */
    unsigned bad_frames;                     /* not logged */
    unsigned closed[CLOSE_REASONS];          /* not logged */
} log_limiter;

typedef struct stream_stats {
    uint32_t device;
    unsigned hellos, batches, records, duplicate_batches, gaps, bad_frames, already_stored,
        refused, not_introduced, store_failed, malformed, time_syncs;
    unsigned rejected; /* sealed frames refused: tampered, replayed, unknown, unsealed */
    unsigned rejected_by_reason[REJECTION_REASONS];
} stream_stats;

typedef struct terminal {
    terminal_db db;
    terminal_clock clock;
    uint32_t device; /* 0: no own records */
    uint32_t epoch;
    uint32_t seq;
    unsigned own_records, script_failures, connections, frames, bad_frames;
    int trusted; /* --trusted-link: plain frames accepted too */
    stream_stats streams[MAX_STREAMS];
    size_t stream_count;
    stream_stats unattributed; /* bad frames before a kiosk said who it is */
    /* The JSON-lines output: record_no of the last record printed (and flushed), and the
     * value of the database's cursor (meta OUTPUT_CURSOR). */
    int64_t printed_through;
    int64_t cursor_stored;
    log_limiter noise;
    unsigned closed[CLOSE_REASONS]; /* TCP connections closed, by reason */
} terminal;

/* Prints what the budget kept out of the log since the last summary, and starts a new
 * window. */
static void noise_summary(terminal *t) {
    log_limiter *n = &t->noise;
    unsigned total = 0;
    size_t i;
    char by[512];
    size_t used = 0;
    by[0] = '\0';
    for (i = 0; i <= REJECTION_REASONS; i++) {
        if (n->refused[i] != 0) {
            used += (size_t)snprintf(by + used, sizeof by - used, "%s%s %u", used ? ", " : "",
                                     i < REJECTION_REASONS ? REJECTION_NAMES[i] : "other",
                                     n->refused[i]);
            total += n->refused[i];
            if (used >= sizeof by) {
                used = sizeof by - 1;
            }
        }
    }
    if (total != 0) {
        fprintf(stderr, "terminal: %u more refused frame(s) not logged one by one (%s)\n", total,
                by);
    }
    if (n->bad_frames != 0) {
        fprintf(stderr, "terminal: %u more corrupted frame(s) not logged one by one\n",
                n->bad_frames);
    }
    used = 0;
    total = 0;
    by[0] = '\0';
    for (i = 0; i < CLOSE_REASONS; i++) {
        if (n->closed[i] != 0) {
            used += (size_t)snprintf(by + used, sizeof by - used, "%s%s %u", used ? ", " : "",
                                     CLOSE_NAMES[i], n->closed[i]);
            total += n->closed[i];
            if (used >= sizeof by) {
                used = sizeof by - 1;
            }
        }
    }
    if (total != 0) {
        fprintf(stderr, "terminal: %u more unauthenticated connection(s) closed, not logged one "
                        "by one (%s)\n",
                total, by);
    }
    memset(n, 0, sizeof *n);
    clock_gettime(CLOCK_MONOTONIC, &n->window);
}

/* Whether one more noisy line fits the budget (1: log it; 0: count it instead). */
static int noise_allowed(terminal *t) {
    if (real_seconds_since(&t->noise.window) >= LOG_WINDOW_S) {
        noise_summary(t);
    }
    if (t->noise.lines < LOG_BURST) {
        t->noise.lines++;
        return 1;
    }
    return 0;
}

static stream_stats *stats_of(terminal *t, uint32_t device) {
    size_t i;
    if (device == 0) {
        return &t->unattributed;
    }
    for (i = 0; i < t->stream_count; i++) {
        if (t->streams[i].device == device) {
            return &t->streams[i];
        }
    }
    if (t->stream_count == MAX_STREAMS) {
        return &t->unattributed;
    }
    memset(&t->streams[t->stream_count], 0, sizeof t->streams[0]);
    t->streams[t->stream_count].device = device;
    return &t->streams[t->stream_count++];
}

static void write_stream(FILE *f, const stream_stats *s) {
    fprintf(f,
            "{\"device\": %u, \"hellos\": %u, \"batches\": %u, \"records\": %u, "
            "\"duplicate_batches\": %u, \"gaps\": %u, \"bad_frames\": %u, "
            "\"already_stored\": %u, \"refused\": %u, \"not_introduced\": %u, "
            "\"store_failed\": %u, \"malformed\": %u, \"time_syncs\": %u, "
            "\"rejected\": %u, \"rejected_by_reason\": {",
            (unsigned)s->device, s->hellos, s->batches, s->records, s->duplicate_batches,
            s->gaps, s->bad_frames, s->already_stored, s->refused, s->not_introduced,
            s->store_failed, s->malformed, s->time_syncs, s->rejected);
    {
        size_t i;
        int first = 1;
        for (i = 0; i < REJECTION_REASONS; i++) {
            if (s->rejected_by_reason[i] != 0) {
                fprintf(f, "%s\"%s\": %u", first ? "" : ", ", REJECTION_NAMES[i],
                        s->rejected_by_reason[i]);
                first = 0;
            }
        }
    }
    fprintf(f, "}}");
}

static int write_stats(const terminal *t, const char *path) {
    FILE *f = fopen(path, "w");
    size_t i;
    if (f == NULL) {
        fprintf(stderr, "terminal: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f,
            "{\n  \"device\": %u,\n  \"epoch\": %u,\n  \"own_records\": %u,\n"
            "  \"script_failures\": %u,\n  \"connections\": %u,\n  \"frames\": %u,\n"
            "  \"bad_frames\": %u,\n  \"unattributed\": ",
            (unsigned)t->device, (unsigned)t->epoch, t->own_records, t->script_failures,
            t->connections, t->frames, t->bad_frames);
    write_stream(f, &t->unattributed);
    fprintf(f, ",\n  \"connections_closed\": {");
    {
        int first = 1;
        for (i = 1; i < CLOSE_REASONS; i++) {
            if (t->closed[i] != 0) {
                fprintf(f, "%s\"%s\": %u", first ? "" : ", ", CLOSE_NAMES[i], t->closed[i]);
                first = 0;
            }
        }
    }
    fprintf(f, "}");
    fprintf(f, ",\n  \"streams\": [");
    for (i = 0; i < t->stream_count; i++) {
        fprintf(f, "%s\n    ", i ? "," : "");
        write_stream(f, &t->streams[i]);
    }
    fprintf(f, "\n  ]\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* ====================================================================================
 * The JSON-lines output cursor
 *
 * Records are printed after their transaction commits and before the kiosk is acked. A
 * crash (SIGKILL, power) between the commit and the flush would lose their lines (the
 * kiosk resends, the terminal finds them stored and prints nothing), so the database
 * keeps a cursor: meta OUTPUT_CURSOR = the record_no through which the output is known
 * flushed. It moves inside the next commit's transaction (no write of its own) and at a
 * clean stop; a serving terminal first prints every record past it. After a crash the
 * last batch printed before it may therefore appear twice (same record id): the output is
 * at-least-once, never lossy. `--export` prints the whole output again from the database.
 * ==================================================================================== */

#define OUTPUT_CURSOR "terminal_output_through"

static int64_t query1(terminal_db *db, const char *sql, int64_t a);

static int output_cursor_set(terminal_db *db, int64_t through) {
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)through);
    return meta_set(db, OUTPUT_CURSOR, v);
}

/* The records through `last` (record_no; 0: none) were printed: flush them. */
static void output_printed(terminal *t, int64_t last) {
    static int warned;
    if (output_flush() != 0) {
        if (!warned) {
            fprintf(stderr, "terminal: cannot write the JSON-lines output: %s\n", strerror(errno));
            warned = 1;
        }
        return; /* the cursor stays: the next start prints them again */
    }
    if (last > t->printed_through) {
        t->printed_through = last;
    }
}

/* At start-up (serving): prints the records an earlier run committed but may not have
 * printed. A database without a cursor (new, or from an older terminal) starts it at its
 * last record: what was printed before is not known. */
static int output_catch_up(terminal *t) {
    char v[32];
    int64_t cursor, last;
    long n;
    if (meta_get(&t->db, OUTPUT_CURSOR, v, sizeof v) != 0) {
        return -1;
    }
    cursor = v[0] != '\0' ? (int64_t)strtoll(v, NULL, 10)
                          : query1(&t->db, "SELECT COALESCE(MAX(record_no), 0) FROM records", 0);
    if (cursor < 0) {
        return -1;
    }
    last = cursor;
    n = print_stored(&t->db, cursor, &last);
    if (n < 0) {
        return -1;
    }
    if (n > 0) {
        fprintf(stderr,
                "terminal: printed %ld stored record(s) an earlier run had committed but not "
                "printed (it stopped before)\n",
                n);
    }
    if (output_flush() != 0) {
        fprintf(stderr, "terminal: cannot write the JSON-lines output: %s\n", strerror(errno));
        return -1;
    }
    t->printed_through = last;
    if ((v[0] == '\0' || last != cursor) && output_cursor_set(&t->db, last) != 0) {
        return -1;
    }
    t->cursor_stored = last;
    return 0;
}

/* At a clean stop: the cursor moves to the last record printed. */
static void output_cursor_save(terminal *t) {
    if (t->printed_through > t->cursor_stored && output_cursor_set(&t->db, t->printed_through) == 0) {
        t->cursor_stored = t->printed_through;
    }
}

/* ====================================================================================
 * Receiver store: the two callbacks the receiver calls
 * ==================================================================================== */

static uint32_t store_watermark(void *ctx, uint32_t device, uint32_t epoch, uint32_t *wm) {
    terminal *t = ctx;
    return db_watermark(&t->db, device, epoch, wm) == 0 ? TCM_STORE_RESULT_OK
                                                        : TCM_STORE_RESULT_UNAVAILABLE;
}

/* Maps an SQLite failure to what the receiver tells the kiosk (retry later). */
static uint32_t failed(terminal_db *t, int rc) {
    sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
    fprintf(stderr, "terminal: commit rolled back: %s\n", sqlite3_errstr(rc));
    return rc == SQLITE_FULL ? TCM_STORE_RESULT_FULL : TCM_STORE_RESULT_UNAVAILABLE;
}

static int db_raise_counter(terminal_db *db, uint32_t device, uint32_t epoch, uint32_t key_id,
                            uint32_t counter);

/*
 * Stores one batch: every record and the new watermark, in one transaction. The library
 * guarantees `first_position` is the watermark it read + 1; checking it again inside the
 * transaction protects against a second writer (another terminal process).
 */
static uint32_t store_commit(void *ctx, const tcm_commit *c) {
    terminal *t = ctx;
    terminal_db *db = &t->db;
    uint32_t current = 0;
    unsigned skipped = 0;
    uint64_t now = clock_now(&t->clock);
    int64_t last = 0;
    size_t i;
    int rc;

    rc = sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return rc == SQLITE_FULL ? TCM_STORE_RESULT_FULL : TCM_STORE_RESULT_UNAVAILABLE;
    }
    if (db_watermark(db, c->device, c->epoch, &current) != 0) {
        return failed(db, sqlite3_errcode(db->db));
    }
    if (current + 1 != c->first_position || c->new_watermark != current + c->count) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        return TCM_STORE_RESULT_CONFLICT;
    }

    for (i = 0; i < c->count; i++) {
        const tcm_record_to_commit *r = &c->records[i];
        row w;
        memset(&w, 0, sizeof w);
        /* The same record forwarded twice (by two terminals, say) is stored once; a
         * different record under a stored id is kept and flagged. */
        if (r->has_header) {
            int found = db_find_id(db, &r->header.id, r->envelope, r->envelope_len);
            if (found < 0) {
                return failed(db, sqlite3_errcode(db->db));
            }
            if (found == 1) {
                skipped++;
                continue;
            }
            w.id_conflict = found == 2;
            w.header = &r->header;
        }
        w.kind = r->kind;
        w.has_placed = r->has_placed_time;
        w.placed_utc = r->placed_utc_seconds;
        w.status = r->status;
        w.envelope = r->envelope;
        w.envelope_len = r->envelope_len;
        w.has_stream = 1;
        w.stream_device = c->device;
        w.stream_epoch = c->epoch;
        w.position = r->position;
        w.received_utc = now;
        rc = db_insert(db, &w);
        if (rc != SQLITE_DONE) {
            return failed(db, rc);
        }
        last = sqlite3_last_insert_rowid(db->db);
    }

    sqlite3_reset(db->set_watermark);
    sqlite3_bind_int64(db->set_watermark, 1, c->device);
    sqlite3_bind_int64(db->set_watermark, 2, c->epoch);
    sqlite3_bind_int64(db->set_watermark, 3, c->new_watermark);
    rc = sqlite3_step(db->set_watermark);
    if (rc != SQLITE_DONE) {
        return failed(db, rc);
    }
    /* Sealed batches: the frame's counter goes in with its records (replay protection). */
    if (c->has_counter) {
        rc = db_raise_counter(db, c->device, c->epoch, c->key_id, c->counter);
        if (rc != SQLITE_DONE) {
            return failed(db, rc);
        }
    }
    /* What earlier batches printed is on stdout by now: move the output cursor with this
     * batch (no write of its own). */
    if (t->printed_through > t->cursor_stored && output_cursor_set(db, t->printed_through) != 0) {
        return failed(db, sqlite3_errcode(db->db));
    }
    rc = sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return failed(db, rc);
    }
    t->cursor_stored = t->printed_through;
    stats_of(t, c->device)->already_stored += skipped;

    /* Durable now: show what arrived, on stdout before the kiosk gets its ack. A crash
     * before the flush loses no line: the records are past the output cursor, and the
     * next start prints them (output_catch_up). */
    for (i = 0; i < c->count; i++) {
        const tcm_record_to_commit *r = &c->records[i];
        print_envelope(r->kind, r->status, r->has_header ? &r->header : NULL, r->envelope,
                       r->envelope_len);
    }
    output_printed(t, last);
    return TCM_STORE_RESULT_OK;
}

/* ====================================================================================
 * Key store and replay store: the callbacks a sealed receiver calls
 * ==================================================================================== */

/* Raises a stream's replay counter (never lowers it); returns the sqlite3_step code. */
static int db_raise_counter(terminal_db *db, uint32_t device, uint32_t epoch, uint32_t key_id,
                            uint32_t counter) {
    int rc;
    sqlite3_reset(db->set_counter);
    sqlite3_bind_int64(db->set_counter, 1, device);
    sqlite3_bind_int64(db->set_counter, 2, epoch);
    sqlite3_bind_int64(db->set_counter, 3, key_id);
    sqlite3_bind_int64(db->set_counter, 4, counter);
    rc = sqlite3_step(db->set_counter);
    sqlite3_reset(db->set_counter);
    return rc;
}

static uint32_t keys_lookup(void *ctx, uint32_t device, uint32_t key_id, uint8_t *state,
                            uint8_t *key) {
    terminal_db *db = &((terminal *)ctx)->db;
    int rc;
    sqlite3_reset(db->is_revoked);
    sqlite3_bind_int64(db->is_revoked, 1, device);
    rc = sqlite3_step(db->is_revoked);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(db->is_revoked);
        *state = TCM_KEY_STATE_UNKNOWN_DEVICE;
        return TCM_STORE_RESULT_OK;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(db->is_revoked);
        return TCM_STORE_RESULT_UNAVAILABLE;
    }
    if (sqlite3_column_int64(db->is_revoked, 0) != 0) {
        sqlite3_reset(db->is_revoked);
        *state = TCM_KEY_STATE_REVOKED;
        return TCM_STORE_RESULT_OK;
    }
    sqlite3_reset(db->is_revoked);
    sqlite3_reset(db->get_key);
    sqlite3_bind_int64(db->get_key, 1, device);
    sqlite3_bind_int64(db->get_key, 2, key_id);
    rc = sqlite3_step(db->get_key);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(db->get_key, 0) == TCM_KEY_LEN) {
        memcpy(key, sqlite3_column_blob(db->get_key, 0), TCM_KEY_LEN);
        *state = TCM_KEY_STATE_ACTIVE;
    } else {
        *state = TCM_KEY_STATE_UNKNOWN_KEY;
    }
    sqlite3_reset(db->get_key);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? TCM_STORE_RESULT_OK
                                                 : TCM_STORE_RESULT_UNAVAILABLE;
}

/* Hands out `count` reply counters of a key, durably, never twice. */
static uint32_t keys_reserve(void *ctx, uint32_t device, uint32_t key_id, uint32_t count,
                             uint32_t *first) {
    terminal_db *db = &((terminal *)ctx)->db;
    sqlite3_stmt *s = NULL;
    int64_t reserved = 0;
    int rc;
    *first = 0;
    if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return TCM_STORE_RESULT_UNAVAILABLE;
    }
    if (prepare(db->db,
                "SELECT downlink_reserved FROM device_keys WHERE device = ?1 AND key_id = ?2",
                &s) != 0) {
        return failed(db, sqlite3_errcode(db->db));
    }
    sqlite3_bind_int64(s, 1, device);
    sqlite3_bind_int64(s, 2, key_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        reserved = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        return rc == SQLITE_DONE ? TCM_STORE_RESULT_OK : TCM_STORE_RESULT_UNAVAILABLE;
    }
    if (count == 0 || reserved < 0 || reserved + (int64_t)count > (int64_t)UINT32_MAX) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        return TCM_STORE_RESULT_OK; /* exhausted: the key must be rotated */
    }
    if (prepare(db->db,
                "UPDATE device_keys SET downlink_reserved = ?3 WHERE device = ?1 AND key_id = ?2",
                &s) != 0) {
        return failed(db, sqlite3_errcode(db->db));
    }
    sqlite3_bind_int64(s, 1, device);
    sqlite3_bind_int64(s, 2, key_id);
    sqlite3_bind_int64(s, 3, reserved + count);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        return failed(db, rc);
    }
    rc = sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return failed(db, rc);
    }
    *first = (uint32_t)(reserved + 1);
    return TCM_STORE_RESULT_OK;
}

/* A frame under `key_id` was accepted: the kiosk has that key; its older ones go. */
static uint32_t keys_used(void *ctx, uint32_t device, uint32_t key_id) {
    terminal_db *db = &((terminal *)ctx)->db;
    sqlite3_stmt *s = NULL;
    int rc;
    if (prepare(db->db,
                "DELETE FROM device_keys WHERE device = ?1 AND key_id < ?2", &s) != 0) {
        return TCM_STORE_RESULT_UNAVAILABLE;
    }
    sqlite3_bind_int64(s, 1, device);
    sqlite3_bind_int64(s, 2, key_id);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE && sqlite3_changes(db->db) > 0) {
        db->checkpoint_pending = 1; /* done once the receiver returns (on_payload) */
    }
    return rc == SQLITE_DONE ? TCM_STORE_RESULT_OK : TCM_STORE_RESULT_UNAVAILABLE;
}

static uint32_t replay_last(void *ctx, uint32_t device, uint32_t epoch, uint32_t *key_id,
                            uint32_t *counter) {
    terminal_db *db = &((terminal *)ctx)->db;
    int rc;
    sqlite3_reset(db->get_counter);
    sqlite3_bind_int64(db->get_counter, 1, device);
    sqlite3_bind_int64(db->get_counter, 2, epoch);
    rc = sqlite3_step(db->get_counter);
    *key_id = 0;
    *counter = 0;
    if (rc == SQLITE_ROW) {
        *key_id = (uint32_t)sqlite3_column_int64(db->get_counter, 0);
        *counter = (uint32_t)sqlite3_column_int64(db->get_counter, 1);
    }
    sqlite3_reset(db->get_counter);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? TCM_STORE_RESULT_OK
                                                 : TCM_STORE_RESULT_UNAVAILABLE;
}

static uint32_t replay_note(void *ctx, uint32_t device, uint32_t epoch, uint32_t key_id,
                            uint32_t counter) {
    terminal_db *db = &((terminal *)ctx)->db;
    return db_raise_counter(db, device, epoch, key_id, counter) == SQLITE_DONE
               ? TCM_STORE_RESULT_OK
               : TCM_STORE_RESULT_UNAVAILABLE;
}

/* ====================================================================================
 * The terminal's own records (the staff's entries of --script)
 * ==================================================================================== */

/* Finds this terminal's epoch (meta `device_epoch:<id>`, else one past any epoch of this
 * device in the database) and its last sequence number. */
static int own_identity(terminal *t) {
    char key[48], value[32];
    sqlite3_stmt *s = NULL;
    snprintf(key, sizeof key, "device_epoch:%u", (unsigned)t->device);
    if (meta_get(&t->db, key, value, sizeof value) != 0) {
        return -1;
    }
    if (value[0] != '\0') {
        t->epoch = (uint32_t)strtoul(value, NULL, 10);
    } else {
        if (prepare(t->db.db, "SELECT COALESCE(MAX(epoch), 0) + 1 FROM records WHERE device = ?1",
                    &s) != 0) {
            return -1;
        }
        sqlite3_bind_int64(s, 1, t->device);
        t->epoch = sqlite3_step(s) == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(s, 0) : 0;
        sqlite3_finalize(s);
        snprintf(value, sizeof value, "%u", (unsigned)t->epoch);
        if (t->epoch == 0 || meta_set(&t->db, key, value) != 0) {
            return -1;
        }
    }
    if (prepare(t->db.db,
                "SELECT COALESCE(MAX(seq), 0) FROM records WHERE device = ?1 AND epoch = ?2",
                &s) != 0) {
        return -1;
    }
    sqlite3_bind_int64(s, 1, t->device);
    sqlite3_bind_int64(s, 2, t->epoch);
    t->seq = sqlite3_step(s) == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return 0;
}

/* Gives a record of the script this terminal's next id, encodes (and so validates) it
 * and stores it. */
static int store_own(void *ctx, tcm_record *record) {
    terminal *t = ctx;
    uint8_t envelope[TCM_MAX_ENVELOPE_LEN];
    size_t len = 0;
    int64_t last = 0;
    row w;
    tcm_status s;
    int rc;

    record->header.id.device = t->device;
    record->header.id.epoch = t->epoch;
    record->header.id.seq = t->seq + 1;
    s = tcm_record_encode(record, envelope, sizeof envelope, &len);
    if (s != TCM_STATUS_OK) {
        report("own record", s);
        t->script_failures++;
        return -1;
    }
    memset(&w, 0, sizeof w);
    w.kind = record->kind;
    w.header = &record->header;
    w.status = TCM_STATUS_OK;
    w.envelope = envelope;
    w.envelope_len = len;
    w.received_utc = clock_now(&t->clock);
    rc = sqlite3_exec(t->db.db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        rc = db_insert(&t->db, &w);
        last = sqlite3_last_insert_rowid(t->db.db);
    }
    if (rc == SQLITE_DONE && t->printed_through > t->cursor_stored &&
        output_cursor_set(&t->db, t->printed_through) != 0) {
        rc = sqlite3_errcode(t->db.db);
    }
    if (rc == SQLITE_DONE) {
        rc = sqlite3_exec(t->db.db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        sqlite3_exec(t->db.db, "ROLLBACK", NULL, NULL, NULL);
        fprintf(stderr, "terminal: cannot store own record: %s\n", sqlite3_errstr(rc));
        t->script_failures++;
        return -1;
    }
    t->cursor_stored = t->printed_through;
    t->seq++;
    t->own_records++;
    print_envelope(record->kind, TCM_STATUS_OK, &record->header, envelope, len);
    output_printed(t, last);
    return 0;
}

/* ====================================================================================
 * The lines
 * ==================================================================================== */

/* Writes all of `len` bytes (a reply frame) to `fd`; -1 when the line is gone. */
static int write_all(int fd, const uint8_t *bytes, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, bytes, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        bytes += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One kiosk line: its decoder, its receiver, what it said. */
typedef struct line {
    int in_fd;
    int reply_fd;
    tcm_frame_decoder *dec;
    tcm_receiver *rx;
    uint32_t device; /* 0 until its hello (authenticated, or plain on a trusted link) */
    uint32_t epoch;
    uint32_t rotation_to; /* the key id a pending rotation moves to (read at each hello) */
    int rotation_sent;    /* ... and it went out since the last hello */
    struct timespec last_sync;
    /* TCP lines: replies the socket has not taken yet (non-blocking writes), at most
     * out_cap bytes; out == NULL: blocking writes (the stdin line's --reply). */
    uint8_t *out;
    size_t out_len, out_cap;
    struct timespec opened;     /* accepted */
    struct timespec last_input; /* bytes last read */
    int closing;                /* an enum close_reason */
    int fresh_hello;            /* introduced since the serving loop last looked */
} line;

static int line_open(terminal *t, line *l, int in_fd, int reply_fd) {
    tcm_receiver_store store;
    tcm_replay_store replay;
    tcm_key_store keys;
    tcm_status s;
    memset(l, 0, sizeof *l);
    l->in_fd = in_fd;
    l->reply_fd = reply_fd;
    /* The receiver keeps no data itself: it commits through these callbacks, and looks
     * keys and replay counters up in the same database. */
    store.ctx = t;
    store.watermark = store_watermark;
    store.commit = store_commit;
    replay.ctx = t;
    replay.last_counter = replay_last;
    replay.note_counter = replay_note;
    keys.ctx = t;
    keys.lookup = keys_lookup;
    keys.reserve_downlink = keys_reserve;
    keys.key_used = keys_used;
    s = tcm_receiver_new_sealed(&store, &replay, &keys,
                                t->trusted ? TCM_LINK_SECURITY_TRUSTED_UNSEALED
                                           : TCM_LINK_SECURITY_SEALED,
                                &l->rx);
    if (s == TCM_STATUS_OK) {
        s = tcm_frame_decoder_new(&l->dec);
    }
    if (s != TCM_STATUS_OK) {
        report("line setup", s);
        tcm_receiver_free(l->rx);
        l->rx = NULL;
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &l->last_sync);
    l->opened = l->last_sync;
    l->last_input = l->last_sync;
    t->connections++;
    return 0;
}

static void line_close(line *l) {
    tcm_frame_decoder_free(l->dec);
    tcm_receiver_free(l->rx);
    free(l->out);
    l->dec = NULL;
    l->rx = NULL;
    l->out = NULL;
}

/* Hands the socket what it takes of the line's pending replies, without blocking. */
static void line_flush(line *l) {
    size_t done = 0;
    while (done < l->out_len) {
        ssize_t n = write(l->reply_fd, l->out + done, l->out_len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            l->closing = CLOSE_HUNG_UP;
            done = l->out_len;
            break;
        }
        done += (size_t)n;
    }
    memmove(l->out, l->out + done, l->out_len - done);
    l->out_len -= done;
}

static void send_payload(line *l, const uint8_t *payload, size_t len) {
    uint8_t frame[2 * TCM_MAX_SEALED_CONTROL_LEN + 8];
    size_t frame_len = 0;
    tcm_status s;
    if (l->reply_fd < 0 || l->closing != CLOSE_NONE) {
        return;
    }
    s = tcm_frame_encode(payload, len, frame, sizeof frame, &frame_len);
    if (s != TCM_STATUS_OK) {
        report("frame reply", s);
        return;
    }
    if (l->out == NULL) {
        if (write_all(l->reply_fd, frame, frame_len) != 0) {
            fprintf(stderr, "terminal: cannot send to kiosk %u: %s\n", (unsigned)l->device,
                    strerror(errno));
        }
        return;
    }
    /* A peer that leaves its replies unread fills the socket, then this buffer: it is
     * dropped rather than allowed to stall the terminal or grow its memory. */
    line_flush(l);
    if (l->closing != CLOSE_NONE) {
        return;
    }
    if (frame_len > l->out_cap - l->out_len) {
        l->closing = CLOSE_SLOW_READER;
        return;
    }
    memcpy(l->out + l->out_len, frame, frame_len);
    l->out_len += frame_len;
    line_flush(l);
}

/* Sends the kiosk the terminal's time (the kiosk resets its clock from it). */
static void send_time(terminal *t, line *l) {
    uint8_t msg[TCM_MAX_SEALED_CONTROL_LEN];
    size_t len = 0;
    uint64_t now = clock_now(&t->clock);
    clock_gettime(CLOCK_MONOTONIC, &l->last_sync);
    if (now == 0 || tcm_receiver_time_sync(l->rx, now, msg, sizeof msg, &len) != TCM_STATUS_OK) {
        return;
    }
    send_payload(l, msg, len);
    stats_of(t, l->device)->time_syncs++;
}

static int exec3(terminal_db *db, const char *sql, int64_t a, int64_t b, int64_t c);

/*
 * A pending key rotation of the line's kiosk (meta `rotate:<id>` = the new key id, set by
 * --rotate): once the kiosk's frames come under the new key the rotation is done (the
 * receiver's key_used callback has deleted the old key); until then, after each hello,
 * the new key goes to the kiosk sealed under its current key. The pending rotation is
 * read from the database at each hello (`hello`), so commits cost no extra query.
 */
static void continue_rotation(terminal *t, line *l, int hello) {
    char k[48], v[16];
    uint8_t found = 0;
    uint32_t device = 0, epoch = 0, key_id = 0, to;
    int64_t have;
    sqlite3_stmt *s = NULL;
    tcm_device_key *key = NULL;
    uint8_t out[TCM_MAX_SEALED_REKEY_LEN];
    size_t n = 0;
    tcm_status st;

    if (tcm_receiver_session(l->rx, &found, &device, &epoch, &key_id) != TCM_STATUS_OK || !found ||
        key_id == 0) {
        return;
    }
    if (hello) {
        snprintf(k, sizeof k, "rotate:%u", (unsigned)device);
        l->rotation_to = 0;
        l->rotation_sent = 0;
        if (meta_get(&t->db, k, v, sizeof v) == 0 && v[0] != '\0') {
            l->rotation_to = (uint32_t)strtoul(v, NULL, 10);
        }
    }
    to = l->rotation_to;
    if (to == 0) {
        return;
    }
    if (key_id >= to) {
        l->rotation_to = 0;
        exec3(&t->db, "DELETE FROM meta WHERE key = 'rotate:' || ?1", device, 0, 0);
        fprintf(stderr, "terminal: kiosk %u now seals under key id %u: rotation done\n",
                (unsigned)device, (unsigned)key_id);
        return;
    }
    if (l->rotation_sent) {
        return; /* once per hello */
    }
    if (prepare(t->db.db, "SELECT key FROM device_keys WHERE device = ?1 AND key_id = ?2", &s) != 0) {
        return;
    }
    sqlite3_bind_int64(s, 1, device);
    sqlite3_bind_int64(s, 2, to);
    have = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == TCM_KEY_LEN;
    st = have ? tcm_device_key_new(sqlite3_column_blob(s, 0), TCM_KEY_LEN, &key)
              : TCM_STATUS_SEAL_UNKNOWN_KEY;
    sqlite3_finalize(s);
    if (st == TCM_STATUS_OK) {
        st = tcm_receiver_rekey(l->rx, device, epoch, key_id, to, key, out, sizeof out, &n);
    }
    tcm_device_key_free(key);
    if (st != TCM_STATUS_OK) {
        report("key rotation", st);
        return;
    }
    send_payload(l, out, n);
    l->rotation_sent = 1;
    fprintf(stderr, "terminal: kiosk %u: sent key id %u, sealed under key id %u\n",
            (unsigned)device, (unsigned)to, (unsigned)key_id);
}

/* Handles one frame payload: the receiver commits (through store_commit) and replies. */
static void on_payload(terminal *t, line *l, const uint8_t *payload, size_t len) {
    uint8_t reply[TCM_MAX_SEALED_CONTROL_LEN];
    size_t reply_len = 0;
    tcm_receiver_event ev;
    tcm_status s;

    s = tcm_receiver_handle(l->rx, clock_now(&t->clock), payload, len, reply, sizeof reply,
                            &reply_len, &ev);
    if (t->db.checkpoint_pending && !t->db.checkpoint_warned) {
        db_checkpoint_after_key_deletion(&t->db, 0); /* a key retired by the receiver */
    }
    if (s != TCM_STATUS_OK) {
        report("receiver", s);
        return;
    }
    switch (ev.kind) {
    case TCM_RECEIVER_EVENT_KIND_INTRODUCED:
        l->device = ev.device;
        l->epoch = ev.epoch;
        l->fresh_hello = 1;
        stats_of(t, ev.device)->hellos++;
        fprintf(stderr, "terminal: kiosk %u (epoch %u) says hello, resumes after %u\n",
                (unsigned)ev.device, (unsigned)ev.epoch, (unsigned)ev.watermark);
        break;
    case TCM_RECEIVER_EVENT_KIND_COMMITTED:
        stats_of(t, ev.device)->batches++;
        stats_of(t, ev.device)->records += ev.count;
        fprintf(stderr, "terminal: kiosk %u: stored %u..%u\n", (unsigned)ev.device,
                (unsigned)ev.first_position, (unsigned)(ev.first_position + ev.count - 1));
        break;
    case TCM_RECEIVER_EVENT_KIND_DUPLICATE:
        stats_of(t, l->device)->duplicate_batches++;
        fprintf(stderr, "terminal: kiosk %u: duplicate batch, acknowledged %u again\n",
                (unsigned)l->device, (unsigned)ev.watermark);
        break;
    case TCM_RECEIVER_EVENT_KIND_GAP:
        stats_of(t, l->device)->gaps++;
        fprintf(stderr, "terminal: kiosk %u: gap, asked for %u (got %u)\n", (unsigned)l->device,
                (unsigned)ev.expected, (unsigned)ev.got);
        break;
    case TCM_RECEIVER_EVENT_KIND_STORE_FAILED:
        stats_of(t, l->device)->store_failed++;
        fprintf(stderr, "terminal: store failed (%u), kiosk will retry\n",
                (unsigned)ev.store_result);
        break;
    case TCM_RECEIVER_EVENT_KIND_REFUSED:
        stats_of(t, l->device)->refused++;
        fprintf(stderr, "terminal: refused a hello (reason %u)\n", (unsigned)ev.nack_reason);
        break;
    case TCM_RECEIVER_EVENT_KIND_NOT_INTRODUCED:
        stats_of(t, l->device)->not_introduced++;
        break;
    case TCM_RECEIVER_EVENT_KIND_MALFORMED:
        stats_of(t, l->device)->malformed++;
        break;
    case TCM_RECEIVER_EVENT_KIND_REJECTED: {
        /* Counted for the line's kiosk once one has authenticated on it, else unattributed:
         * never for the device the frame claims (its seal header is not authenticated, so
         * forged ids would crowd the real kiosks out of --stats). */
        stream_stats *st = l->device != 0 ? stats_of(t, l->device) : &t->unattributed;
        unsigned reason = (unsigned)ev.rejection - (unsigned)TCM_STATUS_SEAL_BAD_TAG;
        if (reason > REJECTION_REASONS) {
            reason = REJECTION_REASONS; /* "other" */
        }
        st->rejected++;
        if (reason < REJECTION_REASONS) {
            st->rejected_by_reason[reason]++;
        }
        if (noise_allowed(t)) {
            char msg[96];
            size_t n = 0;
            if (tcm_status_message(ev.rejection, msg, sizeof msg, &n) != TCM_STATUS_OK) {
                snprintf(msg, sizeof msg, "status %u", (unsigned)ev.rejection);
            }
            fprintf(stderr, "terminal: frame refused (claims kiosk %u): %s\n",
                    (unsigned)ev.device, msg);
        } else {
            t->noise.refused[reason]++;
        }
        break;
    }
    case TCM_RECEIVER_EVENT_KIND_DOWNLINK_EXHAUSTED:
        fprintf(stderr, "terminal: kiosk %u: reply counters of its key used up: rotate the "
                        "key (provision it again)\n",
                (unsigned)l->device);
        break;
    default:
        break; /* ignored: nothing to say */
    }
    if (reply_len > 0) {
        send_payload(l, reply, reply_len);
    }
    if (ev.kind == TCM_RECEIVER_EVENT_KIND_INTRODUCED || ev.kind == TCM_RECEIVER_EVENT_KIND_COMMITTED) {
        continue_rotation(t, l, ev.kind == TCM_RECEIVER_EVENT_KIND_INTRODUCED);
    }
}

/* Feeds bytes read from a line to its decoder; payloads go to the receiver. */
static void on_bytes(terminal *t, line *l, const uint8_t *p, size_t left) {
    static uint8_t payload[TCM_FRAME_DECODER_CAPACITY];
    /* One chunk may hold several frames, or a part of one: loop until it is used up (or
     * the line is to be closed: nothing more of it is handled). */
    while (left > 0 && l->closing == CLOSE_NONE) {
        size_t used = 0;
        size_t len = 0;
        tcm_status s =
            tcm_frame_decoder_feed(l->dec, p, left, &used, payload, sizeof payload, &len);
        p += used;
        left -= used;
        if (s == TCM_STATUS_NEED_MORE_INPUT) {
            break;
        }
        t->frames++;
        if (s == TCM_STATUS_OK) {
            on_payload(t, l, payload, len);
        } else {
            /* A corrupted frame was skipped; the kiosk resends what is not acked. */
            t->bad_frames++;
            stats_of(t, l->device)->bad_frames++;
            if (noise_allowed(t)) {
                char what[64];
                snprintf(what, sizeof what, "kiosk %u: frame rejected", (unsigned)l->device);
                report(what, s);
            } else {
                t->noise.bad_frames++;
            }
        }
    }
}

/* Reads one line until it closes (stdin mode). */
static void serve_stdin(terminal *t, line *l) {
    uint8_t chunk[512];
    for (;;) {
        ssize_t got = read(l->in_fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return; /* end of input */
        }
        on_bytes(t, l, chunk, (size_t)got);
    }
}

#define LISTEN_BACKLOG 1024 /* connections the kernel queues until accepted (capped by
                             * net.core.somaxconn): a flood waits there, not in SYN retries */

/* Listens on 127.0.0.1:port; returns the socket or -1. */
static int listen_on(int port) {
    struct sockaddr_in addr;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

/*
 * The TCP server's limits (command-line overrides in parentheses). A connection is a
 * kiosk once the receiver took its hello (sealed: authenticated with the kiosk's key;
 * with --trusted-link a plain hello counts too); until then it is unauthenticated.
 */
#define DEFAULT_MAX_CONNECTIONS 64      /* lines at once (--max-connections) */
#define MAX_MAX_CONNECTIONS 4096
#define DEFAULT_HANDSHAKE_TIMEOUT_S 10.0 /* to say an accepted hello (--handshake-timeout) */
#define DEFAULT_IDLE_TIMEOUT_S 0.0      /* kiosk silent this long is closed; 0: never
                                         * (--idle-timeout) */
#define DEFAULT_WRITE_BUFFER 65536      /* replies not taken by the socket (--write-buffer) */
#define MIN_WRITE_BUFFER 4096
#define ACCEPTS_PER_ROUND 16            /* new connections taken per poll round */
#define EVICT_MIN_AGE_S 0.25            /* an unauthenticated line's minimum time before it
                                         * can be evicted for a new connection */
#define CHECKPOINT_RETRY_S 1.0

typedef struct serve_options {
    double time_sync_s;
    size_t max_connections;
    double handshake_timeout_s;
    double idle_timeout_s;
    size_t write_buffer;
} serve_options;

/* Closes a TCP line and says why (lines of no kiosk within the log budget). */
static void line_end(terminal *t, line *l, int why) {
    t->closed[why]++;
    if (why == CLOSE_STOP) {
        /* quietly */
    } else if (l->device != 0) {
        switch (why) {
        case CLOSE_SLOW_READER:
            fprintf(stderr,
                    "terminal: kiosk %u dropped: not reading its replies (%u bytes unsent, "
                    "--write-buffer %u)\n",
                    (unsigned)l->device, (unsigned)l->out_len, (unsigned)l->out_cap);
            break;
        case CLOSE_IDLE_TIMEOUT:
            fprintf(stderr, "terminal: kiosk %u closed: silent for the idle timeout\n",
                    (unsigned)l->device);
            break;
        case CLOSE_SUPERSEDED:
            fprintf(stderr, "terminal: kiosk %u: older connection closed (it said hello on a "
                            "newer one)\n",
                    (unsigned)l->device);
            break;
        default:
            fprintf(stderr, "terminal: kiosk %u hung up\n", (unsigned)l->device);
            break;
        }
    } else if (noise_allowed(t)) {
        static const char *const WHY[CLOSE_REASONS] = {
            "", "hung up before a hello", "no accepted hello within the handshake timeout",
            "silent for the idle timeout",
            "evicted: the connection cap was reached and it was the oldest without a hello",
            "refused: the connection cap was reached and every connection is a kiosk's",
            "not reading its replies", "superseded", ""};
        fprintf(stderr, "terminal: connection closed: %s\n", WHY[why]);
    } else {
        t->noise.closed[why]++;
    }
    if (l->in_fd >= 0) {
        close(l->in_fd);
    }
    line_close(l);
}

/* The line without an accepted hello that has been open longest (n if none). */
static size_t oldest_unauthenticated(line *lines, size_t n) {
    size_t victim = n;
    size_t i;
    for (i = 0; i < n; i++) {
        if (lines[i].device == 0 &&
            (victim == n || lines[i].opened.tv_sec < lines[victim].opened.tv_sec ||
             (lines[i].opened.tv_sec == lines[victim].opened.tv_sec &&
              lines[i].opened.tv_nsec < lines[victim].opened.tv_nsec))) {
            victim = i;
        }
    }
    return victim;
}

/* Reads what a TCP line has (one chunk) and handles it; marks the line for closing when
 * the peer has gone. */
static void line_read(terminal *t, line *l) {
    uint8_t chunk[512];
    ssize_t got = read(l->in_fd, chunk, sizeof chunk);
    if (got > 0) {
        clock_gettime(CLOCK_MONOTONIC, &l->last_input);
        on_bytes(t, l, chunk, (size_t)got);
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
        l->closing = CLOSE_HUNG_UP;
    }
}

/* Makes an accepted socket non-blocking with a send buffer of about `bytes` (so a peer
 * that does not read is noticed at a known size, not after megabytes of autotuning). */
static int tune_socket(int fd, size_t bytes) {
    int flags = fcntl(fd, F_GETFL);
    int size = (int)bytes;
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    return 0;
}

/* Serves kiosks on TCP until SIGINT / SIGTERM: one poll() over the listening socket and
 * every connection; between events, timeouts, the script's due entries, the time syncs. */
static int serve_tcp(terminal *t, int port, script *sc, const serve_options *o) {
    line *lines = calloc(o->max_connections, sizeof *lines);
    struct pollfd *fds = calloc(o->max_connections + 1, sizeof *fds);
    size_t n = 0;
    size_t i, j;
    struct sigaction sa;
    struct timespec last_checkpoint;
    int lfd = -1;
    if (lines == NULL || fds == NULL) {
        fprintf(stderr, "terminal: out of memory\n");
        free(lines);
        free(fds);
        return -1;
    }
    lfd = listen_on(port);
    if (lfd < 0 || fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) != 0) {
        fprintf(stderr, "terminal: cannot listen on port %d: %s\n", port, strerror(errno));
        if (lfd >= 0) {
            close(lfd);
        }
        free(lines);
        free(fds);
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns on a signal */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a kiosk hanging up must not kill the terminal */
    clock_gettime(CLOCK_MONOTONIC, &last_checkpoint);
    fprintf(stderr,
            "terminal: listening on 127.0.0.1:%d (at most %u connections, handshake timeout "
            "%.1f s, write buffer %u bytes)\n",
            port, (unsigned)o->max_connections, o->handshake_timeout_s,
            (unsigned)o->write_buffer);

    while (!stop) {
        int ready;
        int wait_ms;
        /* The listening socket is polled whenever a new connection can be answered: below
         * the cap; at the cap when every line is a kiosk's (the new one is closed) or the
         * oldest unauthenticated line has had EVICT_MIN_AGE_S (it makes room). Until then,
         * at most EVICT_MIN_AGE_S, new connections wait in the kernel's backlog: a flood
         * of connections cannot churn a kiosk's new one out before its hello is read. */
        fds[0].fd = lfd;
        fds[0].events = POLLIN;
        fds[0].revents = 0;
        wait_ms = 100;
        if (n == o->max_connections) {
            size_t victim = oldest_unauthenticated(lines, n);
            double age = victim < n ? real_seconds_since(&lines[victim].opened) : 0;
            if (victim < n && age < EVICT_MIN_AGE_S) {
                fds[0].events = 0;
                wait_ms = (int)((EVICT_MIN_AGE_S - age) * 1000) + 1;
            }
        }
        for (i = 0; i < n; i++) {
            fds[i + 1].fd = lines[i].in_fd;
            fds[i + 1].events = (short)(POLLIN | (lines[i].out_len > 0 ? POLLOUT : 0));
            fds[i + 1].revents = 0;
        }
        ready = poll(fds, n + 1, wait_ms);
        if (ready < 0 && errno != EINTR) {
            fprintf(stderr, "terminal: poll: %s\n", strerror(errno));
            break;
        }
        /* Lines first (fds[i + 1] belongs to lines[i]). */
        for (i = 0; ready > 0 && i < n; i++) {
            line *l = &lines[i];
            short re = fds[i + 1].revents;
            if ((re & POLLOUT) && l->closing == CLOSE_NONE) {
                line_flush(l);
            }
            if ((re & (POLLIN | POLLHUP | POLLERR)) && l->closing == CLOSE_NONE) {
                line_read(t, l);
            }
        }
        /* A kiosk that said hello on a new connection: its older ones are stale. */
        for (i = 0; i < n; i++) {
            if (!lines[i].fresh_hello) {
                continue;
            }
            lines[i].fresh_hello = 0;
            for (j = 0; j < n; j++) {
                if (j != i && lines[j].device == lines[i].device &&
                    lines[j].closing == CLOSE_NONE &&
                    real_seconds_since(&lines[j].opened) > real_seconds_since(&lines[i].opened)) {
                    lines[j].closing = CLOSE_SUPERSEDED;
                }
            }
        }
        /* Timeouts. */
        for (i = 0; i < n; i++) {
            line *l = &lines[i];
            if (l->closing != CLOSE_NONE) {
                continue;
            }
            if (l->device == 0 && real_seconds_since(&l->opened) >= o->handshake_timeout_s) {
                l->closing = CLOSE_HANDSHAKE_TIMEOUT;
            } else if (l->device != 0 && o->idle_timeout_s > 0 &&
                       real_seconds_since(&l->last_input) >= o->idle_timeout_s) {
                l->closing = CLOSE_IDLE_TIMEOUT;
            }
        }
        for (i = n; i-- > 0;) {
            if (lines[i].closing != CLOSE_NONE) {
                line_end(t, &lines[i], lines[i].closing);
                lines[i] = lines[--n];
            }
        }
        /* New connections. At the cap, the oldest connection that has not said hello
         * makes room; if every one is a kiosk's, the new one is closed. */
        for (j = 0; j < ACCEPTS_PER_ROUND && (fds[0].revents & POLLIN); j++) {
            size_t victim = n == o->max_connections ? oldest_unauthenticated(lines, n) : n;
            int cfd;
            if (victim < n && real_seconds_since(&lines[victim].opened) < EVICT_MIN_AGE_S) {
                break; /* every connection had less than its minimum time: later */
            }
            cfd = accept(lfd, NULL, NULL);
            if (cfd < 0) {
                break; /* EAGAIN: no more waiting */
            }
            if (n == o->max_connections) {
                if (victim == n) {
                    line refused;
                    memset(&refused, 0, sizeof refused);
                    refused.in_fd = cfd;
                    line_end(t, &refused, CLOSE_REFUSED_FULL);
                    continue;
                }
                line_end(t, &lines[victim], CLOSE_EVICTED);
                lines[victim] = lines[--n];
            }
            if (tune_socket(cfd, o->write_buffer) != 0 ||
                line_open(t, &lines[n], cfd, cfd) != 0) {
                close(cfd);
                continue;
            }
            lines[n].out = malloc(o->write_buffer);
            lines[n].out_cap = o->write_buffer;
            if (lines[n].out == NULL) {
                line_end(t, &lines[n], CLOSE_STOP);
                continue;
            }
            /* A kiosk's hello is usually there already: take it now, before further
             * accepts of this round could make this the oldest unauthenticated line. */
            line_read(t, &lines[n]);
            n++;
        }
        if (sc != NULL) {
            t->script_failures += (unsigned)script_run(sc, clock_now(&t->clock), store_own, t);
        }
        for (i = 0; o->time_sync_s > 0 && i < n; i++) {
            if (lines[i].device != 0 && real_seconds_since(&lines[i].last_sync) >= o->time_sync_s) {
                send_time(t, &lines[i]);
            }
        }
        if (real_seconds_since(&t->noise.window) >= LOG_WINDOW_S) {
            noise_summary(t);
        }
        if (t->db.checkpoint_pending && real_seconds_since(&last_checkpoint) >= CHECKPOINT_RETRY_S) {
            db_checkpoint_after_key_deletion(&t->db, 0);
            clock_gettime(CLOCK_MONOTONIC, &last_checkpoint);
        }
    }
    for (i = 0; i < n; i++) {
        line_end(t, &lines[i], CLOSE_STOP);
    }
    noise_summary(t);
    close(lfd);
    free(lines);
    free(fds);
    return 0;
}

/* ====================================================================================
 * Provisioning and revocation (--provision, --revoke)
 * ==================================================================================== */

/* Runs one SQL statement with up to three integer parameters; 0 on success. */
static int exec3(terminal_db *db, const char *sql, int64_t a, int64_t b, int64_t c) {
    sqlite3_stmt *s = NULL;
    int rc;
    if (prepare(db->db, sql, &s) != 0) {
        return -1;
    }
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    sqlite3_bind_int64(s, 3, c);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* One integer from a query with one integer parameter (-1 on an error). */
static int64_t query1(terminal_db *db, const char *sql, int64_t a) {
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (prepare(db->db, sql, &s) != 0) {
        return -1;
    }
    sqlite3_bind_int64(s, 1, a);
    if (sqlite3_step(s) == SQLITE_ROW) {
        v = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return v;
}

static int revoke(terminal *t, uint32_t kiosk) {
    if (exec3(&t->db,
              "INSERT INTO devices (device, revoked) VALUES (?1, 1)"
              " ON CONFLICT (device) DO UPDATE SET revoked = 1",
              kiosk, 0, 0) != 0) {
        fprintf(stderr, "terminal: cannot revoke: %s\n", sqlite3_errmsg(t->db.db));
        return -1;
    }
    fprintf(stderr, "terminal: kiosk %u revoked: all its frames are refused from now on\n",
            (unsigned)kiosk);
    return 0;
}

/* Waits up to `timeout_s` for one connection on `lfd`; the socket or -1. */
static int accept_within(int lfd, double timeout_s) {
    struct pollfd p;
    p.fd = lfd;
    p.events = POLLIN;
    if (poll(&p, 1, (int)(timeout_s * 1000)) <= 0) {
        return -1;
    }
    return accept(lfd, NULL, NULL);
}

/* Reads frames from `fd` until one arrives or `timeout_s` passes; its payload length or
 * -1. */
static long read_frame(int fd, uint8_t *payload, size_t cap, double timeout_s) {
    tcm_frame_decoder *dec = NULL;
    struct timespec t0;
    long result = -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (tcm_frame_decoder_new(&dec) != TCM_STATUS_OK) {
        return -1;
    }
    while (result < 0 && real_seconds_since(&t0) < timeout_s) {
        uint8_t chunk[128];
        struct pollfd p;
        const uint8_t *q = chunk;
        ssize_t got;
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        got = read(fd, chunk, sizeof chunk);
        if (got <= 0) {
            break;
        }
        while (got > 0 && result < 0) {
            size_t used = 0, len = 0;
            tcm_status s = tcm_frame_decoder_feed(dec, q, (size_t)got, &used, payload, cap, &len);
            q += used;
            got -= (ssize_t)used;
            if (s == TCM_STATUS_OK) {
                result = (long)len;
            } else if (s == TCM_STATUS_NEED_MORE_INPUT) {
                break;
            }
        }
    }
    tcm_frame_decoder_free(dec);
    return result;
}

/*
 * Gives kiosk `kiosk` a fresh key and a new epoch: the key is stored first (active, with
 * the kiosk's older keys kept until it confirms), then sent to the kiosk, which must be
 * in provisioning mode, as one frame on the first connection to `port` (only that one).
 * The kiosk answers with one frame: its confirmation (tcm_seal_accept_provision: its salt
 * and a proof that it holds the link key made from ours), which replaces the stored key
 * by the link key; or 0xA2 and an error code. Both sides print the link key's
 * fingerprint for staff to compare. On success the older keys are retired; on failure
 * the new key is deleted again.
 */
static int provision(terminal *t, uint32_t kiosk, int port, double timeout_s) {
    terminal_db *db = &t->db;
    tcm_device_key *key = NULL;
    uint8_t key_bytes[TCM_KEY_LEN];
    uint8_t payload[TCM_MAX_PROVISION_LEN];
    uint8_t frame[2 * TCM_MAX_PROVISION_LEN + 8];
    uint8_t answer[64];
    size_t n = 0, frame_len = 0;
    int64_t epoch, key_id;
    int lfd = -1, cfd = -1, ok = 0;
    long alen;
    tcm_status s;
    sqlite3_stmt *ins = NULL;

    /* A new epoch: one past any this kiosk ever used here (a re-provisioned kiosk may have
     * been wiped; its old positions must never be reused). */
    epoch = query1(db,
                   "SELECT MAX(e) + 1 FROM (SELECT 0 AS e UNION ALL"
                   " SELECT epoch FROM watermarks WHERE device = ?1 UNION ALL"
                   " SELECT epoch FROM seal_counters WHERE device = ?1 UNION ALL"
                   " SELECT epoch FROM records WHERE device = ?1 UNION ALL"
                   " SELECT CAST(value AS INTEGER) FROM meta"
                   "  WHERE key = 'provisioned_epoch:' || ?1)",
                   kiosk);
    key_id = query1(db, "SELECT COALESCE(MAX(key_id), 0) + 1 FROM device_keys WHERE device = ?1",
                    kiosk);
    if (epoch < 1 || epoch > (int64_t)UINT32_MAX || key_id < 1 || key_id > (int64_t)UINT32_MAX) {
        fprintf(stderr, "terminal: provisioning: %s\n", sqlite3_errmsg(db->db));
        return -1;
    }
    s = tcm_device_key_generate(&key);
    if (s == TCM_STATUS_OK) {
        s = tcm_device_key_export(key, key_bytes, sizeof key_bytes, &n);
    }
    if (s == TCM_STATUS_OK) {
        s = tcm_provision_encode(kiosk, (uint32_t)epoch, (uint32_t)key_id, key, payload,
                                 sizeof payload, &n);
    }
    if (s == TCM_STATUS_OK) {
        s = tcm_frame_encode(payload, n, frame, sizeof frame, &frame_len);
    }
    memset(payload, 0, sizeof payload);
    if (s != TCM_STATUS_OK) {
        report("provisioning", s);
        tcm_device_key_free(key);
        memset(key_bytes, 0, sizeof key_bytes);
        return -1;
    }
    if (exec3(db, "INSERT INTO devices (device) VALUES (?1) ON CONFLICT DO NOTHING", kiosk, 0,
              0) != 0 ||
        prepare(db->db, "INSERT INTO device_keys (device, key_id, key) VALUES (?1, ?2, ?3)",
                &ins) != 0) {
        memset(key_bytes, 0, sizeof key_bytes);
        memset(frame, 0, sizeof frame);
        tcm_device_key_free(key);
        return -1;
    }
    sqlite3_bind_int64(ins, 1, kiosk);
    sqlite3_bind_int64(ins, 2, key_id);
    sqlite3_bind_blob(ins, 3, key_bytes, TCM_KEY_LEN, SQLITE_TRANSIENT);
    ok = sqlite3_step(ins) == SQLITE_DONE;
    sqlite3_finalize(ins);
    memset(key_bytes, 0, sizeof key_bytes);
    if (!ok) {
        fprintf(stderr, "terminal: cannot store the key: %s\n", sqlite3_errmsg(db->db));
        memset(frame, 0, sizeof frame);
        tcm_device_key_free(key);
        return -1;
    }
    ok = 0;

    lfd = listen_on(port);
    if (lfd < 0) {
        fprintf(stderr, "terminal: cannot listen on port %d: %s\n", port, strerror(errno));
    } else {
        fprintf(stderr,
                "terminal: provisioning kiosk %u (epoch %u, key id %u): waiting on "
                "127.0.0.1:%d for the kiosk in provisioning mode\n",
                (unsigned)kiosk, (unsigned)epoch, (unsigned)key_id, port);
        cfd = accept_within(lfd, timeout_s);
    }
    if (cfd >= 0 && write_all(cfd, frame, frame_len) == 0) {
        alen = read_frame(cfd, answer, sizeof answer, timeout_s);
        if (alen == 2 && answer[0] == 0xA2 && answer[1] == 0) {
            fprintf(stderr, "terminal: the kiosk acknowledged without a confirmation (no proof "
                            "it holds the key): refused; its firmware needs the confirmed "
                            "provisioning\n");
        } else if (alen == 2 && answer[0] == 0xA2) {
            fprintf(stderr, "terminal: the kiosk refused the provisioning (code %u)\n",
                    (unsigned)answer[1]);
        } else if (alen > 0) {
            /* The kiosk's confirmation: it proves it holds the link key made from ours
             * and its own salt; that link key is what both sides seal with. */
            tcm_device_key *link = NULL;
            char fp[TCM_KEY_FINGERPRINT_LEN];
            s = tcm_provision_confirm(kiosk, (uint32_t)epoch, (uint32_t)key_id, key, answer,
                                      (size_t)alen, &link, fp);
            if (s == TCM_STATUS_OK) {
                s = tcm_device_key_export(link, key_bytes, sizeof key_bytes, &n);
            }
            tcm_device_key_free(link);
            if (s != TCM_STATUS_OK) {
                report("provisioning confirmation refused", s);
            } else if (prepare(db->db,
                               "UPDATE device_keys SET key = ?3 WHERE device = ?1 AND key_id = ?2",
                               &ins) == 0) {
                sqlite3_bind_int64(ins, 1, kiosk);
                sqlite3_bind_int64(ins, 2, key_id);
                sqlite3_bind_blob(ins, 3, key_bytes, TCM_KEY_LEN, SQLITE_TRANSIENT);
                ok = sqlite3_step(ins) == SQLITE_DONE;
                sqlite3_finalize(ins);
                if (ok) {
                    fprintf(stderr,
                            "terminal: kiosk %u confirmed, key fingerprint %s (compare it with "
                            "the kiosk's)\n",
                            (unsigned)kiosk, fp);
                } else {
                    fprintf(stderr, "terminal: cannot store the key: %s\n",
                            sqlite3_errmsg(db->db));
                }
            }
            memset(key_bytes, 0, sizeof key_bytes);
        } else {
            fprintf(stderr, "terminal: no provisioning acknowledgement from the kiosk\n");
        }
    } else if (lfd >= 0) {
        fprintf(stderr, "terminal: no kiosk connected within %.0f s\n", timeout_s);
    }
    memset(frame, 0, sizeof frame);
    tcm_device_key_free(key);
    if (cfd >= 0) {
        close(cfd);
    }
    if (lfd >= 0) {
        close(lfd);
    }
    if (!ok) {
        exec3(db, "DELETE FROM device_keys WHERE device = ?1 AND key_id = ?2", kiosk, key_id, 0);
        db_checkpoint_after_key_deletion(db, 1);
        return -1;
    }
    {
        char k[48], v[16];
        snprintf(k, sizeof k, "provisioned_epoch:%u", (unsigned)kiosk);
        snprintf(v, sizeof v, "%u", (unsigned)epoch);
        if (meta_set(db, k, v) != 0 ||
            exec3(db, "DELETE FROM device_keys WHERE device = ?1 AND key_id < ?2", kiosk, key_id,
                  0) != 0 ||
            exec3(db, "UPDATE devices SET revoked = 0 WHERE device = ?1", kiosk, 0, 0) != 0) {
            fprintf(stderr, "terminal: provisioning: %s\n", sqlite3_errmsg(db->db));
            return -1;
        }
        db_checkpoint_after_key_deletion(db, 1);
    }
    fprintf(stderr, "terminal: kiosk %u provisioned: epoch %u, key id %u\n", (unsigned)kiosk,
            (unsigned)epoch, (unsigned)key_id);
    return 0;
}

/* Stores a new key for kiosk `kiosk` next to its current one and marks the rotation
 * pending; a serving terminal completes it (continue_rotation). */
static int rotate(terminal *t, uint32_t kiosk) {
    terminal_db *db = &t->db;
    tcm_device_key *key = NULL;
    uint8_t key_bytes[TCM_KEY_LEN];
    size_t n = 0;
    int64_t key_id;
    sqlite3_stmt *ins = NULL;
    char k[48], v[16];
    int ok;
    tcm_status s;
    if (query1(db, "SELECT COUNT(*) FROM device_keys WHERE device = ?1", kiosk) < 1) {
        fprintf(stderr, "terminal: kiosk %u has no key: provision it\n", (unsigned)kiosk);
        return -1;
    }
    key_id = query1(db, "SELECT MAX(key_id) + 1 FROM device_keys WHERE device = ?1", kiosk);
    if (key_id < 2 || key_id > (int64_t)UINT32_MAX) {
        fprintf(stderr, "terminal: no key id left for kiosk %u: provision it again\n",
                (unsigned)kiosk);
        return -1;
    }
    s = tcm_device_key_generate(&key);
    if (s == TCM_STATUS_OK) {
        s = tcm_device_key_export(key, key_bytes, sizeof key_bytes, &n);
    }
    tcm_device_key_free(key);
    if (s != TCM_STATUS_OK) {
        report("key rotation", s);
        return -1;
    }
    ok = prepare(db->db, "INSERT INTO device_keys (device, key_id, key) VALUES (?1, ?2, ?3)",
                 &ins) == 0;
    if (ok) {
        sqlite3_bind_int64(ins, 1, kiosk);
        sqlite3_bind_int64(ins, 2, key_id);
        sqlite3_bind_blob(ins, 3, key_bytes, TCM_KEY_LEN, SQLITE_TRANSIENT);
        ok = sqlite3_step(ins) == SQLITE_DONE;
        sqlite3_finalize(ins);
    }
    memset(key_bytes, 0, sizeof key_bytes);
    snprintf(k, sizeof k, "rotate:%u", (unsigned)kiosk);
    snprintf(v, sizeof v, "%u", (unsigned)key_id);
    if (!ok || meta_set(db, k, v) != 0) {
        fprintf(stderr, "terminal: key rotation: %s\n", sqlite3_errmsg(db->db));
        return -1;
    }
    fprintf(stderr,
            "terminal: kiosk %u: key id %u stored; it goes to the kiosk, sealed, when it next "
            "connects\n",
            (unsigned)kiosk, (unsigned)key_id);
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: terminal --db FILE [--listen PORT] [--trusted-link] [--reply PATH]\n"
            "                [--device ID --script FILE] [--clock START [--clock-rate R]]\n"
            "                [--time-sync SECONDS] [--stats FILE]\n"
            "                [--max-connections N] [--handshake-timeout S] [--idle-timeout S]\n"
            "                [--write-buffer BYTES]\n"
            "       terminal --db FILE --export [--after RECORD_NO]\n"
            "       terminal --db FILE --provision KIOSK_ID --listen PORT [--timeout S]\n"
            "       terminal --db FILE --revoke KIOSK_ID\n"
            "       terminal --db FILE --rotate KIOSK_ID\n");
}

int main(int argc, char **argv) {
    const char *db_path = NULL;
    const char *reply_path = NULL;
    const char *script_path = NULL;
    const char *stats_path = NULL;
    int port = 0;
    int trusted = 0;
    uint32_t provision_id = 0, revoke_id = 0, rotate_id = 0;
    double timeout_s = 60;
    serve_options so;
    int export_ = 0;
    long long export_after = 0;
    int i;
    int rc = 0;
    int bad = 0;
    terminal *t = calloc(1, sizeof *t);
    script *sc = NULL;

    if (t == NULL) {
        return 1;
    }
    /* Everything this terminal creates (the database holds keys, its -wal and -shm) is
     * for its owner only. */
    umask(077);
    so.time_sync_s = 0;
    so.max_connections = DEFAULT_MAX_CONNECTIONS;
    so.handshake_timeout_s = DEFAULT_HANDSHAKE_TIMEOUT_S;
    so.idle_timeout_s = DEFAULT_IDLE_TIMEOUT_S;
    so.write_buffer = DEFAULT_WRITE_BUFFER;
    t->clock.rate = 1.0;
    clock_gettime(CLOCK_MONOTONIC, &t->clock.t0);
    for (i = 1; i < argc && !bad; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--trusted-link") == 0) {
            trusted = 1;
            continue;
        }
        if (strcmp(a, "--export") == 0) {
            export_ = 1;
            continue;
        }
        if (v == NULL) {
            bad = 1;
            break;
        }
        i++;
        if (strcmp(a, "--db") == 0) {
            db_path = v;
        } else if (strcmp(a, "--listen") == 0) {
            port = atoi(v);
            bad = port <= 0 || port > 65535;
        } else if (strcmp(a, "--reply") == 0) {
            reply_path = v;
        } else if (strcmp(a, "--device") == 0) {
            t->device = (uint32_t)strtoul(v, NULL, 0);
            bad = t->device == 0;
        } else if (strcmp(a, "--script") == 0) {
            script_path = v;
        } else if (strcmp(a, "--clock") == 0) {
            t->clock.simulated = 1;
            bad = parse_start(v, &t->clock.start_utc) != 0;
        } else if (strcmp(a, "--clock-rate") == 0) {
            t->clock.rate = atof(v);
            bad = !(t->clock.rate > 0);
        } else if (strcmp(a, "--time-sync") == 0) {
            so.time_sync_s = atof(v);
            bad = !(so.time_sync_s > 0);
        } else if (strcmp(a, "--max-connections") == 0) {
            long m = strtol(v, NULL, 10);
            bad = m < 1 || m > MAX_MAX_CONNECTIONS;
            so.max_connections = (size_t)m;
        } else if (strcmp(a, "--handshake-timeout") == 0) {
            so.handshake_timeout_s = atof(v);
            bad = !(so.handshake_timeout_s > 0);
        } else if (strcmp(a, "--idle-timeout") == 0) {
            so.idle_timeout_s = atof(v);
            bad = !(so.idle_timeout_s >= 0);
        } else if (strcmp(a, "--write-buffer") == 0) {
            long m = strtol(v, NULL, 10);
            bad = m < MIN_WRITE_BUFFER || m > (1L << 24);
            so.write_buffer = (size_t)m;
        } else if (strcmp(a, "--after") == 0) {
            char *end = NULL;
            export_after = strtoll(v, &end, 10);
            bad = *end != '\0' || export_after < 0;
        } else if (strcmp(a, "--stats") == 0) {
            stats_path = v;
        } else if (strcmp(a, "--provision") == 0) {
            provision_id = (uint32_t)strtoul(v, NULL, 0);
            bad = provision_id == 0;
        } else if (strcmp(a, "--revoke") == 0) {
            revoke_id = (uint32_t)strtoul(v, NULL, 0);
            bad = revoke_id == 0;
        } else if (strcmp(a, "--rotate") == 0) {
            rotate_id = (uint32_t)strtoul(v, NULL, 0);
            bad = rotate_id == 0;
        } else if (strcmp(a, "--timeout") == 0) {
            timeout_s = atof(v);
            bad = !(timeout_s > 0);
        } else {
            bad = 1;
        }
    }
    if (bad || db_path == NULL || (script_path != NULL && t->device == 0)) {
        usage();
        free(t);
        return 2;
    }
    if ((provision_id != 0 && port == 0) ||
        (provision_id != 0) + (revoke_id != 0) + (rotate_id != 0) + export_ > 1) {
        usage();
        free(t);
        return 2;
    }
    t->trusted = trusted;
    if (trusted) {
        fprintf(stderr, "terminal: --trusted-link: unsealed frames are accepted too\n");
    }
    if (provision_id != 0 || revoke_id != 0 || rotate_id != 0 || export_) {
        int opened = db_open(&t->db, db_path);
        if (opened != 0) {
            rc = opened == DB_REFUSED ? EXIT_SCHEMA_REFUSED : 1;
        } else if (export_) {
            /* The JSON-lines output again, from the database (after record_no --after). */
            int64_t last = 0;
            rc = print_stored(&t->db, (int64_t)export_after, &last) < 0 || output_flush() != 0;
        } else if (provision_id != 0) {
            rc = provision(t, provision_id, port, timeout_s) == 0 ? 0 : 1;
        } else if (rotate_id != 0) {
            rc = rotate(t, rotate_id) == 0 ? 0 : 1;
        } else {
            rc = revoke(t, revoke_id) == 0 ? 0 : 1;
        }
        db_close(&t->db);
        free(t);
        return rc;
    }
    if (script_path != NULL) {
        char err[512];
        if (script_load(script_path, &sc, err, sizeof err) != 0) {
            fprintf(stderr, "terminal: script %s\n", err);
            free(t);
            return 2;
        }
        fprintf(stderr, "terminal: script %s: %u entries\n", script_path,
                (unsigned)script_count(sc));
    }
    {
        int opened = db_open(&t->db, db_path);
        if (opened != 0 || (t->device != 0 && own_identity(t) != 0) || output_catch_up(t) != 0) {
            db_close(&t->db);
            script_free(sc);
            free(t);
            return opened == DB_REFUSED ? EXIT_SCHEMA_REFUSED : 1;
        }
    }
    if (t->device != 0) {
        fprintf(stderr, "terminal: device %u, epoch %u, last seq %u\n", (unsigned)t->device,
                (unsigned)t->epoch, (unsigned)t->seq);
    }

    if (port == 0) {
        /* stdin: one line, until its end. */
        line l;
        int reply_fd = -1;
        if (reply_path != NULL) {
            reply_fd = open(reply_path, O_WRONLY | O_NOCTTY);
            if (reply_fd < 0) {
                fprintf(stderr, "terminal: cannot open %s: %s\n", reply_path, strerror(errno));
                rc = 1;
            }
        }
        if (rc == 0 && line_open(t, &l, STDIN_FILENO, reply_fd) == 0) {
            if (sc != NULL) {
                t->script_failures += (unsigned)script_run(sc, clock_now(&t->clock), store_own, t);
            }
            serve_stdin(t, &l);
            noise_summary(t);
            line_close(&l);
        } else {
            rc = 1;
        }
        if (reply_fd >= 0) {
            close(reply_fd);
        }
    } else if (serve_tcp(t, port, sc, &so) != 0) {
        rc = 1;
    }

    /* What the staff still had to enter today is recorded before the terminal stops. */
    if (sc != NULL) {
        t->script_failures += (unsigned)script_run(sc, UINT64_MAX, store_own, t);
        fprintf(stderr, "terminal: %u own record(s) stored, %u failed\n", t->own_records,
                t->script_failures);
        if (t->script_failures) {
            rc = 1;
        }
    }
    if (stats_path != NULL && write_stats(t, stats_path) != 0) {
        rc = 1;
    }
    output_cursor_save(t);
    script_free(sc);
    db_close(&t->db);
    free(t);
    return rc;
}
