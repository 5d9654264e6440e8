/* Misuse the documentation forbids, detected where cheap (issue #12 item 14): a handle of
 * the wrong type, a pointer that is no live handle (freed, or never handed out) and a
 * receiver or sender called back from its own store callback give a status, and neither
 * the misused handle nor the memory behind the bad pointer is touched. */
#include <string.h>

#include "check.h"
#include "mem_stores.h"

void test_misuse(void);

/* ---- wrong type and not a live handle -------------------------------------------------- */

static void wrong_handle_types(void) {
    static const uint8_t key_bytes[TCM_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t frame[] = {0x01, 0x01, 0x00};
    tcm_frame_decoder *dec = NULL;
    tcm_device_key *key = NULL;
    uint8_t out[TCM_KEY_LEN];
    uint8_t got[TCM_FRAME_DECODER_CAPACITY];
    size_t n = 0;
    size_t used = 0;
    tcm_sender_info info;

    CHECK_OK(tcm_frame_decoder_new(&dec));
    CHECK_OK(tcm_device_key_new(key_bytes, sizeof key_bytes, &key));

    /* A decoder handed to the receiver and sender functions (this used to segfault). */
    CHECK_ST(tcm_receiver_free((tcm_receiver *)(void *)dec), TCM_STATUS_WRONG_HANDLE);
    CHECK_ST(tcm_sender_free((tcm_sender *)(void *)dec), TCM_STATUS_WRONG_HANDLE);
    CHECK_ST(tcm_sender_get_info((const tcm_sender *)(const void *)dec, &info),
             TCM_STATUS_WRONG_HANDLE);
    CHECK_ST(tcm_device_key_free((tcm_device_key *)(void *)dec), TCM_STATUS_WRONG_HANDLE);
    CHECK_ST(tcm_device_key_export((const tcm_device_key *)(const void *)dec, out, sizeof out,
                                   &n),
             TCM_STATUS_WRONG_HANDLE);
    /* A key handed to the decoder functions. */
    CHECK_ST(tcm_frame_decoder_free((tcm_frame_decoder *)(void *)key), TCM_STATUS_WRONG_HANDLE);
    CHECK_ST(tcm_frame_decoder_reset((tcm_frame_decoder *)(void *)key), TCM_STATUS_WRONG_HANDLE);

    /* Both are untouched and still work. */
    CHECK_OK(tcm_device_key_export(key, out, sizeof out, &n));
    CHECK(n == TCM_KEY_LEN && memcmp(out, key_bytes, sizeof out) == 0);
    CHECK_ST(tcm_frame_decoder_feed(dec, frame, sizeof frame, &used, got, sizeof got, &n),
             TCM_STATUS_FRAME_TOO_SHORT);
    CHECK(used == sizeof frame);

    /* A double free of a key is detected (valgrind saw an invalid write), and so is a
     * decoder used after it was freed: nothing is read behind the stale pointer. Nothing
     * is allocated between the calls, so the addresses cannot have been reused. */
    CHECK_OK(tcm_device_key_free(key));
    CHECK_ST(tcm_device_key_free(key), TCM_STATUS_UNKNOWN_HANDLE);
    CHECK_ST(tcm_device_key_export(key, out, sizeof out, &n), TCM_STATUS_UNKNOWN_HANDLE);
    CHECK_OK(tcm_frame_decoder_free(dec));
    CHECK_ST(tcm_frame_decoder_feed(dec, frame, sizeof frame, &used, got, sizeof got, &n),
             TCM_STATUS_UNKNOWN_HANDLE);
    CHECK_ST(tcm_frame_decoder_free(dec), TCM_STATUS_UNKNOWN_HANDLE);

    /* A pointer the library never handed out (here: to a stack buffer). */
    CHECK_ST(tcm_frame_decoder_reset((tcm_frame_decoder *)(void *)got),
             TCM_STATUS_UNKNOWN_HANDLE);
    CHECK_ST(tcm_receiver_free((tcm_receiver *)(void *)got), TCM_STATUS_UNKNOWN_HANDLE);

    /* NULL stays what it was: a no-op for _free, NULL_POINTER elsewhere. */
    CHECK_OK(tcm_device_key_free(NULL));
    CHECK_ST(tcm_frame_decoder_reset(NULL), TCM_STATUS_NULL_POINTER);
}

/* ---- a receiver called back from its own store callback ------------------------------- */

typedef struct reentrant_store {
    mem_store store;
    tcm_receiver *rx;
    const uint8_t *hello;
    size_t hello_len;
    unsigned calls;
    tcm_status handle_again, session, freed;
} reentrant_store;

static uint32_t reentrant_watermark(void *ctx, uint32_t device, uint32_t epoch, uint32_t *wm) {
    reentrant_store *s = ctx;
    uint8_t reply[TCM_MAX_CONTROL_MESSAGE_LEN];
    size_t rlen = 0;
    tcm_receiver_event ev;
    uint8_t found = 0;
    uint32_t d = 0, e = 0, k = 0;
    s->calls++;
    s->handle_again = tcm_receiver_handle(s->rx, 0, s->hello, s->hello_len, reply,
                                          sizeof reply, &rlen, &ev);
    s->session = tcm_receiver_session(s->rx, &found, &d, &e, &k);
    s->freed = tcm_receiver_free(s->rx);
    return mem_store_watermark(&s->store, device, epoch, wm);
}

/* A hello of device 7, epoch 1, from a fresh sender. */
static size_t hello_payload(uint8_t *out, size_t cap) {
    static mem_outbox ob;
    tcm_outbox_storage storage;
    tcm_sender *tx = NULL;
    size_t n = 0;
    memset(&ob, 0, sizeof ob);
    storage = outbox_storage(&ob);
    CHECK_OK(tcm_sender_new(&storage, 7, 1, NULL, 1, 1, &tx));
    CHECK_OK(tcm_sender_poll_transmit(tx, 0, out, cap, &n));
    CHECK(n > 0);
    CHECK_OK(tcm_sender_free(tx));
    return n;
}

static void receiver_reentered(void) {
    static reentrant_store s;
    uint8_t hello[TCM_MAX_CONTROL_MESSAGE_LEN];
    uint8_t reply[TCM_MAX_CONTROL_MESSAGE_LEN];
    size_t rlen = 0;
    tcm_receiver_event ev;
    tcm_receiver_store store;
    uint8_t found = 0;
    uint32_t d = 0, e = 0, k = 0;

    memset(&s, 0, sizeof s);
    s.hello_len = hello_payload(hello, sizeof hello);
    s.hello = hello;
    store.ctx = &s;
    store.watermark = reentrant_watermark;
    store.commit = mem_store_commit;
    CHECK_OK(tcm_receiver_new(&store, &s.rx));

    /* The hello asks the store for the watermark; the callback calls the receiver again
     * (handle, a getter, free): each is refused, and the outer call completes. */
    CHECK_OK(tcm_receiver_handle(s.rx, 0, hello, s.hello_len, reply, sizeof reply, &rlen, &ev));
    CHECK(s.calls == 1);
    CHECK_ST(s.handle_again, TCM_STATUS_REENTERED);
    CHECK_ST(s.session, TCM_STATUS_REENTERED);
    CHECK_ST(s.freed, TCM_STATUS_REENTERED);
    CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_INTRODUCED && rlen > 0);

    /* The receiver was not freed and is usable once the call has returned. */
    CHECK_OK(tcm_receiver_session(s.rx, &found, &d, &e, &k));
    CHECK(found == 1 && d == 7 && e == 1);
    CHECK_OK(tcm_receiver_free(s.rx));
}

