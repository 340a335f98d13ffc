/* SPDX-License-Identifier: MIT */
/*
 * Gated promotion (ROLLOUTS.md §6): the evidence that a release has run well on a source
 * channel, from flotad's channels, their history and the devices on that channel.
 */
#include <inttypes.h>
#include <string.h>

#include "flota/catalog.h"
#include "flota/strutil.h"
#include "reconcile.h"

/* When the source channel was last pointed at the release, and whether it still serves it. */
static int channel_evidence(RolloutEngine *e, const char *product, const PromoteGate *g, int64_t release,
                            PromoteEvidence *ev, char err[static ROLLOUT_ERROR_MAX]) {
        ApiChannelList channels = {};
        ChannelChangeList history = {};
        char msg[API_CLIENT_ERROR_MAX];
        int k = api_channels_list(e->api, &channels, msg);

        if (k >= 0) {
                for (size_t i = 0; i < channels.n; i++)
                        if (streq(channels.items[i].product, product) &&
                            streq(channels.items[i].name, g->from) &&
                            channels.items[i].kind == IMAGE_KIND_SKETCH)
                                ev->on_channel = channels.items[i].release == release;
                api_channel_list_done(&channels);
                k = ev->on_channel ? api_channel_history(e->api, product, g->from, 1000, &history, msg) : 0;
        }
        if (k < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "%s", msg);
                return k;
        }
        /* newest first: the change that put the release there */
        for (size_t i = 0; i < history.n; i++)
                if (history.items[i].release == release && history.items[i].kind == IMAGE_KIND_SKETCH) {
                        ev->since = history.items[i].at;
                        break;
                }
        channel_change_list_done(&history);
        return 0;
}

static bool is_ineligible(const char *reason) {
        return streq(reason, "too-large") || streq(reason, "wrong-platform") ||
               streq(reason, "flash-too-small") || streq(reason, "wrong-mode");
}

/* The devices on the channel that polled since the promotion (and could take it), and those that run it. */
static int device_evidence(RolloutEngine *e, const char *product, const PromoteGate *g, const char *version,
                           PromoteEvidence *ev, char err[static ROLLOUT_ERROR_MAX]) {
        char after[DEVICE_ID_MAX + 1] = "";

        for (;;) {
                ApiDevicePage page = {};
                ApiDeviceQuery q = { .product = product, .after = after[0] ? after : NULL, .limit = 10000 };
                char msg[API_CLIENT_ERROR_MAX];
                int k = api_devices_page(e->api, &q, &page, msg);
                if (k < 0) {
                        snprintf(err, ROLLOUT_ERROR_MAX, "%s", msg);
                        return k;
                }
                for (size_t i = 0; i < page.n; i++) {
                        const ApiDevice *d = &page.items[i];
                        const char *channel = d->channel[0] ? d->channel : DEFAULT_CHANNEL;
                        if (!streq(channel, g->from) || d->pin != 0 || d->assigned != 0 ||
                            d->last_seen < ev->since || is_ineligible(d->last_reason))
                                continue;
                        ev->offered++;
                        ev->running += streq(d->version, version);
                }
                strscpy(after, sizeof(after), page.next);
                api_device_page_done(&page);
                if (!after[0])
                        return 0;
        }
}

int rollout_promote_gate(RolloutEngine *e, const char *product, int64_t release, const PromoteGate *g,
                         char why[static 160], char err[static ROLLOUT_ERROR_MAX]) {
        PromoteEvidence ev = {};
        Release rel = {};
        char msg[API_CLIENT_ERROR_MAX];
        int k = api_release_get(e->api, release, &rel, msg);

        if (k < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "%s", msg);
                return k;
        }
        if (!streq(rel.product, product)) {
                snprintf(err, ROLLOUT_ERROR_MAX, "release %" PRId64 " is for product %s, not %s", release,
                         rel.product, product);
                release_done(&rel);
                return -EINVAL;
        }
        k = channel_evidence(e, product, g, release, &ev, err);
        if (k >= 0 && ev.on_channel)
                k = device_evidence(e, product, g, rel.version, &ev, err);
        release_done(&rel);
        if (k < 0)
                return k;
        return promote_gate_check(g, &ev, e->now, why) == GATE_PASS ? 0 : 1;
}
