/* Sealed frames through the C ABI: device keys, provisioning, a sealed sender and a
 * sealed receiver over in-memory C stores, and every rejection (tampered header, body
 * and tag, truncated tag, replay, unknown and revoked devices, unsealed payloads), each
 * with nothing committed and the legitimate stream continuing; key rotation. */
#include <string.h>

#include "check.h"
#include "mem_stores.h"

/* ---- the terminal's key store and replay store ---------------------------------------- */

#define KEYS 4

typedef struct key_entry {
    uint32_t device, key_id;
    uint8_t key[TCM_KEY_LEN];
    int revoked;
    uint32_t downlink_next; /* next terminal counter to hand out (starts at 1) */
} key_entry;

typedef struct key_db {
    key_entry keys[KEYS];
    size_t count;
    unsigned used_calls;
    uint32_t used_key_id;
    /* the replay store: one stream */
    uint32_t last_key_id, last_counter;
    unsigned notes;
} key_db;

static uint32_t kdb_lookup(void *ctx, uint32_t device, uint32_t key_id, uint8_t *state,
                           uint8_t *key) {
    key_db *db = ctx;
    size_t i;
    int known = 0;
    for (i = 0; i < db->count; i++) {
        key_entry *e = &db->keys[i];
        if (e->device != device) {
            continue;
        }
        known = 1;
        if (e->revoked) {
            *state = TCM_KEY_STATE_REVOKED;
            return TCM_STORE_RESULT_OK;
        }
        if (e->key_id == key_id) {
            memcpy(key, e->key, TCM_KEY_LEN);
            *state = TCM_KEY_STATE_ACTIVE;
            return TCM_STORE_RESULT_OK;
        }
    }
    *state = known ? TCM_KEY_STATE_UNKNOWN_KEY : TCM_KEY_STATE_UNKNOWN_DEVICE;
    return TCM_STORE_RESULT_OK;
}

static uint32_t kdb_reserve(void *ctx, uint32_t device, uint32_t key_id, uint32_t count,
                            uint32_t *first) {
    key_db *db = ctx;
    size_t i;
    *first = 0;
    for (i = 0; i < db->count; i++) {
        key_entry *e = &db->keys[i];
        if (e->device == device && e->key_id == key_id) {
            if (e->downlink_next == 0) {
                e->downlink_next = 1;
            }
            *first = e->downlink_next;
            e->downlink_next += count;
        }
    }
    return TCM_STORE_RESULT_OK;
}

static uint32_t kdb_key_used(void *ctx, uint32_t device, uint32_t key_id) {
    key_db *db = ctx;
    (void)device;
    db->used_calls++;
    db->used_key_id = key_id;
    return TCM_STORE_RESULT_OK;
}

static uint32_t kdb_last(void *ctx, uint32_t device, uint32_t epoch, uint32_t *key_id,
                         uint32_t *counter) {
    key_db *db = ctx;
    (void)device;
    (void)epoch;
    *key_id = db->last_key_id;
    *counter = db->last_counter;
    return TCM_STORE_RESULT_OK;
}

static void raise_counter(key_db *db, uint32_t key_id, uint32_t counter) {
    if (key_id > db->last_key_id || (key_id == db->last_key_id && counter > db->last_counter)) {
        db->last_key_id = key_id;
        db->last_counter = counter;
    }
}

static uint32_t kdb_note(void *ctx, uint32_t device, uint32_t epoch, uint32_t key_id,
                         uint32_t counter) {
    key_db *db = ctx;
    (void)device;
    (void)epoch;
    db->notes++;
    raise_counter(db, key_id, counter);
    return TCM_STORE_RESULT_OK;
}

static key_db keys;
static mem_store store;
static uint32_t commits_with_counter;

/* The receiver store's commit, plus the frame counter in the same "transaction". */
static uint32_t sealed_commit(void *ctx, const tcm_commit *c) {
    uint32_t r = mem_store_commit(ctx, c);
    if (r == TCM_STORE_RESULT_OK && c->has_counter) {
        commits_with_counter++;
        raise_counter(&keys, c->key_id, c->counter);
    }
    return r;
}

/* ---- the kiosk's seal store ------------------------------------------------------------ */

typedef struct seal_slot {
    uint8_t state[TCM_SEAL_STATE_LEN];
    size_t len;
    unsigned writes;
} seal_slot;

