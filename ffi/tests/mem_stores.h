/* Fixtures of the C tests: in-memory stores (a receiver store for one stream, an
 * outbox) and a vitals envelope. */
#ifndef TCM_MEM_STORES_H
#define TCM_MEM_STORES_H

#include <stddef.h>
#include <stdint.h>

#include "tcmcare.h"

/* ---- an in-memory receiver store --------------------------------------------------- */

#define STORE_RECORDS 128
#define ENTRY_CAP 1024

typedef struct stored {
    uint32_t device, epoch, position;
    tcm_status status;
    uint8_t has_header;
    tcm_record_header header;
    uint8_t envelope[ENTRY_CAP];
    size_t len;
} stored;

typedef struct mem_store {
    uint32_t device, epoch, watermark; /* one stream is enough here */
    stored records[STORE_RECORDS];
    size_t count;
    unsigned commits;
    int fail_commits; /* the next n commits fail as "unavailable" */
} mem_store;

/* ---- an in-memory outbox ------------------------------------------------------------ */

#define OUTBOX_ENTRIES 32

typedef struct mem_outbox {
    int has_meta;
    tcm_outbox_meta meta;
    uint32_t positions[OUTBOX_ENTRIES];
    uint8_t entries[OUTBOX_ENTRIES][ENTRY_CAP];
    size_t lens[OUTBOX_ENTRIES];
    size_t count; /* entries [0, count) in append order */
} mem_outbox;

/* The receiver store's callbacks (`ctx` is a `mem_store`). */
uint32_t mem_store_watermark(void *ctx, uint32_t device, uint32_t epoch, uint32_t *wm);
uint32_t mem_store_commit(void *ctx, const tcm_commit *c);

/* The outbox storage callbacks over `o`. */
tcm_outbox_storage outbox_storage(mem_outbox *o);

/* Encodes a vitals record of `device`, epoch 1, sequence `seq` (blood pressure
 * `systolic`/80) into `out`; returns its length. */
size_t vitals_envelope(uint32_t device, uint32_t seq, uint16_t systolic, uint8_t *out,
                       size_t cap);

#endif
