/* C tests of libtcmcare: golden vectors byte-identical with Rust, malformed input, NULL
 * pointers, short buffers and every status. Prints "<label>: N passed, M failed" and
 * exits non-zero on any failure. argv[1] is the label (default "C tests"). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "vectors.h"

/* Handle misuse (test_misuse.c). */
void test_misuse(void);
/* The store schema (test_store.c). */
void test_store(void);

unsigned checks_passed;
unsigned checks_failed;

const char *status_name(uint32_t value) {
    size_t i;
    for (i = 0; i < STATUS_COUNT; i++) {
        if (STATUSES[i].value == value) {
            return STATUSES[i].name;
        }
    }
    return "?";
}

const test_vector *find_vector(const char *name) {
    size_t i;
    for (i = 0; i < VECTOR_COUNT; i++) {
        if (strcmp(VECTORS[i].name, name) == 0) {
            return &VECTORS[i];
        }
    }
    check_true(0, name, __FILE__, __LINE__);
    return NULL;
}

static void print_detail(void) {
    char detail[256];
    size_t n = 0;
    if (tcm_last_error_detail(detail, sizeof detail, &n) == TCM_STATUS_OK && n > 0) {
        fprintf(stderr, "    detail: %s\n", detail);
    }
}

void check_true(int ok, const char *what, const char *file, int line) {
    if (ok) {
        checks_passed++;
        return;
    }
    checks_failed++;
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
}

void check_status(tcm_status got, tcm_status want, const char *call, const char *file,
                  int line) {
    if (got == want) {
        checks_passed++;
        return;
    }
    checks_failed++;
    fprintf(stderr, "FAIL %s:%d: %s\n    got %s (%u), want %s (%u)\n", file, line, call,
            status_name(got), (unsigned)got, status_name(want), (unsigned)want);
    print_detail();
}

void check_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
                 const char *what, const char *file, int line) {
    size_t i;
    if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0)) {
        checks_passed++;
        return;
    }
    checks_failed++;
    fprintf(stderr, "FAIL %s:%d: %s differs\n    got  ", file, line, what);
    for (i = 0; i < got_len; i++) {
        fprintf(stderr, "%02x", got[i]);
    }
    fprintf(stderr, "\n    want ");
    for (i = 0; i < want_len; i++) {
        fprintf(stderr, "%02x", want[i]);
    }
    fprintf(stderr, "\n");
}

void set_text(char *field, size_t cap, const char *text, const char *file, int line) {
    size_t n = strlen(text);
    check_true(n < cap, "text fits its field", file, line);
    if (n < cap) {
        memcpy(field, text, n + 1);
    }
}

typedef void (*test_fn)(void);

int main(int argc, char **argv) {
    const char *label = argc > 1 ? argv[1] : "C tests";
    static const struct {
        const char *name;
        test_fn run;
    } tests[] = {
        {"status", test_status},
        {"vectors", test_vectors},
        {"records", test_records},
        {"frames", test_frames},
        {"constitution", test_constitution},
        {"numbers_and_gatt", test_numbers_and_gatt},
        {"id_numbers", test_id_numbers},
        {"sync", test_sync},
        {"seal", test_seal},
        {"misuse", test_misuse},
        {"store_schema", test_store},
    };
    unsigned passed = 0, failed = 0;
    size_t i;
    /* Each test function is one test; its checks are counted separately. */
    for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        unsigned before = checks_failed;
        tests[i].run();
        if (checks_failed == before) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAILED test %s\n", tests[i].name);
        }
    }
    printf("%s checks: %u passed, %u failed\n", label, checks_passed, checks_failed);
    printf("%s: %u passed, %u failed\n", label, passed, failed);
    return failed == 0 ? 0 : 1;
}
