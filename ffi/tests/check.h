/* A minimal test harness for the C tests of libtcmcare: counts checks, prints failures
 * with the status names and the library's error detail. */
#ifndef TCM_CHECK_H
#define TCM_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "tcmcare.h"

extern unsigned checks_passed;
extern unsigned checks_failed;

void check_true(int ok, const char *what, const char *file, int line);
void check_status(tcm_status got, tcm_status want, const char *call, const char *file,
                  int line);
void check_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
                 const char *what, const char *file, int line);

struct test_vector;
/* The golden vector with this name (a failed check and NULL if there is none). */
const struct test_vector *find_vector(const char *name);

/* The name of a status number (from the generated table), or "?". */
const char *status_name(uint32_t value);

#define CHECK(cond) check_true((cond) != 0, #cond, __FILE__, __LINE__)
#define CHECK_OK(call) check_status((call), TCM_STATUS_OK, #call, __FILE__, __LINE__)
#define CHECK_ST(call, want) check_status((call), (want), #call, __FILE__, __LINE__)
#define CHECK_BYTES(got, got_len, want, want_len) \
    check_bytes((got), (got_len), (want), (want_len), #got, __FILE__, __LINE__)

/* Copies a NUL-terminated string into a fixed char array field (asserting it fits). */
#define SET_TEXT(field, text) set_text((field), sizeof(field), (text), __FILE__, __LINE__)
void set_text(char *field, size_t cap, const char *text, const char *file, int line);

/* The test suites. */
void test_status(void);
void test_vectors(void);
void test_records(void);
void test_frames(void);
void test_constitution(void);
void test_numbers_and_gatt(void);
void test_id_numbers(void);
void test_sync(void);
void test_seal(void);

#endif
