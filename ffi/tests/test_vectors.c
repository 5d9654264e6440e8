/* Golden vectors (tests/vectors/manifest.json): the C API decodes every vector and
 * re-encodes it byte-identical with Rust; records built field by field from the vector
 * descriptions encode to the same bytes. */
#include <string.h>

#include "check.h"
#include "vectors.h"

/* 2026-03-15T08:30:00Z: 20527 days after 1970-01-01 (56 years with 14 leap days, plus
 * 31 + 28 + 14 days) and 8.5 hours. */
#define T_2026_03_15_0830Z 1773563400u
#define MINUTE 60u

#define vector find_vector

static void header(tcm_record *r, uint32_t device, uint32_t seq, uint32_t resident,
                   uint64_t utc) {
    r->header.id.device = device;
    r->header.id.epoch = 1;
    r->header.id.seq = seq;
    r->header.care_home = 3101;
    r->header.resident = resident;
    r->header.time_known = 1;
    r->header.utc_seconds = utc;
}

/* Encodes `r` as an envelope and a frame and compares both with the named vector. */
static void expect_encodes_to(const tcm_record *r, const char *name) {
    const test_vector *v = vector(name);
    uint8_t buf[TCM_MAX_RECORD_FRAME_LEN];
    size_t n = 0;
    if (v == NULL) {
        return;
    }
    CHECK_OK(tcm_record_validate(r));
    CHECK_OK(tcm_record_encode(r, buf, sizeof buf, &n));
    CHECK_BYTES(buf, n, v->envelope, v->envelope_len);
    CHECK_OK(tcm_record_encode_frame(r, buf, sizeof buf, &n));
    CHECK_BYTES(buf, n, v->frame, v->frame_len);
}

static void decode_and_reencode_every_vector(void) {
    size_t i;
    for (i = 0; i < VECTOR_COUNT; i++) {
        const test_vector *v = &VECTORS[i];
        tcm_record r;
        uint8_t buf[TCM_MAX_RECORD_FRAME_LEN];
        size_t n = 0;
        size_t ext = 99;

        if (strcmp(v->expect, "ok") == 0) {
            CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
            CHECK(r.kind == v->kind);
            CHECK_OK(tcm_record_encode(&r, buf, sizeof buf, &n));
            CHECK_BYTES(buf, n, v->envelope, v->envelope_len);
            CHECK_OK(tcm_record_encode_frame(&r, buf, sizeof buf, &n));
            CHECK_BYTES(buf, n, v->frame, v->frame_len);
            /* The frame decodes to the same record; so does the frame without its
             * delimiter. */
            memset(&r, 0xA5, sizeof r);
            CHECK_OK(tcm_frame_decode_record(v->frame, v->frame_len, &r));
            CHECK_OK(tcm_record_encode(&r, buf, sizeof buf, &n));
            CHECK_BYTES(buf, n, v->envelope, v->envelope_len);
            CHECK_OK(tcm_frame_decode_record(v->frame, v->frame_len - 1, &r));
            CHECK_OK(tcm_record_decode_lenient(v->envelope, v->envelope_len, &r, &ext));
            CHECK(ext == 0);
            /* The raw frame layer agrees with Rust too. */
            CHECK_OK(tcm_frame_encode(v->envelope, v->envelope_len, buf, sizeof buf, &n));
            CHECK_BYTES(buf, n, v->frame, v->frame_len);
            CHECK_OK(tcm_frame_decode(v->frame, v->frame_len, buf, sizeof buf, &n));
            CHECK_BYTES(buf, n, v->envelope, v->envelope_len);
        } else if (strcmp(v->expect, "unknown_kind") == 0) {
            /* Kind 200: the header is filled so the terminal can store and forward. */
            memset(&r, 0, sizeof r);
            CHECK_ST(tcm_record_decode(v->envelope, v->envelope_len, &r),
                     TCM_STATUS_UNKNOWN_KIND);
            CHECK(r.kind == 200);
            CHECK(r.header.id.device == 7 && r.header.id.epoch == 1 && r.header.id.seq == 44);
            CHECK(r.header.care_home == 3101 && r.header.resident == 1234);
            CHECK(r.header.time_known == 1 && r.header.utc_seconds == T_2026_03_15_0830Z);
            memset(&r, 0, sizeof r);
            CHECK_ST(tcm_frame_decode_record(v->frame, v->frame_len, &r),
                     TCM_STATUS_UNKNOWN_KIND);
            CHECK(r.kind == 200 && r.header.id.seq == 44);
            /* Forwarding the kept envelope reproduces the frame byte for byte. */
            CHECK_OK(tcm_frame_encode(v->envelope, v->envelope_len, buf, sizeof buf, &n));
            CHECK_BYTES(buf, n, v->frame, v->frame_len);
        } else if (strcmp(v->expect, "extension") == 0) {
            /* A newer writer's longer body: strict decode refuses, lenient keeps the two
             * extra bytes aside and reads the known fields of vitals-bp-pulse-spo2-temp. */
            CHECK_ST(tcm_record_decode(v->envelope, v->envelope_len, &r),
                     TCM_STATUS_DECODE_TRAILING_BYTES);
            CHECK_OK(tcm_record_decode_lenient(v->envelope, v->envelope_len, &r, &ext));
            CHECK(ext == 2);
            CHECK(r.kind == TCM_RECORD_KIND_VITALS);
            CHECK(r.body.vitals.systolic_mmhg == 128 && r.body.vitals.diastolic_mmhg == 82);
            CHECK_ST(tcm_frame_decode_record(v->frame, v->frame_len, &r),
                     TCM_STATUS_DECODE_TRAILING_BYTES);
        } else if (strcmp(v->expect, "crc_error") == 0) {
            CHECK_ST(tcm_frame_decode_record(v->frame, v->frame_len, &r), TCM_STATUS_FRAME_CRC);
            CHECK_ST(tcm_frame_decode(v->frame, v->frame_len, buf, sizeof buf, &n),
                     TCM_STATUS_FRAME_CRC);
        } else if (strcmp(v->expect, "frame_error") == 0) {
            tcm_status s = tcm_frame_decode_record(v->frame, v->frame_len, &r);
            CHECK(s == TCM_STATUS_FRAME_COBS || s == TCM_STATUS_FRAME_CRC ||
                  s == TCM_STATUS_FRAME_TOO_SHORT);
        } else {
            check_true(0, v->expect, __FILE__, __LINE__);
        }
    }
}

