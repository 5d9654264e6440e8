/* The sync endpoints over in-memory C stores: a sender and a receiver exchanging frames
 * over a lossy link deliver every record exactly once and in order; full outboxes,
 * store failures, restarts, bad payloads and NULL pointers. */
#include <string.h>

#include "check.h"
#include "mem_stores.h"
#include "vectors.h"

/* ---- a lossy link --------------------------------------------------------------------- */

typedef struct link {
    tcm_frame_decoder *decoder;
    unsigned frames;
    unsigned drop_every; /* drop frame n when n % drop_every == 0 (0: never) */
} link;

/* Frames `payload` and delivers it unless the link drops it; calls `deliver` with each
 * payload the far end's decoder produces. */
typedef void (*deliver_fn)(void *ctx, const uint8_t *payload, size_t len);

static void transmit(link *l, const uint8_t *payload, size_t len, deliver_fn deliver,
                     void *ctx) {
    uint8_t frame[2 * ENTRY_CAP];
    uint8_t got[TCM_FRAME_DECODER_CAPACITY];
    size_t n = 0;
    const uint8_t *p = frame;
    CHECK_OK(tcm_frame_encode(payload, len, frame, sizeof frame, &n));
    l->frames++;
    if (l->drop_every != 0 && l->frames % l->drop_every == 0) {
        return;
    }
    while (n > 0) {
        size_t used = 0;
        size_t glen = 0;
        tcm_status s = tcm_frame_decoder_feed(l->decoder, p, n, &used, got, sizeof got, &glen);
        p += used;
        n -= used;
        if (s == TCM_STATUS_OK) {
            deliver(ctx, got, glen);
        } else if (s == TCM_STATUS_NEED_MORE_INPUT) {
            break;
        } else {
            CHECK_OK(s);
        }
    }
}

typedef struct peers {
    tcm_receiver *rx;
    tcm_sender *tx;
    link up;   /* sender -> receiver */
    link down; /* receiver -> sender */
    uint64_t now_ms;
    uint64_t now_utc;
    tcm_receiver_event last_rx;
    tcm_sender_event last_tx;
    unsigned committed_events;
    unsigned store_failed_events;
    unsigned busy_events;
} peers;

static void to_sender(void *ctx, const uint8_t *payload, size_t len) {
    peers *p = ctx;
    CHECK_OK(tcm_sender_handle(p->tx, p->now_ms, payload, len, &p->last_tx));
    if (p->last_tx.kind == TCM_SENDER_EVENT_KIND_RECEIVER_BUSY) {
        p->busy_events++;
    }
}

static void to_receiver(void *ctx, const uint8_t *payload, size_t len) {
    peers *p = ctx;
    uint8_t reply[TCM_MAX_CONTROL_MESSAGE_LEN];
    size_t rlen = 0;
    CHECK_OK(tcm_receiver_handle(p->rx, p->now_utc, payload, len, reply, sizeof reply, &rlen,
                                 &p->last_rx));
    if (p->last_rx.kind == TCM_RECEIVER_EVENT_KIND_COMMITTED) {
        p->committed_events++;
    }
    if (p->last_rx.kind == TCM_RECEIVER_EVENT_KIND_STORE_FAILED) {
        p->store_failed_events++;
    }
    if (rlen > 0) {
        transmit(&p->down, reply, rlen, to_sender, p);
    }
}

/* Runs the link until the outbox is empty (or `rounds` pass); 250 ms per round. */
static void run(peers *p, unsigned rounds) {
    unsigned r;
    for (r = 0; r < rounds; r++) {
        tcm_sender_info info;
        for (;;) {
            uint8_t out[TCM_DEFAULT_MTU];
            size_t n = 0;
            CHECK_OK(tcm_sender_poll_transmit(p->tx, p->now_ms, out, sizeof out, &n));
            if (n == 0) {
                break;
            }
            transmit(&p->up, out, n, to_receiver, p);
        }
        CHECK_OK(tcm_sender_get_info(p->tx, &info));
        if (info.pending == 0 && info.streaming) {
            return;
        }
        p->now_ms += 250;
        p->now_utc += 1;
    }
}

