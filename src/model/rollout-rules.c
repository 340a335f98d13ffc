/* SPDX-License-Identifier: MIT */
/* The rules of a rollout: wave membership, a device's state from its check-ins, gates, windows, rate. */
#include "flota/rollout-rules.h"

#include <math.h>
#include <stdio.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "flota/strutil.h"

static const char *const device_state_names[_DR_MAX] = {
        [DR_PENDING] = "pending",   [DR_OFFERED] = "offered",         [DR_DOWNLOADING] = "downloading",
        [DR_UPDATED] = "updated",   [DR_FAILED] = "failed",           [DR_SILENT] = "silent",
        [DR_EXCLUDED] = "excluded", [DR_ROLLED_BACK] = "rolled-back",
};

static const char *const rollout_state_names[_ROLLOUT_STATE_MAX] = {
        [ROLLOUT_DRAFT] = "draft",     [ROLLOUT_SCHEDULED] = "scheduled", [ROLLOUT_RUNNING] = "running",
        [ROLLOUT_PAUSED] = "paused",   [ROLLOUT_COMPLETED] = "completed", [ROLLOUT_HALTED] = "halted",
        [ROLLOUT_ABORTED] = "aborted",
};

const char *device_rollout_state_to_string(DeviceRolloutState s) {
        return s >= 0 && s < _DR_MAX ? device_state_names[s] : NULL;
}

DeviceRolloutState device_rollout_state_from_string(const char *s) {
        for (int i = 0; s && i < _DR_MAX; i++)
                if (streq(device_state_names[i], s))
                        return i;
        return _DR_INVALID;
}

const char *rollout_state_to_string(RolloutState s) {
        return s >= 0 && s < _ROLLOUT_STATE_MAX ? rollout_state_names[s] : NULL;
}

RolloutState rollout_state_from_string(const char *s) {
        for (int i = 0; s && i < _ROLLOUT_STATE_MAX; i++)
                if (streq(rollout_state_names[i], s))
                        return i;
        return _ROLLOUT_STATE_INVALID;
}

bool rollout_state_is_final(RolloutState s) {
        return s == ROLLOUT_COMPLETED || s == ROLLOUT_HALTED || s == ROLLOUT_ABORTED;
}

/* ---- SipHash-2-4 (Aumasson and Bernstein), written from the paper's description ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4]) {
        v[0] += v[1];
        v[1] = ROTL(v[1], 13);
        v[1] ^= v[0];
        v[0] = ROTL(v[0], 32);
        v[2] += v[3];
        v[3] = ROTL(v[3], 16);
        v[3] ^= v[2];
        v[0] += v[3];
        v[3] = ROTL(v[3], 21);
        v[3] ^= v[0];
        v[2] += v[1];
        v[1] = ROTL(v[1], 17);
        v[1] ^= v[2];
        v[2] = ROTL(v[2], 32);
}

static uint64_t load_le64(const uint8_t *p, size_t n) {
        uint64_t x = 0;
        for (size_t i = 0; i < n; i++)
                x |= (uint64_t) p[i] << (8 * i);
        return x;
}

static uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *in, size_t len) {
        uint64_t v[4] = {
                k0 ^ 0x736f6d6570736575ULL,
                k1 ^ 0x646f72616e646f6dULL,
                k0 ^ 0x6c7967656e657261ULL,
                k1 ^ 0x7465646279746573ULL,
        };
        size_t whole = len - len % 8;

        for (size_t i = 0; i < whole; i += 8) {
                uint64_t m = load_le64(in + i, 8);
                v[3] ^= m;
                sip_round(v);
                sip_round(v);
                v[0] ^= m;
        }
        uint64_t last = ((uint64_t) len << 56) | load_le64(in + whole, len % 8);
        v[3] ^= last;
        sip_round(v);
        sip_round(v);
        v[0] ^= last;
        v[2] ^= 0xff;
        for (int i = 0; i < 4; i++)
                sip_round(v);
        return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t rollout_device_hash(const char *rollout, const char *device_id) {
        /* the key is the rollout name's own SipHash under fixed words ("flota wv", "rollouts") */
        uint64_t k0 = siphash24(0x666c6f7461207776ULL, 0x726f6c6c6f757473ULL, (const uint8_t *) rollout,
                                strlen(rollout));
        return siphash24(k0, ~k0, (const uint8_t *) device_id, strlen(device_id));
}

/* ---- waves ---- */