/* ---- a sender called back from its own outbox callback -------------------------------- */

typedef struct reentrant_outbox {
    mem_outbox ob;
    tcm_outbox_storage inner;
    tcm_sender *tx;
    unsigned calls;
    tcm_status next_seq, push_again, freed;
} reentrant_outbox;

static uint32_t reentrant_append(void *ctx, uint32_t position, const uint8_t *entry,
                                 size_t len) {
    reentrant_outbox *o = ctx;
    uint32_t seq = 0;
    uint32_t pos = 0;
    if (o->tx != NULL) {
        o->calls++;
        o->next_seq = tcm_sender_next_seq(o->tx, &seq);
        o->push_again = tcm_sender_push(o->tx, entry, len, &pos);
        o->freed = tcm_sender_free(o->tx);
    }
    return o->inner.append(&o->ob, position, entry, len);
}

/* The other callbacks pass through to the in-memory outbox. */
static uint32_t ro_load_meta(void *ctx, uint8_t *found, tcm_outbox_meta *meta) {
    reentrant_outbox *o = ctx;
    return o->inner.load_meta(&o->ob, found, meta);
}
static uint32_t ro_store_meta(void *ctx, const tcm_outbox_meta *meta) {
    reentrant_outbox *o = ctx;
    return o->inner.store_meta(&o->ob, meta);
}
static uint32_t ro_bounds(void *ctx, uint8_t *found, uint32_t *oldest, uint32_t *newest,
                          size_t *count) {
    reentrant_outbox *o = ctx;
    return o->inner.bounds(&o->ob, found, oldest, newest, count);
}
static uint32_t ro_remove_through(void *ctx, uint32_t position) {
    reentrant_outbox *o = ctx;
    return o->inner.remove_through(&o->ob, position);
}
static uint32_t ro_read_from(void *ctx, uint32_t from, tcm_outbox_visit_fn visit,
                             void *visit_ctx) {
    reentrant_outbox *o = ctx;
    return o->inner.read_from(&o->ob, from, visit, visit_ctx);
}
static uint32_t ro_free_bytes(void *ctx, size_t *free_bytes) {
    reentrant_outbox *o = ctx;
    return o->inner.free_bytes(&o->ob, free_bytes);
}