static uint32_t slot_load(void *ctx, uint8_t *state, size_t cap, size_t *len) {
    seal_slot *s = ctx;
    if (s->len > cap) {
        return TCM_STORE_RESULT_UNAVAILABLE;
    }
    memcpy(state, s->state, s->len);
    *len = s->len;
    return TCM_STORE_RESULT_OK;
}

static uint32_t slot_store(void *ctx, const uint8_t *state, size_t len) {
    seal_slot *s = ctx;
    if (len > sizeof s->state) {
        return TCM_STORE_RESULT_FULL;
    }
    memcpy(s->state, state, len);
    s->len = len;
    s->writes++;
    return TCM_STORE_RESULT_OK;
}

static seal_slot slot;
static mem_outbox outbox;

static tcm_seal_store seal_store(void) {
    tcm_seal_store s;
    s.ctx = &slot;
    s.load = slot_load;
    s.store = slot_store;
    return s;
}

static tcm_receiver *sealed_receiver(tcm_link_security security) {
    tcm_receiver *rx = NULL;
    tcm_receiver_store rs;
    tcm_replay_store rp;
    tcm_key_store ks;
    rs.ctx = &store;
    rs.watermark = mem_store_watermark;
    rs.commit = sealed_commit;
    rp.ctx = &keys;
    rp.last_counter = kdb_last;
    rp.note_counter = kdb_note;
    ks.ctx = &keys;
    ks.lookup = kdb_lookup;
    ks.reserve_downlink = kdb_reserve;
    ks.key_used = kdb_key_used;
    CHECK_OK(tcm_receiver_new_sealed(&rs, &rp, &ks, security, &rx));
    return rx;
}

/* Delivers a payload to the receiver; returns the event, and forwards a reply to the
 * sender when `tx` is not NULL. */
static tcm_receiver_event to_rx(tcm_receiver *rx, tcm_sender *tx, const uint8_t *payload,
                                size_t len, uint64_t now_ms) {
    tcm_receiver_event ev;
    uint8_t reply[TCM_MAX_SEALED_CONTROL_LEN];
    size_t rlen = 0;
    memset(&ev, 0, sizeof ev);
    CHECK_OK(tcm_receiver_handle(rx, 1773600000u, payload, len, reply, sizeof reply, &rlen,
                                 &ev));
    if (tx != NULL && rlen > 0) {
        tcm_sender_event sev;
        CHECK_OK(tcm_sender_handle(tx, now_ms, reply, rlen, &sev));
        CHECK(sev.kind != TCM_SENDER_EVENT_KIND_REJECTED);
    }
    return ev;
}

/* Runs sender -> receiver until nothing is due; returns the payloads sent. */
static unsigned pump(tcm_receiver *rx, tcm_sender *tx, uint64_t now_ms) {
    unsigned sent = 0;
    for (;;) {
        uint8_t out[TCM_DEFAULT_MTU];
        size_t n = 0;
        CHECK_OK(tcm_sender_poll_transmit(tx, now_ms, out, sizeof out, &n));
        if (n == 0 || sent > 100) {
            return sent;
        }
        sent++;
        to_rx(rx, tx, out, n, now_ms);
    }
}

static const uint8_t KEY1[TCM_KEY_LEN] = {
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
};

/* The link key device 7 got from its provisioning (keys_and_provisioning), which the
 * terminal keeps. */
static uint8_t LINK7[TCM_KEY_LEN];

/* The terminal's side of a provisioning: checks the device's confirmation for what it
 * sent and exports the link key to `link`; `fp` receives its fingerprint. */
static void confirm(uint32_t device, const tcm_device_key *k, const uint8_t *conf, size_t len,
                    uint8_t link[TCM_KEY_LEN], char fp[TCM_KEY_FINGERPRINT_LEN]) {
    tcm_device_key *lk = NULL;
    size_t n = 0;
    CHECK_OK(tcm_provision_confirm(device, 1, 1, k, conf, len, &lk, fp));
    CHECK_OK(tcm_device_key_export(lk, link, TCM_KEY_LEN, &n));
    CHECK(n == TCM_KEY_LEN);
    CHECK_OK(tcm_device_key_free(lk));
}

