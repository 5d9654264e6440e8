/* Constitution scoring, IEEE 11073 numbers, GATT measurements and ID numbers. Expected
 * values are worked by hand from DOMAIN.md (sections 1.4-1.5, 4.3-4.4 and 8). */
#include <math.h>
#include <string.h>

#include "check.h"

static void answers_all(uint8_t answers[TCM_ITEM_COUNT], uint8_t value) {
    int i;
    for (i = 0; i < TCM_ITEM_COUNT; i++) {
        answers[i] = value;
    }
}

static void constitution_scores(void) {
    uint8_t a[TCM_ITEM_COUNT];
    tcm_constitution_assessment out;
    int c;

    /* All answers 1: every biased sum is 4 (NO); pinghe = 1 + 4 x (6 - 1) = 21 >= 17
     * with every other score 4 <= 8: YES, the primary type. */
    answers_all(a, 1);
    CHECK_OK(tcm_constitution_assess(a, &out));
    CHECK(out.scores[TCM_CONSTITUTION_PINGHE] == 21);
    CHECK(out.verdicts[TCM_CONSTITUTION_PINGHE] == TCM_VERDICT_YES);
    for (c = TCM_CONSTITUTION_QIXU; c <= TCM_CONSTITUTION_TEBING; c++) {
        CHECK(out.scores[c] == 4 && out.verdicts[c] == TCM_VERDICT_NO);
    }
    CHECK(out.identified == 1u << TCM_CONSTITUTION_PINGHE);
    CHECK(out.primary == 1u << TCM_CONSTITUTION_PINGHE);
    CHECK(out.needs_recollection == 0 && out.has_contradiction == 0);

    /* The golden constitution-qixu answers: item 1 = 3, items 2, 3, 4, 14 = 3, others 1.
     * qixu (2, 3, 4, 14) = 12 >= 11: YES; other biased types 4: NO; pinghe = 3 + (6-3)
     * + (6-3) + (6-1) + (6-1) = 19 >= 17 but qixu 12 > 10: NO. */
    answers_all(a, 1);
    a[0] = a[1] = a[2] = a[3] = a[13] = 3;
    CHECK_OK(tcm_constitution_assess(a, &out));
    CHECK(out.scores[TCM_CONSTITUTION_QIXU] == 12);
    CHECK(out.verdicts[TCM_CONSTITUTION_QIXU] == TCM_VERDICT_YES);
    CHECK(out.scores[TCM_CONSTITUTION_PINGHE] == 19);
    CHECK(out.verdicts[TCM_CONSTITUTION_PINGHE] == TCM_VERDICT_NO);
    CHECK(out.identified == 1u << TCM_CONSTITUTION_QIXU);
    CHECK(out.primary == 1u << TCM_CONSTITUTION_QIXU);

    /* 平和质 基本是: item 1 = 5 and the reversed items 2, 4, 5, 13 = 1 give 25; qiyu
     * (5, 6, 7, 8) = 1 + 3 + 3 + 3 = 10: TENDENCY, so the others' maximum 10 <= 10 but
     * > 8: BASICALLY_YES. The biased tendency is primary. */
    answers_all(a, 1);
    a[0] = 5;
    a[5] = a[6] = a[7] = 3;
    CHECK_OK(tcm_constitution_assess(a, &out));
    CHECK(out.scores[TCM_CONSTITUTION_PINGHE] == 25);
    CHECK(out.verdicts[TCM_CONSTITUTION_PINGHE] == TCM_VERDICT_BASICALLY_YES);
    CHECK(out.scores[TCM_CONSTITUTION_QIYU] == 10);
    CHECK(out.verdicts[TCM_CONSTITUTION_QIYU] == TCM_VERDICT_TENDENCY);
    CHECK(out.identified == (1u << TCM_CONSTITUTION_PINGHE | 1u << TCM_CONSTITUTION_QIYU));
    CHECK(out.primary == 1u << TCM_CONSTITUTION_QIYU);

    /* All 3: every biased sum 12 (YES), tied, so all eight are primary; yin and yang
     * deficiency both YES is the form's contradiction; pinghe 3 + 4 x 3 = 15: NO. */
    answers_all(a, 3);
    CHECK_OK(tcm_constitution_assess(a, &out));
    CHECK(out.verdicts[TCM_CONSTITUTION_PINGHE] == TCM_VERDICT_NO);
    CHECK(out.primary == 0x1FEu);
    CHECK(out.has_contradiction == 1);

    /* Nothing determinable: item 1 = 1 and items 2, 4, 5, 13 = 3 give pinghe 1 + 4 x 3 =
     * 13 (NO); qixu (2, 3, 4, 14) 3 + 1 + 3 + 1 = 8, yangxu (11, 12, 13, 29) 6, qiyu
     * (5, 6, 7, 8) 6, the rest 4: all NO. The form says to re-collect. */
    answers_all(a, 1);
    a[1] = a[3] = a[4] = a[12] = 3;
    CHECK_OK(tcm_constitution_assess(a, &out));
    CHECK(out.scores[TCM_CONSTITUTION_PINGHE] == 13);
    CHECK(out.scores[TCM_CONSTITUTION_QIXU] == 8);
    CHECK(out.identified == 0 && out.primary == 0 && out.needs_recollection == 1);
    /* Item 3 = 2 lifts qixu to 9, the lower edge of TENDENCY. */
    a[2] = 2;
    CHECK_OK(tcm_constitution_assess(a, &out));
    CHECK(out.verdicts[TCM_CONSTITUTION_QIXU] == TCM_VERDICT_TENDENCY);
    CHECK(out.primary == 1u << TCM_CONSTITUTION_QIXU && out.needs_recollection == 0);

    /* Pinghe at the edges: all 2 gives pinghe 2 + 4 x 4 = 18 with others 8: YES; item 1
     * = 1 gives exactly 17: still YES. */
    answers_all(a, 2);
    a[0] = 1;
    CHECK_OK(tcm_constitution_assess(a, &out));
    CHECK(out.scores[TCM_CONSTITUTION_PINGHE] == 17);
    CHECK(out.verdicts[TCM_CONSTITUTION_PINGHE] == TCM_VERDICT_YES);

    /* Out of range answers and NULL pointers. */
    answers_all(a, 1);
    a[6] = 0;
    CHECK_ST(tcm_constitution_assess(a, &out), TCM_STATUS_ANSWER_OUT_OF_RANGE);
    a[6] = 6;
    CHECK_ST(tcm_constitution_assess(a, &out), TCM_STATUS_ANSWER_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_assess(NULL, &out), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_constitution_assess(a, NULL), TCM_STATUS_NULL_POINTER);
}

