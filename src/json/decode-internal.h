/* SPDX-License-Identifier: MIT */
/* Private to src/json: what the decoders share across files. */
#pragma once

#include "flota/json-decode.h"

/* The most elements a list in an answer may have. */
#define LIST_MAX 100000

/*
 * Reads an assignment page laid out exactly as flotad writes it, in place. 0, or -EBADMSG for
 * anything else (a valid page in another layout too): the caller then decodes it the general
 * way, which also says what is wrong.
 */
int json_scan_assignment_page(const char *text, size_t len, AssignmentPage *ret);

/*
 * Reads again, exactly as 64-bit integers, the "next" and the check-ins' "id" of a check-in
 * list that the general decoder read into l (as doubles). 0, or -EBADMSG when the text does
 * not hold them as plain integers.
 */
int json_checkin_list_exact_ids(const char *text, size_t len, CheckinList *l);
