/*
 * terminal_script.c: the terminal's scripted day (see terminal_script.h for the format).
 *
 * Entries and their keys (`by=` is the staff number of who did it):
 *
 *   register      born=YYYY-MM-DD [sex=male|female|unknown]
 *                 [conditions=hypertension,diabetes,stroke_high_risk]
 *                 [consent=tcm_services,data_sharing,kiosk_use]  (default: all three)
 *                 [status=active|discharged|deceased]
 *   vitals        [sys=mmHg dia=mmHg] [pulse=/min] [spo2=%] [temp=36.8 (degrees C)]
 *                 [weight=61.5 (kg)] [height=158.5 (cm)] [waist=82 (cm)]
 *                 [glucose=6.1 (mmol/L)] [context=fasting|random|postprandial_2h]
 *                 (keyed in by staff: source "manual")
 *   constitution  answers=33 digits 1..5 (or a comma list) by=N
 *                 [guidance=emotion,diet,daily_life,exercise,acupoint]
 *                 (the guidance categories given for the primary constitution(s); default
 *                 all five)
 *   treatment     technique=NAME [acupoints=ST36,CV4] minutes=N by=N
 *                 [outcome=completed|stopped_early|refused] [adverse=none|...] [note="..."]
 *   prescription  doses=N herbs=NAME:GRAMS,... by=N [label=NAME] [note="..."]
 *   herbal        stage=decocted|dispatched|delivered|received of=LABEL by=N [note="..."]
 *   follow-up     condition=hypertension|diabetes|stroke_high_risk by=N
 *                 [control=satisfactory|unsatisfactory|adverse_reaction|complication]
 *                 [guidance=CATEGORIES] [interventions=TECHNIQUE,...] [next=YYYY-MM-DD]
 *
 * Technique names are those of the Python bindings and the JSON view (`moxibustion`,
 * `tuina`, `gua_sha`, `baduanjin`...).
 */
#define _POSIX_C_SOURCE 200809L

#include "terminal_script.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 2048
#define MAX_TOKENS 48
#define MAX_LABEL 32

typedef struct entry {
    uint64_t utc;
    int line;
    int prescription_of; /* index of the prescription entry this herbal event follows, -1 */
    char label[MAX_LABEL];
    tcm_record record;
} entry;

struct script {
    entry *entries;
    size_t count;
    size_t cap;
    size_t *order; /* entry indices by time (file order among equal times) */
    size_t next;   /* in `order` */
};

/* ---- names ------------------------------------------------------------------------ */

typedef struct name_code {
    const char *name;
    uint8_t code;
} name_code;

static const name_code TECHNIQUES[] = {
    {"acupuncture", TCM_TECHNIQUE_ACUPUNCTURE},
    {"moxibustion", TCM_TECHNIQUE_MOXIBUSTION},
    {"cupping", TCM_TECHNIQUE_CUPPING},
    {"tuina", TCM_TECHNIQUE_TUINA},
    {"gua_sha", TCM_TECHNIQUE_GUA_SHA},
    {"auricular_pressing", TCM_TECHNIQUE_AURICULAR_PRESSING},
    {"acupoint_application", TCM_TECHNIQUE_ACUPOINT_APPLICATION},
    {"herbal_foot_bath", TCM_TECHNIQUE_HERBAL_FOOT_BATH},
    {"acupoint_massage", TCM_TECHNIQUE_ACUPOINT_MASSAGE},
    {"baduanjin", TCM_TECHNIQUE_BADUANJIN},
    {"tai_chi", TCM_TECHNIQUE_TAI_CHI},
    {"wuqinxi", TCM_TECHNIQUE_WUQINXI},
    {"liuzijue", TCM_TECHNIQUE_LIUZIJUE},
    {"electroacupuncture", TCM_TECHNIQUE_ELECTROACUPUNCTURE},
    {"acupoint_injection", TCM_TECHNIQUE_ACUPOINT_INJECTION},
    {"intradermal_needle", TCM_TECHNIQUE_INTRADERMAL_NEEDLE},
    {NULL, 0}};

static const name_code GUIDANCE[] = {
    {"emotion", TCM_GUIDANCE_CATEGORY_EMOTION},
    {"diet", TCM_GUIDANCE_CATEGORY_DIET},
    {"daily_life", TCM_GUIDANCE_CATEGORY_DAILY_LIFE},
    {"exercise", TCM_GUIDANCE_CATEGORY_EXERCISE},
    {"acupoint", TCM_GUIDANCE_CATEGORY_ACUPOINT},
    {NULL, 0}};