static void constitution_measurements_and_text(void) {
    uint8_t a[TCM_ITEM_COUNT];
    char buf[512];
    char tiny[2];
    size_t n = 0;
    int c;
    int g;

    /* 70 kg at 1.60 m: BMI 27.3, in 26 <= BMI < 28: item 9 = 4. Waist 93 cm: in the
     * 91-105 cm band: item 28 = 4. */
    answers_all(a, 1);
    CHECK_OK(tcm_constitution_apply_measurements(a, 70000, 1600, 930));
    CHECK(a[8] == 4 && a[27] == 4);
    CHECK(a[7] == 1 && a[9] == 1 && a[26] == 1 && a[28] == 1);
    /* 50 kg at 1.60 m: BMI 19.5 < 24: 1. Waist 79 cm < 80: 1. */
    CHECK_OK(tcm_constitution_apply_measurements(a, 50000, 1600, 790));
    CHECK(a[8] == 1 && a[27] == 1);
    /* Nothing measured: untouched. */
    a[8] = 5;
    a[27] = 5;
    CHECK_OK(tcm_constitution_apply_measurements(a, 0, 0, 0));
    CHECK(a[8] == 5 && a[27] == 5);
    CHECK_ST(tcm_constitution_apply_measurements(NULL, 70000, 1600, 930),
             TCM_STATUS_NULL_POINTER);

    /* Implausible measurements are refused with the vital-signs statuses, and nothing is
     * written: plausible are weight 20..=300 kg, height 100..=220 cm, waist 40..=180 cm
     * (the ranges of a vital-signs record). 60 kg at 1 mm used to return OK and leave
     * item 9 alone (the BMI did not fit); 42.95 kg was the first weight that did so. */
    answers_all(a, 3);
    CHECK_ST(tcm_constitution_apply_measurements(a, 60000, 1, 0),
             TCM_STATUS_HEIGHT_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_apply_measurements(a, 42950, 1, 0),
             TCM_STATUS_HEIGHT_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_apply_measurements(a, 42949, 1, 0),
             TCM_STATUS_HEIGHT_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_apply_measurements(a, 70000, 999, 0),
             TCM_STATUS_HEIGHT_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_apply_measurements(a, 70000, 2201, 0),
             TCM_STATUS_HEIGHT_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_apply_measurements(a, 19999, 1600, 0),
             TCM_STATUS_WEIGHT_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_apply_measurements(a, 300001, 1600, 0),
             TCM_STATUS_WEIGHT_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_apply_measurements(a, UINT32_MAX, 1600, 0),
             TCM_STATUS_WEIGHT_OUT_OF_RANGE);
    /* A lone weight or height is checked too, although it gives no BMI. */
    CHECK_ST(tcm_constitution_apply_measurements(a, 1, 0, 0), TCM_STATUS_WEIGHT_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_apply_measurements(a, 0, 1, 0), TCM_STATUS_HEIGHT_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_apply_measurements(a, 0, 0, 399), TCM_STATUS_WAIST_OUT_OF_RANGE);
    CHECK_ST(tcm_constitution_apply_measurements(a, 0, 0, 1801),
             TCM_STATUS_WAIST_OUT_OF_RANGE);
    /* A plausible BMI with an implausible waist writes neither item. */
    CHECK_ST(tcm_constitution_apply_measurements(a, 70000, 1600, 1),
             TCM_STATUS_WAIST_OUT_OF_RANGE);
    CHECK(a[8] == 3 && a[27] == 3);
    /* Weight without height (or height without weight) gives no BMI: item 9 untouched. */
    CHECK_OK(tcm_constitution_apply_measurements(a, 70000, 0, 0));
    CHECK_OK(tcm_constitution_apply_measurements(a, 0, 1600, 0));
    CHECK(a[8] == 3 && a[27] == 3);
    /* The range ends are plausible: 300 kg at 1.00 m is BMI 300 (5), 20 kg at 2.20 m is
     * BMI 4.13 (1); waist 40 cm (1) and 180 cm (5). */
    CHECK_OK(tcm_constitution_apply_measurements(a, 300000, 1000, 400));
    CHECK(a[8] == 5 && a[27] == 1);
    CHECK_OK(tcm_constitution_apply_measurements(a, 20000, 2200, 1800));
    CHECK(a[8] == 1 && a[27] == 5);

    CHECK_OK(tcm_constitution_name(TCM_CONSTITUTION_QIXU, TCM_TEXT_FORM_ID, buf, sizeof buf,
                                   &n));
    CHECK(strcmp(buf, "qixu") == 0 && n == 4);
    CHECK_OK(tcm_constitution_name(TCM_CONSTITUTION_QIXU, TCM_TEXT_FORM_ZH, buf, sizeof buf,
                                   &n));
    CHECK(strcmp(buf, "气虚质") == 0);
    CHECK_OK(tcm_constitution_name(TCM_CONSTITUTION_PINGHE, TCM_TEXT_FORM_ID, buf,
                                   sizeof buf, &n));
    CHECK(strcmp(buf, "pinghe") == 0);
    CHECK_ST(tcm_constitution_name(9, TCM_TEXT_FORM_ID, buf, sizeof buf, &n),
             TCM_STATUS_INVALID_ARGUMENT);
    CHECK_ST(tcm_constitution_name(0, 3, buf, sizeof buf, &n), TCM_STATUS_INVALID_ARGUMENT);
    CHECK_ST(tcm_constitution_name(0, TCM_TEXT_FORM_ZH, tiny, sizeof tiny, &n),
             TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == strlen("平和质") + 1);

    CHECK_OK(tcm_verdict_name(TCM_VERDICT_BASICALLY_YES, TCM_TEXT_FORM_ID, buf, sizeof buf,
                              &n));
    CHECK(strcmp(buf, "basically_yes") == 0);
    CHECK_OK(tcm_verdict_name(TCM_VERDICT_TENDENCY, TCM_TEXT_FORM_ZH, buf, sizeof buf, &n));
    CHECK(strcmp(buf, "倾向是") == 0);
    CHECK_ST(tcm_verdict_name(4, TCM_TEXT_FORM_ID, buf, sizeof buf, &n),
             TCM_STATUS_INVALID_ARGUMENT);

    CHECK_OK(tcm_guidance_category_name(TCM_GUIDANCE_CATEGORY_DIET, TCM_TEXT_FORM_ZH, buf,
                                        sizeof buf, &n));
    CHECK(strcmp(buf, "饮食调养") == 0);

    /* Every constitution has catalogue advice in the five advice categories, in both
     * languages; "other" is free text and has none. */
    for (c = TCM_CONSTITUTION_PINGHE; c <= TCM_CONSTITUTION_TEBING; c++) {
        for (g = TCM_GUIDANCE_CATEGORY_EMOTION; g <= TCM_GUIDANCE_CATEGORY_ACUPOINT; g++) {
            CHECK_OK(tcm_constitution_guidance((uint8_t)c, (uint8_t)g, TCM_TEXT_FORM_ZH, buf,
                                               sizeof buf, &n));
            CHECK(n > 0);
            CHECK_OK(tcm_constitution_guidance((uint8_t)c, (uint8_t)g, TCM_TEXT_FORM_EN, buf,
                                               sizeof buf, &n));
            CHECK(n > 0);
        }
        CHECK_ST(tcm_constitution_guidance((uint8_t)c, TCM_GUIDANCE_CATEGORY_OTHER,
                                           TCM_TEXT_FORM_ZH, buf, sizeof buf, &n),
                 TCM_STATUS_INVALID_ARGUMENT);
    }
    CHECK_ST(tcm_constitution_guidance(TCM_CONSTITUTION_QIXU, TCM_GUIDANCE_CATEGORY_DIET,
                                       TCM_TEXT_FORM_ZH, NULL, 0, &n),
             TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n > 1);
}