static void decoded_fields_match_descriptions(void) {
    tcm_record r;
    const test_vector *v;

    /* "vital signs from kiosk 7 epoch 1 seq 42, care home 3101 resident 1234,
     * 2026-03-15T08:30:00Z: 128/82 mmHg, pulse 76 /min, SpO2 97 %, 36.6 °C forehead,
     * kiosk sensors" */
    v = vector("vitals-bp-pulse-spo2-temp");
    if (v != NULL) {
        CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
        CHECK(r.header.id.device == 7 && r.header.id.seq == 42);
        CHECK(r.header.utc_seconds == T_2026_03_15_0830Z);
        CHECK(r.body.vitals.present == (TCM_VITAL_SYSTOLIC | TCM_VITAL_DIASTOLIC |
                                        TCM_VITAL_PULSE | TCM_VITAL_SPO2 |
                                        TCM_VITAL_TEMPERATURE));
        CHECK(r.body.vitals.pulse_per_min == 76 && r.body.vitals.spo2_percent == 97);
        CHECK(r.body.vitals.temperature_centi_c == 3660);
        CHECK(r.body.vitals.temperature_site == TCM_TEMPERATURE_SITE_FOREHEAD);
        CHECK(r.body.vitals.source == TCM_MEASUREMENT_SOURCE_KIOSK_SENSOR);
        CHECK(r.body.vitals.alerts == 0); /* 128/82, 76, 97 %, 36.6: nothing to flag */
    }

    /* "152/94 mmHg (hypertension) ... fasting capillary glucose 7.8 mmol/L (high),
     * 37.5 °C axilla (fever), Bluetooth devices" */
    v = vector("vitals-body-glucose-alerts");
    if (v != NULL) {
        CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
        CHECK(r.body.vitals.weight_g == 68450 && r.body.vitals.height_mm == 1642);
        CHECK(r.body.vitals.waist_mm == 930 && r.body.vitals.glucose_umol_l == 7800);
        CHECK(r.body.vitals.glucose_context == TCM_GLUCOSE_CONTEXT_FASTING);
        CHECK(r.body.vitals.source == TCM_MEASUREMENT_SOURCE_BLUETOOTH);
        CHECK(r.body.vitals.alerts ==
              (TCM_ALERT_HYPERTENSION | TCM_ALERT_HIGH_GLUCOSE | TCM_ALERT_FEVER));
    }

    /* "time unknown (boot 3, 125 s after boot): SpO2 91 % (low), pulse 58 /min" */
    v = vector("vitals-clock-unknown-spo2");
    if (v != NULL) {
        CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
        CHECK(r.header.time_known == 0 && r.header.boot == 3 && r.header.uptime_s == 125);
        CHECK(r.body.vitals.spo2_percent == 91 && r.body.vitals.pulse_per_min == 58);
        CHECK(r.body.vitals.alerts == TCM_ALERT_LOW_SPO2);
    }

    /* "items 2,3,4,14 answered 3 (qixu 12 = yes) ...; guidance for qixu" */
    v = vector("constitution-qixu");
    if (v != NULL) {
        CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
        CHECK(r.body.constitution.scores[TCM_CONSTITUTION_QIXU] == 12);
        CHECK(r.body.constitution.verdicts[TCM_CONSTITUTION_QIXU] == TCM_VERDICT_YES);
        CHECK(r.body.constitution.primary == 1u << TCM_CONSTITUTION_QIXU);
        CHECK(r.body.constitution.guidance_count == 1);
        CHECK(r.body.constitution.guidance[0].constitution == TCM_CONSTITUTION_QIXU);
    }

    /* "guidance for pinghe: exercise + other '八段锦 每日一次'" */
    v = vector("constitution-pinghe-other");
    if (v != NULL) {
        CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
        CHECK(r.body.constitution.scores[TCM_CONSTITUTION_PINGHE] == 25);
        CHECK(r.body.constitution.verdicts[TCM_CONSTITUTION_PINGHE] == TCM_VERDICT_YES);
        CHECK(strcmp(r.body.constitution.guidance[0].other, "八段锦 每日一次") == 0);
    }

    /* "moxibustion at ST36, CV4, CV6 for 20 min by practitioner 9" */
    v = vector("treatment-moxibustion");
    if (v != NULL) {
        CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
        CHECK(r.body.treatment.acupoint_count == 3);
        CHECK(strcmp(r.body.treatment.acupoints[0], "ST36") == 0);
        CHECK(strcmp(r.body.treatment.acupoints[1], "CV4") == 0);
        CHECK(strcmp(r.body.treatment.acupoints[2], "CV6") == 0);
        CHECK(r.body.treatment.note[0] == '\0');
    }

    /* "decoction delivered, platform device 900 seq 3 ... courier 77: refers to
     * prescription 2/1/14" */
    v = vector("herbal-delivered");
    if (v != NULL) {
        CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
        CHECK(r.header.id.device == 900 && r.body.herbal.actor == 77);
        CHECK(r.body.herbal.stage == TCM_HERBAL_STAGE_DELIVERED);
        CHECK(r.body.herbal.has_prescription == 1 && r.body.herbal.prescription.seq == 14);
        CHECK(r.body.herbal.herb_count == 0);
    }

    /* "diabetes, satisfactory, guidance diet only, no intervention, no next visit" */
    v = vector("followup-diabetes-no-next");
    if (v != NULL) {
        CHECK_OK(tcm_record_decode(v->envelope, v->envelope_len, &r));
        CHECK(r.body.follow_up.condition == TCM_CHRONIC_CONDITION_DIABETES);
        CHECK(r.body.follow_up.guidance == 1u << TCM_GUIDANCE_CATEGORY_DIET);
        CHECK(r.body.follow_up.next_visit.year == 0 && r.body.follow_up.clinician == 6);
    }
}

