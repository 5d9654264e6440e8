/*
 * kiosk_sim.c: a kiosk simulator that drives examples/terminal.c over TCP.
 *
 * It makes N vital-signs records, keeps them in an in-memory outbox and syncs them to the
 * terminal with the sync sender: hello, batches, acks, resends after losses. It exits 0
 * once every record is acknowledged.
 *
 * Usage:
 *   kiosk_sim --connect PORT [--records N] [--device D] [--mtu BYTES] [--drop K]
 *             [--capture FILE] [--seal-state FILE]
 *   kiosk_sim --connect PORT --provision --seal-state FILE
 *
 *   --seal-state FILE  seal every frame: the kiosk's credentials and counter lease live
 *                   in FILE (written by --provision); the device id comes from there.
 *                   Without it the frames travel unsealed (the terminal needs
 *                   --trusted-link).
 *   --provision     provisioning mode (a real kiosk: a button held at power-up): take
 *                   the terminal's provisioning frame, store the credentials (the key
 *                   mixed with 16 random bytes) in the --seal-state FILE (0600), answer
 *                   with the confirmation that proves it holds the key (or 0xA2 and an
 *                   error code), log the key's fingerprint for staff to compare with the
 *                   terminal's, exit.
 *   --mtu BYTES     largest frame sent (default TCM_DEFAULT_MTU; small: more frames)
 *   --drop K        lose about one frame in K, at random (the sender resends what is
 *                   not acknowledged)
 *   --capture FILE  also write every byte sent to FILE (replay it into
 *                   `terminal --db ... < FILE`)
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tcmcare.h"

/* ---- an outbox in RAM (a real kiosk keeps it in flash; a terminal in its database) ---- */

#define MAX_ENTRIES 4096
#define ENTRY_CAP 1024

typedef struct ram_outbox {
    int has_meta;
    tcm_outbox_meta meta;
    size_t first; /* entries [first, count) are stored */
    size_t count;
    uint32_t positions[MAX_ENTRIES];
    uint8_t *entries[MAX_ENTRIES];
    size_t lens[MAX_ENTRIES];
} ram_outbox;

static uint32_t load_meta(void *ctx, uint8_t *found, tcm_outbox_meta *meta) {
    ram_outbox *o = ctx;
    *found = (uint8_t)o->has_meta;
    if (o->has_meta) {
        *meta = o->meta;
    }
    return TCM_STORE_RESULT_OK;
}

static uint32_t store_meta(void *ctx, const tcm_outbox_meta *meta) {
    ram_outbox *o = ctx;
    o->meta = *meta;
    o->has_meta = 1;
    return TCM_STORE_RESULT_OK;
}

static uint32_t append(void *ctx, uint32_t position, const uint8_t *entry, size_t len) {
    ram_outbox *o = ctx;
    uint8_t *copy;
    if (o->count == MAX_ENTRIES) {
        return TCM_STORE_RESULT_FULL;
    }
    copy = malloc(len);
    if (copy == NULL) {
        return TCM_STORE_RESULT_UNAVAILABLE;
    }
    memcpy(copy, entry, len);
    o->positions[o->count] = position;
    o->entries[o->count] = copy;
    o->lens[o->count] = len;
    o->count++;
    return TCM_STORE_RESULT_OK;
}

static uint32_t bounds(void *ctx, uint8_t *found, uint32_t *oldest, uint32_t *newest,
                       size_t *count) {
    ram_outbox *o = ctx;
    *found = o->count > o->first;
    if (*found) {
        *oldest = o->positions[o->first];
        *newest = o->positions[o->count - 1];
        *count = o->count - o->first;
    }
    return TCM_STORE_RESULT_OK;
}

static uint32_t remove_through(void *ctx, uint32_t position) {
    ram_outbox *o = ctx;
    while (o->first < o->count && o->positions[o->first] <= position) {
        free(o->entries[o->first]);
        o->entries[o->first] = NULL;
        o->first++;
    }
    return TCM_STORE_RESULT_OK;
}

static uint32_t read_from(void *ctx, uint32_t from, tcm_outbox_visit_fn visit, void *vctx) {
    ram_outbox *o = ctx;
    size_t i;
    for (i = o->first; i < o->count; i++) {
        if (o->positions[i] >= from &&
            !visit(vctx, o->positions[i], o->entries[i], o->lens[i])) {
            break;
        }
    }
    return TCM_STORE_RESULT_OK;
}

