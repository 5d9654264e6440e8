/* Records: one check per validation rule, text and code errors in C structs, malformed
 * and random bytes, NULL pointers, short buffers. */
#include <string.h>

#include "check.h"
#include "vectors.h"

#define T_2026_03_15_0830Z 1773563400u

static void base(tcm_record *r, uint8_t kind) {
    CHECK_OK(tcm_record_init(r, kind));
    r->header.id.device = 7;
    r->header.id.epoch = 1;
    r->header.id.seq = 100;
    r->header.care_home = 3101;
    r->header.resident = 1234;
    r->header.time_known = 1;
    r->header.utc_seconds = T_2026_03_15_0830Z;
}

static void bp(tcm_record *r, uint16_t systolic, uint16_t diastolic) {
    base(r, TCM_RECORD_KIND_VITALS);
    r->body.vitals.present = TCM_VITAL_SYSTOLIC | TCM_VITAL_DIASTOLIC;
    r->body.vitals.systolic_mmhg = systolic;
    r->body.vitals.diastolic_mmhg = diastolic;
}

/* validate and encode must both report `want`. */
static void expect_invalid(const tcm_record *r, tcm_status want, const char *what) {
    uint8_t buf[TCM_MAX_ENVELOPE_LEN];
    size_t n = 0;
    tcm_status v = tcm_record_validate(r);
    tcm_status e = tcm_record_encode(r, buf, sizeof buf, &n);
    check_status(v, want, what, __FILE__, __LINE__);
    check_status(e, want, what, __FILE__, __LINE__);
}

static void treatment(tcm_record *r, uint8_t technique) {
    base(r, TCM_RECORD_KIND_TREATMENT);
    r->body.treatment.technique = technique;
    r->body.treatment.duration_min = 20;
    r->body.treatment.practitioner = 9;
}

