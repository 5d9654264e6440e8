/* Version, status messages, error details, buffer conventions, validation rules. */
#include <string.h>

#include "check.h"
#include "vectors.h"

static void test_version(void) {
    char buf[32];
    size_t n = 0;
    uint16_t schema = 0;

    CHECK_OK(tcm_version(buf, sizeof buf, &n));
    CHECK(n == strlen(buf) && n >= 5); /* "0.1.0" */
    CHECK(strchr(buf, '.') != NULL);

    /* Size query with NULL/0, then a buffer one byte short of the NUL. */
    CHECK_ST(tcm_version(NULL, 0, &n), TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == strlen(buf) + 1);
    CHECK_ST(tcm_version(buf, n - 1, &n), TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK(buf[0] == '\0');
    CHECK_ST(tcm_version(buf, sizeof buf, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_version(NULL, 8, &n), TCM_STATUS_NULL_POINTER);

    CHECK_OK(tcm_schema_version(&schema));
    CHECK(schema == 1);
    CHECK_ST(tcm_schema_version(NULL), TCM_STATUS_NULL_POINTER);
}

static void test_messages(void) {
    char buf[256];
    char small[4];
    size_t n = 0;
    size_t i;
    uint32_t v;
    unsigned known = 0;

    CHECK(STATUS_COUNT >= 80);
    CHECK(TCM_STATUS_OK == 0);
    for (i = 0; i < STATUS_COUNT; i++) {
        tcm_status s = STATUSES[i].value;
        CHECK_OK(tcm_status_message(s, buf, sizeof buf, &n));
        CHECK(n > 0 && n == strlen(buf));
        /* A short buffer reports the size needed (NUL included) and holds "". */
        CHECK_ST(tcm_status_message(s, small, sizeof small, &n), TCM_STATUS_BUFFER_TOO_SMALL);
        CHECK(n == strlen(buf) + 1 && small[0] == '\0');
        CHECK_ST(tcm_status_message(s, NULL, 0, &n), TCM_STATUS_BUFFER_TOO_SMALL);
        CHECK(n == strlen(buf) + 1);
    }
    /* Exactly the header's statuses have messages. */
    for (v = 0; v < 1000; v++) {
        if (tcm_status_message(v, buf, sizeof buf, &n) == TCM_STATUS_OK) {
            known++;
            CHECK(strcmp(status_name(v), "?") != 0);
        }
    }
    CHECK(known == STATUS_COUNT);
    CHECK_ST(tcm_status_message(999, buf, sizeof buf, &n), TCM_STATUS_INVALID_ARGUMENT);
    CHECK_ST(tcm_status_message(TCM_STATUS_OK, buf, sizeof buf, NULL), TCM_STATUS_NULL_POINTER);

    /* Groups are what the header promises. */
    CHECK(TCM_STATUS_NULL_POINTER == 100 && TCM_STATUS_BUFFER_TOO_SMALL == 101);
    CHECK(TCM_STATUS_INVALID_ARGUMENT == 102 && TCM_STATUS_PANIC == 103);
    CHECK(TCM_STATUS_UNKNOWN_KIND == 206 && TCM_STATUS_FRAME_CRC == 223);
    CHECK(TCM_STATUS_DEVICE_ID_ZERO == 300 && TCM_STATUS_AMENDMENT_REPLACEMENT_INVALID == 341);
    CHECK(TCM_STATUS_NUMBER_NAN == 400 && TCM_STATUS_NUMBER_RESERVED == 404);
    CHECK(TCM_STATUS_ID_WRONG_LENGTH == 600);
}

static void test_detail(void) {
    char detail[128];
    size_t n = 0;
    /* A failing call leaves a detail naming the argument. */
    CHECK_ST(tcm_schema_version(NULL), TCM_STATUS_NULL_POINTER);
    CHECK_OK(tcm_last_error_detail(detail, sizeof detail, &n));
    CHECK(strstr(detail, "out") != NULL);
    CHECK_ST(tcm_last_error_detail(detail, 1, &n), TCM_STATUS_BUFFER_TOO_SMALL);
    CHECK_ST(tcm_last_error_detail(NULL, 0, NULL), TCM_STATUS_NULL_POINTER);
}

/* The validation rules: every status 300..=342 has core's code (its header name in lower
 * case) and its family; no other status has either. */
static void test_rules(void) {
    static const struct {
        uint32_t status;
        uint8_t family;
    } families[] = {
        {TCM_STATUS_DEVICE_ID_ZERO, TCM_RULE_FAMILY_RESERVED_ID},
        {TCM_STATUS_EPOCH_ZERO, TCM_RULE_FAMILY_RESERVED_ID},
        {TCM_STATUS_SEQ_ZERO, TCM_RULE_FAMILY_RESERVED_ID},
        {TCM_STATUS_CARE_HOME_ZERO, TCM_RULE_FAMILY_RESERVED_ID},
        {TCM_STATUS_RESIDENT_NUMBER_ZERO, TCM_RULE_FAMILY_RESERVED_ID},
        {TCM_STATUS_STAFF_MISSING, TCM_RULE_FAMILY_MISSING},
        {TCM_STATUS_TEXT_TOO_LONG, TCM_RULE_FAMILY_TOO_LONG},
        {TCM_STATUS_TEXT_EMPTY, TCM_RULE_FAMILY_MISSING},
        {TCM_STATUS_TOO_MANY, TCM_RULE_FAMILY_TOO_LONG},
        {TCM_STATUS_BIRTH_DATE_IMPLAUSIBLE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_NO_MEASUREMENT, TCM_RULE_FAMILY_MISSING},
        {TCM_STATUS_BLOOD_PRESSURE_INCOMPLETE, TCM_RULE_FAMILY_MISSING},
        {TCM_STATUS_SYSTOLIC_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_DIASTOLIC_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_DIASTOLIC_NOT_BELOW_SYSTOLIC, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_PULSE_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_SPO2_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_TEMPERATURE_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_WEIGHT_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_HEIGHT_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_WAIST_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_GLUCOSE_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_ANSWER_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_GUIDANCE_FOR_UNIDENTIFIED, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_DUPLICATE_GUIDANCE, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_GUIDANCE_EMPTY, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_OTHER_GUIDANCE_TEXT, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_INVALID_ACUPOINT, TCM_RULE_FAMILY_UNKNOWN_CODE},
        {TCM_STATUS_DUPLICATE_ACUPOINT, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_ACUPOINTS_REQUIRED, TCM_RULE_FAMILY_MISSING},
        {TCM_STATUS_ACUPOINTS_NOT_APPLICABLE, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_DURATION_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_NO_HERBS, TCM_RULE_FAMILY_MISSING},
        {TCM_STATUS_DUPLICATE_HERB, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_HERB_DOSE_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_DOSE_COUNT_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
        {TCM_STATUS_HERBAL_STAGE_MISMATCH, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_FOLLOW_UP_EMPTY, TCM_RULE_FAMILY_MISSING},
        {TCM_STATUS_DUPLICATE_INTERVENTION, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_NEXT_VISIT_NOT_AFTER_VISIT, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_CORRECTION_TARGETS_ITSELF, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_AMENDMENT_REPLACEMENT_INVALID, TCM_RULE_FAMILY_INCONSISTENT},
        {TCM_STATUS_BMI_OUT_OF_RANGE, TCM_RULE_FAMILY_RANGE},
    };
    const char *code = NULL;
    tcm_rule_family family = 0;
    char want[64];
    size_t i, j, rules = 0;

    for (i = 0; i < STATUS_COUNT; i++) {
        uint32_t s = STATUSES[i].value;
        if (s >= 300 && s < 400) {
            rules++;
            CHECK_OK(tcm_status_code(s, &code));
            CHECK(code != NULL);
            if (code == NULL) {
                continue;
            }
            /* TCM_STATUS_SYSTOLIC_OUT_OF_RANGE -> systolic_out_of_range */
            for (j = 0; STATUSES[i].name[11 + j] != '\0' && j + 1 < sizeof want; j++) {
                char c = STATUSES[i].name[11 + j];
                want[j] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            }
            want[j] = '\0';
            CHECK(strcmp(code, want) == 0);
            CHECK_OK(tcm_status_family(s, &family));
            CHECK(family >= TCM_RULE_FAMILY_SCHEMA && family <= TCM_RULE_FAMILY_UNKNOWN_CODE);
        } else {
            code = "x";
            family = 0;
            CHECK_ST(tcm_status_code(s, &code), TCM_STATUS_INVALID_ARGUMENT);
            CHECK(code == NULL);
            CHECK_ST(tcm_status_family(s, &family), TCM_STATUS_INVALID_ARGUMENT);
            CHECK(family == 0);
        }
    }
    CHECK(rules == sizeof families / sizeof families[0]);
    for (i = 0; i < sizeof families / sizeof families[0]; i++) {
        CHECK(families[i].status == 300 + i);
        CHECK_OK(tcm_status_family(families[i].status, &family));
        CHECK(family == families[i].family);
    }
    CHECK_ST(tcm_status_code(TCM_STATUS_SEQ_ZERO, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_ST(tcm_status_family(TCM_STATUS_SEQ_ZERO, NULL), TCM_STATUS_NULL_POINTER);
    CHECK_OK(tcm_status_code(TCM_STATUS_BMI_OUT_OF_RANGE, &code));
    CHECK(strcmp(code, "bmi_out_of_range") == 0);
}

void test_status(void) {
    test_version();
    test_messages();
    test_detail();
    test_rules();
}