static void keys_and_provisioning(void) {
    tcm_device_key *k = NULL, *g1 = NULL, *g2 = NULL;
    uint8_t bytes[TCM_KEY_LEN], b2[TCM_KEY_LEN];
    uint8_t payload[TCM_MAX_PROVISION_LEN];
    uint8_t conf[TCM_MAX_PROVISION_CONFIRM_LEN];
    char fp[TCM_KEY_FINGERPRINT_LEN], fp2[TCM_KEY_FINGERPRINT_LEN];
    size_t n = 0, clen = 0;
    tcm_seal_store ss = seal_store();
    tcm_seal_info info;
    size_t i;

    CHECK_ST(tcm_device_key_new(KEY1, 31, &k), TCM_STATUS_SEAL_KEY_WRONG_LENGTH);
    CHECK_ST(tcm_device_key_new(NULL, 32, &k), TCM_STATUS_NULL_POINTER);
    CHECK_OK(tcm_device_key_new(KEY1, sizeof KEY1, &k));
    CHECK_OK(tcm_device_key_export(k, bytes, sizeof bytes, &n));
    CHECK_BYTES(bytes, n, KEY1, sizeof KEY1);
    CHECK_ST(tcm_device_key_export(k, bytes, 16, &n), TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == TCM_KEY_LEN);
    CHECK_OK(tcm_device_key_generate(&g1));
    CHECK_OK(tcm_device_key_generate(&g2));
    CHECK_OK(tcm_device_key_export(g1, bytes, sizeof bytes, &n));
    CHECK_OK(tcm_device_key_export(g2, b2, sizeof b2, &n));
    CHECK(memcmp(bytes, b2, TCM_KEY_LEN) != 0);
    CHECK_OK(tcm_device_key_free(g1));
    CHECK_OK(tcm_device_key_free(g2));
    CHECK_OK(tcm_device_key_free(NULL));

    /* Layout (core seal docs): 0xA2 | device varint | epoch varint | key id varint | key. */
    CHECK_OK(tcm_provision_encode(7, 1, 1, k, payload, sizeof payload, &n));
    CHECK(n == 4 + TCM_KEY_LEN);
    CHECK(payload[0] == 0xA2 && payload[1] == 7 && payload[2] == 1 && payload[3] == 1);
    CHECK(memcmp(payload + 4, KEY1, TCM_KEY_LEN) == 0);
    {
        size_t need = 0;
        CHECK_ST(tcm_provision_encode(7, 1, 1, k, payload, 10, &need),
                 TCM_STATUS_BUFFER_TOO_SMALL);
        CHECK(need > 10);
    }
    CHECK_ST(tcm_provision_encode(0, 1, 1, k, payload, sizeof payload, &n),
             TCM_STATUS_DEVICE_ID_ZERO);
    CHECK_ST(tcm_provision_encode(7, 0, 1, k, payload, sizeof payload, &n),
             TCM_STATUS_EPOCH_ZERO);
    CHECK_OK(tcm_provision_encode(7, 1, 1, k, payload, sizeof payload, &n));

    /* Outside provisioning mode nothing is stored. */
    memset(&slot, 0, sizeof slot);
    CHECK_ST(tcm_seal_accept_provision(&ss, payload, n, 0, &info, conf, sizeof conf, &clen, fp),
             TCM_STATUS_SEAL_NOT_IN_PROVISIONING_MODE);
    CHECK(slot.writes == 0 && slot.len == 0);
    CHECK_ST(tcm_seal_accept_provision(&ss, payload, n - 1, 1, &info, conf, sizeof conf, &clen,
                                       fp),
             TCM_STATUS_SEAL_PROVISION_MALFORMED);
    CHECK(slot.writes == 0);
    {
        /* The layout's first byte is the provisioning marker: anything else is refused. */
        uint8_t bad[TCM_MAX_PROVISION_LEN];
        memcpy(bad, payload, n);
        bad[0] = 0xA1;
        CHECK_ST(tcm_seal_accept_provision(&ss, bad, n, 1, &info, conf, sizeof conf, &clen, fp),
                 TCM_STATUS_SEAL_PROVISION_MALFORMED);
    }
    /* A confirmation buffer too small: the size needed, nothing stored. */
    CHECK_ST(tcm_seal_accept_provision(&ss, payload, n, 1, &info, conf, 20, &clen, fp),
             TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK(clen == TCM_MAX_PROVISION_CONFIRM_LEN && slot.writes == 0);
    /* The withdrawn call stores nothing. */
    CHECK_ST(tcm_seal_provision(&ss, payload, n, 1, &info), TCM_STATUS_SEAL_PROVISION_UNCONFIRMED);
    CHECK(slot.writes == 0);
    CHECK_OK(tcm_seal_accept_provision(&ss, payload, n, 1, &info, conf, sizeof conf, &clen, fp));
    CHECK(info.device == 7 && info.epoch == 1 && info.key_id == 1);
    CHECK(slot.len == TCM_SEAL_STATE_LEN && slot.writes == 1);
    /* The confirmation (core seal docs): 0xA5 | salt (16) | device 7 | epoch 1 | key id 1 |
     * tag (16). */
    CHECK(clen == 1 + 16 + 3 + 16);
    CHECK(conf[0] == 0xA5 && conf[17] == 7 && conf[18] == 1 && conf[19] == 1);
    CHECK(strlen(fp) == 9 && fp[4] == '-');
    /* The terminal checks the proof: the same link key and fingerprint; the stored state
     * holds the link key (bytes 21..53: version, five u32 fields, key), not the payload's. */
    confirm(7, k, conf, clen, LINK7, fp2);
    CHECK(strcmp(fp, fp2) == 0);
    CHECK(memcmp(slot.state + 21, LINK7, TCM_KEY_LEN) == 0);
    CHECK(memcmp(LINK7, KEY1, TCM_KEY_LEN) != 0);
    {
        tcm_device_key *lk = NULL;
        char fp3[TCM_KEY_FINGERPRINT_LEN];
        CHECK_OK(tcm_device_key_new(LINK7, TCM_KEY_LEN, &lk));
        CHECK_OK(tcm_device_key_fingerprint(lk, fp3));
        CHECK(strcmp(fp, fp3) == 0);
        CHECK_OK(tcm_device_key_free(lk));
    }
    /* Every altered byte of the confirmation is refused, and a confirmation for another
     * device, epoch or key id. */
    for (i = 0; i < clen; i++) {
        tcm_device_key *lk = NULL;
        conf[i] ^= 0x01;
        CHECK(tcm_provision_confirm(7, 1, 1, k, conf, clen, &lk, NULL) != TCM_STATUS_OK);
        CHECK(lk == NULL);
        conf[i] ^= 0x01;
    }
    {
        tcm_device_key *lk = NULL;
        CHECK_ST(tcm_provision_confirm(8, 1, 1, k, conf, clen, &lk, NULL),
                 TCM_STATUS_SEAL_UNKNOWN_DEVICE);
        CHECK_ST(tcm_provision_confirm(7, 2, 1, k, conf, clen, &lk, NULL),
                 TCM_STATUS_SEAL_WRONG_EPOCH);
        CHECK_ST(tcm_provision_confirm(7, 1, 2, k, conf, clen, &lk, NULL),
                 TCM_STATUS_SEAL_UNKNOWN_KEY);
        CHECK_ST(tcm_provision_confirm(7, 1, 1, k, conf, clen - 1, &lk, NULL),
                 TCM_STATUS_SEAL_MALFORMED);
        CHECK(lk == NULL);
    }
    /* The same payload again does not move the device forward: refused, nothing stored. */
    {
        uint32_t writes = slot.writes;
        CHECK_ST(tcm_seal_accept_provision(&ss, payload, n, 1, &info, conf, sizeof conf, &clen,
                                           NULL),
                 TCM_STATUS_SEAL_PROVISION_STALE);
        CHECK(slot.writes == writes);
    }
    for (i = 0; i < n; i++) {
        payload[i] = 0; /* wipe the key in clear, as the docs ask */
    }
    CHECK_OK(tcm_device_key_free(k));
}

static void sealed_stream(void) {
    tcm_seal_store ss = seal_store();
    tcm_outbox_storage os;
    tcm_sender *tx = NULL, *plain_tx = NULL;
    tcm_receiver *rx;
    tcm_sender_config cfg;
    tcm_receiver_event ev;
    uint8_t env[256];
    uint8_t hello[TCM_DEFAULT_MTU], plain_hello[TCM_DEFAULT_MTU];
    uint8_t batch[TCM_DEFAULT_MTU], copy[TCM_DEFAULT_MTU];
    size_t hello_len = 0, plain_hello_len = 0, batch_len = 0;
    uint32_t pos = 0;
    uint32_t i;
    size_t committed;
    mem_outbox plain_outbox;

    memset(&keys, 0, sizeof keys);
    memset(&store, 0, sizeof store);
    memset(&outbox, 0, sizeof outbox);
    memset(&plain_outbox, 0, sizeof plain_outbox);
    commits_with_counter = 0;
    keys.count = 1;
    keys.keys[0].device = 7;
    keys.keys[0].key_id = 1;
    memcpy(keys.keys[0].key, LINK7, TCM_KEY_LEN);

    CHECK_OK(tcm_sender_config_default(&cfg));
    os = outbox_storage(&outbox);
    CHECK_OK(tcm_sender_new_sealed(&os, &ss, &cfg, 1, 1, &tx));
    rx = sealed_receiver(TCM_LINK_SECURITY_SEALED);

    /* The seal adds 21 bytes at counter 1 (core seal docs): 16-byte tag + marker, key id
     * 1, device 7, epoch 1 and counter 1, one byte each. */
    CHECK_OK(tcm_sender_poll_transmit(tx, 0, hello, sizeof hello, &hello_len));
    {
        tcm_outbox_storage pos2 = outbox_storage(&plain_outbox);
        CHECK_OK(tcm_sender_new(&pos2, 7, 1, &cfg, 1, 1, &plain_tx));
        CHECK_OK(tcm_sender_poll_transmit(plain_tx, 0, plain_hello, sizeof plain_hello,
                                          &plain_hello_len));
    }
    CHECK(hello_len == plain_hello_len + 21);
    CHECK(hello[0] == 0xA1 && hello[1] == 1 && hello[2] == 7 && hello[3] == 1 && hello[4] == 1);

    /* A plain hello is refused on a sealed link, and nothing is answered. */
    ev = to_rx(rx, NULL, plain_hello, plain_hello_len, 0);
    CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_REJECTED);
    CHECK(ev.rejection == TCM_STATUS_SEAL_UNSEALED_REFUSED);

    ev = to_rx(rx, tx, hello, hello_len, 0);
    CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_INTRODUCED && ev.device == 7);
    CHECK(keys.notes == 1);

    for (i = 1; i <= 3; i++) {
        size_t n = vitals_envelope(7, i, (uint16_t)(120 + i), env, sizeof env);
        CHECK_OK(tcm_sender_push(tx, env, n, &pos));
    }
    CHECK_OK(tcm_sender_poll_transmit(tx, 10, batch, sizeof batch, &batch_len));
    CHECK(batch_len > 21);

    /* Tampered copies: a header byte (the counter), a body byte, a tag byte, a
     * truncated tag, another key id. All rejected, nothing committed. */
    {
        struct {
            size_t at;     /* byte to flip (or SIZE_MAX) */
            size_t cut;    /* bytes cut from the end */
            tcm_status want;
        } cases[] = {
            {4, 0, TCM_STATUS_SEAL_BAD_TAG},             /* counter */
            {3, 0, TCM_STATUS_SEAL_BAD_TAG},             /* epoch 1 -> other epoch */
            {8, 0, TCM_STATUS_SEAL_BAD_TAG},             /* body */
            {(size_t)-1, 0, TCM_STATUS_SEAL_BAD_TAG},    /* last tag byte */
            {(size_t)-2, 1, TCM_STATUS_SEAL_BAD_TAG},    /* truncated tag */
            {1, 0, TCM_STATUS_SEAL_UNKNOWN_KEY},         /* key id 1 -> 0 */
            {2, 0, TCM_STATUS_SEAL_UNKNOWN_DEVICE},      /* device 7 -> 6 */
        };
        size_t c;
        for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            size_t len = batch_len - cases[c].cut;
            size_t at = cases[c].at;
            memcpy(copy, batch, batch_len);
            if (at == (size_t)-1) {
                at = batch_len - 1;
            }
            if (at == (size_t)-2) {
                at = 0; /* flip nothing: only cut */
            } else {
                copy[at] ^= (at == 1 || at == 2) ? 0x01 : 0x20;
            }
            ev = to_rx(rx, NULL, copy, len, 10);
            CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_REJECTED);
            check_status(ev.rejection, cases[c].want, "tampered frame", __FILE__, __LINE__);
            CHECK(store.count == 0 && store.commits == 0);
        }
        /* Shorter than a seal header and tag. */
        ev = to_rx(rx, NULL, batch, 10, 10);
        CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_REJECTED &&
              ev.rejection == TCM_STATUS_SEAL_MALFORMED);
    }

    /* The genuine frame still goes through. */
    ev = to_rx(rx, tx, batch, batch_len, 10);
    CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_COMMITTED && ev.count == 3);
    CHECK(store.count == 3 && commits_with_counter == 1);
    CHECK(keys.last_key_id == 1 && keys.last_counter == batch[4]);

    /* Replayed: rejected with the counters, nothing committed again. */
    ev = to_rx(rx, NULL, batch, batch_len, 20);
    CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_REJECTED);
    CHECK(ev.rejection == TCM_STATUS_SEAL_REPLAYED);
    CHECK(ev.got == batch[4] && ev.expected == batch[4]);
    CHECK(store.count == 3 && store.commits == 1);

    /* A receiver restarted from the same database still refuses the replay. */
    CHECK_OK(tcm_receiver_free(rx));
    rx = sealed_receiver(TCM_LINK_SECURITY_SEALED);
    ev = to_rx(rx, NULL, batch, batch_len, 20);
    CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_REJECTED &&
          ev.rejection == TCM_STATUS_SEAL_REPLAYED);
    CHECK(store.count == 3);

    /* The legitimate stream continues. */
    for (i = 4; i <= 6; i++) {
        size_t n = vitals_envelope(7, i, (uint16_t)(120 + i), env, sizeof env);
        CHECK_OK(tcm_sender_push(tx, env, n, &pos));
    }
    pump(rx, tx, 5000);
    pump(rx, tx, 10000);
    committed = store.count;
    CHECK(committed == 6);
    for (i = 0; i < store.count; i++) {
        CHECK(store.records[i].position == i + 1);
    }

    /* A sealed reply altered on the way is rejected by the sender. */
    {
        uint8_t ts[TCM_MAX_SEALED_CONTROL_LEN];
        size_t n = 0;
        tcm_sender_event sev;
        CHECK_OK(tcm_receiver_time_sync(rx, 1773600100u, ts, sizeof ts, &n));
        ts[n / 2] ^= 0x04;
        CHECK_OK(tcm_sender_handle(tx, 10000, ts, n, &sev));
        CHECK(sev.kind == TCM_SENDER_EVENT_KIND_REJECTED);
        CHECK(sev.rejection == TCM_STATUS_SEAL_BAD_TAG);
    }

    /* Key rotation: the terminal adds key 2, sends the rotation sealed under key 1; the
     * kiosk stores and uses key 2; the terminal learns the kiosk has it. */
    {
        tcm_device_key *k2 = NULL;
        uint8_t rk[TCM_MAX_SEALED_REKEY_LEN];
        size_t n = 0;
        tcm_sender_event sev;
        uint8_t found = 0;
        uint32_t d = 0, e = 0, kid = 0;
        CHECK_OK(tcm_device_key_generate(&k2));
        CHECK_ST(tcm_receiver_rekey(rx, 7, 1, 1, 1, k2, rk, sizeof rk, &n),
                 TCM_STATUS_SEAL_KEY_ID_NOT_NEWER);
        keys.keys[1].device = 7;
        keys.keys[1].key_id = 2;
        CHECK_OK(tcm_device_key_export(k2, keys.keys[1].key, TCM_KEY_LEN, &n));
        keys.count = 2;
        CHECK_OK(tcm_receiver_rekey(rx, 7, 1, 1, 2, k2, rk, sizeof rk, &n));
        CHECK_OK(tcm_sender_handle(tx, 11000, rk, n, &sev));
        CHECK(sev.kind == TCM_SENDER_EVENT_KIND_REKEYED && sev.key_id == 2);
        /* The same rotation again is a replay. */
        CHECK_OK(tcm_sender_handle(tx, 11000, rk, n, &sev));
        CHECK(sev.kind == TCM_SENDER_EVENT_KIND_REJECTED);
        {
            size_t m = vitals_envelope(7, 7, 127, env, sizeof env);
            CHECK_OK(tcm_sender_push(tx, env, m, &pos));
        }
        pump(rx, tx, 20000);
        pump(rx, tx, 30000);
        CHECK(store.count == 7);
        CHECK(keys.used_calls > 0 && keys.used_key_id == 2);
        CHECK_OK(tcm_receiver_session(rx, &found, &d, &e, &kid));
        CHECK(found == 1 && d == 7 && e == 1 && kid == 2);
        CHECK_OK(tcm_device_key_free(k2));
    }

    /* Revocation: every frame of the device is refused from then on. */
    {
        size_t m = vitals_envelope(7, 8, 128, env, sizeof env);
        CHECK_OK(tcm_sender_push(tx, env, m, &pos));
        keys.keys[0].revoked = 1;
        keys.keys[1].revoked = 1;
        CHECK_OK(tcm_sender_poll_transmit(tx, 40000, batch, sizeof batch, &batch_len));
        CHECK(batch_len > 0);
        ev = to_rx(rx, NULL, batch, batch_len, 40000);
        CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_REJECTED &&
              ev.rejection == TCM_STATUS_SEAL_REVOKED && ev.device == 7);
        CHECK(store.count == 7);
    }

    /* A trusted link takes plain payloads, but never for a device that has keys: device
     * 7's plain hello is refused (review finding 4), device 11's (no keys) is taken. */
    CHECK_OK(tcm_receiver_free(rx));
    memset(&store, 0, sizeof store);
    rx = sealed_receiver(TCM_LINK_SECURITY_TRUSTED_UNSEALED);
    ev = to_rx(rx, NULL, plain_hello, plain_hello_len, 0);
    CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_REJECTED &&
          ev.rejection == TCM_STATUS_SEAL_UNSEALED_REFUSED);
    {
        mem_outbox other;
        tcm_outbox_storage pos3;
        tcm_sender *plain11 = NULL;
        uint8_t h11[TCM_DEFAULT_MTU];
        size_t h11_len = 0;
        memset(&other, 0, sizeof other);
        pos3 = outbox_storage(&other);
        CHECK_OK(tcm_sender_new(&pos3, 11, 1, &cfg, 1, 1, &plain11));
        CHECK_OK(tcm_sender_poll_transmit(plain11, 0, h11, sizeof h11, &h11_len));
        ev = to_rx(rx, NULL, h11, h11_len, 0);
        CHECK(ev.kind == TCM_RECEIVER_EVENT_KIND_INTRODUCED && ev.device == 11);
        CHECK_OK(tcm_sender_free(plain11));
    }

    CHECK_OK(tcm_receiver_free(rx));
    CHECK_OK(tcm_sender_free(tx));
    CHECK_OK(tcm_sender_free(plain_tx));
}

