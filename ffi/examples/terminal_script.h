/*
 * terminal_script.h: what the care home's staff record at the terminal, read from a
 * text file (the reference terminal's stand-in for its user interface).
 *
 * A script is a day of entries, one per line, each run when the terminal's clock reaches
 * its time (entries of the same time in file order):
 *
 *   day 2025-03-03 +08:00              the date and the UTC offset of the times below
 *   care-home 31                       the care home of the residents
 *   07:40 register 1001 born=1941-05-12 sex=female conditions=hypertension
 *   09:10 constitution 1001 assessor=2001 answers=3,2,3,... guidance=diet,exercise
 *   10:20 treatment 1003 technique=moxibustion acupoints=ST36,CV4 minutes=20 by=2002
 *   11:00 prescription 1005 label=rx1 doses=7 herbs=熟地黄:24,山药:12 by=2001
 *   15:30 herbal 1005 stage=delivered of=rx1 by=3001
 *   16:00 follow-up 1001 condition=hypertension guidance=diet interventions=tuina by=2001
 *
 * `#` starts a comment. Every record is built through the C API and validated by the
 * library when the script is loaded, so a mistake stops the terminal before it serves
 * anyone (with the line number). `constitution` scores the 33 answers with the library
 * and records the guidance categories given for the primary constitution(s). The full
 * list of keys is in terminal_script.c.
 */
#ifndef TERMINAL_SCRIPT_H
#define TERMINAL_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "tcmcare.h"

typedef struct script script;

/* Stores one record of the terminal: fills `record->header.id` (the terminal's device,
 * epoch, next sequence number), encodes and stores it. Returns 0 on success. */
typedef int (*script_emit_fn)(void *ctx, tcm_record *record);

/* Loads and checks the script at `path`; on failure writes a message (with the line
 * number) to `err` and returns -1. */
int script_load(const char *path, script **out, char *err, size_t err_len);

/* Runs every entry due at or before `until_utc` (all of them with UINT64_MAX), in time
 * order, through `emit`. Returns the number of entries that failed. */
size_t script_run(script *s, uint64_t until_utc, script_emit_fn emit, void *ctx);

/* Entries not run yet. */
size_t script_remaining(const script *s);

/* Entries in the script. */
size_t script_count(const script *s);

/* UTC time of the script's first entry (0 for an empty script). */
uint64_t script_first_utc(const script *s);

void script_free(script *s);

/* Parses "YYYY-MM-DD" into days since 1970-01-01; -1 if it is not a date. */
long script_parse_date_days(const char *text);

#endif