static const name_code CONDITIONS[] = {{"hypertension", TCM_CONDITION_HYPERTENSION},
                                       {"diabetes", TCM_CONDITION_DIABETES},
                                       {"stroke_high_risk", TCM_CONDITION_STROKE_HIGH_RISK},
                                       {NULL, 0}};

static const name_code CHRONIC[] = {{"hypertension", TCM_CHRONIC_CONDITION_HYPERTENSION},
                                    {"diabetes", TCM_CHRONIC_CONDITION_DIABETES},
                                    {"stroke_high_risk", TCM_CHRONIC_CONDITION_STROKE_HIGH_RISK},
                                    {NULL, 0}};

static const name_code CONSENT[] = {{"tcm_services", TCM_CONSENT_TCM_SERVICES},
                                    {"data_sharing", TCM_CONSENT_DATA_SHARING},
                                    {"kiosk_use", TCM_CONSENT_KIOSK_USE},
                                    {NULL, 0}};

static const name_code SEX[] = {
    {"unknown", TCM_SEX_UNKNOWN}, {"male", TCM_SEX_MALE}, {"female", TCM_SEX_FEMALE}, {NULL, 0}};

static const name_code RESIDENCY[] = {{"active", TCM_RESIDENCY_STATUS_ACTIVE},
                                      {"discharged", TCM_RESIDENCY_STATUS_DISCHARGED},
                                      {"deceased", TCM_RESIDENCY_STATUS_DECEASED},
                                      {NULL, 0}};

static const name_code OUTCOMES[] = {{"completed", TCM_TREATMENT_OUTCOME_COMPLETED},
                                     {"stopped_early", TCM_TREATMENT_OUTCOME_STOPPED_EARLY},
                                     {"refused", TCM_TREATMENT_OUTCOME_REFUSED},
                                     {NULL, 0}};

static const name_code ADVERSE[] = {{"none", TCM_ADVERSE_EVENT_NONE},
                                    {"fainting", TCM_ADVERSE_EVENT_FAINTING},
                                    {"burn", TCM_ADVERSE_EVENT_BURN},
                                    {"bruising", TCM_ADVERSE_EVENT_BRUISING},
                                    {"bleeding", TCM_ADVERSE_EVENT_BLEEDING},
                                    {"needle_incident", TCM_ADVERSE_EVENT_NEEDLE_INCIDENT},
                                    {"skin_reaction", TCM_ADVERSE_EVENT_SKIN_REACTION},
                                    {"other", TCM_ADVERSE_EVENT_OTHER},
                                    {NULL, 0}};

static const name_code STAGES[] = {{"decocted", TCM_HERBAL_STAGE_DECOCTED},
                                   {"dispatched", TCM_HERBAL_STAGE_DISPATCHED},
                                   {"delivered", TCM_HERBAL_STAGE_DELIVERED},
                                   {"received", TCM_HERBAL_STAGE_RECEIVED},
                                   {NULL, 0}};

static const name_code CONTROL[] = {
    {"satisfactory", TCM_CONDITION_CONTROL_SATISFACTORY},
    {"unsatisfactory", TCM_CONDITION_CONTROL_UNSATISFACTORY},
    {"adverse_reaction", TCM_CONDITION_CONTROL_ADVERSE_REACTION},
    {"complication", TCM_CONDITION_CONTROL_COMPLICATION},
    {NULL, 0}};

static const name_code CONTEXTS[] = {{"fasting", TCM_GLUCOSE_CONTEXT_FASTING},
                                     {"random", TCM_GLUCOSE_CONTEXT_RANDOM},
                                     {"postprandial_2h", TCM_GLUCOSE_CONTEXT_POSTPRANDIAL2H},
                                     {NULL, 0}};

static int lookup(const name_code *table, const char *name, uint8_t *code) {
    for (; table->name != NULL; table++) {
        if (strcmp(table->name, name) == 0) {
            *code = table->code;
            return 0;
        }
    }
    return -1;
}

/* ---- small parsers ----------------------------------------------------------------- */

/* Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long days_from_civil(long y, unsigned m, unsigned d) {
    long era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static int parse_date(const char *text, unsigned *y, unsigned *m, unsigned *d) {
    int n = 0;
    if (sscanf(text, "%4u-%2u-%2u%n", y, m, d, &n) != 3 || text[n] != '\0' || *m < 1 ||
        *m > 12 || *d < 1 || *d > 31) {
        return -1;
    }
    return 0;
}

long script_parse_date_days(const char *text) {
    unsigned y, m, d;
    if (parse_date(text, &y, &m, &d) != 0) {
        return -1;
    }
    return days_from_civil((long)y, m, d);
}

static int parse_u32(const char *text, uint32_t *out) {
    char *end = NULL;
    unsigned long v;
    if (!isdigit((unsigned char)text[0])) {
        return -1;
    }
    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > 0xFFFFFFFFul) {
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* A decimal number with at most `digits` decimals, scaled by 10^digits ("36.8", 2 ->
 * 3680). */
