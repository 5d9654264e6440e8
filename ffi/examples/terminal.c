/*
 * terminal.c: a reference nursing-home terminal for libtcmcare.
 *
 * It collects records from a kiosk over the kiosk's serial line and keeps them in SQLite:
 *
 *   1. read bytes from the line (stdin, or one TCP connection at a time);
 *   2. cut them into frames with the streaming frame decoder;
 *   3. hand each frame payload to the sync receiver, which answers hellos and batches;
 *   4. the receiver calls back into this file to commit each batch: the records AND the
 *      stream's new watermark go into the database in ONE transaction, so a power cut
 *      leaves either both or neither (the kiosk then simply resends);
 *   5. send the receiver's reply (an ack, or a nack) back to the kiosk, framed;
 *   6. print every committed record as one JSON line on stdout.
 *
 * Usage:
 *   terminal --db FILE [--listen PORT] [--reply PATH]
 *
 *   --db FILE      SQLite database (created if missing).
 *   --listen PORT  serve kiosks on TCP PORT (127.0.0.1), one connection at a time;
 *                  replies go back on the connection.
 *   (default)      read the line from stdin; replies are written to --reply PATH (a
 *                  serial device, a FIFO) or dropped if no --reply is given (replaying a
 *                  capture needs no replies).
 *
 * Build:
 *   cc -std=c99 terminal.c $(pkg-config --cflags --libs tcmcare) -lsqlite3
 *
 * Vendors: copy freely. The parts to adapt are the database schema and how the line is
 * opened; the protocol handling (sections "Receiver store" and "The line") should stay
 * as it is.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tcmcare.h"

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
 * watermark: per sending stream (kiosk device, storage epoch), the highest position
 *            committed without a gap. The receiver resumes each kiosk from here.
 * record:    every record received, keyed by its position in the stream it came in.
 *            The envelope bytes are kept exactly as received: they are what the terminal
 *            forwards to the platform, whatever this version could make of them. `status`
 *            is the library's verdict (0 valid, 206 kind unknown to this version, 2xx
 *            malformed, 3xx breaks a rule): nothing is dropped, odd records are flagged.
 */