void rollout_wave_targets(const RolloutWave *waves, size_t n_waves, uint64_t eligible, uint64_t *ret) {
        uint64_t prev = 0;

        for (size_t i = 0; i < n_waves; i++) {
                uint64_t t = waves[i].is_percent
                                     ? (eligible * waves[i].value + BASIS_POINTS - 1) / BASIS_POINTS
                                     : waves[i].value;
                if (t <= prev)
                        t = prev + 1;
                if (t > eligible || i == n_waves - 1)
                        t = eligible;
                ret[i] = prev = t;
        }
}

size_t rollout_wave_of(const uint64_t *targets, size_t n_waves, uint64_t pos) {
        for (size_t i = 0; i < n_waves; i++)
                if (pos < targets[i])
                        return i;
        return n_waves - 1;
}

/* ---- a device's state ---- */

static bool reports(const Checkin *c, const char *version, const char *md5) {
        return (!isempty(version) && streq(c->version, version)) ||
               (!isempty(md5) && !isempty(c->sketch_md5) && strcaseeq(c->sketch_md5, md5));
}

static bool set_state(DeviceProgress *p, DeviceRolloutState s, usec_t at, const char *reason) {
        p->state = s;
        if (s == DR_UPDATED || s == DR_FAILED || s == DR_SILENT || s == DR_EXCLUDED || s == DR_ROLLED_BACK)
                p->decided_at = at;
        strscpy(p->reason, sizeof(p->reason), reason);
        return true;
}

static bool is_ineligible(Reason r) {
        return r == REASON_TOO_LARGE || r == REASON_WRONG_PLATFORM || r == REASON_FLASH_TOO_SMALL ||
               r == REASON_WRONG_MODE || r == REASON_WRONG_PRODUCT;
}

/* A check-in that does not report the target. */
static bool observe_other(DeviceProgress *p, const Checkin *c, const RolloutTarget *t, uint32_t n) {
        char why[64];

        if (p->saw_target && p->state == DR_UPDATED) {
                snprintf(why, sizeof(why), "boot loop: back on %.40s", c->version);
                return set_state(p, DR_FAILED, c->at, why);
        }
        if (c->source == TARGET_PIN && p->state != DR_FAILED)
                return set_state(p, DR_EXCLUDED, c->at, "pinned");
        if (c->release_id == t->release_id && is_ineligible(c->reason) && p->state != DR_FAILED) {
                snprintf(why, sizeof(why), "ineligible: %s", reason_to_string(c->reason));
                return set_state(p, DR_EXCLUDED, c->at, why);
        }
        bool changed = false;
        if (c->reason == REASON_UPDATE_ABORTED) {
                p->aborts++;
                changed = true;
                if (p->aborts >= n && p->state != DR_FAILED) {
                        snprintf(why, sizeof(why), "download aborted %u times", p->aborts);
                        return set_state(p, DR_FAILED, c->at, why);
                }
        } else if (c->status == 200 && c->reason == REASON_UPDATE && c->release_id == t->release_id &&
                   p->served_at == 0) {
                p->served_at = c->at;
                if (p->state == DR_OFFERED)
                        p->state = DR_DOWNLOADING;
                return true;
        } else if (p->served_at != 0) {
                /* served before, and still (or again) on the old version */
                p->stuck++;
                changed = true;
        }
        if (p->stuck >= n && (p->state == DR_DOWNLOADING || p->state == DR_OFFERED)) {
                snprintf(why, sizeof(why), "still on %.30s after %u polls", c->version, p->stuck);
                return set_state(p, DR_FAILED, c->at, why);
        }
        return changed;
}

bool device_progress_observe(DeviceProgress *p, const Checkin *c, const RolloutTarget *t, uint32_t n) {
        bool changed = false;

        /* flotad's check-in times have whole seconds: one in the offer's second counts as after it */
        if (p->state == DR_PENDING || p->state == DR_EXCLUDED || c->at + USEC_PER_SEC <= p->offered_at)
                return false;
        if (c->at > p->last_seen) {
                p->last_seen = c->at;
                changed = true;
        }
        if (t->rolling_back) {
                if (p->state != DR_ROLLED_BACK && !isempty(t->from_version) &&
                    streq(c->version, t->from_version))
                        return set_state(p, DR_ROLLED_BACK, c->at, "back on the previous release");
                return changed;
        }
        if (reports(c, t->version, t->md5)) {
                p->saw_target = true;
                if (p->state != DR_UPDATED)
                        return set_state(p, DR_UPDATED, c->at, "");
                return changed;
        }
        if (p->state == DR_ROLLED_BACK)
                return changed;
        return observe_other(p, c, t, n) || changed;
}

