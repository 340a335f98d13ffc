/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. Selection expressions over the inventory, as rollouts (--select) and the
 * dashboard's filter use them: terms separated by spaces, all of which must hold.
 *
 *   product=door            platform=esp32          label=attic
 *   version<2.0  version>=1.2.0  version=1.0.0,1.0.1  version!=2.0.0
 *   seen-since=7d           (seen within the last 7 days)
 *   online  / online=no     (seen within the online horizon, or announced by mDNS)
 *   mac=AA:BB:CC:DD:EE:FF,… (explicit list; also id=)
 *
 * A value with commas matches any of its items. Versions compare as semantic versions when
 * both look like one (numeric dot parts, pre-release below release, build ignored) and as
 * plain strings otherwise.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "flota/macro.h"
#include "flota/time-util.h"

#define SELECTION_ERROR_MAX 160

typedef struct Selection Selection;

/* What a term is matched against. Strings are borrowed; labels are comma-separated. */
typedef struct SelectDevice {
        const char *id;
        const char *product;
        const char *platform;
        const char *version;
        const char *labels;
        usec_t last_seen;
        bool online;
} SelectDevice;

/* Parses expr ("" selects every device). 0, or -EINVAL with a sentence naming the bad term. */
int selection_parse(const char *expr, usec_t now, Selection **ret, char err[static SELECTION_ERROR_MAX]);
Selection *selection_free(Selection *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Selection *, selection_free);

bool selection_matches(const Selection *s, const SelectDevice *d);

/* The product the expression names with product=X (one value), or NULL. Borrowed from s. */
const char *selection_product(const Selection *s);

/* <0, 0, >0 as a sorts before, equal to, after b. */
int version_compare(const char *a, const char *b);