static int parse_fixed(const char *text, unsigned digits, uint32_t *out) {
    uint64_t v = 0;
    unsigned decimals = 0;
    int seen_point = 0;
    const char *p = text;
    if (*p == '\0') {
        return -1;
    }
    for (; *p != '\0'; p++) {
        if (*p == '.' && !seen_point) {
            seen_point = 1;
            continue;
        }
        if (!isdigit((unsigned char)*p) || (seen_point && decimals == digits)) {
            return -1;
        }
        v = v * 10 + (uint64_t)(*p - '0');
        decimals += (unsigned)seen_point;
        if (v > 0xFFFFFFFFull) {
            return -1;
        }
    }
    for (; decimals < digits; decimals++) {
        v *= 10;
    }
    if (v > 0xFFFFFFFFull) {
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* Copies UTF-8 text into a fixed array; -1 when it does not fit. */
static int copy_text(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) {
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

/* Calls `each(item, ctx)` for each comma-separated item of `list` (modified in place). */
static int for_each_item(char *list, int (*each)(const char *item, void *ctx), void *ctx) {
    char *save = NULL;
    char *item = strtok_r(list, ",", &save);
    for (; item != NULL; item = strtok_r(NULL, ",", &save)) {
        if (each(item, ctx) != 0) {
            return -1;
        }
    }
    return 0;
}

typedef struct bits_ctx {
    const name_code *table;
    uint32_t bits;
    int as_bit_index; /* 1: code is a bit index (1 << code); 0: code is the bit */
} bits_ctx;

static int add_bit(const char *item, void *vctx) {
    bits_ctx *c = vctx;
    uint8_t code;
    if (lookup(c->table, item, &code) != 0) {
        return -1;
    }
    c->bits |= c->as_bit_index ? (1u << code) : code;
    return 0;
}

static int parse_bits(char *list, const name_code *table, int as_bit_index, uint32_t *out) {
    bits_ctx c;
    c.table = table;
    c.bits = 0;
    c.as_bit_index = as_bit_index;
    if (strcmp(list, "none") != 0 && for_each_item(list, add_bit, &c) != 0) {
        return -1;
    }
    *out = c.bits;
    return 0;
}

/* ---- tokens ----------------------------------------------------------------------- */

/* Splits a line into words at blanks; `key="a b"` keeps the quoted blanks (and drops the
 * quotes). Returns the number of words or -1. */
static int tokenize(char *line, char **words, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        char *out;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0' || *p == '#') {
            return n;
        }
        if (n == max) {
            return -1;
        }
        words[n++] = p;
        out = p;
        while (*p != '\0' && *p != ' ' && *p != '\t') {
            if (*p == '"') {
                p++;
                while (*p != '\0' && *p != '"') {
                    *out++ = *p++;
                }
                if (*p != '"') {
                    return -1;
                }
                p++;
                continue;
            }
            *out++ = *p++;
        }
        if (*p != '\0') {
            p++;
        }
        *out = '\0';
    }
}

/* ---- loading ---------------------------------------------------------------------- */

typedef struct loader {
    script *s;
    const char *path;
    int line;
    char *err;
    size_t err_len;
    long day;           /* days since 1970-01-01, -1 until `day` */
    long offset_s;      /* UTC offset of the times, seconds */
    uint32_t care_home; /* 0 until `care-home` */
} loader;

static int fail(loader *l, const char *fmt, ...) {
    va_list ap;
    int n = snprintf(l->err, l->err_len, "%s:%d: ", l->path, l->line);
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < l->err_len) {
        vsnprintf(l->err + n, l->err_len - (size_t)n, fmt, ap);
    }
    va_end(ap);
    return -1;
}

/* The value of `key=` among the words (NULL if absent); marks the word used. */
static char *value_of(char **words, int n, int *used, const char *key) {
    size_t k = strlen(key);
    int i;
    for (i = 3; i < n; i++) {
        if (strncmp(words[i], key, k) == 0 && words[i][k] == '=') {
            used[i] = 1;
            return words[i] + k + 1;
        }
    }
    return NULL;
}

typedef struct acupoint_ctx {
    tcm_treatment *t;
} acupoint_ctx;