static void rules(void) {
    tcm_record r;
    int i;

    /* Header. */
    bp(&r, 120, 80);
    CHECK_OK(tcm_record_validate(&r));
    r.header.id.device = 0;
    expect_invalid(&r, TCM_STATUS_DEVICE_ID_ZERO, "device 0");
    bp(&r, 120, 80);
    r.header.id.epoch = 0;
    expect_invalid(&r, TCM_STATUS_EPOCH_ZERO, "epoch 0");
    bp(&r, 120, 80);
    r.header.id.seq = 0;
    expect_invalid(&r, TCM_STATUS_SEQ_ZERO, "seq 0");
    bp(&r, 120, 80);
    r.header.care_home = 0;
    expect_invalid(&r, TCM_STATUS_CARE_HOME_ZERO, "care home 0");
    bp(&r, 120, 80);
    r.header.resident = 0;
    expect_invalid(&r, TCM_STATUS_RESIDENT_NUMBER_ZERO, "resident 0");
    bp(&r, 120, 80);
    r.header.utc_seconds = 1000; /* 1970: a clock that was never set */
    expect_invalid(&r, TCM_STATUS_TIME_UTC_OUT_OF_RANGE, "utc 1970");
    bp(&r, 120, 80);
    r.header.time_known = 2;
    expect_invalid(&r, TCM_STATUS_INVALID_ARGUMENT, "time_known 2");
    bp(&r, 120, 80);
    r.kind = 9;
    expect_invalid(&r, TCM_STATUS_INVALID_ARGUMENT, "kind 9");
    CHECK_ST(tcm_record_init(&r, 0), TCM_STATUS_INVALID_ARGUMENT);
    CHECK_ST(tcm_record_init(&r, 8), TCM_STATUS_INVALID_ARGUMENT);

    /* Vital signs. */
    base(&r, TCM_RECORD_KIND_VITALS);
    expect_invalid(&r, TCM_STATUS_NO_MEASUREMENT, "no measurement");
    bp(&r, 120, 80);
    r.body.vitals.present = TCM_VITAL_SYSTOLIC;
    expect_invalid(&r, TCM_STATUS_BLOOD_PRESSURE_INCOMPLETE, "systolic only");
    bp(&r, 301, 80);
    expect_invalid(&r, TCM_STATUS_SYSTOLIC_OUT_OF_RANGE, "301/80");
    bp(&r, 120, 20);
    expect_invalid(&r, TCM_STATUS_DIASTOLIC_OUT_OF_RANGE, "120/20");
    bp(&r, 120, 120);
    expect_invalid(&r, TCM_STATUS_DIASTOLIC_NOT_BELOW_SYSTOLIC, "120/120");
    bp(&r, 120, 80);
    r.body.vitals.present |= TCM_VITAL_PULSE;
    r.body.vitals.pulse_per_min = 400;
    expect_invalid(&r, TCM_STATUS_PULSE_OUT_OF_RANGE, "pulse 400");
    bp(&r, 120, 80);
    r.body.vitals.present |= TCM_VITAL_SPO2;
    r.body.vitals.spo2_percent = 101;
    expect_invalid(&r, TCM_STATUS_SPO2_OUT_OF_RANGE, "SpO2 101");
    bp(&r, 120, 80);
    r.body.vitals.present |= TCM_VITAL_TEMPERATURE;
    r.body.vitals.temperature_centi_c = 4600;
    expect_invalid(&r, TCM_STATUS_TEMPERATURE_OUT_OF_RANGE, "46 C");
    bp(&r, 120, 80);
    r.body.vitals.present |= TCM_VITAL_WEIGHT;
    r.body.vitals.weight_g = 500000;
    expect_invalid(&r, TCM_STATUS_WEIGHT_OUT_OF_RANGE, "500 kg");
    bp(&r, 120, 80);
    r.body.vitals.present |= TCM_VITAL_HEIGHT;
    r.body.vitals.height_mm = 3000;
    expect_invalid(&r, TCM_STATUS_HEIGHT_OUT_OF_RANGE, "3 m");
    bp(&r, 120, 80);
    r.body.vitals.present |= TCM_VITAL_WAIST;
    r.body.vitals.waist_mm = 100;
    expect_invalid(&r, TCM_STATUS_WAIST_OUT_OF_RANGE, "10 cm waist");
    bp(&r, 120, 80);
    r.body.vitals.present |= TCM_VITAL_GLUCOSE;
    r.body.vitals.glucose_umol_l = 50000;
    expect_invalid(&r, TCM_STATUS_GLUCOSE_OUT_OF_RANGE, "50 mmol/L");
    bp(&r, 120, 80);
    r.body.vitals.present |= 1u << 12;
    expect_invalid(&r, TCM_STATUS_INVALID_ARGUMENT, "unknown presence bit");
    bp(&r, 120, 80);
    r.body.vitals.source = 3;
    expect_invalid(&r, TCM_STATUS_INVALID_ARGUMENT, "source 3");

    /* Resident. */
    base(&r, TCM_RECORD_KIND_RESIDENT);
    r.body.resident.birth_date.year = 2030;
    r.body.resident.birth_date.month = 1;
    r.body.resident.birth_date.day = 1;
    expect_invalid(&r, TCM_STATUS_BIRTH_DATE_IMPLAUSIBLE, "born after the record");
    r.body.resident.birth_date.year = 1948;
    r.body.resident.birth_date.month = 2;
    r.body.resident.birth_date.day = 30;
    expect_invalid(&r, TCM_STATUS_TIME_INVALID_DATE, "30 February");
    r.body.resident.birth_date.day = 29; /* 1948 is a leap year */
    CHECK_OK(tcm_record_validate(&r));
    r.body.resident.sex = 3;
    expect_invalid(&r, TCM_STATUS_INVALID_ARGUMENT, "sex 3");
    r.body.resident.sex = TCM_SEX_MALE;
    r.body.resident.conditions = 8;
    expect_invalid(&r, TCM_STATUS_INVALID_ARGUMENT, "unknown condition bit");

    /* Constitution. */
    base(&r, TCM_RECORD_KIND_CONSTITUTION);
    for (i = 0; i < TCM_ITEM_COUNT; i++) {
        r.body.constitution.answers[i] = 1;
    }
    r.body.constitution.assessor = 5;
    CHECK_OK(tcm_record_validate(&r)); /* all 1: pinghe YES */
    r.body.constitution.answers[6] = 6;
    expect_invalid(&r, TCM_STATUS_ANSWER_OUT_OF_RANGE, "answer 6 at item 7");
    r.body.constitution.answers[6] = 1;
    r.body.constitution.assessor = 0;
    expect_invalid(&r, TCM_STATUS_STAFF_MISSING, "no assessor");
    r.body.constitution.assessor = 5;
    r.body.constitution.guidance_count = 1;
    r.body.constitution.guidance[0].constitution = TCM_CONSTITUTION_QIXU;
    r.body.constitution.guidance[0].categories = 1u << TCM_GUIDANCE_CATEGORY_DIET;
    expect_invalid(&r, TCM_STATUS_GUIDANCE_FOR_UNIDENTIFIED, "guidance for qixu");
    r.body.constitution.guidance[0].constitution = TCM_CONSTITUTION_PINGHE;
    CHECK_OK(tcm_record_validate(&r));
    r.body.constitution.guidance_count = 2;
    r.body.constitution.guidance[1] = r.body.constitution.guidance[0];
    expect_invalid(&r, TCM_STATUS_DUPLICATE_GUIDANCE, "pinghe twice");
    r.body.constitution.guidance_count = 1;
    r.body.constitution.guidance[0].categories = 0;
    expect_invalid(&r, TCM_STATUS_GUIDANCE_EMPTY, "no category");
    r.body.constitution.guidance[0].categories = 1u << TCM_GUIDANCE_CATEGORY_OTHER;
    expect_invalid(&r, TCM_STATUS_OTHER_GUIDANCE_TEXT, "other without text");
    SET_TEXT(r.body.constitution.guidance[0].other, "太极拳");
    CHECK_OK(tcm_record_validate(&r));
    r.body.constitution.guidance_count = 10;
    expect_invalid(&r, TCM_STATUS_TOO_MANY, "10 guidance entries");
    r.body.constitution.guidance_count = 1;
    r.body.constitution.guidance[0].constitution = 9;
    expect_invalid(&r, TCM_STATUS_INVALID_ARGUMENT, "constitution 9");

    /* Treatment. */
    treatment(&r, TCM_TECHNIQUE_ACUPUNCTURE);
    expect_invalid(&r, TCM_STATUS_ACUPOINTS_REQUIRED, "acupuncture without points");
    r.body.treatment.acupoint_count = 1;
    SET_TEXT(r.body.treatment.acupoints[0], "ST99"); /* ST has 45 points */
    expect_invalid(&r, TCM_STATUS_INVALID_ACUPOINT, "ST99");
    SET_TEXT(r.body.treatment.acupoints[0], "ST36");
    CHECK_OK(tcm_record_validate(&r));
    r.body.treatment.acupoint_count = 2;
    SET_TEXT(r.body.treatment.acupoints[1], "st-36");
    expect_invalid(&r, TCM_STATUS_DUPLICATE_ACUPOINT, "ST36 twice");
    r.body.treatment.acupoint_count = 17;
    expect_invalid(&r, TCM_STATUS_TOO_MANY, "17 acupoints");
    treatment(&r, TCM_TECHNIQUE_BADUANJIN);
    r.body.treatment.acupoint_count = 1;
    SET_TEXT(r.body.treatment.acupoints[0], "ST36");
    expect_invalid(&r, TCM_STATUS_ACUPOINTS_NOT_APPLICABLE, "Baduanjin at ST36");
    treatment(&r, TCM_TECHNIQUE_TUINA);
    r.body.treatment.duration_min = 0;
    expect_invalid(&r, TCM_STATUS_DURATION_OUT_OF_RANGE, "0 min completed");
    treatment(&r, TCM_TECHNIQUE_TUINA);
    r.body.treatment.practitioner = 0;
    expect_invalid(&r, TCM_STATUS_STAFF_MISSING, "no practitioner");
    treatment(&r, TCM_TECHNIQUE_TUINA);
    r.body.treatment.adverse_event = TCM_ADVERSE_EVENT_OTHER;
    expect_invalid(&r, TCM_STATUS_TEXT_EMPTY, "other adverse event without note");
    treatment(&r, 16);
    expect_invalid(&r, TCM_STATUS_INVALID_ARGUMENT, "technique 16");
    /* Text that is not NUL-terminated within its array, or not UTF-8. */
    treatment(&r, TCM_TECHNIQUE_TUINA);
    memset(r.body.treatment.note, 'a', sizeof r.body.treatment.note);
    expect_invalid(&r, TCM_STATUS_TEXT_NOT_TERMINATED, "note without NUL");
    SET_TEXT(r.body.treatment.note, "\xff\xfe");
    expect_invalid(&r, TCM_STATUS_TEXT_NOT_UTF8, "note not UTF-8");
    memset(r.body.treatment.note, 'a', TCM_NOTE_CAPACITY - 1);
    r.body.treatment.note[TCM_NOTE_CAPACITY - 1] = '\0';
    CHECK_OK(tcm_record_validate(&r)); /* 64 bytes: the full capacity */

    /* Herbal. */
    base(&r, TCM_RECORD_KIND_HERBAL);
    r.body.herbal.doses = 7;
    r.body.herbal.actor = 5;
    expect_invalid(&r, TCM_STATUS_NO_HERBS, "no herbs");
    r.body.herbal.herb_count = 2;
    SET_TEXT(r.body.herbal.herbs[0].name, "黄芪");
    r.body.herbal.herbs[0].decigrams = 300;
    SET_TEXT(r.body.herbal.herbs[1].name, "黄芪");
    r.body.herbal.herbs[1].decigrams = 100;
    expect_invalid(&r, TCM_STATUS_DUPLICATE_HERB, "黄芪 twice");
    SET_TEXT(r.body.herbal.herbs[1].name, "党参");
    r.body.herbal.herbs[1].decigrams = 0;
    expect_invalid(&r, TCM_STATUS_HERB_DOSE_OUT_OF_RANGE, "0 g");
    r.body.herbal.herbs[1].decigrams = 150;
    CHECK_OK(tcm_record_validate(&r));
    r.body.herbal.doses = 0;
    expect_invalid(&r, TCM_STATUS_DOSE_COUNT_OUT_OF_RANGE, "0 doses");
    r.body.herbal.doses = 7;
    r.body.herbal.has_prescription = 1;
    r.body.herbal.prescription.device = 2;
    r.body.herbal.prescription.epoch = 1;
    r.body.herbal.prescription.seq = 14;
    expect_invalid(&r, TCM_STATUS_HERBAL_STAGE_MISMATCH, "prescription with a reference");
    r.body.herbal.has_prescription = 2;
    expect_invalid(&r, TCM_STATUS_INVALID_ARGUMENT, "has_prescription 2");
    r.body.herbal.has_prescription = 0;
    r.body.herbal.herb_count = 33;
    expect_invalid(&r, TCM_STATUS_TOO_MANY, "33 herbs");

    /* Follow-up. */
    base(&r, TCM_RECORD_KIND_FOLLOW_UP);
    r.body.follow_up.clinician = 5;
    expect_invalid(&r, TCM_STATUS_FOLLOW_UP_EMPTY, "empty follow-up");
    r.body.follow_up.guidance = 1u << TCM_GUIDANCE_CATEGORY_DIET;
    CHECK_OK(tcm_record_validate(&r));
    r.body.follow_up.intervention_count = 2;
    r.body.follow_up.interventions[0] = TCM_TECHNIQUE_TAI_CHI;
    r.body.follow_up.interventions[1] = TCM_TECHNIQUE_TAI_CHI;
    expect_invalid(&r, TCM_STATUS_DUPLICATE_INTERVENTION, "Tai Chi twice");
    r.body.follow_up.intervention_count = 0;
    r.body.follow_up.next_visit.year = 2026;
    r.body.follow_up.next_visit.month = 3;
    r.body.follow_up.next_visit.day = 15; /* the visit's own (China) date */
    expect_invalid(&r, TCM_STATUS_NEXT_VISIT_NOT_AFTER_VISIT, "next visit same day");
    r.body.follow_up.next_visit.day = 16;
    CHECK_OK(tcm_record_validate(&r));

    /* Correction. */
    base(&r, TCM_RECORD_KIND_CORRECTION);
    r.body.correction.target = r.header.id;
    expect_invalid(&r, TCM_STATUS_CORRECTION_TARGETS_ITSELF, "void itself");
    r.body.correction.target.seq = 50;
    CHECK_OK(tcm_record_validate(&r));
    r.body.correction.action = TCM_CORRECTION_ACTION_AMEND;
    r.body.correction.replacement = r.body.correction.target;
    expect_invalid(&r, TCM_STATUS_AMENDMENT_REPLACEMENT_INVALID, "replace with itself");
    r.body.correction.action = 2;
    expect_invalid(&r, TCM_STATUS_INVALID_ARGUMENT, "action 2");
    r.body.correction.action = TCM_CORRECTION_ACTION_VOID;
    r.body.correction.target.device = 0;
    expect_invalid(&r, TCM_STATUS_DEVICE_ID_ZERO, "target device 0");
}