static mem_store store;
static mem_outbox outbox;
static uint8_t pushed[40][ENTRY_CAP];
static size_t pushed_len[40];

static void end_to_end(void) {
    peers p;
    tcm_receiver_store rs;
    tcm_outbox_storage os = outbox_storage(&outbox);
    tcm_sender_config cfg;
    tcm_sender_info info;
    uint32_t seq = 0;
    uint32_t pos = 0;
    unsigned i;
    const test_vector *foreign = find_vector("vitals-clock-unknown-spo2"); /* device 8 */
    const test_vector *unknown = find_vector("unknown-kind-200");          /* device 7 */

    memset(&store, 0, sizeof store);
    memset(&outbox, 0, sizeof outbox);
    memset(&p, 0, sizeof p);
    p.now_utc = 1773563400u;
    rs.ctx = &store;
    rs.watermark = mem_store_watermark;
    rs.commit = mem_store_commit;
    CHECK_OK(tcm_receiver_new(&rs, &p.rx));
    CHECK_OK(tcm_sender_config_default(&cfg));
    CHECK(cfg.mtu == TCM_DEFAULT_MTU && cfg.window == TCM_DEFAULT_WINDOW);
    cfg.window = 4;
    cfg.mtu = 128; /* small batches: more frames, more losses */
    CHECK_OK(tcm_sender_new(&os, 7, 1, &cfg, 1, 1, &p.tx));
    CHECK_OK(tcm_frame_decoder_new(&p.up.decoder));
    CHECK_OK(tcm_frame_decoder_new(&p.down.decoder));
    p.up.drop_every = 3;
    p.down.drop_every = 4;

    CHECK_OK(tcm_sender_get_info(p.tx, &info));
    CHECK(info.started_new_epoch == 1 && info.device == 7 && info.epoch == 1);

    /* 20 records of this kiosk: each carries the next sequence number. */
    for (i = 0; i < 20; i++) {
        CHECK_OK(tcm_sender_next_seq(p.tx, &seq));
        CHECK(seq == i + 1);
        pushed_len[i] = vitals_envelope(7, seq, (uint16_t)(110 + i), pushed[i], ENTRY_CAP);
        CHECK_OK(tcm_sender_push(p.tx, pushed[i], pushed_len[i], &pos));
        CHECK(pos == seq);
    }
    /* A record of this device with the wrong sequence number is refused. */
    if (unknown != NULL) {
        CHECK_ST(tcm_sender_push(p.tx, unknown->envelope, unknown->envelope_len, &pos),
                 TCM_STATUS_SEQ_MISMATCH);
    }
    /* A record of another device is forwarded unchanged, at the next position. */
    if (foreign != NULL) {
        memcpy(pushed[20], foreign->envelope, foreign->envelope_len);
        pushed_len[20] = foreign->envelope_len;
        CHECK_OK(tcm_sender_push(p.tx, foreign->envelope, foreign->envelope_len, &pos));
        CHECK(pos == 21);
    }

    run(&p, 400);
    CHECK_OK(tcm_sender_get_info(p.tx, &info));
    CHECK(info.pending == 0 && info.acked_through == 21 && info.last_position == 21);
    CHECK(store.watermark == 21 && store.count == 21);
    CHECK(p.committed_events > 0);
    for (i = 0; i < store.count && i < 21; i++) {
        CHECK(store.records[i].position == i + 1);
        CHECK_BYTES(store.records[i].envelope, store.records[i].len, pushed[i], pushed_len[i]);
        CHECK(store.records[i].status == TCM_STATUS_OK);
        CHECK(store.records[i].has_header == 1);
    }
    CHECK(store.records[20].header.id.device == 8);

    /* The store fails twice: the sender backs off and delivers later. */
    store.fail_commits = 2;
    CHECK_OK(tcm_sender_next_seq(p.tx, &seq));
    pushed_len[21] = vitals_envelope(7, seq, 150, pushed[21], ENTRY_CAP);
    CHECK_OK(tcm_sender_push(p.tx, pushed[21], pushed_len[21], &pos));
    p.up.drop_every = 0;
    p.down.drop_every = 0;
    run(&p, 400);
    CHECK(p.store_failed_events == 2);
    CHECK(p.busy_events >= 1);
    CHECK(store.watermark == 22 && store.count == 22);

    /* The receiver's time reaches the sender. */
    {
        uint8_t ts[TCM_MAX_CONTROL_MESSAGE_LEN];
        size_t n = 0;
        CHECK_OK(tcm_receiver_time_sync(p.rx, 1773600000u, ts, sizeof ts, &n));
        CHECK_OK(tcm_sender_handle(p.tx, p.now_ms, ts, n, &p.last_tx));
        CHECK(p.last_tx.kind == TCM_SENDER_EVENT_KIND_TIME_SYNCED);
        CHECK(p.last_tx.has_utc == 1 && p.last_tx.utc_now == 1773600000u);
        CHECK_ST(tcm_receiver_time_sync(p.rx, 1, ts, 1, &n), TCM_STATUS_BUFFER_TOO_SMALL);
        CHECK(n == 2); /* a tag and a one-byte varint */
    }

    /* A restart: the sender resumes from its storage with the same numbering. */
    CHECK_OK(tcm_sender_free(p.tx));
    p.tx = NULL;
    CHECK_OK(tcm_sender_new(&os, 7, 2, &cfg, 2, 1, &p.tx));
    CHECK_OK(tcm_sender_get_info(p.tx, &info));
    CHECK(info.started_new_epoch == 0 && info.epoch == 1);
    CHECK(info.acked_through == 22 && info.pending == 0);
    CHECK_OK(tcm_sender_next_seq(p.tx, &seq));
    CHECK(seq == 23);

    /* The outbox fills up and refuses, overwriting nothing. */
    for (i = 0; i < OUTBOX_ENTRIES; i++) {
        uint8_t env[ENTRY_CAP];
        size_t n;
        CHECK_OK(tcm_sender_next_seq(p.tx, &seq));
        n = vitals_envelope(7, seq, 120, env, sizeof env);
        CHECK_OK(tcm_sender_push(p.tx, env, n, &pos));
    }
    {
        uint8_t env[ENTRY_CAP];
        size_t n;
        CHECK_OK(tcm_sender_next_seq(p.tx, &seq));
        n = vitals_envelope(7, seq, 120, env, sizeof env);
        CHECK_ST(tcm_sender_push(p.tx, env, n, &pos), TCM_STATUS_OUTBOX_FULL);
        CHECK(outbox.count == OUTBOX_ENTRIES && outbox.positions[0] == 23);
    }
    /* Syncing drains it; the receiver (which still has the session of the old sender)
     * commits everything in order. */
    run(&p, 400);
    CHECK(store.watermark == 22 + OUTBOX_ENTRIES);
    CHECK(outbox.count == 0);

    CHECK_OK(tcm_frame_decoder_free(p.up.decoder));
    CHECK_OK(tcm_frame_decoder_free(p.down.decoder));
    CHECK_OK(tcm_sender_free(p.tx));
    CHECK_OK(tcm_receiver_free(p.rx));
}

