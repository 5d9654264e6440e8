/* In-memory stores for the C tests (see mem_stores.h). */
#include <string.h>

#include "check.h"
#include "mem_stores.h"

uint32_t mem_store_watermark(void *ctx, uint32_t device, uint32_t epoch, uint32_t *wm) {
    mem_store *s = ctx;
    *wm = (s->device == device && s->epoch == epoch) ? s->watermark : 0;
    return TCM_STORE_RESULT_OK;
}

uint32_t mem_store_commit(void *ctx, const tcm_commit *c) {
    mem_store *s = ctx;
    size_t i;
    uint32_t current = (s->device == c->device && s->epoch == c->epoch) ? s->watermark : 0;
    if (s->fail_commits > 0) {
        s->fail_commits--;
        return TCM_STORE_RESULT_UNAVAILABLE;
    }
    if (c->first_position != current + 1) {
        return TCM_STORE_RESULT_CONFLICT;
    }
    if (s->count + c->count > STORE_RECORDS) {
        return TCM_STORE_RESULT_FULL;
    }
    /* All or nothing: checked above, written below (a database would use a transaction). */
    for (i = 0; i < c->count; i++) {
        const tcm_record_to_commit *r = &c->records[i];
        stored *d = &s->records[s->count++];
        d->device = c->device;
        d->epoch = c->epoch;
        d->position = r->position;
        d->status = r->status;
        d->has_header = r->has_header;
        d->header = r->header;
        d->len = r->envelope_len <= ENTRY_CAP ? r->envelope_len : ENTRY_CAP;
        memcpy(d->envelope, r->envelope, d->len);
    }
    s->device = c->device;
    s->epoch = c->epoch;
    s->watermark = c->new_watermark;
    s->commits++;
    return TCM_STORE_RESULT_OK;
}

static uint32_t ob_load_meta(void *ctx, uint8_t *found, tcm_outbox_meta *meta) {
    mem_outbox *o = ctx;
    *found = (uint8_t)o->has_meta;
    if (o->has_meta) {
        *meta = o->meta;
    }
    return TCM_STORE_RESULT_OK;
}

static uint32_t ob_store_meta(void *ctx, const tcm_outbox_meta *meta) {
    mem_outbox *o = ctx;
    o->meta = *meta;
    o->has_meta = 1;
    return TCM_STORE_RESULT_OK;
}

static uint32_t ob_append(void *ctx, uint32_t position, const uint8_t *entry, size_t len) {
    mem_outbox *o = ctx;
    if (o->count == OUTBOX_ENTRIES || len > ENTRY_CAP) {
        return TCM_STORE_RESULT_FULL;
    }
    o->positions[o->count] = position;
    memcpy(o->entries[o->count], entry, len);
    o->lens[o->count] = len;
    o->count++;
    return TCM_STORE_RESULT_OK;
}

static uint32_t ob_bounds(void *ctx, uint8_t *found, uint32_t *oldest, uint32_t *newest,
                          size_t *count) {
    mem_outbox *o = ctx;
    *found = o->count > 0;
    if (o->count > 0) {
        *oldest = o->positions[0];
        *newest = o->positions[o->count - 1];
        *count = o->count;
    }
    return TCM_STORE_RESULT_OK;
}

static uint32_t ob_remove_through(void *ctx, uint32_t position) {
    mem_outbox *o = ctx;
    size_t keep = 0;
    size_t i;
    for (i = 0; i < o->count; i++) {
        if (o->positions[i] > position) {
            o->positions[keep] = o->positions[i];
            memmove(o->entries[keep], o->entries[i], o->lens[i]);
            o->lens[keep] = o->lens[i];
            keep++;
        }
    }
    o->count = keep;
    return TCM_STORE_RESULT_OK;
}

static uint32_t ob_read_from(void *ctx, uint32_t from, tcm_outbox_visit_fn visit,
                             void *visit_ctx) {
    mem_outbox *o = ctx;
    size_t i;
    for (i = 0; i < o->count; i++) {
        if (o->positions[i] >= from &&
            !visit(visit_ctx, o->positions[i], o->entries[i], o->lens[i])) {
            break;
        }
    }
    return TCM_STORE_RESULT_OK;
}

static uint32_t ob_free_bytes(void *ctx, size_t *free_bytes) {
    mem_outbox *o = ctx;
    *free_bytes = (OUTBOX_ENTRIES - o->count) * ENTRY_CAP;
    return TCM_STORE_RESULT_OK;
}

tcm_outbox_storage outbox_storage(mem_outbox *o) {
    tcm_outbox_storage s;
    s.ctx = o;
    s.load_meta = ob_load_meta;
    s.store_meta = ob_store_meta;
    s.append = ob_append;
    s.bounds = ob_bounds;
    s.remove_through = ob_remove_through;
    s.read_from = ob_read_from;
    s.free_bytes = ob_free_bytes;
    return s;
}


size_t vitals_envelope(uint32_t device, uint32_t seq, uint16_t systolic,
                              uint8_t *out, size_t cap) {
    tcm_record r;
    size_t n = 0;
    CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_VITALS));
    r.header.id.device = device;
    r.header.id.epoch = 1;
    r.header.id.seq = seq;
    r.header.care_home = 3101;
    r.header.resident = 1234;
    r.header.time_known = 1;
    r.header.utc_seconds = 1773563400u + seq * 60u;
    r.body.vitals.present = TCM_VITAL_SYSTOLIC | TCM_VITAL_DIASTOLIC;
    r.body.vitals.systolic_mmhg = systolic;
    r.body.vitals.diastolic_mmhg = 80;
    CHECK_OK(tcm_record_encode(&r, out, cap, &n));
    return n;
}