static int add_acupoint(const char *item, void *vctx) {
    acupoint_ctx *c = vctx;
    if (c->t->acupoint_count >= TCM_MAX_ACUPOINTS ||
        copy_text(c->t->acupoints[c->t->acupoint_count], TCM_ACUPOINT_CODE_CAPACITY, item) !=
            0) {
        return -1;
    }
    c->t->acupoint_count++;
    return 0;
}

static int add_herb(const char *item, void *vctx) {
    tcm_herbal *h = vctx;
    char name[TCM_HERB_NAME_CAPACITY + 1];
    const char *colon = strrchr(item, ':');
    uint32_t dg;
    size_t n;
    if (colon == NULL || h->herb_count >= TCM_MAX_HERBS) {
        return -1;
    }
    n = (size_t)(colon - item);
    if (n == 0 || n >= TCM_HERB_NAME_CAPACITY) {
        return -1;
    }
    memcpy(name, item, n);
    name[n] = '\0';
    if (parse_fixed(colon + 1, 1, &dg) != 0 || dg > 0xFFFF) {
        return -1;
    }
    memcpy(h->herbs[h->herb_count].name, name, n + 1);
    h->herbs[h->herb_count].decigrams = (uint16_t)dg;
    h->herb_count++;
    return 0;
}

static int add_intervention(const char *item, void *vctx) {
    tcm_follow_up *f = vctx;
    uint8_t code;
    if (f->intervention_count >= TCM_MAX_INTERVENTIONS || lookup(TECHNIQUES, item, &code) != 0) {
        return -1;
    }
    f->interventions[f->intervention_count++] = code;
    return 0;
}

static int staff(loader *l, char **w, int n, int *used, const char *alt, uint32_t *out) {
    const char *v = value_of(w, n, used, "by");
    if (v == NULL && alt != NULL) {
        v = value_of(w, n, used, alt);
    }
    if (v == NULL || parse_u32(v, out) != 0) {
        return fail(l, "by=STAFF_NUMBER missing or not a number");
    }
    return 0;
}

static int build_register(loader *l, tcm_record *r, char **w, int n, int *used) {
    tcm_resident *b = &r->body.resident;
    char *v;
    uint32_t bits;
    unsigned y, m, d;
    uint8_t code;
    v = value_of(w, n, used, "born");
    if (v == NULL || parse_date(v, &y, &m, &d) != 0) {
        return fail(l, "born=YYYY-MM-DD missing or not a date");
    }
    b->birth_date.year = (uint16_t)y;
    b->birth_date.month = (uint8_t)m;
    b->birth_date.day = (uint8_t)d;
    if ((v = value_of(w, n, used, "sex")) != NULL) {
        if (lookup(SEX, v, &code) != 0) {
            return fail(l, "sex=%s: male, female or unknown", v);
        }
        b->sex = code;
    }
    if ((v = value_of(w, n, used, "conditions")) != NULL) {
        if (parse_bits(v, CONDITIONS, 0, &bits) != 0) {
            return fail(l, "conditions: hypertension, diabetes, stroke_high_risk or none");
        }
        b->conditions = (uint8_t)bits;
    }
    b->consent = TCM_CONSENT_TCM_SERVICES | TCM_CONSENT_DATA_SHARING | TCM_CONSENT_KIOSK_USE;
    if ((v = value_of(w, n, used, "consent")) != NULL) {
        if (parse_bits(v, CONSENT, 0, &bits) != 0) {
            return fail(l, "consent: tcm_services, data_sharing, kiosk_use or none");
        }
        b->consent = (uint8_t)bits;
    }
    if ((v = value_of(w, n, used, "status")) != NULL) {
        if (lookup(RESIDENCY, v, &code) != 0) {
            return fail(l, "status=%s: active, discharged or deceased", v);
        }
        b->status = code;
    }
    return 0;
}