static void bad_input_and_null_pointers(void) {
    tcm_receiver_store rs;
    tcm_receiver *rx = NULL;
    tcm_sender *tx = NULL;
    tcm_outbox_storage os;
    tcm_sender_config cfg;
    tcm_receiver_event ev;
    tcm_sender_event sev;
    uint8_t reply[TCM_MAX_CONTROL_MESSAGE_LEN];
    uint8_t garbage[5] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    size_t n = 0;
    uint32_t u = 0;

    memset(&outbox, 0, sizeof outbox);
    memset(&store, 0, sizeof store);
    rs.ctx = &store;
    rs.watermark = mem_store_watermark;
    rs.commit = NULL;
    CHECK_ST(tcm_receiver_new(&rs, &rx), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_receiver_new(NULL, &rx), TCM_STATUS_NULL_POINTER);
    rs.commit = mem_store_commit;
    CHECK_ST(tcm_receiver_new(&rs, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_OK(tcm_receiver_new(&rs, &rx));

    /* Garbage is a malformed message answered with a nack, not an error. */
    CHECK_OK(tcm_receiver_handle(rx, 0, garbage, sizeof garbage, reply, sizeof reply, &n, &ev));
    CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_MALFORMED && n > 0);
    CHECK_ST(tcm_receiver_handle(rx, 0, garbage, sizeof garbage, reply, 8, &n, &ev),
             TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == TCM_MAX_CONTROL_MESSAGE_LEN);
    CHECK_ST(tcm_receiver_handle(NULL, 0, garbage, 5, reply, sizeof reply, &n, &ev),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_receiver_handle(rx, 0, NULL, 5, reply, sizeof reply, &n, &ev),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_receiver_handle(rx, 0, garbage, 5, reply, sizeof reply, NULL, &ev),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_receiver_handle(rx, 0, garbage, 5, reply, sizeof reply, &n, NULL),
             TCM_STATUS_NULL_POINTER);
    CHECK_OK(tcm_receiver_free(rx));
    CHECK_OK(tcm_receiver_free(NULL));

    os = outbox_storage(&outbox);
    CHECK_OK(tcm_sender_config_default(&cfg));
    cfg.mtu = 10;
    CHECK_ST(tcm_sender_new(&os, 7, 1, &cfg, 1, 1, &tx), TCM_STATUS_INVALID_CONFIG);
    CHECK_ST(tcm_sender_new(&os, 0, 1, NULL, 1, 1, &tx), TCM_STATUS_INVALID_IDENTITY);
    os.read_from = NULL;
    CHECK_ST(tcm_sender_new(&os, 7, 1, NULL, 1, 1, &tx), TCM_STATUS_NULL_POINTER);
    os = outbox_storage(&outbox);
    CHECK_OK(tcm_sender_new(&os, 7, 1, NULL, 1, 0, &tx));
    /* Another device's storage. */
    {
        tcm_sender *other = NULL;
        CHECK_ST(tcm_sender_new(&os, 9, 1, NULL, 1, 0, &other), TCM_STATUS_DEVICE_MISMATCH);
        CHECK(other == NULL);
    }
    CHECK_OK(tcm_sender_handle(tx, 0, garbage, sizeof garbage, &sev));
    CHECK(sev.kind == TCM_SENDER_EVENT_KIND_IGNORED);
    CHECK_ST(tcm_sender_push(tx, garbage, sizeof garbage, &u),
             TCM_STATUS_DECODE_TRUNCATED);
    {
        uint8_t has = 9;
        uint64_t at = 7;
        CHECK_OK(tcm_sender_next_timeout(tx, &has, &at));
        CHECK(has == 1); /* the hello is due */
        CHECK_OK(tcm_sender_set_clock_valid(tx, 1));
    }
    CHECK_ST(tcm_sender_poll_transmit(tx, 0, reply, 2, &n), TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK_ST(tcm_sender_poll_transmit(NULL, 0, reply, sizeof reply, &n),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_sender_push(tx, NULL, 3, &u), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_sender_get_info(tx, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_sender_next_seq(NULL, &u), TCM_STATUS_NULL_POINTER);
    CHECK_OK(tcm_sender_free(tx));
    CHECK_OK(tcm_sender_free(NULL));
}

static void json_view(void) {
    const test_vector *v = find_vector("vitals-bp-pulse-spo2-temp");
    tcm_record r;
    char json[1024];
    char tiny[8];
    size_t n = 0;
    if (v == NULL) {
        return;
    }
    CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
    CHECK_OK(tcm_record_to_json(&r, json, sizeof json, &n));
    CHECK(n == strlen(json));
    CHECK(strstr(json, "\"kind\":\"vitals\"") != NULL);
    CHECK(strstr(json, "\"systolic_mmhg\":128") != NULL);
    CHECK(strstr(json, "\"temperature_centi_c\":3660") != NULL);
    CHECK(strstr(json, "2026-03-15T08:30:00Z") != NULL);
    CHECK_ST(tcm_record_to_json(&r, tiny, sizeof tiny, &n), TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == strlen(json) + 1);
    r.kind = 42;
    CHECK_ST(tcm_record_to_json(&r, json, sizeof json, &n), TCM_STATUS_INVALID_ARGUMENT);
}

void test_sync(void) {
    end_to_end();
    bad_input_and_null_pointers();
    json_view();
}