bool device_progress_seen(DeviceProgress *p, const char *version, usec_t at, const RolloutTarget *t) {
        if (t->rolling_back || p->state == DR_UPDATED || p->state == DR_PENDING || p->state == DR_EXCLUDED ||
            p->state == DR_ROLLED_BACK || at + USEC_PER_SEC <= p->offered_at)
                return false;
        if (isempty(version) || isempty(t->version) || !streq(version, t->version))
                return false;
        p->saw_target = true;
        if (at > p->last_seen)
                p->last_seen = at;
        return set_state(p, DR_UPDATED, at, "");
}

bool device_progress_check_silent(DeviceProgress *p, usec_t interval, uint32_t k, usec_t now) {
        if (p->state != DR_OFFERED && p->state != DR_DOWNLOADING)
                return false;
        usec_t since = p->last_seen > p->offered_at ? p->last_seen : p->offered_at;
        usec_t limit = interval * k;
        if (now <= since || now - since <= limit)
                return false;
        char why[64], d[32];
        snprintf(why, sizeof(why), "no check-in for %s", format_duration(d, now - since));
        return set_state(p, DR_SILENT, now, why);
}

usec_t poll_interval(uint64_t polls, usec_t first, usec_t last) {
        if (polls < 2 || last <= first)
                return 3600 * USEC_PER_SEC;
        usec_t i = (last - first) / (polls - 1);
        return i < USEC_PER_SEC ? USEC_PER_SEC : i;
}

/* ---- gates ---- */

static uint64_t bp_of(uint64_t part, uint64_t whole) {
        return whole == 0 ? 0 : part * BASIS_POINTS / whole;
}

GateVerdict rollout_gate(const RolloutSpec *spec, const GateInput *in, usec_t now, char why[static 128]) {
        const RolloutCounts *c = &in->counts;
        uint64_t decided = rollout_counts_decided(c);
        uint64_t sample = spec->min_sample < c->offered ? spec->min_sample : c->offered;
        char a[16], b[16];

        if (decided >= sample && decided > 0) {
                /* a ratio over its limit fails at once; the exact comparison avoids rounding a failure away
                 */
                if (c->failed * BASIS_POINTS > (uint64_t) spec->max_failure * decided) {
                        snprintf(why, 128,
                                 "failure ratio %s over the %s limit (%" PRIu64 " of %" PRIu64 " decided)",
                                 ratio_format(a, (uint32_t) bp_of(c->failed, decided)),
                                 ratio_format(b, spec->max_failure), c->failed, decided);
                        return GATE_FAIL;
                }
                if (c->silent * BASIS_POINTS > (uint64_t) spec->max_silent * c->offered) {
                        snprintf(why, 128,
                                 "silent ratio %s over the %s limit (%" PRIu64 " of %" PRIu64 " offered)",
                                 ratio_format(a, (uint32_t) bp_of(c->silent, c->offered)),
                                 ratio_format(b, spec->max_silent), c->silent, c->offered);
                        return GATE_FAIL;
                }
        }
        if (!in->wave_fully_offered) {
                snprintf(why, 128, "offering");
                return GATE_WAIT;
        }
        if (decided < sample || decided == 0) {
                snprintf(why, 128, "sample: %" PRIu64 " of %" PRIu64 " devices decided", decided,
                         sample ? sample : 1);
                return GATE_WAIT;
        }
        if (c->updated * BASIS_POINTS < (uint64_t) spec->min_success * decided) {
                snprintf(why, 128, "success %s below %s",
                         ratio_format(a, (uint32_t) bp_of(c->updated, decided)),
                         ratio_format(b, spec->min_success));
                return GATE_WAIT;
        }
        usec_t soaked = now > in->wave_last_offer ? now - in->wave_last_offer : 0;
        if (soaked < spec->soak) {
                char left[32];
                snprintf(why, 128, "%s after soak (%s)", in->last_wave ? "completes" : "next wave",
                         format_duration(left, spec->soak - soaked));
                return GATE_WAIT;
        }
        snprintf(why, 128, "gate passed");
        return GATE_PASS;
}

/* ---- time ---- */

static bool window_contains(const RolloutWindow *w, const struct tm *tm) {
        unsigned m = (unsigned) (tm->tm_hour * 60 + tm->tm_min);
        int day = tm->tm_wday;

        if (w->start < w->end)
                return (w->days & (1u << day)) && m >= w->start && m < w->end;
        /* spans midnight: the evening belongs to today's day, the morning to yesterday's */
        if (m >= w->start)
                return w->days & (1u << day);
        if (m < w->end)
                return w->days & (1u << ((day + 6) % 7));
        return false;
}