static uint32_t free_bytes(void *ctx, size_t *out) {
    ram_outbox *o = ctx;
    *out = (MAX_ENTRIES - o->count) * ENTRY_CAP;
    return TCM_STORE_RESULT_OK;
}

/* ---- the link ------------------------------------------------------------------------ */

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int connect_to(int port) {
    struct sockaddr_in addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the seal state in a file (a real kiosk keeps it in flash) ----------------------- */

static uint32_t seal_load(void *ctx, uint8_t *state, size_t cap, size_t *len) {
    FILE *f = fopen((const char *)ctx, "rb");
    *len = 0;
    if (f == NULL) {
        return errno == ENOENT ? TCM_STORE_RESULT_OK : TCM_STORE_RESULT_UNAVAILABLE;
    }
    *len = fread(state, 1, cap, f);
    fclose(f);
    return TCM_STORE_RESULT_OK;
}

/* Writes a temporary file and renames it over the old one: a crash leaves either. The
 * state holds the kiosk's key: the file is created 0600 (a leftover temporary file of
 * another mode is removed first, never reused). */
static uint32_t seal_store(void *ctx, const uint8_t *state, size_t len) {
    char tmp[512];
    FILE *f;
    int fd;
    int ok;
    snprintf(tmp, sizeof tmp, "%s.tmp", (const char *)ctx);
    if (unlink(tmp) != 0 && errno != ENOENT) {
        return TCM_STORE_RESULT_UNAVAILABLE;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, 0600);
    if (fd < 0) {
        return TCM_STORE_RESULT_UNAVAILABLE;
    }
    f = fdopen(fd, "wb");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return TCM_STORE_RESULT_UNAVAILABLE;
    }
    ok = fwrite(state, 1, len, f) == len;
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, (const char *)ctx) != 0) {
        return TCM_STORE_RESULT_UNAVAILABLE;
    }
    return TCM_STORE_RESULT_OK;
}

static int fail(const char *what, tcm_status s) {
    char msg[160];
    size_t n = 0;
    tcm_status_message(s, msg, sizeof msg, &n);
    fprintf(stderr, "kiosk_sim: %s: %s\n", what, msg);
    return 1;
}

/* Provisioning mode: one frame in, the credentials stored, one answer out. */
static int provision(int port, tcm_seal_store *seals) {
    uint8_t chunk[256], got[TCM_FRAME_DECODER_CAPACITY];
    uint8_t frame[2 * TCM_MAX_PROVISION_CONFIRM_LEN + 8];
    uint8_t confirmation[TCM_MAX_PROVISION_CONFIRM_LEN];
    char fp[TCM_KEY_FINGERPRINT_LEN];
    tcm_frame_decoder *dec = NULL;
    uint64_t deadline = now_ms() + 30000;
    int fd = connect_to(port);
    int rc = 1;
    if (fd < 0) {
        fprintf(stderr, "kiosk_sim: cannot connect to port %d\n", port);
        return 1;
    }
    tcm_frame_decoder_new(&dec);
    while (rc != 0 && now_ms() < deadline) {
        struct pollfd pfd;
        const uint8_t *p = chunk;
        ssize_t r;
        pfd.fd = fd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, 200) <= 0) {
            continue;
        }
        r = read(fd, chunk, sizeof chunk);
        if (r <= 0) {
            break;
        }
        while (r > 0 && rc != 0) {
            size_t used = 0, glen = 0, flen = 0, clen = 0;
            tcm_seal_info info;
            uint8_t answer[2] = {0xA2, 0};
            tcm_status s = tcm_frame_decoder_feed(dec, p, (size_t)r, &used, got, sizeof got, &glen);
            p += used;
            r -= (ssize_t)used;
            if (s != TCM_STATUS_OK) {
                if (s == TCM_STATUS_NEED_MORE_INPUT) {
                    break;
                }
                continue;
            }
            s = tcm_seal_accept_provision(seals, got, glen, 1, &info, confirmation,
                                          sizeof confirmation, &clen, fp);
            memset(got, 0, sizeof got);
            if (s == TCM_STATUS_OK) {
                /* The confirmation proves to the terminal that this kiosk holds the key. */
                s = tcm_frame_encode(confirmation, clen, frame, sizeof frame, &flen);
            } else {
                /* 1 not in provisioning mode; 2 malformed; 3 stale; 4 storage failed. */
                answer[1] = s == TCM_STATUS_SEAL_NOT_IN_PROVISIONING_MODE ? 1
                            : s == TCM_STATUS_SEAL_PROVISION_MALFORMED    ? 2
                            : s == TCM_STATUS_SEAL_PROVISION_STALE        ? 3
                                                                          : 4;
                tcm_frame_encode(answer, sizeof answer, frame, sizeof frame, &flen);
                fail("provisioning", s);
                if (write(fd, frame, flen) != (ssize_t)flen) {
                    fprintf(stderr, "kiosk_sim: cannot send the refusal\n");
                }
                break;
            }
            if (s != TCM_STATUS_OK || write(fd, frame, flen) != (ssize_t)flen) {
                fprintf(stderr, "kiosk_sim: cannot send the provisioning confirmation\n");
                break;
            }
            fprintf(stderr,
                    "kiosk_sim: provisioned: device %u, epoch %u, key id %u, key fingerprint %s\n",
                    (unsigned)info.device, (unsigned)info.epoch, (unsigned)info.key_id, fp);
            rc = 0;
        }
    }
    tcm_frame_decoder_free(dec);
    close(fd);
    return rc;
}

