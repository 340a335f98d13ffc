/* SPDX-License-Identifier: MIT */
/*
 * flotad's check-in feed into the inventory and into the rollouts: each page is one
 * transaction with its cursor, so the feed is read exactly once whether the tick or
 * 'flota ingest --from-server' reads it, and every active rollout sees every check-in.
 */
#include "flota/rollout.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"

#define FEED_PAGE 5000

/* The active rollouts, what each moves to and after how many polls a device is stuck. */
typedef struct ActiveRollout {
        int64_t id;
        char version[DEVICE_VERSION_MAX + 1];
        char md5[MD5_HEX_LEN + 1];
        int64_t release_id;
        uint32_t stuck_polls;
} ActiveRollout;

typedef struct FeedState {
        ActiveRollout *active;
        size_t n_active, allocated;
        const Checkin *checkin;
        uint64_t changed;
} FeedState;

static int collect_active(const Rollout *r, void *userdata) {
        FeedState *f = userdata;
        RolloutSpec spec;
        char err[ROLLOUT_SPEC_ERROR_MAX];

        if (r->state != ROLLOUT_RUNNING && r->state != ROLLOUT_PAUSED && r->state != ROLLOUT_HALTED)
                return 0;
        if (rollout_spec_parse(r->spec_text, &spec, err) < 0)
                return 0;
        f->active = xgrow(f->active, &f->allocated, f->n_active + 1, sizeof(ActiveRollout));
        ActiveRollout *a = &f->active[f->n_active++];
        *a = (ActiveRollout) { .id = r->id, .release_id = r->release_id, .stuck_polls = spec.stuck_polls };
        strscpy(a->version, sizeof(a->version), r->version);
        strscpy(a->md5, sizeof(a->md5), r->md5);
        rollout_spec_done(&spec);
        return 0;
}

static const ActiveRollout *find_active(const FeedState *f, int64_t id) {
        for (size_t i = 0; i < f->n_active; i++)
                if (f->active[i].id == id)
                        return &f->active[i];
        return NULL;
}

static int observe(int64_t rollout_id, RolloutDevice *d, void *userdata) {
        FeedState *f = userdata;
        const ActiveRollout *a = find_active(f, rollout_id);

        if (!a)
                return 0;
        RolloutTarget t = {
                .release_id = a->release_id,
                .version = a->version,
                .md5 = a->md5,
                .from_version = d->from_version,
                .rolling_back = d->from_release > 0,
        };
        if (!device_progress_observe(&d->p, f->checkin, &t, a->stuck_polls))
                return 0;
        f->changed++;
        return 1;
}

typedef struct PageWriters {
        InventoryWriter *inv;
        PollWriter *polls;
        RolloutLookup *lookup;
} PageWriters;

static void page_writers_done(PageWriters *w) {
        inventory_writer_free(w->inv);
        poll_writer_free(w->polls);
        rollout_lookup_free(w->lookup);
}

static int record_checkin(PageWriters *w, FeedState *f, const Checkin *c) {
        const char *platform = platform_to_string(c->platform);
        Sighting x = {
                .device = c->device_id,
                .product = c->product,
                .platform = platform ? platform : "",
                .version = c->version,
                .sketch_md5 = c->sketch_md5,
                .ip = c->ip,
                .at = c->at,
                .source = "flotad",
        };
        int r;

        if (isempty(c->device_id))
                return 0;
        /*
         * A filesystem-mode poll carries the filesystem image's version, not the sketch's: it
         * says the device was seen, but neither its version nor anything about a rollout of
         * sketches.
         */
        if (c->mode == UPDATE_MODE_FILESYSTEM) {
                x.version = "";
                x.sketch_md5 = "";
        }
        r = inventory_writer_record(w->inv, &x);
        if (r >= 0)
                r = poll_writer_record(w->polls, c->device_id, c->at, c->free_space,
                                       c->source == TARGET_PIN);
        if (r >= 0 && c->mode == UPDATE_MODE_FILESYSTEM && !isempty(c->version))
                r = poll_writer_filesystem(w->polls, c->device_id, c->version);
        if (r >= 0 && f->n_active > 0 && c->mode != UPDATE_MODE_FILESYSTEM) {
                f->checkin = c;
                r = rollout_lookup_device(w->lookup, c->device_id, observe, f);
        }
        return r < 0 ? r : 0;
}

