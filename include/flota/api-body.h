/* SPDX-License-Identifier: MIT */
/*
 * Layer: json. Parsing of the management API's JSON request bodies into plain structs.
 * Every parser validates what it returns (names, labels, device ids, release ids) and
 * either fills *ret whole or returns -EINVAL with a sentence for the user in err.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/macro.h"

#define API_ERROR_MAX 160
#define API_MAX_DEVICES 100000
#define API_MAX_LABELS 64

typedef struct ProductBody {
        char *name;
        char *key;         /* NULL: devices need no key */
        int platform;      /* Platform, or -EINVAL when not given */
        char *signing_key; /* PEM public key releases must be signed for; NULL: none */
} ProductBody;

typedef struct LabelsBody {
        char **labels;
        size_t n;
} LabelsBody;

typedef struct AssignBody {
        int64_t release_id; /* 0 when absent (allowed for DELETE) */
        char **devices;     /* normalised device ids */
        size_t n;
} AssignBody;

/* {"name": "...", "key": "..."?, "platform": "esp8266|esp32"?, "signing_key": "<PEM>"?} */
int api_parse_product(const char *body, size_t len, ProductBody *ret, char err[static API_ERROR_MAX]);
void product_body_done(ProductBody *b);

/* {"release": <id>} (channels, pins). */
int api_parse_release_ref(const char *body, size_t len, int64_t *ret, char err[static API_ERROR_MAX]);

/* {"labels": ["...", ...]} */
int api_parse_labels(const char *body, size_t len, LabelsBody *ret, char err[static API_ERROR_MAX]);
void labels_body_done(LabelsBody *b);

/* {"release": <id>, "devices": ["MAC", ...]}; release required when need_release. */
int api_parse_assignment(const char *body, size_t len, bool need_release, AssignBody *ret,
                         char err[static API_ERROR_MAX]);
void assign_body_done(AssignBody *b);

/* {"channel": "beta"} or {"channel": null} (back to the default). *ret is NULL for null. */
int api_parse_channel_name(const char *body, size_t len, char **ret, char err[static API_ERROR_MAX]);
