/* Version, status messages, error details, buffer conventions. */
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

void test_status(void) {
    test_version();
    test_messages();
    test_detail();
}
