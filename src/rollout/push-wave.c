/* SPDX-License-Identifier: MIT */
/*
 * The push transports of a rollout: the devices a step offered are sent the release's image
 * over espota or their web updater (flota/push.h), a few at once, on a loop of their own. A
 * push that fails makes the device failed (with the outcome as the reason); one that ends in
 * OK marks it served, and from there the rollout judges it as it judges pulled updates: it is
 * updated only once it reports the target version. Devices offered but not yet pushed (a tick
 * killed half way) are pushed by the next step.
 */
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/fileio.h"
#include "flota/hash.h"
#include "flota/inventory.h"
#include "flota/push.h"
#include "flota/strutil.h"
#include "reconcile.h"

#define IMAGE_MAX ((size_t) 16 << 20)

typedef struct Target {
        RolloutDevice d;
        char host[IP_STR_MAX];
        uint16_t port;
        char *password;
        PushOutcome outcome;
        char message[PUSH_MESSAGE_MAX + 1];
        bool done;
} Target;

typedef struct Wave {
        RolloutEngine *e;
        const RolloutSpec *spec;
        Loop *loop;
        Pusher *pusher;
        Target *t;
        size_t n, allocated, next, running, finished;
        uint8_t *image;
        size_t size;
        char md5[MD5_HEX_LEN + 1];
} Wave;

static int collect(const RolloutDevice *d, void *userdata) {
        Wave *w = userdata;

        if (d->p.served_at != 0)
                return 0; /* pushed already */
        w->t = xgrow(w->t, &w->allocated, w->n + 1, sizeof(Target));
        w->t[w->n++] = (Target) { .d = *d, .outcome = _PUSH_OUTCOME_INVALID };
        return 0;
}

static void start_next(Wave *w);

static void on_done(Push *p, const PushResult *r, void *userdata) {
        Target *t = userdata;

        (void) p;
        t->outcome = r->outcome;
        strscpy(t->message, sizeof(t->message), r->message);
        t->done = true;
}

static Wave *the_wave;

static void on_done_wave(Push *p, const PushResult *r, void *userdata) {
        Wave *w = the_wave;

        on_done(p, r, userdata);
        w->running--;
        if (++w->finished == w->n)
                loop_quit(w->loop);
        start_next(w);
}

static void start_next(Wave *w) {
        while (w->running < w->spec->parallel && w->next < w->n) {
                Target *t = &w->t[w->next++];
                PushRequest req = {
                        .transport = w->spec->transport == TRANSPORT_WEB ? PUSH_TRANSPORT_WEB
                                                                         : PUSH_TRANSPORT_ESPOTA,
                        .host = t->host,
                        .port = t->port,
                        .image = w->image,
                        .size = w->size,
                        .md5 = w->md5,
                        .password = t->password,
                        .user = w->e->push_user,
                };
                if (!t->host[0] || push_start(w->pusher, &req, on_done_wave, NULL, t, NULL) < 0) {
                        t->outcome = PUSH_NO_ANSWER;
                        snprintf(t->message, sizeof(t->message), "no address known");
                        t->done = true;
                        if (++w->finished == w->n)
                                loop_quit(w->loop);
                        continue;
                }
                w->running++;
        }
}

static int load_image(Wave *w, char err[static ROLLOUT_ERROR_MAX]) {
        char *data;
        int r = read_file(w->spec->image, IMAGE_MAX, &data, &w->size);

        if (r < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "cannot read the image %s: %s", w->spec->image,
                         strerror(-r));
                return r;
        }
        w->image = (uint8_t *) data;
        md5_hex(w->image, w->size, w->md5);
        if (!w->e->api)
                return 0;
        /* the file must be the rollout's release: what flotad knows of it says */
        Release rel = {};
        char msg[API_CLIENT_ERROR_MAX];
        r = api_release_get(w->e->api, w->spec->release_id, &rel, msg);
        if (r < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "release %lld: %.400s", (long long) w->spec->release_id,
                         msg);
                return r;
        }
        bool same = streq(rel.md5, w->md5);
        release_done(&rel);
        if (!same) {
                snprintf(err, ROLLOUT_ERROR_MAX, "%s is not release %lld (its MD5 differs)", w->spec->image,
                         (long long) w->spec->release_id);
                return -EBADMSG;
        }
        return 0;
}