static int build_vitals(loader *l, tcm_record *r, char **w, int n, int *used) {
    tcm_vitals *v = &r->body.vitals;
    char *x;
    uint32_t u;
    uint8_t code;
    v->source = TCM_MEASUREMENT_SOURCE_MANUAL;
#define VITAL(key, digits, bit, field, type, max)                                            \
    if ((x = value_of(w, n, used, key)) != NULL) {                                           \
        if (parse_fixed(x, digits, &u) != 0 || u > (max)) {                                  \
            return fail(l, key "=%s is not a number", x);                                    \
        }                                                                                    \
        v->present |= (bit);                                                                 \
        v->field = (type)u;                                                                  \
    }
    VITAL("sys", 0, TCM_VITAL_SYSTOLIC, systolic_mmhg, uint16_t, 0xFFFF)
    VITAL("dia", 0, TCM_VITAL_DIASTOLIC, diastolic_mmhg, uint16_t, 0xFFFF)
    VITAL("pulse", 0, TCM_VITAL_PULSE, pulse_per_min, uint16_t, 0xFFFF)
    VITAL("spo2", 0, TCM_VITAL_SPO2, spo2_percent, uint8_t, 0xFF)
    VITAL("temp", 2, TCM_VITAL_TEMPERATURE, temperature_centi_c, int16_t, 0x7FFF)
    VITAL("weight", 3, TCM_VITAL_WEIGHT, weight_g, uint32_t, 0xFFFFFFFFu)
    VITAL("height", 1, TCM_VITAL_HEIGHT, height_mm, uint16_t, 0xFFFF)
    VITAL("waist", 1, TCM_VITAL_WAIST, waist_mm, uint16_t, 0xFFFF)
    VITAL("glucose", 3, TCM_VITAL_GLUCOSE, glucose_umol_l, uint32_t, 0xFFFFFFFFu)
#undef VITAL
    if (v->present & TCM_VITAL_TEMPERATURE) {
        v->temperature_site = TCM_TEMPERATURE_SITE_AXILLA;
    }
    if ((x = value_of(w, n, used, "context")) != NULL) {
        if (lookup(CONTEXTS, x, &code) != 0) {
            return fail(l, "context=%s: fasting, random or postprandial_2h", x);
        }
        v->glucose_context = code;
    }
    return 0;
}

static int build_constitution(loader *l, tcm_record *r, char **w, int n, int *used) {
    tcm_constitution_record *c = &r->body.constitution;
    tcm_constitution_assessment a;
    char *v = value_of(w, n, used, "answers");
    uint32_t categories = (1u << TCM_GUIDANCE_CATEGORY_EMOTION) |
                          (1u << TCM_GUIDANCE_CATEGORY_DIET) |
                          (1u << TCM_GUIDANCE_CATEGORY_DAILY_LIFE) |
                          (1u << TCM_GUIDANCE_CATEGORY_EXERCISE) |
                          (1u << TCM_GUIDANCE_CATEGORY_ACUPOINT);
    size_t count = 0;
    size_t i;
    tcm_status s;
    if (v == NULL) {
        return fail(l, "answers= missing");
    }
    for (; *v != '\0'; v++) {
        if (*v == ',') {
            continue;
        }
        if (*v < '1' || *v > '5' || count == TCM_ITEM_COUNT) {
            return fail(l, "answers: 33 answers, each 1..5");
        }
        c->answers[count++] = (uint8_t)(*v - '0');
    }
    if (count != TCM_ITEM_COUNT) {
        return fail(l, "answers: %u given, 33 needed", (unsigned)count);
    }
    if (staff(l, w, n, used, "assessor", &c->assessor) != 0) {
        return -1;
    }
    if ((v = value_of(w, n, used, "guidance")) != NULL &&
        parse_bits(v, GUIDANCE, 1, &categories) != 0) {
        return fail(l, "guidance: emotion, diet, daily_life, exercise, acupoint or none");
    }
    /* Score the form as the doctor's screen would, and record the guidance given for
     * the constitution(s) the guidance is based on. */
    s = tcm_constitution_assess(c->answers, &a);
    if (s != TCM_STATUS_OK) {
        return fail(l, "answers: the library refused them (%u)", (unsigned)s);
    }
    c->guidance_count = 0;
    for (i = 0; i < TCM_CONSTITUTION_COUNT && categories != 0; i++) {
        if (a.primary & (1u << i)) {
            c->guidance[c->guidance_count].constitution = (uint8_t)i;
            c->guidance[c->guidance_count].categories = (uint8_t)categories;
            c->guidance_count++;
        }
    }
    return 0;
}

static int build_treatment(loader *l, tcm_record *r, char **w, int n, int *used) {
    tcm_treatment *t = &r->body.treatment;
    acupoint_ctx ac;
    char *v;
    uint32_t u;
    uint8_t code;
    v = value_of(w, n, used, "technique");
    if (v == NULL || lookup(TECHNIQUES, v, &code) != 0) {
        return fail(l, "technique= missing or unknown");
    }
    t->technique = code;
    if ((v = value_of(w, n, used, "acupoints")) != NULL) {
        ac.t = t;
        if (for_each_item(v, add_acupoint, &ac) != 0) {
            return fail(l, "acupoints: at most %d codes like ST36", TCM_MAX_ACUPOINTS);
        }
    }
    v = value_of(w, n, used, "minutes");
    if (v == NULL || parse_u32(v, &u) != 0 || u > 0xFFFF) {
        return fail(l, "minutes= missing or not a number");
    }
    t->duration_min = (uint16_t)u;
    if (staff(l, w, n, used, "practitioner", &t->practitioner) != 0) {
        return -1;
    }
    if ((v = value_of(w, n, used, "outcome")) != NULL) {
        if (lookup(OUTCOMES, v, &code) != 0) {
            return fail(l, "outcome=%s: completed, stopped_early or refused", v);
        }
        t->outcome = code;
    }
    if ((v = value_of(w, n, used, "adverse")) != NULL) {
        if (lookup(ADVERSE, v, &code) != 0) {
            return fail(l, "adverse=%s unknown", v);
        }
        t->adverse_event = code;
    }
    if ((v = value_of(w, n, used, "note")) != NULL &&
        copy_text(t->note, TCM_NOTE_CAPACITY, v) != 0) {
        return fail(l, "note longer than %d bytes", TCM_NOTE_CAPACITY - 1);
    }
    return 0;
}