static void detail_names_the_field(void) {
    tcm_record r;
    char detail[256];
    size_t n = 0;
    treatment(&r, TCM_TECHNIQUE_MOXIBUSTION);
    r.body.treatment.acupoint_count = 1;
    SET_TEXT(r.body.treatment.acupoints[0], "XX1");
    CHECK_ST(tcm_record_validate(&r), TCM_STATUS_INVALID_ACUPOINT);
    CHECK_OK(tcm_last_error_detail(detail, sizeof detail, &n));
    CHECK(strstr(detail, "treatment.acupoints[0]") != NULL);
    CHECK(strstr(detail, "XX1") != NULL);

    bp(&r, 301, 80);
    CHECK_ST(tcm_record_validate(&r), TCM_STATUS_SYSTOLIC_OUT_OF_RANGE);
    CHECK_OK(tcm_last_error_detail(detail, sizeof detail, &n));
    CHECK(strstr(detail, "301") != NULL);
}

static void short_buffers(void) {
    size_t i;
    for (i = 0; i < VECTOR_COUNT; i++) {
        const test_vector *v = &VECTORS[i];
        tcm_record r;
        uint8_t buf[TCM_MAX_RECORD_FRAME_LEN];
        size_t len;
        size_t n;
        if (strcmp(v->expect, "ok") != 0) {
            continue;
        }
        CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
        /* Every buffer shorter than the envelope reports the exact size needed. */
        for (len = 0; len < v->envelope_len; len++) {
            n = 0;
            CHECK_ST(tcm_record_encode(&r, buf, len, &n), TCM_STATUS_BUFFER_TOO_SMALL);
            CHECK(n == v->envelope_len);
        }
        n = 0;
        CHECK_ST(tcm_record_encode(&r, NULL, 0, &n), TCM_STATUS_BUFFER_TOO_SMALL);
        CHECK(n == v->envelope_len);
        for (len = 0; len < v->frame_len; len++) {
            n = 0;
            CHECK_ST(tcm_record_encode_frame(&r, buf, len, &n), TCM_STATUS_BUFFER_TOO_SMALL);
            CHECK(n == v->frame_len);
            n = 0;
            CHECK_ST(tcm_frame_encode(v->envelope, v->envelope_len, buf, len, &n),
                     TCM_STATUS_BUFFER_TOO_SMALL);
            CHECK(n == v->frame_len);
        }
        for (len = 0; len < v->envelope_len; len++) {
            n = 0;
            CHECK_ST(tcm_frame_decode(v->frame, v->frame_len, buf, len, &n),
                     TCM_STATUS_BUFFER_TOO_SMALL);
            CHECK(n == v->envelope_len);
        }
    }
}

