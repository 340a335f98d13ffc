/* SPDX-License-Identifier: MIT */
/*
 * Failed-authentication limits per client address: a wrong product key or API token is
 * counted against the address it came from, and an address with more than
 * AUTH_LIMIT_FAILURES failures in the current AUTH_LIMIT_WINDOW is answered 429 without
 * its credentials being looked at until the window ends. Thread-safe; bounded memory
 * (a fixed table; an address that loses its slot to another starts afresh).
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "flota/time-util.h"

#define AUTH_LIMIT_FAILURES 30
#define AUTH_LIMIT_WINDOW (60 * USEC_PER_SEC)
#define AUTH_LIMIT_SLOTS 4096

typedef struct AuthSlot {
        char addr[46];
        usec_t window_start;
        unsigned failures;
} AuthSlot;

typedef struct AuthLimit {
        pthread_mutex_t lock;
        AuthSlot slots[AUTH_LIMIT_SLOTS];
        atomic_uint_fast64_t failures;  /* every failed authentication */
        atomic_uint_fast64_t throttled; /* requests answered 429 */
} AuthLimit;

void auth_limit_init(AuthLimit *l);
void auth_limit_done(AuthLimit *l);

/*
 * True when addr is over its limit (the request gets 429, counted); *ret_retry_after is
 * then the seconds until the window ends.
 */
bool auth_limit_blocked(AuthLimit *l, const char *addr, unsigned *ret_retry_after);
/* Counts a failed authentication from addr. */
void auth_limit_failed(AuthLimit *l, const char *addr);