static void resolve(Wave *w, Target *t) {
        InventoryTarget it;

        if (inventory_push_target(w->e->inventory, t->d.device_id, &it) < 0 || isempty(it.ip))
                return;
        strscpy(t->host, sizeof(t->host), it.ip);
        bool esp32 = streq(it.platform, "esp32");
        t->port = (uint16_t) (w->spec->push_port ? w->spec->push_port
                              : it.port && w->spec->transport == TRANSPORT_ESPOTA &&
                                              streq(it.kind, "arduino-ota")
                                      ? it.port
                              : w->spec->transport == TRANSPORT_WEB ? 80
                              : esp32                               ? PUSH_DEFAULT_PORT_ESP32
                                                                    : PUSH_DEFAULT_PORT_ESP8266);
        if (w->e->push_password) {
                const char *pw =
                        w->e->push_password(t->d.device_id, it.host, it.product, w->e->push_userdata);
                t->password = pw ? xstrdup(pw) : NULL;
        }
}

static int record(Wave *w, const Rollout *r, size_t *ret_ok) {
        size_t ok = 0;
        int k = store_begin(w->e->inventory);

        for (size_t i = 0; k >= 0 && i < w->n; i++) {
                Target *t = &w->t[i];
                if (t->outcome == PUSH_OK) {
                        ok++;
                        t->d.p.served_at = w->e->now;
                } else {
                        t->d.p.state = DR_FAILED;
                        t->d.p.decided_at = w->e->now;
                        snprintf(t->d.p.reason, sizeof(t->d.p.reason), "push %s: %.40s",
                                 push_outcome_to_string(t->outcome) ? push_outcome_to_string(t->outcome)
                                                                    : "not done",
                                 t->message);
                }
                k = rollout_device_save(w->e->inventory, r->id, &t->d);
        }
        k = store_end(w->e->inventory, k);
        *ret_ok = ok;
        return k;
}

int rollout_push_offered(RolloutEngine *e, const Rollout *r, const RolloutSpec *spec,
                         char err[static ROLLOUT_ERROR_MAX]) {
        Wave w = { .e = e, .spec = spec };
        size_t ok = 0;
        int k;

        if (e->dry_run || spec->transport == TRANSPORT_PULL)
                return 0;
        k = rollout_devices_each(e->inventory, r->id, DR_OFFERED, UINT32_MAX, SIZE_MAX, collect, &w);
        if (k < 0 || w.n == 0)
                goto out;
        if ((k = load_image(&w, err)) < 0)
                goto out;
        for (size_t i = 0; i < w.n; i++)
                resolve(&w, &w.t[i]);
        w.loop = loop_new();
        w.pusher = pusher_new(w.loop);
        the_wave = &w;
        start_next(&w);
        if (w.finished < w.n)
                (void) loop_run(w.loop);
        the_wave = NULL;
        w.pusher = pusher_free(w.pusher);
        w.loop = loop_free(w.loop);
        k = record(&w, r, &ok);
        if (k >= 0)
                (void) rollout_note(e, r, "pushed",
                                    "wave %u: pushed %zu device%s over %s: %zu ok, %zu failed", r->wave + 1,
                                    w.n, w.n == 1 ? "" : "s", transport_to_string(spec->transport), ok,
                                    w.n - ok);
out:
        for (size_t i = 0; i < w.n; i++)
                free(w.t[i].password);
        free(w.t);
        free(w.image);
        return k < 0 ? k : 0;
}