static const char *SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS watermark ("
    "  device INTEGER NOT NULL, epoch INTEGER NOT NULL, position INTEGER NOT NULL,"
    "  PRIMARY KEY (device, epoch));"
    "CREATE TABLE IF NOT EXISTS record ("
    "  stream_device INTEGER NOT NULL, stream_epoch INTEGER NOT NULL,"
    "  position INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL, status INTEGER NOT NULL,"
    "  device INTEGER, epoch INTEGER, seq INTEGER," /* record id, NULL if unreadable */
    "  placed_utc INTEGER," /* time of a 'time unknown' record, placed from the hello */
    "  envelope BLOB NOT NULL,"
    "  PRIMARY KEY (stream_device, stream_epoch, position));"
    "CREATE INDEX IF NOT EXISTS record_id ON record (device, epoch, seq);";

typedef struct terminal_db {
    sqlite3 *db;
    sqlite3_stmt *get_watermark;
    sqlite3_stmt *set_watermark;
    sqlite3_stmt *same_record; /* is this id already stored with these bytes? */
    sqlite3_stmt *insert_record;
} terminal_db;

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt) {
    if (sqlite3_prepare_v2(db, sql, -1, stmt, NULL) != SQLITE_OK) {
        fprintf(stderr, "terminal: sqlite: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static int db_open(terminal_db *t, const char *path) {
    char *err = NULL;
    memset(t, 0, sizeof *t);
    if (sqlite3_open(path, &t->db) != SQLITE_OK) {
        fprintf(stderr, "terminal: cannot open %s: %s\n", path, sqlite3_errmsg(t->db));
        return -1;
    }
    /* Wait for a busy database (another process reading it) instead of failing. */
    sqlite3_busy_timeout(t->db, 2000);
    if (sqlite3_exec(t->db, SCHEMA, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "terminal: schema: %s\n", err);
        sqlite3_free(err);
        return -1;
    }
    if (prepare(t->db, "SELECT position FROM watermark WHERE device = ?1 AND epoch = ?2",
                &t->get_watermark) ||
        prepare(t->db,
                "INSERT INTO watermark (device, epoch, position) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (device, epoch) DO UPDATE SET position = excluded.position",
                &t->set_watermark) ||
        prepare(t->db,
                "SELECT 1 FROM record WHERE device = ?1 AND epoch = ?2 AND seq = ?3 "
                "AND envelope = ?4",
                &t->same_record) ||
        prepare(t->db,
                "INSERT INTO record (stream_device, stream_epoch, position, kind, status,"
                " device, epoch, seq, placed_utc, envelope)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                &t->insert_record)) {
        return -1;
    }
    return 0;
}

static void db_close(terminal_db *t) {
    sqlite3_finalize(t->get_watermark);
    sqlite3_finalize(t->set_watermark);
    sqlite3_finalize(t->same_record);
    sqlite3_finalize(t->insert_record);
    sqlite3_close(t->db);
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
        return 0;
    }
    if (rc == SQLITE_DONE) {
        *out = 0;
        return 0;
    }
    return -1;
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
static void print_record(const tcm_record_to_commit *r) {
    tcm_record rec;
    size_t extension = 0;
    char json[8192];
    size_t n = 0;
    if (r->status == TCM_STATUS_OK &&
        tcm_record_decode_lenient(r->envelope, r->envelope_len, &rec, &extension) ==
            TCM_STATUS_OK &&
        tcm_record_to_json(&rec, json, sizeof json, &n) == TCM_STATUS_OK) {
        puts(json);
        return;
    }
    {
        char msg[160];
        size_t m = 0;
        if (tcm_status_message(r->status, msg, sizeof msg, &m) != TCM_STATUS_OK) {
            msg[0] = '\0';
        }
        printf("{\"kind\":%u,\"status\":%u,\"status_message\":", (unsigned)r->kind,
               (unsigned)r->status);
        print_json_string(msg);
        if (r->has_header) {
            printf(",\"id\":{\"device\":%u,\"epoch\":%u,\"seq\":%u}", (unsigned)r->header.id.device,
                   (unsigned)r->header.id.epoch, (unsigned)r->header.id.seq);
        }
        printf(",\"envelope_hex\":\"");
        print_hex(r->envelope, r->envelope_len);
        printf("\"}\n");
    }
}

/* ====================================================================================
 * Receiver store: the two callbacks the receiver calls
 * ==================================================================================== */

static uint32_t store_watermark(void *ctx, uint32_t device, uint32_t epoch, uint32_t *wm) {
    terminal_db *t = ctx;
    return db_watermark(t, device, epoch, wm) == 0 ? TCM_STORE_RESULT_OK
                                                   : TCM_STORE_RESULT_UNAVAILABLE;
}

/* Maps an SQLite failure to what the receiver tells the kiosk (retry later). */
static uint32_t failed(terminal_db *t, int rc) {
    sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
    fprintf(stderr, "terminal: commit rolled back: %s\n", sqlite3_errstr(rc));
    return rc == SQLITE_FULL ? TCM_STORE_RESULT_FULL : TCM_STORE_RESULT_UNAVAILABLE;
}

/*
 * Stores one batch: every record and the new watermark, in one transaction. The library
 * guarantees `first_position` is the watermark it read + 1; checking it again inside the
 * transaction protects against a second writer (another terminal process).
 */
static uint32_t store_commit(void *ctx, const tcm_commit *c) {
    terminal_db *t = ctx;
    uint32_t current = 0;
    size_t i;
    int rc;

    rc = sqlite3_exec(t->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return rc == SQLITE_FULL ? TCM_STORE_RESULT_FULL : TCM_STORE_RESULT_UNAVAILABLE;
    }
    if (db_watermark(t, c->device, c->epoch, &current) != 0) {
        return failed(t, sqlite3_errcode(t->db));
    }
    if (current + 1 != c->first_position) {
        sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
        return TCM_STORE_RESULT_CONFLICT;
    }

    for (i = 0; i < c->count; i++) {
        const tcm_record_to_commit *r = &c->records[i];
        sqlite3_stmt *s;

        /* The same record forwarded twice (by two terminals, say) is stored once. */
        if (r->has_header) {
            s = t->same_record;
            sqlite3_reset(s);
            sqlite3_bind_int64(s, 1, r->header.id.device);
            sqlite3_bind_int64(s, 2, r->header.id.epoch);
            sqlite3_bind_int64(s, 3, r->header.id.seq);
            sqlite3_bind_blob(s, 4, r->envelope, (int)r->envelope_len, SQLITE_STATIC);
            rc = sqlite3_step(s);
            if (rc == SQLITE_ROW) {
                continue;
            }
            if (rc != SQLITE_DONE) {
                return failed(t, rc);
            }
        }

        s = t->insert_record;
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        sqlite3_bind_int64(s, 1, c->device);
        sqlite3_bind_int64(s, 2, c->epoch);
        sqlite3_bind_int64(s, 3, r->position);
        sqlite3_bind_int(s, 4, r->kind);
        sqlite3_bind_int64(s, 5, r->status);
        if (r->has_header) {
            sqlite3_bind_int64(s, 6, r->header.id.device);
            sqlite3_bind_int64(s, 7, r->header.id.epoch);
            sqlite3_bind_int64(s, 8, r->header.id.seq);
        }
        if (r->has_placed_time) {
            sqlite3_bind_int64(s, 9, (sqlite3_int64)r->placed_utc_seconds);
        }
        /* SQLITE_STATIC: the envelope stays valid for the whole callback. */
        sqlite3_bind_blob(s, 10, r->envelope, (int)r->envelope_len, SQLITE_STATIC);
        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE) {
            return failed(t, rc);
        }
    }

    sqlite3_reset(t->set_watermark);
    sqlite3_bind_int64(t->set_watermark, 1, c->device);
    sqlite3_bind_int64(t->set_watermark, 2, c->epoch);
    sqlite3_bind_int64(t->set_watermark, 3, c->new_watermark);
    rc = sqlite3_step(t->set_watermark);
    if (rc != SQLITE_DONE) {
        return failed(t, rc);
    }
    rc = sqlite3_exec(t->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return failed(t, rc);
    }

    /* Durable now: show what arrived. */
    for (i = 0; i < c->count; i++) {
        print_record(&c->records[i]);
    }
    fflush(stdout);
    return TCM_STORE_RESULT_OK;
}

/* ====================================================================================
 * The line
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

/* The receiver's clock: Unix seconds, or 0 when this machine's clock is obviously unset
 * (a kiosk without a clock must not be given a wrong one). */
static uint64_t now_utc(void) {
    time_t t = time(NULL);
    return t > 1704067200 ? (uint64_t)t : 0; /* 2024-01-01 */
}

/* Handles one frame payload: the receiver commits (through store_commit) and replies. */
static void on_payload(tcm_receiver *rx, const uint8_t *payload, size_t len, int reply_fd) {
    uint8_t reply[TCM_MAX_CONTROL_MESSAGE_LEN];
    uint8_t frame[2 * TCM_MAX_CONTROL_MESSAGE_LEN];
    size_t reply_len = 0;
    size_t frame_len = 0;
    tcm_receiver_event ev;
    tcm_status s;

    s = tcm_receiver_handle(rx, now_utc(), payload, len, reply, sizeof reply, &reply_len, &ev);
    if (s != TCM_STATUS_OK) {
        report("receiver", s);
        return;
    }
    switch (ev.kind) {
    case TCM_RECEIVER_EVENT_KIND_INTRODUCED:
        fprintf(stderr, "terminal: kiosk %u (epoch %u) says hello, resumes after %u\n",
                (unsigned)ev.device, (unsigned)ev.epoch, (unsigned)ev.watermark);
        break;
    case TCM_RECEIVER_EVENT_KIND_GAP:
        fprintf(stderr, "terminal: gap, asked for %u (got %u)\n", (unsigned)ev.expected,
                (unsigned)ev.got);
        break;
    case TCM_RECEIVER_EVENT_KIND_STORE_FAILED:
        fprintf(stderr, "terminal: store failed (%u), kiosk will retry\n",
                (unsigned)ev.store_result);
        break;
    case TCM_RECEIVER_EVENT_KIND_REFUSED:
        fprintf(stderr, "terminal: refused a hello (reason %u)\n", (unsigned)ev.nack_reason);
        break;
    default:
        break; /* committed, duplicates, ignored: nothing to say */
    }
    if (reply_len == 0 || reply_fd < 0) {
        return;
    }
    s = tcm_frame_encode(reply, reply_len, frame, sizeof frame, &frame_len);
    if (s != TCM_STATUS_OK) {
        report("frame reply", s);
        return;
    }
    if (write_all(reply_fd, frame, frame_len) != 0) {
        fprintf(stderr, "terminal: cannot send reply: %s\n", strerror(errno));
    }
}

/* Reads the line until it closes: bytes -> frames -> receiver -> replies. */
static void serve(tcm_receiver *rx, tcm_frame_decoder *dec, int in_fd, int reply_fd) {
    static uint8_t payload[TCM_FRAME_DECODER_CAPACITY];
    uint8_t chunk[512];

    tcm_frame_decoder_reset(dec); /* a new line starts with no partial frame */
    for (;;) {
        ssize_t got = read(in_fd, chunk, sizeof chunk);
        const uint8_t *p = chunk;
        size_t left;
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return; /* end of input or connection closed */
        }
        left = (size_t)got;
        /* One chunk may hold several frames, or a part of one: loop until it is used up. */
        while (left > 0) {
            size_t used = 0;
            size_t len = 0;
            tcm_status s = tcm_frame_decoder_feed(dec, p, left, &used, payload, sizeof payload,
                                                  &len);
            p += used;
            left -= used;
            if (s == TCM_STATUS_NEED_MORE_INPUT) {
                break;
            }
            if (s == TCM_STATUS_OK) {
                on_payload(rx, payload, len, reply_fd);
            } else {
                /* A corrupted frame was skipped; the kiosk resends what is not acked. */
                report("frame", s);
            }
        }
    }
}

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
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1) != 0) {
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

int main(int argc, char **argv) {
    const char *db_path = NULL;
    const char *reply_path = NULL;
    int port = 0;
    int i;
    int rc = 0;
    terminal_db db;
    tcm_receiver_store store;
    tcm_receiver *rx = NULL;
    tcm_frame_decoder *dec = NULL;
    tcm_status s;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            db_path = argv[++i];
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--reply") == 0 && i + 1 < argc) {
            reply_path = argv[++i];
        } else {
            db_path = NULL;
            break;
        }
    }
    if (db_path == NULL || port < 0 || port > 65535) {
        fprintf(stderr, "usage: terminal --db FILE [--listen PORT] [--reply PATH]\n");
        return 2;
    }
    if (db_open(&db, db_path) != 0) {
        db_close(&db);
        return 1;
    }

    /* The receiver keeps no data itself: it commits through these callbacks. */
    store.ctx = &db;
    store.watermark = store_watermark;
    store.commit = store_commit;
    s = tcm_receiver_new(&store, &rx);
    if (s == TCM_STATUS_OK) {
        s = tcm_frame_decoder_new(&dec);
    }
    if (s != TCM_STATUS_OK) {
        report("setup", s);
        rc = 1;
        goto done;
    }

    if (port == 0) {
        /* stdin: one line, until its end. */
        int reply_fd = -1;
        if (reply_path != NULL) {
            reply_fd = open(reply_path, O_WRONLY | O_NOCTTY);
            if (reply_fd < 0) {
                fprintf(stderr, "terminal: cannot open %s: %s\n", reply_path, strerror(errno));
                rc = 1;
                goto done;
            }
        }
        serve(rx, dec, STDIN_FILENO, reply_fd);
        if (reply_fd >= 0) {
            close(reply_fd);
        }
    } else {
        /* TCP: one kiosk connection at a time, until SIGINT / SIGTERM. */
        struct sigaction sa;
        int lfd = listen_on(port);
        if (lfd < 0) {
            fprintf(stderr, "terminal: cannot listen on port %d: %s\n", port, strerror(errno));
            rc = 1;
            goto done;
        }
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal; /* no SA_RESTART: accept() returns on a signal */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN); /* a kiosk hanging up must not kill the terminal */
        fprintf(stderr, "terminal: listening on 127.0.0.1:%d\n", port);
        while (!stop) {
            int cfd = accept(lfd, NULL, NULL);
            if (cfd < 0) {
                continue;
            }
            serve(rx, dec, cfd, cfd);
            close(cfd);
        }
        close(lfd);
    }

done:
    tcm_frame_decoder_free(dec);
    tcm_receiver_free(rx);
    db_close(&db);
    return rc;
}
