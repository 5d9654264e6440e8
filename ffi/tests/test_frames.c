/* The streaming frame decoder: chunks of any size, corrupted and oversized frames, the
 * short-payload-buffer path, handle lifetime and NULL pointers. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vectors.h"

/* Feeds `len` bytes in chunks of `chunk` bytes; counts good payloads that equal the
 * expected envelopes in order, and frame errors. */
typedef struct feed_result {
    unsigned payloads;
    unsigned matched;
    unsigned frame_errors;
    unsigned other;
} feed_result;

static feed_result feed_all(tcm_frame_decoder *dec, const uint8_t *stream, size_t len,
                            size_t chunk, const uint8_t *const *expect,
                            const size_t *expect_len, unsigned expect_count) {
    feed_result res = {0, 0, 0, 0};
    uint8_t payload[TCM_FRAME_DECODER_CAPACITY];
    size_t off = 0;
    while (off < len) {
        size_t take = len - off < chunk ? len - off : chunk;
        const uint8_t *p = stream + off;
        size_t left = take;
        off += take;
        for (;;) {
            size_t used = 0;
            size_t n = 0;
            tcm_status s = tcm_frame_decoder_feed(dec, p, left, &used, payload,
                                                  sizeof payload, &n);
            p += used;
            left -= used;
            if (s == TCM_STATUS_NEED_MORE_INPUT) {
                CHECK(left == 0);
                break;
            }
            if (s == TCM_STATUS_OK) {
                if (res.payloads < expect_count && n == expect_len[res.payloads] &&
                    memcmp(payload, expect[res.payloads], n) == 0) {
                    res.matched++;
                }
                res.payloads++;
            } else if (s >= 220 && s <= 224) {
                res.frame_errors++;
            } else {
                res.other++;
            }
        }
    }
    return res;
}

static void stream_of_all_vectors(void) {
    /* Garbage, every vector frame, idle delimiters between them. */
    uint8_t stream[4096];
    const uint8_t *expect[VECTOR_COUNT];
    size_t expect_len[VECTOR_COUNT];
    unsigned good = 0;
    unsigned bad = 0;
    size_t len = 0;
    size_t i;
    size_t chunk;
    static const uint8_t garbage[] = {0x11, 0x22, 0x33, 0x00};

    memcpy(stream, garbage, sizeof garbage);
    len += sizeof garbage;
    bad++;
    for (i = 0; i < VECTOR_COUNT; i++) {
        const test_vector *v = &VECTORS[i];
        memcpy(stream + len, v->frame, v->frame_len);
        len += v->frame_len;
        stream[len++] = 0x00; /* an idle delimiter: skipped silently */
        if (v->envelope != NULL) {
            expect[good] = v->envelope;
            expect_len[good] = v->envelope_len;
            good++;
        } else {
            bad++;
        }
    }
    for (chunk = 1; chunk <= 64; chunk = chunk * 2 + 1) {
        tcm_frame_decoder *dec = NULL;
        feed_result r;
        CHECK_OK(tcm_frame_decoder_new(&dec));
        r = feed_all(dec, stream, len, chunk, expect, expect_len, good);
        CHECK(r.payloads == good);
        CHECK(r.matched == good);
        CHECK(r.frame_errors == bad);
        CHECK(r.other == 0);
        CHECK_OK(tcm_frame_decoder_free(dec));
    }
    /* One call with everything. */
    {
        tcm_frame_decoder *dec = NULL;
        feed_result r;
        CHECK_OK(tcm_frame_decoder_new(&dec));
        r = feed_all(dec, stream, len, len, expect, expect_len, good);
        CHECK(r.payloads == good && r.matched == good && r.frame_errors == bad);
        CHECK_OK(tcm_frame_decoder_free(dec));
    }
}

static void partial_frames_and_reset(void) {
    const test_vector *v = find_vector("vitals-bp-pulse-spo2-temp");
    tcm_frame_decoder *dec = NULL;
    uint8_t payload[TCM_MAX_ENVELOPE_LEN];
    size_t used = 0;
    size_t n = 0;
    size_t buffered = 0;

    if (v == NULL) {
        return;
    }
    CHECK_OK(tcm_frame_decoder_new(&dec));
    /* Half a frame: consumed and buffered. */
    CHECK_ST(tcm_frame_decoder_feed(dec, v->frame, 5, &used, payload, sizeof payload, &n),
             TCM_STATUS_NEED_MORE_INPUT);
    CHECK(used == 5);
    CHECK_OK(tcm_frame_decoder_buffered(dec, &buffered));
    CHECK(buffered == 5);
    /* After a reset the rest alone is a broken frame. */
    CHECK_OK(tcm_frame_decoder_reset(dec));
    CHECK_OK(tcm_frame_decoder_buffered(dec, &buffered));
    CHECK(buffered == 0);
    {
        tcm_status s = tcm_frame_decoder_feed(dec, v->frame + 5, v->frame_len - 5, &used,
                                              payload, sizeof payload, &n);
        CHECK(s >= 220 && s <= 224);
        CHECK(used == v->frame_len - 5);
    }
    /* Empty input (NULL, 0) is fine. */
    CHECK_ST(tcm_frame_decoder_feed(dec, NULL, 0, &used, payload, sizeof payload, &n),
             TCM_STATUS_NEED_MORE_INPUT);
    CHECK(used == 0);
    CHECK_OK(tcm_frame_decoder_free(dec));
}

