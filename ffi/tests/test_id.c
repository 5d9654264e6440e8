/* Resident ID numbers (GB 11643-1999, DOMAIN.md section 8). */
#include <string.h>

#include "check.h"

static tcm_date date(uint16_t y, uint8_t m, uint8_t d) {
    tcm_date t;
    t.year = y;
    t.month = m;
    t.day = d;
    return t;
}

/* The MOD 11-2 check character of a 17-digit body, written from DOMAIN.md: S = sum of
 * digit x weight, check = "10X98765432"[S mod 11]. */
static char check_char(const char *body) {
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int s = 0;
    int i;
    for (i = 0; i < 17; i++) {
        s += (body[i] - '0') * weights[i];
    }
    return "10X98765432"[s % 11];
}

static tcm_status validate(const char *id, tcm_date today, tcm_id_number_info *out) {
    return tcm_id_number_validate(id, strlen(id), today, out);
}

void test_id_numbers(void) {
    tcm_id_number_info info;
    tcm_date today = date(2026, 3, 15);
    char id[19];

    /* Published vectors. */
    CHECK_OK(validate("11010519491231002X", today, &info));
    CHECK(info.birth_date.year == 1949 && info.birth_date.month == 12 &&
          info.birth_date.day == 31);
    CHECK(info.sex == TCM_SEX_FEMALE); /* sequence 002: even */
    CHECK(info.region_code == 110105);
    CHECK(strcmp(info.normalized, "11010519491231002X") == 0);
    CHECK_OK(validate("513101198201130014", today, &info));
    CHECK(info.sex == TCM_SEX_MALE); /* 001: odd */
    CHECK(info.birth_date.year == 1982 && info.birth_date.month == 1);
    CHECK_OK(validate("34052419800101001X", today, &info));
    CHECK_OK(validate("370101190102039973", today, &info));
    CHECK(info.birth_date.year == 1901 && info.birth_date.month == 2 &&
          info.birth_date.day == 3);

    /* Lowercase x and surrounding whitespace are accepted; the output is normalised. */
    CHECK_OK(validate(" 11010519491231002x\r\n", today, &info));
    CHECK(strcmp(info.normalized, "11010519491231002X") == 0);
    /* Legacy 15 digits: "19" inserted, check character computed. */
    CHECK_OK(validate("110105491231002", today, &info));
    CHECK(strcmp(info.normalized, "11010519491231002X") == 0);

    /* The check character catches a mistyped digit. */
    CHECK_ST(validate("11010519491231002 1", today, &info), TCM_STATUS_ID_WRONG_LENGTH);
    CHECK_ST(validate("110105194912310021", today, &info), TCM_STATUS_ID_BAD_CHECK_CHAR);
    CHECK_ST(validate("11010519491231003X", today, &info), TCM_STATUS_ID_BAD_CHECK_CHAR);
    CHECK_ST(validate("1101051949123100", today, &info), TCM_STATUS_ID_WRONG_LENGTH);
    CHECK_ST(validate("1101051949123A002X", today, &info), TCM_STATUS_ID_NON_DIGIT);
    CHECK_ST(validate("11010519491231002X", date(1949, 12, 30), &info),
             TCM_STATUS_ID_BIRTH_DATE_IN_FUTURE);
    CHECK_OK(validate("11010519491231002X", date(1949, 12, 31), &info)); /* same day */

    /* A valid check character on an impossible date or an unknown province. */
    memcpy(id, "11010519490231002", 17); /* 31 February */
    id[17] = check_char(id);
    id[18] = '\0';
    CHECK_ST(validate(id, today, &info), TCM_STATUS_ID_INVALID_BIRTH_DATE);
    memcpy(id, "99010519491231002", 17);
    id[17] = check_char(id);
    CHECK_ST(validate(id, today, &info), TCM_STATUS_ID_UNKNOWN_REGION);

    CHECK_ST(validate("11010519491231002X", date(2026, 2, 30), &info),
             TCM_STATUS_TIME_INVALID_DATE);
    CHECK_ST(tcm_id_number_validate("\xff\xfe", 2, today, &info), TCM_STATUS_TEXT_NOT_UTF8);
    CHECK_ST(tcm_id_number_validate(NULL, 18, today, &info), TCM_STATUS_NULL_POINTER);
    CHECK_ST(validate("11010519491231002X", today, NULL), TCM_STATUS_NULL_POINTER);
}