bool rollout_window_open(const RolloutWindow *w, size_t n, usec_t now) {
        time_t t = (time_t) (now / USEC_PER_SEC);
        struct tm tm;

        if (n == 0)
                return true;
        localtime_r(&t, &tm);
        for (size_t i = 0; i < n; i++)
                if (window_contains(&w[i], &tm))
                        return true;
        return false;
}

usec_t rollout_window_next(const RolloutWindow *w, size_t n, usec_t now) {
        if (rollout_window_open(w, n, now))
                return now;
        /* step minute by minute over at most 8 days of local time: exact across DST changes */
        usec_t t = now - now % (60 * USEC_PER_SEC);
        for (unsigned i = 0; i < 8 * 24 * 60; i++) {
                t += 60 * USEC_PER_SEC;
                if (rollout_window_open(w, n, t))
                        return t;
        }
        return USEC_INFINITY;
}

uint64_t rollout_rate_allowance(uint32_t rate, uint64_t offers_last_minute) {
        if (rate == 0)
                return UINT64_MAX;
        return offers_last_minute >= rate ? 0 : rate - offers_last_minute;
}

uint32_t rollout_rate_ramped(uint32_t rate, double ramp, size_t passed) {
        if (rate == 0)
                return 0;
        double r = (double) rate * pow(ramp, (double) passed);
        return r > 1e6 ? 1000000u : (uint32_t) llround(r);
}

/* ---- gated promotion ---- */

static int gate_term(PromoteGate *g, const char *key, const char *value) {
        uint32_t n;

        if (streq(key, "from"))
                return name_is_valid(value) && strscpy(g->from, sizeof(g->from), value) ? 0 : -EINVAL;
        if (streq(key, "soak"))
                return parse_duration(value, &g->soak);
        if (streq(key, "healthy"))
                return ratio_parse(value, &g->healthy);
        if (streq(key, "min"))
                return parse_u32(value, &n) < 0 ? -EINVAL : (g->min = n, 0);
        return -EINVAL;
}

int promote_gate_parse(const char *s, PromoteGate *ret, char err[static ROLLOUT_SPEC_ERROR_MAX]) {
        PromoteGate g = {};
        char copy[256], *save = NULL;

        if (!s || !strscpy(copy, sizeof(copy), s)) {
                snprintf(err, ROLLOUT_SPEC_ERROR_MAX, "--gate: too long");
                return -EINVAL;
        }
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(t, '=');
                if (eq)
                        *eq = 0;
                if (!eq || gate_term(&g, t, eq + 1) < 0) {
                        snprintf(err, ROLLOUT_SPEC_ERROR_MAX,
                                 "--gate: '%.40s' is not one of from=CHANNEL, soak=DURATION, "
                                 "healthy=PERCENT, min=N",
                                 t);
                        return -EINVAL;
                }
        }
        if (!g.from[0]) {
                snprintf(err, ROLLOUT_SPEC_ERROR_MAX, "--gate: from=CHANNEL is required");
                return -EINVAL;
        }
        *ret = g;
        return 0;
}

GateVerdict promote_gate_check(const PromoteGate *g, const PromoteEvidence *ev, usec_t now,
                               char why[static 160]) {
        char a[16], b[16], d[32], e[32];

        if (!ev->on_channel) {
                snprintf(why, 160, "the release is not on %s", g->from);
                return GATE_WAIT;
        }
        usec_t ran = now > ev->since ? now - ev->since : 0;
        if (ran < g->soak) {
                snprintf(why, 160, "soak: on %s for %s of %s", g->from, format_duration(d, ran),
                         format_duration(e, g->soak));
                return GATE_WAIT;
        }
        if (ev->running < g->min) {
                snprintf(why, 160, "min: %" PRIu64 " devices on %s report it, %u needed", ev->running,
                         g->from, g->min);
                return GATE_WAIT;
        }
        if (ev->offered > 0 && ev->running * BASIS_POINTS < (uint64_t) g->healthy * ev->offered) {
                snprintf(why, 160, "healthy: %s of %" PRIu64 " devices offered it on %s run it, %s needed",
                         ratio_format(a, (uint32_t) bp_of(ev->running, ev->offered)), ev->offered, g->from,
                         ratio_format(b, g->healthy));
                return GATE_WAIT;
        }
        snprintf(why, 160, "on %s for %s, %" PRIu64 " of %" PRIu64 " devices run it", g->from,
                 format_duration(d, ran), ev->running, ev->offered);
        return GATE_PASS;
}