int main(int argc, char **argv) {
    static ram_outbox outbox;
    const char *seal_path = NULL;
    int provisioning = 0;
    tcm_seal_store seals;
    int port = 0;
    unsigned records = 20;
    unsigned device = 9;
    unsigned drop = 0;
    unsigned sent_frames = 0;
    uint32_t rng = 20260315u; /* a fixed seed: the same losses every run */
    const char *capture_path = NULL;
    FILE *capture = NULL;
    tcm_outbox_storage storage;
    tcm_sender_config config;
    tcm_sender *tx = NULL;
    tcm_frame_decoder *dec = NULL;
    tcm_sender_info info;
    uint64_t deadline;
    unsigned i;
    int fd;
    int rc = 1;
    tcm_status s;

    tcm_sender_config_default(&config);
    for (i = 1; i < (unsigned)argc; i++) {
        if (strcmp(argv[i], "--connect") == 0 && i + 1 < (unsigned)argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--records") == 0 && i + 1 < (unsigned)argc) {
            records = (unsigned)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < (unsigned)argc) {
            device = (unsigned)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--mtu") == 0 && i + 1 < (unsigned)argc) {
            config.mtu = (size_t)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--drop") == 0 && i + 1 < (unsigned)argc) {
            drop = (unsigned)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--capture") == 0 && i + 1 < (unsigned)argc) {
            capture_path = argv[++i];
        } else if (strcmp(argv[i], "--seal-state") == 0 && i + 1 < (unsigned)argc) {
            seal_path = argv[++i];
        } else if (strcmp(argv[i], "--provision") == 0) {
            provisioning = 1;
        } else {
            port = 0;
            break;
        }
    }
    if (port <= 0 || records > MAX_ENTRIES || device == 0 || (provisioning && !seal_path)) {
        fprintf(stderr, "usage: kiosk_sim --connect PORT [--records N] [--device D] "
                        "[--mtu BYTES] [--drop K] [--capture FILE] [--seal-state FILE]\n"
                        "       kiosk_sim --connect PORT --provision --seal-state FILE\n");
        return 2;
    }
    seals.ctx = (void *)seal_path;
    seals.load = seal_load;
    seals.store = seal_store;
    if (provisioning) {
        return provision(port, &seals);
    }

    storage.ctx = &outbox;
    storage.load_meta = load_meta;
    storage.store_meta = store_meta;
    storage.append = append;
    storage.bounds = bounds;
    storage.remove_through = remove_through;
    storage.read_from = read_from;
    storage.free_bytes = free_bytes;
    if (seal_path != NULL) {
        s = tcm_sender_new_sealed(&storage, &seals, &config, 1, 1, &tx);
    } else {
        s = tcm_sender_new(&storage, device, 1, &config, 1, 1, &tx);
    }
    if (s != TCM_STATUS_OK) {
        return fail("sender", s);
    }
    tcm_sender_get_info(tx, &info);
    device = info.device; /* sealed: the provisioned identity */

    /* The kiosk's measurements: one vital-signs record per resident visit. */
    for (i = 0; i < records; i++) {
        tcm_record r;
        uint8_t env[TCM_MAX_ENVELOPE_LEN];
        size_t n = 0;
        uint32_t seq = 0;
        uint32_t pos = 0;
        tcm_sender_next_seq(tx, &seq);
        tcm_record_init(&r, TCM_RECORD_KIND_VITALS);
        r.header.id.device = device;
        r.header.id.epoch = info.epoch;
        r.header.id.seq = seq;
        r.header.care_home = 3101;
        r.header.resident = 1000 + i % 50;
        r.header.time_known = 1;
        r.header.utc_seconds = 1773563400u + i * 60u;
        r.body.vitals.present = TCM_VITAL_SYSTOLIC | TCM_VITAL_DIASTOLIC | TCM_VITAL_PULSE |
                                TCM_VITAL_SPO2;
        r.body.vitals.systolic_mmhg = (uint16_t)(110 + i % 60);
        r.body.vitals.diastolic_mmhg = (uint16_t)(70 + i % 25);
        r.body.vitals.pulse_per_min = (uint16_t)(60 + i % 40);
        r.body.vitals.spo2_percent = (uint8_t)(92 + i % 8);
        s = tcm_record_encode(&r, env, sizeof env, &n);
        if (s == TCM_STATUS_OK) {
            s = tcm_sender_push(tx, env, n, &pos);
        }
        if (s != TCM_STATUS_OK) {
            tcm_sender_free(tx);
            return fail("record", s);
        }
    }

    fd = connect_to(port);
    if (fd < 0) {
        fprintf(stderr, "kiosk_sim: cannot connect to port %d: %s\n", port, strerror(errno));
        tcm_sender_free(tx);
        return 1;
    }
    if (capture_path != NULL) {
        capture = fopen(capture_path, "wb");
    }
    tcm_frame_decoder_new(&dec);

    deadline = now_ms() + 30000;
    while (now_ms() < deadline) {
        uint8_t payload[TCM_DEFAULT_MTU];
        uint8_t frame[2 * TCM_DEFAULT_MTU];
        uint8_t got[TCM_FRAME_DECODER_CAPACITY];
        uint8_t chunk[512];
        size_t n = 0;
        size_t flen = 0;
        uint8_t has_timeout = 0;
        uint64_t at = 0;
        int wait_ms = 200;
        struct pollfd pfd;

        /* Send everything that is due. */
        for (;;) {
            s = tcm_sender_poll_transmit(tx, now_ms(), payload, sizeof payload, &n);
            if (s != TCM_STATUS_OK || n == 0) {
                break;
            }
            tcm_frame_encode(payload, n, frame, sizeof frame, &flen);
            sent_frames++;
            rng = rng * 1664525u + 1013904223u;
            if (drop != 0 && (rng >> 16) % drop == 0) {
                continue; /* lost on the line */
            }
            if (capture != NULL) {
                fwrite(frame, 1, flen, capture);
            }
            if (write(fd, frame, flen) != (ssize_t)flen) {
                fprintf(stderr, "kiosk_sim: write failed\n");
                goto done;
            }
        }
        tcm_sender_get_info(tx, &info);
        if (info.pending == 0 && info.streaming) {
            rc = 0;
            break;
        }
        if (info.stop_reason != TCM_STOP_REASON_NONE) {
            fprintf(stderr, "kiosk_sim: sender stopped (%u)\n", (unsigned)info.stop_reason);
            break;
        }

        /* Wait for a reply or the next timer. */
        tcm_sender_next_timeout(tx, &has_timeout, &at);
        if (has_timeout) {
            uint64_t now = now_ms();
            wait_ms = at > now ? (int)(at - now < 200 ? at - now : 200) : 0;
        }
        pfd.fd = fd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, wait_ms) > 0) {
            ssize_t r = read(fd, chunk, sizeof chunk);
            const uint8_t *p = chunk;
            size_t left;
            if (r <= 0) {
                fprintf(stderr, "kiosk_sim: terminal closed the line\n");
                goto done;
            }
            left = (size_t)r;
            while (left > 0) {
                size_t used = 0;
                size_t glen = 0;
                tcm_sender_event ev;
                s = tcm_frame_decoder_feed(dec, p, left, &used, got, sizeof got, &glen);
                p += used;
                left -= used;
                if (s == TCM_STATUS_NEED_MORE_INPUT) {
                    break;
                }
                if (s == TCM_STATUS_OK) {
                    tcm_sender_handle(tx, now_ms(), got, glen, &ev);
                }
            }
        }
    }
    if (rc != 0) {
        fprintf(stderr, "kiosk_sim: not every record was acknowledged\n");
    } else {
        fprintf(stderr, "kiosk_sim: %u records acknowledged (%u frames sent)\n", records,
                sent_frames);
    }

done:
    if (capture != NULL) {
        fclose(capture);
    }
    close(fd);
    tcm_frame_decoder_free(dec);
    tcm_sender_free(tx);
    for (i = (unsigned)outbox.first; i < outbox.count; i++) {
        free(outbox.entries[i]);
    }
    return rc;
}