static int build_prescription(loader *l, entry *e, char **w, int n, int *used) {
    tcm_herbal *h = &e->record.body.herbal;
    char *v;
    uint32_t u;
    h->stage = TCM_HERBAL_STAGE_PRESCRIBED;
    v = value_of(w, n, used, "doses");
    if (v == NULL || parse_u32(v, &u) != 0 || u > 0xFF) {
        return fail(l, "doses= missing or not a number");
    }
    h->doses = (uint8_t)u;
    v = value_of(w, n, used, "herbs");
    if (v == NULL || for_each_item(v, add_herb, h) != 0) {
        return fail(l, "herbs=NAME:GRAMS,... missing or malformed");
    }
    if (staff(l, w, n, used, "actor", &h->actor) != 0) {
        return -1;
    }
    if ((v = value_of(w, n, used, "note")) != NULL &&
        copy_text(h->note, TCM_NOTE_CAPACITY, v) != 0) {
        return fail(l, "note longer than %d bytes", TCM_NOTE_CAPACITY - 1);
    }
    if ((v = value_of(w, n, used, "label")) != NULL && copy_text(e->label, MAX_LABEL, v) != 0) {
        return fail(l, "label too long");
    }
    return 0;
}

static int build_herbal(loader *l, entry *e, char **w, int n, int *used) {
    tcm_herbal *h = &e->record.body.herbal;
    char *v;
    uint8_t code;
    size_t i;
    v = value_of(w, n, used, "stage");
    if (v == NULL || lookup(STAGES, v, &code) != 0) {
        return fail(l, "stage= decocted, dispatched, delivered or received");
    }
    h->stage = code;
    v = value_of(w, n, used, "of");
    if (v == NULL) {
        return fail(l, "of=LABEL of the prescription missing");
    }
    e->prescription_of = -1;
    for (i = 0; i < l->s->count; i++) {
        if (strcmp(l->s->entries[i].label, v) == 0) {
            e->prescription_of = (int)i;
        }
    }
    if (e->prescription_of < 0) {
        return fail(l, "of=%s: no earlier prescription has that label", v);
    }
    if (l->s->entries[e->prescription_of].utc > e->utc) {
        return fail(l, "of=%s: the prescription is made later in the day", v);
    }
    h->has_prescription = 1;
    h->prescription.device = 1; /* placeholder until the prescription has its id */
    h->prescription.epoch = 1;
    h->prescription.seq = 1;
    if (staff(l, w, n, used, "actor", &h->actor) != 0) {
        return -1;
    }
    if ((v = value_of(w, n, used, "note")) != NULL &&
        copy_text(h->note, TCM_NOTE_CAPACITY, v) != 0) {
        return fail(l, "note longer than %d bytes", TCM_NOTE_CAPACITY - 1);
    }
    return 0;
}

static int build_follow_up(loader *l, tcm_record *r, char **w, int n, int *used) {
    tcm_follow_up *f = &r->body.follow_up;
    char *v;
    uint32_t bits;
    uint8_t code;
    unsigned y, m, d;
    v = value_of(w, n, used, "condition");
    if (v == NULL || lookup(CHRONIC, v, &code) != 0) {
        return fail(l, "condition= hypertension, diabetes or stroke_high_risk");
    }
    f->condition = code;
    if ((v = value_of(w, n, used, "control")) != NULL) {
        if (lookup(CONTROL, v, &code) != 0) {
            return fail(l, "control=%s unknown", v);
        }
        f->control = code;
    }
    if ((v = value_of(w, n, used, "guidance")) != NULL) {
        if (parse_bits(v, GUIDANCE, 1, &bits) != 0) {
            return fail(l, "guidance: emotion, diet, daily_life, exercise, acupoint or none");
        }
        f->guidance = (uint8_t)bits;
    }
    if ((v = value_of(w, n, used, "interventions")) != NULL &&
        for_each_item(v, add_intervention, f) != 0) {
        return fail(l, "interventions: at most %d technique names", TCM_MAX_INTERVENTIONS);
    }
    if ((v = value_of(w, n, used, "next")) != NULL) {
        if (parse_date(v, &y, &m, &d) != 0) {
            return fail(l, "next=%s is not a date", v);
        }
        f->next_visit.year = (uint16_t)y;
        f->next_visit.month = (uint8_t)m;
        f->next_visit.day = (uint8_t)d;
    }
    return staff(l, w, n, used, "clinician", &f->clinician);
}