static void kiosk_reset_mid_exchange(void) {
    /* A kiosk that restarts after sending (its RAM counters lost) continues after its
     * persisted counter lease: its new frames are accepted, never taken for replays. */
    tcm_seal_store ss = seal_store();
    tcm_outbox_storage os = outbox_storage(&outbox);
    tcm_sender *tx = NULL;
    tcm_receiver *rx;
    uint8_t env[256];
    uint32_t pos = 0, i;
    tcm_device_key *k = NULL;
    uint8_t payload[TCM_MAX_PROVISION_LEN];
    size_t n = 0;

    memset(&keys, 0, sizeof keys);
    memset(&store, 0, sizeof store);
    memset(&outbox, 0, sizeof outbox);
    memset(&slot, 0, sizeof slot);
    keys.count = 1;
    keys.keys[0].device = 9;
    keys.keys[0].key_id = 1;
    CHECK_OK(tcm_device_key_new(KEY1, TCM_KEY_LEN, &k));
    CHECK_OK(tcm_provision_encode(9, 1, 1, k, payload, sizeof payload, &n));
    {
        uint8_t conf[TCM_MAX_PROVISION_CONFIRM_LEN];
        size_t clen = 0;
        CHECK_OK(tcm_seal_accept_provision(&ss, payload, n, 1, NULL, conf, sizeof conf, &clen,
                                           NULL));
        confirm(9, k, conf, clen, keys.keys[0].key, NULL);
    }
    CHECK_OK(tcm_device_key_free(k));

    CHECK_ST(tcm_sender_new_sealed(&os, NULL, NULL, 1, 1, &tx), TCM_STATUS_NULL_POINTER);
    CHECK_OK(tcm_sender_new_sealed(&os, &ss, NULL, 1, 1, &tx));
    rx = sealed_receiver(TCM_LINK_SECURITY_SEALED);
    for (i = 1; i <= 4; i++) {
        size_t m = vitals_envelope(9, i, (uint16_t)(130 + i), env, sizeof env);
        CHECK_OK(tcm_sender_push(tx, env, m, &pos));
    }
    /* Send the hello and a batch, but the kiosk loses power before the acks arrive. */
    {
        uint8_t out[TCM_DEFAULT_MTU];
        size_t len = 0;
        CHECK_OK(tcm_sender_poll_transmit(tx, 0, out, sizeof out, &len));
        to_rx(rx, NULL, out, len, 0);
    }
    CHECK_OK(tcm_sender_free(tx));
    tx = NULL;
    CHECK_OK(tcm_sender_new_sealed(&os, &ss, NULL, 2, 1, &tx));
    pump(rx, tx, 1000);
    pump(rx, tx, 5000);
    CHECK(store.count == 4);
    for (i = 0; i < store.count; i++) {
        CHECK(store.records[i].position == i + 1);
    }
    CHECK_OK(tcm_sender_free(tx));
    CHECK_OK(tcm_receiver_free(rx));

    /* Unprovisioned storage. */
    memset(&slot, 0, sizeof slot);
    CHECK_ST(tcm_sender_new_sealed(&os, &ss, NULL, 3, 1, &tx), TCM_STATUS_SEAL_NOT_PROVISIONED);
    /* Unreadable state bytes. */
    slot.len = 10;
    CHECK_ST(tcm_sender_new_sealed(&os, &ss, NULL, 3, 1, &tx), TCM_STATUS_SEAL_STORE_FAILED);
}