static void sender_reentered(void) {
    static reentrant_outbox o;
    tcm_outbox_storage storage;
    uint8_t env[ENTRY_CAP];
    size_t len;
    uint32_t pos = 0;
    uint32_t seq = 0;
    tcm_sender_info info;

    memset(&o, 0, sizeof o);
    o.inner = outbox_storage(&o.ob);
    storage = o.inner;
    storage.ctx = &o;
    storage.load_meta = ro_load_meta;
    storage.store_meta = ro_store_meta;
    storage.append = reentrant_append;
    storage.bounds = ro_bounds;
    storage.remove_through = ro_remove_through;
    storage.read_from = ro_read_from;
    storage.free_bytes = ro_free_bytes;
    CHECK_OK(tcm_sender_new(&storage, 7, 1, NULL, 1, 1, &o.tx));
    CHECK_OK(tcm_sender_next_seq(o.tx, &seq));
    len = vitals_envelope(7, seq, 128, env, sizeof env);

    /* The push appends through the callback, which calls the sender again. */
    CHECK_OK(tcm_sender_push(o.tx, env, len, &pos));
    CHECK(o.calls == 1 && pos == seq);
    CHECK_ST(o.next_seq, TCM_STATUS_REENTERED);
    CHECK_ST(o.push_again, TCM_STATUS_REENTERED);
    CHECK_ST(o.freed, TCM_STATUS_REENTERED);

    /* One entry was stored, and the sender lives on. */
    CHECK(o.ob.count == 1);
    CHECK_OK(tcm_sender_get_info(o.tx, &info));
    CHECK(info.last_position == pos && info.pending == 1);
    CHECK_OK(tcm_sender_free(o.tx));
}

void test_misuse(void) {
    wrong_handle_types();
    receiver_reentered();
    sender_reentered();
}