static void null_pointers(void) {
    tcm_record r;
    uint8_t buf[64];
    size_t n;
    const test_vector *v = &VECTORS[0];

    CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
    CHECK_ST(tcm_record_init(NULL, TCM_RECORD_KIND_VITALS), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_validate(NULL), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_encode(NULL, buf, sizeof buf, &n), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_encode(&r, NULL, sizeof buf, &n), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_encode(&r, buf, sizeof buf, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_encode_frame(NULL, buf, sizeof buf, &n), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_encode_frame(&r, NULL, sizeof buf, &n), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_encode_frame(&r, buf, sizeof buf, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_decode(NULL, 5, &r), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_decode(v->envelope, v->envelope_len, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_decode_lenient(v->envelope, v->envelope_len, &r, NULL),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_record_decode_lenient(NULL, 3, &r, &n), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_decode_record(NULL, 3, &r), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_decode_record(v->frame, v->frame_len, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_encode(NULL, 3, buf, sizeof buf, &n), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_encode(buf, 3, buf, sizeof buf, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_decode(NULL, 3, buf, sizeof buf, &n), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_frame_decode(v->frame, v->frame_len, buf, sizeof buf, NULL),
             TCM_STATUS_NULL_POINTER);
    /* NULL with length 0 is an empty input, not a NULL pointer. */
    CHECK_ST(tcm_record_decode(NULL, 0, &r), TCM_STATUS_DECODE_TRUNCATED);
    CHECK_ST(tcm_frame_decode_record(NULL, 0, &r), TCM_STATUS_FRAME_EMPTY);
}

/* A small deterministic generator (the Numerical Recipes LCG) for random inputs. */
static uint32_t rng_state = 20260315u;
static uint32_t rng(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static void malformed_input(void) {
    size_t i;
    size_t cut;
    size_t bit;
    unsigned round;
    for (i = 0; i < VECTOR_COUNT; i++) {
        const test_vector *v = &VECTORS[i];
        tcm_record r;
        uint8_t buf[TCM_MAX_RECORD_FRAME_LEN + 16];
        if (strcmp(v->expect, "ok") != 0) {
            continue;
        }
        /* Every proper prefix of an envelope or a frame is rejected. */
        for (cut = 0; cut < v->envelope_len; cut++) {
            CHECK(tcm_record_decode(v->envelope, cut, &r) != TCM_STATUS_OK);
        }
        for (cut = 0; cut + 1 < v->frame_len; cut++) {
            CHECK(tcm_frame_decode_record(v->frame, cut, &r) != TCM_STATUS_OK);
        }
        /* Every single-bit error in a frame is caught (CRC-32C or COBS). */
        for (bit = 0; bit < (v->frame_len - 1) * 8; bit++) {
            tcm_status s;
            memcpy(buf, v->frame, v->frame_len);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            s = tcm_frame_decode_record(buf, v->frame_len, &r);
            CHECK(s >= 220 && s <= 224);
        }
        /* A flipped envelope byte is either rejected or decodes to a record that
         * re-encodes to exactly those bytes (decoding is canonical). */
        for (bit = 0; bit < v->envelope_len * 8; bit++) {
            uint8_t again[TCM_MAX_ENVELOPE_LEN];
            size_t n = 0;
            memcpy(buf, v->envelope, v->envelope_len);
            buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            if (tcm_record_decode(buf, v->envelope_len, &r) == TCM_STATUS_OK) {
                CHECK_OK(tcm_record_encode(&r, again, sizeof again, &n));
                CHECK_BYTES(again, n, buf, v->envelope_len);
            }
        }
    }
    /* Random bytes: never a crash; anything accepted re-encodes exactly. */
    for (round = 0; round < 3000; round++) {
        uint8_t bytes[96];
        size_t len = rng() % sizeof bytes;
        tcm_record r;
        tcm_status s;
        for (i = 0; i < len; i++) {
            bytes[i] = (uint8_t)rng();
        }
        /* Half the time start with a real kind and plausible header bytes. */
        if (len > 2 && (round & 1)) {
            bytes[0] = (uint8_t)(1 + rng() % 7);
            bytes[1] = (uint8_t)(len - 2);
        }
        s = tcm_record_decode(bytes, len, &r);
        if (s == TCM_STATUS_OK) {
            uint8_t again[TCM_MAX_ENVELOPE_LEN];
            size_t n = 0;
            CHECK_OK(tcm_record_encode(&r, again, sizeof again, &n));
            CHECK_BYTES(again, n, bytes, len);
        } else {
            CHECK(s == TCM_STATUS_UNKNOWN_KIND || (s >= 200 && s < 400) || s == 700 ||
                  s == 701);
        }
        s = tcm_frame_decode_record(bytes, len, &r);
        CHECK(s != TCM_STATUS_PANIC && s != TCM_STATUS_NULL_POINTER);
    }
}

void test_records(void) {
    rules();
    detail_names_the_field();
    short_buffers();
    null_pointers();
    malformed_input();
}