static void sfloat_and_float(void) {
    double v = -1.0;
    /* The specials (DOMAIN 4.4) each give their own status and never write a number. */
    static const struct {
        uint16_t raw;
        tcm_status status;
    } sfloat_specials[] = {
        {0x07FF, TCM_STATUS_NUMBER_NAN},
        {0x0800, TCM_STATUS_NUMBER_NRES},
        {0x07FE, TCM_STATUS_NUMBER_POSITIVE_INFINITY},
        {0x0802, TCM_STATUS_NUMBER_NEGATIVE_INFINITY},
        {0x0801, TCM_STATUS_NUMBER_RESERVED},
    };
    static const struct {
        uint32_t raw;
        tcm_status status;
    } float_specials[] = {
        {0x007FFFFFu, TCM_STATUS_NUMBER_NAN},
        {0x00800000u, TCM_STATUS_NUMBER_NRES},
        {0x007FFFFEu, TCM_STATUS_NUMBER_POSITIVE_INFINITY},
        {0x00800002u, TCM_STATUS_NUMBER_NEGATIVE_INFINITY},
        {0x00800001u, TCM_STATUS_NUMBER_RESERVED},
    };
    size_t i;

    /* 120 mmHg -> 0x0078; 36.6 degrees C -> 0xF16E (mantissa 366, exponent -1). */
    CHECK_OK(tcm_sfloat_decode(0x0078, &v));
    CHECK(v == 120.0);
    CHECK_OK(tcm_sfloat_decode(0xF16E, &v));
    CHECK(fabs(v - 36.6) < 1e-12);
    /* Mantissa -1, exponent 0: -1. */
    CHECK_OK(tcm_sfloat_decode(0x0FFF, &v));
    CHECK(v == -1.0);
    for (i = 0; i < sizeof sfloat_specials / sizeof sfloat_specials[0]; i++) {
        v = -7.0;
        CHECK_ST(tcm_sfloat_decode(sfloat_specials[i].raw, &v), sfloat_specials[i].status);
        CHECK(v == -7.0);
    }
    /* A special mantissa with a non-zero exponent is still that special value. */
    CHECK_ST(tcm_sfloat_decode(0x17FF, &v), TCM_STATUS_NUMBER_NAN);
    CHECK_ST(tcm_sfloat_decode(0x0078, NULL), TCM_STATUS_NULL_POINTER);

    /* 36.6 as FLOAT: 0xFF00016E (mantissa 366, exponent -1). */
    CHECK_OK(tcm_float_decode(0xFF00016Eu, &v));
    CHECK(fabs(v - 36.6) < 1e-12);
    for (i = 0; i < sizeof float_specials / sizeof float_specials[0]; i++) {
        v = -7.0;
        CHECK_ST(tcm_float_decode(float_specials[i].raw, &v), float_specials[i].status);
        CHECK(v == -7.0);
    }
    CHECK_ST(tcm_float_decode(0, NULL), TCM_STATUS_NULL_POINTER);
}

