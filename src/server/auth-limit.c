/* SPDX-License-Identifier: MIT */
/* Failed-authentication counting per client address, in a fixed hash table. */
#include "auth-limit.h"

#include <string.h>

#include "flota/strutil.h"

void auth_limit_init(AuthLimit *l) {
        memset(l->slots, 0, sizeof(l->slots));
        atomic_store(&l->failures, 0);
        atomic_store(&l->throttled, 0);
        pthread_mutex_init(&l->lock, NULL);
}

void auth_limit_done(AuthLimit *l) {
        pthread_mutex_destroy(&l->lock);
}

static AuthSlot *slot_of(AuthLimit *l, const char *addr) {
        uint32_t h = 2166136261u;

        for (const char *p = addr; *p; p++)
                h = (h ^ (uint8_t) *p) * 16777619u;
        return &l->slots[h % AUTH_LIMIT_SLOTS];
}

/* The slot for addr with its window current, or NULL when the slot belongs to another address. */
static AuthSlot *current(AuthLimit *l, const char *addr, usec_t now) {
        AuthSlot *s = slot_of(l, addr);

        if (!streq(s->addr, addr))
                return NULL;
        if (now - s->window_start >= AUTH_LIMIT_WINDOW) {
                s->window_start = now;
                s->failures = 0;
        }
        return s;
}

bool auth_limit_blocked(AuthLimit *l, const char *addr, unsigned *ret_retry_after) {
        usec_t now;
        bool blocked = false;

        /* the common case, a server nobody guesses at, takes no lock */
        if (atomic_load(&l->failures) == 0)
                return false;
        now = now_usec(CLOCK_MONOTONIC);
        pthread_mutex_lock(&l->lock);
        AuthSlot *s = current(l, addr, now);
        if (s && s->failures >= AUTH_LIMIT_FAILURES) {
                blocked = true;
                *ret_retry_after =
                        (unsigned) ((s->window_start + AUTH_LIMIT_WINDOW - now) / USEC_PER_SEC) + 1;
        }
        pthread_mutex_unlock(&l->lock);
        if (blocked)
                atomic_fetch_add(&l->throttled, 1);
        return blocked;
}

void auth_limit_failed(AuthLimit *l, const char *addr) {
        usec_t now = now_usec(CLOCK_MONOTONIC);

        atomic_fetch_add(&l->failures, 1);
        pthread_mutex_lock(&l->lock);
        AuthSlot *s = current(l, addr, now);
        if (!s) {
                s = slot_of(l, addr);
                strscpy(s->addr, sizeof(s->addr), addr);
                s->window_start = now;
                s->failures = 0;
        }
        s->failures++;
        pthread_mutex_unlock(&l->lock);
}