static void null_pointers(void) {
    tcm_receiver *rx = NULL;
    tcm_receiver_store rs;
    tcm_replay_store rp;
    tcm_key_store ks;
    uint8_t out[TCM_MAX_SEALED_REKEY_LEN];
    size_t n = 0;
    tcm_device_key *k = NULL;
    rs.ctx = &store;
    rs.watermark = mem_store_watermark;
    rs.commit = sealed_commit;
    rp.ctx = &keys;
    rp.last_counter = kdb_last;
    rp.note_counter = NULL;
    ks.ctx = &keys;
    ks.lookup = kdb_lookup;
    ks.reserve_downlink = kdb_reserve;
    ks.key_used = NULL;
    CHECK_ST(tcm_receiver_new_sealed(&rs, &rp, &ks, TCM_LINK_SECURITY_SEALED, &rx),
             TCM_STATUS_NULL_POINTER);
    rp.note_counter = kdb_note;
    CHECK_ST(tcm_receiver_new_sealed(&rs, &rp, NULL, TCM_LINK_SECURITY_SEALED, &rx),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_receiver_new_sealed(&rs, &rp, &ks, 7, &rx),
             TCM_STATUS_INVALID_ARGUMENT);
    CHECK_OK(tcm_receiver_new_sealed(&rs, &rp, &ks, TCM_LINK_SECURITY_SEALED, &rx));
    /* Sealing a message needs a session. */
    CHECK_ST(tcm_receiver_time_sync(rx, 1773600000u, out, sizeof out, &n),
             TCM_STATUS_SEAL_NO_SESSION);
    CHECK_OK(tcm_device_key_new(KEY1, TCM_KEY_LEN, &k));
    CHECK_ST(tcm_receiver_rekey(rx, 7, 1, 1, 2, NULL, out, sizeof out, &n),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_provision_encode(7, 1, 1, NULL, out, sizeof out, &n), TCM_STATUS_NULL_POINTER);
    CHECK_OK(tcm_receiver_free(rx));
    {
        /* Plain receivers cannot rotate keys. */
        tcm_receiver *plain = NULL;
        CHECK_OK(tcm_receiver_new(&rs, &plain));
        CHECK_ST(tcm_receiver_rekey(plain, 7, 1, 1, 2, k, out, sizeof out, &n),
                 TCM_STATUS_SEAL_NOT_SEALED);
        CHECK_OK(tcm_receiver_free(plain));
    }
    CHECK_OK(tcm_device_key_free(k));
    {
        uint8_t conf[TCM_MAX_PROVISION_CONFIRM_LEN];
        size_t clen = 0;
        tcm_seal_store ss = seal_store();
        tcm_device_key *lk = NULL;
        CHECK_ST(tcm_seal_accept_provision(NULL, out, 1, 1, NULL, conf, sizeof conf, &clen, NULL),
                 TCM_STATUS_NULL_POINTER);
        CHECK_ST(tcm_seal_accept_provision(&ss, out, 1, 1, NULL, conf, sizeof conf, NULL, NULL),
                 TCM_STATUS_NULL_POINTER);
        CHECK_ST(tcm_seal_accept_provision(&ss, out, 1, 1, NULL, NULL, sizeof conf, &clen, NULL),
                 TCM_STATUS_NULL_POINTER);
        CHECK_ST(tcm_provision_confirm(7, 1, 1, NULL, conf, 1, &lk, NULL),
                 TCM_STATUS_NULL_POINTER);
        CHECK_ST(tcm_device_key_fingerprint(NULL, (char *)conf), TCM_STATUS_NULL_POINTER);
    }
}

void test_seal(void) {
    keys_and_provisioning();
    sealed_stream();
    kiosk_reset_mid_exchange();
    null_pointers();
}