static void gatt(void) {
    tcm_gatt_measurement m;
    /* BP (DOMAIN 4.3): flags 0 (mmHg); SYS 120 = 0x0078, DIA 80 = 0x0050, MAP 93 =
     * 0x005D as little-endian SFLOATs. */
    static const uint8_t bp[] = {0x00, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00};
    /* kPa + pulse (flags b0, b2): SYS 16.0 kPa = 160e-1 (0xF0A0), DIA 10.7 kPa = 107e-1
     * (0xF06B), MAP NaN (0x07FF, "not available"), pulse 72 (0x0048). 16.0 x 7.50062 =
     * 120.01 -> 120 mmHg; 10.7 x 7.50062 = 80.26 -> 80 mmHg. */
    static const uint8_t bp_kpa[] = {0x05, 0xA0, 0xF0, 0x6B, 0xF0, 0xFF, 0x07, 0x48, 0x00};
    /* Systolic NaN: a device's "no value" must not become 2047 mmHg. */
    static const uint8_t bp_nan[] = {0x00, 0xFF, 0x07, 0x50, 0x00, 0x5D, 0x00};
    static const uint8_t bp_reserved_flags[] = {0xE0, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00};
    /* Temperature: flags 0 (degrees C), FLOAT 36.6 = 0xFF00016E little-endian. */
    static const uint8_t temp[] = {0x00, 0x6E, 0x01, 0x00, 0xFF};
    /* With type (flags b2): 2 = body. */
    static const uint8_t temp_type[] = {0x04, 0x6E, 0x01, 0x00, 0xFF, 0x02};
    /* PLX spot check: flags 0, SpO2 97 (0x0061), pulse 72 (0x0048). */
    static const uint8_t plx[] = {0x00, 0x61, 0x00, 0x48, 0x00};
    /* Weight: flags 0 (SI), 13690 x 0.005 kg = 68.45 kg (0x357A). */
    static const uint8_t weight[] = {0x00, 0x7A, 0x35};
    static const uint8_t weight_failed[] = {0x00, 0xFF, 0xFF};
    /* Glucose: flags b1 (concentration in kg/L, type and location), sequence 1, base
     * time 2025-03-14 09:26:53, 99e-5 kg/L (SFLOAT 0xB063) = 99 mg/dL, type 1 / location
     * 1 (0x11). 99e-5 x 1e11 / 18016 = 5495.1 -> 5495 umol/L. */
    static const uint8_t glucose[] = {0x02, 0x01, 0x00, 0xE9, 0x07, 0x03, 0x0E, 0x09,
                                      0x1A, 0x35, 0x63, 0xB0, 0x11};

    CHECK_OK(tcm_gatt_parse(TCM_GATT_BLOOD_PRESSURE_MEASUREMENT, bp, sizeof bp, &m));
    CHECK(m.characteristic == 0x2A35);
    CHECK(m.systolic_mmhg == 120 && m.diastolic_mmhg == 80 && m.mean_arterial_mmhg == 93);
    CHECK(m.present == (TCM_GATT_HAS_BLOOD_PRESSURE | TCM_GATT_HAS_MEAN_ARTERIAL));
    CHECK(m.flags == 0);

    CHECK_OK(tcm_gatt_parse(TCM_GATT_BLOOD_PRESSURE_MEASUREMENT, bp_kpa, sizeof bp_kpa, &m));
    CHECK(m.systolic_mmhg == 120 && m.diastolic_mmhg == 80 && m.pulse_per_min == 72);
    CHECK(m.present == (TCM_GATT_HAS_BLOOD_PRESSURE | TCM_GATT_HAS_PULSE));
    CHECK(m.flags == TCM_GATT_FLAG_UNIT_WAS_KPA);

    CHECK_ST(tcm_gatt_parse(TCM_GATT_BLOOD_PRESSURE_MEASUREMENT, bp_nan, sizeof bp_nan, &m),
             TCM_STATUS_NUMBER_NAN);
    CHECK_ST(tcm_gatt_parse(TCM_GATT_BLOOD_PRESSURE_MEASUREMENT, bp_reserved_flags,
                            sizeof bp_reserved_flags, &m),
             TCM_STATUS_GATT_RESERVED_FLAGS);
    CHECK_ST(tcm_gatt_parse(TCM_GATT_BLOOD_PRESSURE_MEASUREMENT, bp, 3, &m),
             TCM_STATUS_GATT_TRUNCATED);
    CHECK_ST(tcm_gatt_parse(TCM_GATT_BLOOD_PRESSURE_MEASUREMENT, bp_kpa, sizeof bp_kpa, &m),
             TCM_STATUS_OK);
    CHECK_ST(tcm_gatt_parse(TCM_GATT_PLX_SPOT_CHECK_MEASUREMENT, bp, sizeof bp, &m),
             TCM_STATUS_GATT_TRAILING_BYTES);

    CHECK_OK(tcm_gatt_parse(TCM_GATT_TEMPERATURE_MEASUREMENT, temp, sizeof temp, &m));
    CHECK(m.temperature_centi_c == 3660 && m.present == TCM_GATT_HAS_TEMPERATURE);
    CHECK_OK(tcm_gatt_parse(TCM_GATT_TEMPERATURE_MEASUREMENT, temp_type, sizeof temp_type,
                            &m));
    CHECK(m.temperature_type == 2 && (m.present & TCM_GATT_HAS_TEMPERATURE_TYPE) != 0);

    CHECK_OK(tcm_gatt_parse(TCM_GATT_PLX_SPOT_CHECK_MEASUREMENT, plx, sizeof plx, &m));
    CHECK(m.spo2_percent == 97 && m.pulse_per_min == 72);

    CHECK_OK(tcm_gatt_parse(TCM_GATT_WEIGHT_MEASUREMENT, weight, sizeof weight, &m));
    CHECK(m.weight_g == 68450 && m.present == TCM_GATT_HAS_WEIGHT);
    CHECK_ST(tcm_gatt_parse(TCM_GATT_WEIGHT_MEASUREMENT, weight_failed, sizeof weight_failed,
                            &m),
             TCM_STATUS_GATT_MEASUREMENT_UNSUCCESSFUL);

    CHECK_OK(tcm_gatt_parse(TCM_GATT_GLUCOSE_MEASUREMENT, glucose, sizeof glucose, &m));
    CHECK(m.glucose_sequence == 1 && m.glucose_umol_l == 5495);
    CHECK(m.glucose_sample_type == 1 && m.glucose_sample_location == 1);
    CHECK(m.timestamp.year == 2025 && m.timestamp.month == 3 && m.timestamp.day == 14);
    CHECK(m.timestamp.hours == 9 && m.timestamp.minutes == 26 && m.timestamp.seconds == 53);

    CHECK_ST(tcm_gatt_parse(0x2A37, bp, sizeof bp, &m), TCM_STATUS_GATT_UNKNOWN_CHARACTERISTIC);
    CHECK_ST(tcm_gatt_parse(TCM_GATT_WEIGHT_MEASUREMENT, NULL, 3, &m), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_gatt_parse(TCM_GATT_WEIGHT_MEASUREMENT, weight, sizeof weight, NULL),
             TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_gatt_parse(TCM_GATT_WEIGHT_MEASUREMENT, NULL, 0, &m),
             TCM_STATUS_GATT_TRUNCATED);
}

void test_constitution(void) {
    constitution_scores();
    constitution_measurements_and_text();
}

void test_numbers_and_gatt(void) {
    sfloat_and_float();
    gatt();
}