static int add_entry(loader *l, char **w, int n) {
    script *s = l->s;
    entry *e;
    int used[MAX_TOKENS] = {0};
    unsigned hh, mm, ss = 0;
    int consumed = 0;
    uint32_t resident;
    const char *kind = w[1];
    uint8_t record_kind;
    int i;
    tcm_status st;

    if (l->day < 0 || l->care_home == 0) {
        return fail(l, "`day` and `care-home` must come before the first entry");
    }
    if (sscanf(w[0], "%2u:%2u:%2u%n", &hh, &mm, &ss, &consumed) != 3 || w[0][consumed] != '\0') {
        ss = 0;
        consumed = 0;
        if (sscanf(w[0], "%2u:%2u%n", &hh, &mm, &consumed) != 2 || w[0][consumed] != '\0') {
            return fail(l, "`%s` is not a time HH:MM", w[0]);
        }
    }
    if (hh > 23 || mm > 59 || ss > 59) {
        return fail(l, "`%s` is not a time of day", w[0]);
    }
    if (n < 3 || parse_u32(w[2], &resident) != 0) {
        return fail(l, "expected: TIME WHAT RESIDENT key=value...");
    }
    if (strcmp(kind, "register") == 0) {
        record_kind = TCM_RECORD_KIND_RESIDENT;
    } else if (strcmp(kind, "vitals") == 0) {
        record_kind = TCM_RECORD_KIND_VITALS;
    } else if (strcmp(kind, "constitution") == 0) {
        record_kind = TCM_RECORD_KIND_CONSTITUTION;
    } else if (strcmp(kind, "treatment") == 0) {
        record_kind = TCM_RECORD_KIND_TREATMENT;
    } else if (strcmp(kind, "prescription") == 0 || strcmp(kind, "herbal") == 0) {
        record_kind = TCM_RECORD_KIND_HERBAL;
    } else if (strcmp(kind, "follow-up") == 0) {
        record_kind = TCM_RECORD_KIND_FOLLOW_UP;
    } else {
        return fail(l, "unknown entry `%s`", kind);
    }

    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        entry *grown = realloc(s->entries, cap * sizeof *grown);
        if (grown == NULL) {
            return fail(l, "out of memory");
        }
        s->entries = grown;
        s->cap = cap;
    }
    e = &s->entries[s->count];
    memset(e, 0, sizeof *e);
    e->line = l->line;
    e->prescription_of = -1;
    e->utc = (uint64_t)((long long)l->day * 86400 + (long long)hh * 3600 + (long long)mm * 60 +
                        (long long)ss - l->offset_s);
    tcm_record_init(&e->record, record_kind);
    e->record.header.care_home = l->care_home;
    e->record.header.resident = resident;
    e->record.header.time_known = 1;
    e->record.header.utc_seconds = e->utc;

    switch (record_kind) {
    case TCM_RECORD_KIND_RESIDENT:
        if (build_register(l, &e->record, w, n, used) != 0) {
            return -1;
        }
        break;
    case TCM_RECORD_KIND_VITALS:
        if (build_vitals(l, &e->record, w, n, used) != 0) {
            return -1;
        }
        break;
    case TCM_RECORD_KIND_CONSTITUTION:
        if (build_constitution(l, &e->record, w, n, used) != 0) {
            return -1;
        }
        break;
    case TCM_RECORD_KIND_TREATMENT:
        if (build_treatment(l, &e->record, w, n, used) != 0) {
            return -1;
        }
        break;
    case TCM_RECORD_KIND_HERBAL:
        if ((strcmp(kind, "prescription") == 0 ? build_prescription(l, e, w, n, used)
                                                : build_herbal(l, e, w, n, used)) != 0) {
            return -1;
        }
        break;
    default:
        if (build_follow_up(l, &e->record, w, n, used) != 0) {
            return -1;
        }
        break;
    }
    for (i = 3; i < n; i++) {
        if (!used[i]) {
            return fail(l, "`%s` is not a key of `%s`", w[i], kind);
        }
    }

    /* Check the record with the library now, with a placeholder id, so a mistake in the
     * script stops the terminal at start-up rather than in the middle of the day. */
    e->record.header.id.device = 1;
    e->record.header.id.epoch = 1;
    e->record.header.id.seq = 2;
    st = tcm_record_validate(&e->record);
    memset(&e->record.header.id, 0, sizeof e->record.header.id);
    if (st != TCM_STATUS_OK) {
        char msg[160], detail[256];
        size_t m = 0;
        if (tcm_status_message(st, msg, sizeof msg, &m) != TCM_STATUS_OK) {
            msg[0] = '\0';
        }
        if (tcm_last_error_detail(detail, sizeof detail, &m) != TCM_STATUS_OK) {
            detail[0] = '\0';
        }
        return fail(l, "the library refuses this %s: %s (%u)%s%s", kind, msg, (unsigned)st,
                    detail[0] ? ": " : "", detail);
    }
    s->count++;
    return 0;
}

