/* The store schema: tcm_store_schema() hands out core's script (core/sql/store.sql, the one
 * the Python store runs too) and tcm_store_schema_version() its version. The tests run in
 * ffi/ (make -C ffi test); TCM_STORE_SQL names the file elsewhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define STORE_SQL_PATH "../core/sql/store.sql"

/* The file's bytes, NUL-terminated, in malloc'ed memory (NULL if unreadable). */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        size_t got;
        if (n + 1024 + 1 > cap) {
            char *bigger;
            cap = cap * 2 + 1024 + 1;
            bigger = realloc(buf, cap);
            if (bigger == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = bigger;
        }
        got = fread(buf + n, 1, 1024, f);
        n += got;
        if (got < 1024) {
            break;
        }
    }
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    } else {
        buf[n] = '\0';
        *len = n;
    }
    fclose(f);
    return buf;
}

static void test_schema_text(void) {
    const char *sql = NULL;
    size_t len = 0;
    const char *path = getenv("TCM_STORE_SQL") != NULL ? getenv("TCM_STORE_SQL") : STORE_SQL_PATH;
    size_t file_len = 0;
    char *file = read_file(path, &file_len);

    CHECK_OK(tcm_store_schema(&sql, &len));
    CHECK(sql != NULL);
    if (sql == NULL) {
        free(file);
        return;
    }
    CHECK(len == strlen(sql));
    /* The same text as core's file, byte for byte. */
    check_true(file != NULL, "core/sql/store.sql is readable (run in ffi/ or set TCM_STORE_SQL)",
               __FILE__, __LINE__);
    if (file != NULL) {
        CHECK_BYTES((const uint8_t *)sql, len, (const uint8_t *)file, file_len);
    }
    free(file);
    /* Every table of the shared database, and the version row last. */
    CHECK(strstr(sql, "CREATE TABLE IF NOT EXISTS records (") != NULL);
    CHECK(strstr(sql, "CREATE TABLE IF NOT EXISTS watermarks (") != NULL);
    CHECK(strstr(sql, "CREATE TABLE IF NOT EXISTS meta (") != NULL);
    CHECK(strstr(sql, "CREATE TABLE IF NOT EXISTS devices (") != NULL);
    CHECK(strstr(sql, "CREATE TABLE IF NOT EXISTS device_keys (") != NULL);
    CHECK(strstr(sql, "CREATE TABLE IF NOT EXISTS seal_counters (") != NULL);
    CHECK(strstr(sql, "INSERT INTO meta (key, value) VALUES ('schema', '2')") != NULL);

    /* The same static string every time. */
    {
        const char *again = NULL;
        size_t again_len = 0;
        CHECK_OK(tcm_store_schema(&again, &again_len));
        CHECK(again == sql && again_len == len);
    }
}

static void test_schema_version(void) {
    uint32_t v = 0;
    CHECK_OK(tcm_store_schema_version(&v));
    CHECK(v == 2);
    CHECK(v == TCM_STORE_SCHEMA_VERSION);
}

static void test_null_pointers(void) {
    const char *sql = NULL;
    size_t len = 7;
    CHECK_ST(tcm_store_schema(NULL, &len), TCM_STATUS_NULL_POINTER);
    CHECK(len == 7); /* nothing written */
    CHECK_ST(tcm_store_schema(&sql, NULL), TCM_STATUS_NULL_POINTER);
    CHECK(sql == NULL);
    CHECK_ST(tcm_store_schema_version(NULL), TCM_STATUS_NULL_POINTER);
}

void test_store(void) {
    test_schema_text();
    test_schema_version();
    test_null_pointers();
}