static int read_cursor(Store *inv, const char *source, int64_t *ret);

/*
 * One page in one transaction with its cursor. -EAGAIN when another process moved the cursor
 * since 'after' was read: the page is not written, and the caller reads on from the new cursor.
 */
static int record_page(Store *inv, FeedState *f, const char *source, int64_t after,
                       const ApiCheckinPage *page) {
        _cleanup_(page_writers_done) PageWriters w = {};
        char cursor[24];
        int64_t now_at;
        int r;

        r = store_begin(inv);
        if (r < 0)
                return r;
        r = read_cursor(inv, source, &now_at);
        if (r >= 0 && now_at != after)
                r = -EAGAIN;
        if (r >= 0)
                r = inventory_writer_new(inv, &w.inv);
        if (r >= 0)
                r = poll_writer_new(inv, &w.polls);
        if (r >= 0)
                r = rollout_lookup_new(inv, &w.lookup);
        for (size_t i = 0; r >= 0 && i < page->n; i++)
                r = record_checkin(&w, f, &page->items[i]);
        snprintf(cursor, sizeof(cursor), "%" PRId64, page->next);
        if (r >= 0)
                r = inventory_advance(inv, source, cursor, page->n);
        page_writers_done(&w);
        w = (PageWriters) {};
        return store_end(inv, r < 0 ? r : 0);
}

static int read_cursor(Store *inv, const char *source, int64_t *ret) {
        _cleanup_free_ char *text = NULL;
        int r = inventory_cursor(inv, source, &text);

        if (r == -ENOENT) {
                *ret = 0;
                return 0;
        }
        if (r < 0)
                return r;
        return parse_i64(text, ret) < 0 || *ret < 0 ? -EBADMSG : 0;
}

int rollout_feed_ingest(RolloutEngine *e, uint64_t *ret, char err[static ROLLOUT_ERROR_MAX]) {
        _cleanup_free_ char *source = xasprintf("flotad:%s", e->server);
        FeedState f = {};
        uint64_t total = 0;
        int64_t cursor;
        int r;

        r = read_cursor(e->inventory, source, &cursor);
        if (r < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "the inventory's cursor for %s is not a number", e->server);
                return r;
        }
        size_t limit = e->feed_page ? e->feed_page : FEED_PAGE;
        r = rollout_list(e->inventory, collect_active, &f);
        if (r < 0)
                snprintf(err, ROLLOUT_ERROR_MAX, "reading the inventory's rollouts failed: %s",
                         store_last_error(e->inventory));
        while (r >= 0) {
                ApiCheckinPage page = {};
                char msg[API_CLIENT_ERROR_MAX];
                r = api_checkins_page(e->api, cursor, limit, &page, msg);
                if (r < 0) {
                        snprintf(err, ROLLOUT_ERROR_MAX, "%s", msg);
                        break;
                }
                if (page.n > 0 && page.next <= cursor) {
                        snprintf(err, ROLLOUT_ERROR_MAX,
                                 "%s repeats check-ins: its cursor went from %" PRId64 " to %" PRId64,
                                 e->server, cursor, page.next);
                        api_checkin_page_done(&page);
                        r = -EBADMSG;
                        break;
                }
                size_t n = page.n;
                if (n > 0 && !e->dry_run) {
                        r = record_page(e->inventory, &f, source, cursor, &page);
                        if (r == -EAGAIN) {
                                /* another flota ingested this page meanwhile: go on from where it stopped */
                                api_checkin_page_done(&page);
                                r = read_cursor(e->inventory, source, &cursor);
                                continue;
                        }
                        if (r < 0)
                                snprintf(err, ROLLOUT_ERROR_MAX, "writing the inventory failed: %s",
                                         store_last_error(e->inventory));
                }
                cursor = page.next;
                total += n;
                api_checkin_page_done(&page);
                if (n < limit)
                        break;
        }
        free(f.active);
        if (r < 0)
                return r;
        *ret = total;
        return 0;
}