static void built_records_match_rust_bytes(void) {
    tcm_record r;

    /* resident-female-hypertension: device 1 seq 1, 3101/1234, 2026-03-15T08:30:00Z;
     * born 1948-05-20, female, hypertension, consents TCM services + data sharing,
     * active. */
    CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_RESIDENT));
    header(&r, 1, 1, 1234, T_2026_03_15_0830Z);
    r.body.resident.birth_date.year = 1948;
    r.body.resident.birth_date.month = 5;
    r.body.resident.birth_date.day = 20;
    r.body.resident.sex = TCM_SEX_FEMALE;
    r.body.resident.conditions = TCM_CONDITION_HYPERTENSION;
    r.body.resident.consent = TCM_CONSENT_TCM_SERVICES | TCM_CONSENT_DATA_SHARING;
    r.body.resident.status = TCM_RESIDENCY_STATUS_ACTIVE;
    expect_encodes_to(&r, "resident-female-hypertension");

    /* vitals-bp-pulse-spo2-temp: kiosk 7 seq 42, 128/82, 76, 97 %, 36.6 °C forehead. */
    CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_VITALS));
    header(&r, 7, 42, 1234, T_2026_03_15_0830Z);
    r.body.vitals.present = TCM_VITAL_SYSTOLIC | TCM_VITAL_DIASTOLIC | TCM_VITAL_PULSE |
                            TCM_VITAL_SPO2 | TCM_VITAL_TEMPERATURE;
    r.body.vitals.systolic_mmhg = 128;
    r.body.vitals.diastolic_mmhg = 82;
    r.body.vitals.pulse_per_min = 76;
    r.body.vitals.spo2_percent = 97;
    r.body.vitals.temperature_centi_c = 3660;
    r.body.vitals.temperature_site = TCM_TEMPERATURE_SITE_FOREHEAD;
    r.body.vitals.source = TCM_MEASUREMENT_SOURCE_KIOSK_SENSOR;
    expect_encodes_to(&r, "vitals-bp-pulse-spo2-temp");

    /* vitals-clock-unknown-spo2: kiosk 8 seq 1, resident 1236, boot 3 + 125 s. */
    CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_VITALS));
    header(&r, 8, 1, 1236, 0);
    r.header.time_known = 0;
    r.header.boot = 3;
    r.header.uptime_s = 125;
    r.body.vitals.present = TCM_VITAL_PULSE | TCM_VITAL_SPO2;
    r.body.vitals.pulse_per_min = 58;
    r.body.vitals.spo2_percent = 91;
    expect_encodes_to(&r, "vitals-clock-unknown-spo2");

    /* constitution-qixu: terminal 2 seq 10 at 08:40, assessor 5; item 1 = 3, items 2, 3,
     * 4, 14 = 3, others 1; guidance for qixu in the five catalogue categories. */
    {
        int i;
        CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_CONSTITUTION));
        header(&r, 2, 10, 1234, T_2026_03_15_0830Z + 10 * MINUTE);
        for (i = 0; i < TCM_ITEM_COUNT; i++) {
            r.body.constitution.answers[i] = 1;
        }
        r.body.constitution.answers[0] = 3;
        r.body.constitution.answers[1] = 3;
        r.body.constitution.answers[2] = 3;
        r.body.constitution.answers[3] = 3;
        r.body.constitution.answers[13] = 3;
        r.body.constitution.assessor = 5;
        r.body.constitution.guidance_count = 1;
        r.body.constitution.guidance[0].constitution = TCM_CONSTITUTION_QIXU;
        r.body.constitution.guidance[0].categories =
            1u << TCM_GUIDANCE_CATEGORY_EMOTION | 1u << TCM_GUIDANCE_CATEGORY_DIET |
            1u << TCM_GUIDANCE_CATEGORY_DAILY_LIFE | 1u << TCM_GUIDANCE_CATEGORY_EXERCISE |
            1u << TCM_GUIDANCE_CATEGORY_ACUPOINT;
        /* Output fields are never trusted: garbage here changes nothing. */
        r.body.constitution.scores[0] = 99;
        r.body.constitution.primary = 0xFFFF;
        expect_encodes_to(&r, "constitution-qixu");
    }

    /* treatment-moxibustion: terminal 2 seq 12 at 08:50; ST36, CV4, CV6; 20 min;
     * practitioner 9; completed; no adverse event; no note. Codes in lower case, with a
     * separator or as a legacy alias (REN = CV) are accepted and encode the same. */
    CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_TREATMENT));
    header(&r, 2, 12, 1234, T_2026_03_15_0830Z + 20 * MINUTE);
    r.body.treatment.technique = TCM_TECHNIQUE_MOXIBUSTION;
    r.body.treatment.acupoint_count = 3;
    SET_TEXT(r.body.treatment.acupoints[0], "st36");
    SET_TEXT(r.body.treatment.acupoints[1], "REN-4");
    SET_TEXT(r.body.treatment.acupoints[2], "CV 6");
    r.body.treatment.duration_min = 20;
    r.body.treatment.practitioner = 9;
    expect_encodes_to(&r, "treatment-moxibustion");

    /* treatment-baduanjin-refused: seq 13 at 08:55, resident 1235, refused, note 膝痛. */
    CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_TREATMENT));
    header(&r, 2, 13, 1235, T_2026_03_15_0830Z + 25 * MINUTE);
    r.body.treatment.technique = TCM_TECHNIQUE_BADUANJIN;
    r.body.treatment.practitioner = 9;
    r.body.treatment.outcome = TCM_TREATMENT_OUTCOME_REFUSED;
    SET_TEXT(r.body.treatment.note, "膝痛");
    expect_encodes_to(&r, "treatment-baduanjin-refused");

    /* herbal-prescribed: seq 14 at 09:00, doctor 5, 7 doses of 黄芪 30 g, 党参 15 g,
     * 白术 12 g, 茯苓 15 g, 炙甘草 6 g (doses in 0.1 g); note 水煎服 日一剂. */
    {
        static const char *names[5] = {"黄芪", "党参", "白术", "茯苓", "炙甘草"};
        static const uint16_t decigrams[5] = {300, 150, 120, 150, 60};
        int i;
        CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_HERBAL));
        header(&r, 2, 14, 1234, T_2026_03_15_0830Z + 30 * MINUTE);
        r.body.herbal.stage = TCM_HERBAL_STAGE_PRESCRIBED;
        r.body.herbal.doses = 7;
        r.body.herbal.herb_count = 5;
        for (i = 0; i < 5; i++) {
            SET_TEXT(r.body.herbal.herbs[i].name, names[i]);
            r.body.herbal.herbs[i].decigrams = decigrams[i];
        }
        r.body.herbal.actor = 5;
        SET_TEXT(r.body.herbal.note, "水煎服 日一剂");
        expect_encodes_to(&r, "herbal-prescribed");
    }

    /* followup-hypertension: seq 15 at 09:05, clinician 5, unsatisfactory, guidance
     * emotion + diet + exercise, acupoint massage + Baduanjin, next visit 2026-04-15. */
    CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_FOLLOW_UP));
    header(&r, 2, 15, 1234, T_2026_03_15_0830Z + 35 * MINUTE);
    r.body.follow_up.condition = TCM_CHRONIC_CONDITION_HYPERTENSION;
    r.body.follow_up.control = TCM_CONDITION_CONTROL_UNSATISFACTORY;
    r.body.follow_up.guidance = 1u << TCM_GUIDANCE_CATEGORY_EMOTION |
                                1u << TCM_GUIDANCE_CATEGORY_DIET |
                                1u << TCM_GUIDANCE_CATEGORY_EXERCISE;
    r.body.follow_up.intervention_count = 2;
    r.body.follow_up.interventions[0] = TCM_TECHNIQUE_ACUPOINT_MASSAGE;
    r.body.follow_up.interventions[1] = TCM_TECHNIQUE_BADUANJIN;
    r.body.follow_up.next_visit.year = 2026;
    r.body.follow_up.next_visit.month = 4;
    r.body.follow_up.next_visit.day = 15;
    r.body.follow_up.clinician = 5;
    expect_encodes_to(&r, "followup-hypertension");

    /* correction-void: seq 17 at 09:15, resident 1235: void 7/1/43, measurement error,
     * note 袖带位置错误. */
    CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_CORRECTION));
    header(&r, 2, 17, 1235, T_2026_03_15_0830Z + 45 * MINUTE);
    r.body.correction.target.device = 7;
    r.body.correction.target.epoch = 1;
    r.body.correction.target.seq = 43;
    r.body.correction.action = TCM_CORRECTION_ACTION_VOID;
    r.body.correction.reason = TCM_CORRECTION_REASON_MEASUREMENT_ERROR;
    SET_TEXT(r.body.correction.note, "袖带位置错误");
    expect_encodes_to(&r, "correction-void");

    /* correction-amend: seq 19 at 09:20: amend 2/1/12 with 2/1/18, entry error. */
    CHECK_OK(tcm_record_init(&r, TCM_RECORD_KIND_CORRECTION));
    header(&r, 2, 19, 1234, T_2026_03_15_0830Z + 50 * MINUTE);
    r.body.correction.target.device = 2;
    r.body.correction.target.epoch = 1;
    r.body.correction.target.seq = 12;
    r.body.correction.action = TCM_CORRECTION_ACTION_AMEND;
    r.body.correction.replacement.device = 2;
    r.body.correction.replacement.epoch = 1;
    r.body.correction.replacement.seq = 18;
    r.body.correction.reason = TCM_CORRECTION_REASON_ENTRY_ERROR;
    expect_encodes_to(&r, "correction-amend");
}

void test_vectors(void) {
    CHECK(VECTOR_COUNT >= 19);
    decode_and_reencode_every_vector();
    decoded_fields_match_descriptions();
    built_records_match_rust_bytes();
}
