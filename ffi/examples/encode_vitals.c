/* Builds a vital-signs record, frames it for a serial line, decodes it back.
 * cc -std=c99 encode_vitals.c $(pkg-config --cflags --libs tcmcare) */
#include <stdio.h>

#include "tcmcare.h"

int main(void) {
    tcm_record r;
    tcm_record back;
    uint8_t frame[TCM_MAX_RECORD_FRAME_LEN];
    size_t n = 0;
    size_t len = 0;
    char msg[128];
    tcm_status s;

    tcm_record_init(&r, TCM_RECORD_KIND_VITALS);
    r.header.id.device = 7; /* kiosk 7, storage epoch 1, record 42 */
    r.header.id.epoch = 1;
    r.header.id.seq = 42;
    r.header.care_home = 3101;
    r.header.resident = 1234; /* pseudonymous resident number */
    r.header.time_known = 1;
    r.header.utc_seconds = 1773563400; /* 2026-03-15T08:30:00Z */
    r.body.vitals.present = TCM_VITAL_SYSTOLIC | TCM_VITAL_DIASTOLIC | TCM_VITAL_PULSE;
    r.body.vitals.systolic_mmhg = 152;
    r.body.vitals.diastolic_mmhg = 94;
    r.body.vitals.pulse_per_min = 76;

    s = tcm_record_encode_frame(&r, frame, sizeof frame, &n);
    if (s != TCM_STATUS_OK) {
        tcm_status_message(s, msg, sizeof msg, &len);
        fprintf(stderr, "cannot encode: %s\n", msg);
        return 1;
    }
    printf("frame of %u bytes\n", (unsigned)n);

    /* ... write(fd, frame, n) to the serial line; on the other side: */
    s = tcm_frame_decode_record(frame, n, &back);
    if (s != TCM_STATUS_OK) {
        tcm_status_message(s, msg, sizeof msg, &len);
        fprintf(stderr, "cannot decode: %s\n", msg);
        return 1;
    }
    printf("%u/%u mmHg, pulse %u, hypertension alert: %s\n", back.body.vitals.systolic_mmhg,
           back.body.vitals.diastolic_mmhg, back.body.vitals.pulse_per_min,
           (back.body.vitals.alerts & TCM_ALERT_HYPERTENSION) ? "yes" : "no");
    return 0;
}