int script_load(const char *path, script **out, char *err, size_t err_len) {
    FILE *f = fopen(path, "r");
    char line[MAX_LINE];
    char *words[MAX_TOKENS];
    loader l;
    int rc = 0;
    *out = NULL;
    if (f == NULL) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    memset(&l, 0, sizeof l);
    l.s = calloc(1, sizeof *l.s);
    l.path = path;
    l.err = err;
    l.err_len = err_len;
    l.day = -1;
    if (l.s == NULL) {
        fclose(f);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        int n;
        size_t len = strlen(line);
        l.line++;
        if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
            rc = fail(&l, "line longer than %d bytes", MAX_LINE - 2);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        n = tokenize(line, words, MAX_TOKENS);
        if (n < 0) {
            rc = fail(&l, "too many words or an unclosed quote");
        } else if (n == 0) {
            continue;
        } else if (strcmp(words[0], "day") == 0) {
            int sign, oh, om, k = 0;
            if (n != 3 || (l.day = script_parse_date_days(words[1])) < 0 ||
                sscanf(words[2], "%*[+-]%2d:%2d%n", &oh, &om, &k) != 2 || words[2][k] != '\0') {
                rc = fail(&l, "expected: day YYYY-MM-DD +HH:MM");
            } else {
                sign = words[2][0] == '-' ? -1 : 1;
                l.offset_s = sign * (oh * 3600L + om * 60L);
            }
        } else if (strcmp(words[0], "care-home") == 0) {
            if (n != 2 || parse_u32(words[1], &l.care_home) != 0 || l.care_home == 0) {
                rc = fail(&l, "expected: care-home NUMBER");
            }
        } else {
            rc = add_entry(&l, words, n);
        }
    }
    fclose(f);
    if (rc == 0 && l.s->count > 0) {
        /* The day runs by the clock: order the entries by time, file order among equal
         * times (a stable insertion sort of indices). */
        size_t i, j;
        l.s->order = malloc(l.s->count * sizeof *l.s->order);
        if (l.s->order == NULL) {
            snprintf(err, err_len, "out of memory");
            rc = -1;
        }
        for (i = 0; rc == 0 && i < l.s->count; i++) {
            size_t k = i;
            for (j = i; j > 0 && l.s->entries[l.s->order[j - 1]].utc > l.s->entries[k].utc;
                 j--) {
                l.s->order[j] = l.s->order[j - 1];
            }
            l.s->order[j] = k;
        }
    }
    if (rc != 0) {
        script_free(l.s);
        return -1;
    }
    *out = l.s;
    return 0;
}

size_t script_run(script *s, uint64_t until_utc, script_emit_fn emit, void *ctx) {
    size_t failed = 0;
    while (s->next < s->count && s->entries[s->order[s->next]].utc <= until_utc) {
        entry *e = &s->entries[s->order[s->next++]];
        if (e->prescription_of >= 0) {
            e->record.body.herbal.prescription = s->entries[e->prescription_of].record.header.id;
        }
        if (emit(ctx, &e->record) != 0) {
            fprintf(stderr, "terminal: script line %d was not recorded\n", e->line);
            failed++;
        }
    }
    return failed;
}

size_t script_remaining(const script *s) { return s->count - s->next; }

size_t script_count(const script *s) { return s->count; }

uint64_t script_first_utc(const script *s) {
    return s->count ? s->entries[s->order[0]].utc : 0;
}

void script_free(script *s) {
    if (s != NULL) {
        free(s->order);
        free(s->entries);
        free(s);
    }
}