static void short_payload_buffer_keeps_the_frame(void) {
    const test_vector *v = find_vector("herbal-prescribed"); /* the longest */
    tcm_frame_decoder *dec = NULL;
    uint8_t small[8];
    uint8_t payload[TCM_MAX_ENVELOPE_LEN];
    size_t used = 0;
    size_t n = 0;

    if (v == NULL) {
        return;
    }
    CHECK(v->envelope_len > sizeof small);
    CHECK_OK(tcm_frame_decoder_new(&dec));
    CHECK_ST(tcm_frame_decoder_feed(dec, v->frame, v->frame_len, &used, small, sizeof small,
                                    &n),
             TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK(used == v->frame_len);
    CHECK(n == v->envelope_len);
    /* Still too small: still kept. */
    CHECK_ST(tcm_frame_decoder_feed(dec, NULL, 0, &used, small, sizeof small, &n),
             TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK(used == 0);
    /* A big enough buffer gets it, before any new input is read. */
    CHECK_OK(tcm_frame_decoder_feed(dec, v->frame, v->frame_len, &used, payload,
                                    sizeof payload, &n));
    CHECK(used == 0);
    CHECK_BYTES(payload, n, v->envelope, v->envelope_len);
    CHECK_OK(tcm_frame_decoder_free(dec));
}

static void oversized_frame_is_skipped(void) {
    const test_vector *v = find_vector("resident-female-hypertension");
    tcm_frame_decoder *dec = NULL;
    uint8_t payload[TCM_MAX_ENVELOPE_LEN];
    size_t len = TCM_FRAME_DECODER_CAPACITY + 100;
    uint8_t *stream;
    size_t off = 0;
    size_t used = 0;
    size_t n = 0;

    if (v == NULL) {
        return;
    }
    stream = malloc(len + 1 + v->frame_len);
    CHECK(stream != NULL);
    if (stream == NULL) {
        return;
    }
    memset(stream, 0x05, len);
    stream[len] = 0x00;
    memcpy(stream + len + 1, v->frame, v->frame_len);
    CHECK_OK(tcm_frame_decoder_new(&dec));
    CHECK_ST(tcm_frame_decoder_feed(dec, stream, len + 1 + v->frame_len, &used, payload,
                                    sizeof payload, &n),
             TCM_STATUS_FRAME_TOO_LONG);
    CHECK(used == len + 1);
    off = used;
    /* The stream resynchronises: the next frame is good. */
    CHECK_OK(tcm_frame_decoder_feed(dec, stream + off, len + 1 + v->frame_len - off, &used,
                                    payload, sizeof payload, &n));
    CHECK_BYTES(payload, n, v->envelope, v->envelope_len);
    CHECK_OK(tcm_frame_decoder_free(dec));
    free(stream);
}

static void handles_and_null_pointers(void) {
    tcm_frame_decoder *dec = NULL;
    uint8_t payload[16];
    uint8_t input[4] = {1, 2, 3, 0};
    size_t used;
    size_t n;

    CHECK_OK(tcm_frame_decoder_free(NULL)); /* NULL is a no-op */
    CHECK_ST(tcm_frame_decoder_new(NULL), TCM_STATUS_NULL_POINTER);
    CHECK_OK(tcm_frame_decoder_new(&dec));
    CHECK(dec != NULL);
    CHECK_ST(tcm_frame_decoder_feed(NULL, input, 4, &used, payload, sizeof payload, &n),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_decoder_feed(dec, NULL, 4, &used, payload, sizeof payload, &n),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_decoder_feed(dec, input, 4, NULL, payload, sizeof payload, &n),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_decoder_feed(dec, input, 4, &used, payload, sizeof payload, NULL),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_decoder_reset(NULL), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_decoder_buffered(NULL, &n), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_decoder_buffered(dec, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_OK(tcm_frame_decoder_free(dec));
}

void test_frames(void) {
    stream_of_all_vectors();
    partial_frames_and_reset();
    short_payload_buffer_keeps_the_frame();
    oversized_frame_is_skipped();
    handles_and_null_pointers();
}
