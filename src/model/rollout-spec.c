/* SPDX-License-Identifier: MIT */
/* A rollout's settings: defaults, one parser per key, and the canonical text kept in the inventory. */
#include "flota/rollout-spec.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"

static const char *const on_failure_names[_ON_FAILURE_MAX] = {
        [ON_FAILURE_HALT] = "halt",
        [ON_FAILURE_ROLLBACK] = "rollback",
};

static const char *const approve_names[_APPROVE_MODE_MAX] = {
        [APPROVE_NONE] = "none",
        [APPROVE_FIRST] = "first",
        [APPROVE_EACH] = "each",
};

static const char *const transport_names[_TRANSPORT_MAX] = {
        [TRANSPORT_PULL] = "pull",
        [TRANSPORT_ESPOTA] = "espota",
        [TRANSPORT_WEB] = "web",
};

static int lookup(const char *const *names, size_t n, const char *s) {
        for (size_t i = 0; s && i < n; i++)
                if (streq(names[i], s))
                        return (int) i;
        return -EINVAL;
}

const char *on_failure_to_string(OnFailure f) {
        return f >= 0 && f < _ON_FAILURE_MAX ? on_failure_names[f] : NULL;
}
OnFailure on_failure_from_string(const char *s) {
        return lookup(on_failure_names, _ON_FAILURE_MAX, s);
}
const char *approve_mode_to_string(ApproveMode m) {
        return m >= 0 && m < _APPROVE_MODE_MAX ? approve_names[m] : NULL;
}
ApproveMode approve_mode_from_string(const char *s) {
        return lookup(approve_names, _APPROVE_MODE_MAX, s);
}
const char *transport_to_string(Transport t) {
        return t >= 0 && t < _TRANSPORT_MAX ? transport_names[t] : NULL;
}
Transport transport_from_string(const char *s) {
        return lookup(transport_names, _TRANSPORT_MAX, s);
}

bool rollout_name_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > ROLLOUT_NAME_MAX || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

void rollout_spec_init(RolloutSpec *s) {
        *s = (RolloutSpec) {
                .select = xstrdup(""),
                .waves = { { false, 1 }, { true, 500 }, { true, 2500 }, { true, BASIS_POINTS } },
                .n_waves = 4,
                .soak = 30 * 60 * USEC_PER_SEC,
                .min_success = 9500,
                .max_failure = 200,
                .max_silent = 500,
                .min_sample = 5,
                .ramp = 1.0,
                .silent_after = 3,
                .stuck_polls = 3,
                .parallel = 4,
        };
}

void rollout_spec_done(RolloutSpec *s) {
        free(s->select);
        free(s->promote);
        free(s->image);
        s->select = s->promote = s->image = NULL;
}

/* A decimal with at most two places, as hundredths: "2.5" -> 250. */
static int parse_hundredths(const char *s, uint64_t max, uint32_t *ret) {
        uint64_t whole = 0, frac = 0;
        size_t digits = 0, places = 0;
        const char *p = s;

        for (; isdigit((unsigned char) *p); p++, digits++) {
                whole = whole * 10 + (uint64_t) (*p - '0');
                if (whole > max)
                        return -ERANGE;
        }
        if (*p == '.') {
                for (p++; isdigit((unsigned char) *p); p++, places++) {
                        if (places >= 2)
                                return -EINVAL;
                        frac = frac * 10 + (uint64_t) (*p - '0');
                }
                if (places == 0)
                        return -EINVAL;
        }
        if (digits == 0 || *p)
                return -EINVAL;
        frac *= places == 1 ? 10 : 1;
        uint64_t v = whole * 100 + frac;
        if (v > max * 100)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int ratio_parse(const char *s, uint32_t *ret) {
        size_t n = s ? strlen(s) : 0;

        if (n < 2 || s[n - 1] != '%')
                return -EINVAL;
        _cleanup_free_ char *num = xstrndup(s, n - 1);
        return parse_hundredths(num, 100, ret);
}

char *ratio_format(char buf[static 16], uint32_t bp) {
        if (bp % 100 == 0)
                snprintf(buf, 16, "%u%%", bp / 100);
        else if (bp % 10 == 0)
                snprintf(buf, 16, "%u.%u%%", bp / 100, bp % 100 / 10);
        else
                snprintf(buf, 16, "%u.%02u%%", bp / 100, bp % 100);
        return buf;
}

static int wave_parse(const char *s, RolloutWave *ret) {
        size_t n = strlen(s);

        if (n > 0 && s[n - 1] == '%') {
                uint32_t bp;
                if (ratio_parse(s, &bp) < 0 || bp == 0)
                        return -EINVAL;
                *ret = (RolloutWave) { true, bp };
                return 0;
        }
        uint32_t count;
        if (parse_u32(s, &count) < 0 || count == 0)
                return -EINVAL;
        *ret = (RolloutWave) { false, count };
        return 0;
}

int rollout_waves_parse(const char *s, RolloutWave ret[static ROLLOUT_WAVES_MAX], size_t *ret_n) {
        RolloutWave w[ROLLOUT_WAVES_MAX];
        size_t n = 0;
        _cleanup_free_ char *copy = xstrdup(s ? s : "");
        char *save = NULL;

        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (n == ROLLOUT_WAVES_MAX - 1 || wave_parse(t, &w[n]) < 0)
                        return -EINVAL;
                /* cumulative: a percentage never goes down, a count never goes down after a count */
                if (n > 0 && w[n].is_percent == w[n - 1].is_percent && w[n].value <= w[n - 1].value)
                        return -EINVAL;
                if (n > 0 && !w[n].is_percent && w[n - 1].is_percent)
                        return -EINVAL;
                n++;
        }
        if (n == 0)
                return -EINVAL;
        if (!w[n - 1].is_percent || w[n - 1].value != BASIS_POINTS)
                w[n++] = (RolloutWave) { true, BASIS_POINTS };
        memcpy(ret, w, n * sizeof(w[0]));
        *ret_n = n;
        return 0;
}

static int clock_parse(const char *s, size_t len, uint16_t *ret) {
        unsigned h, m;
        char buf[8];

        if (len < 4 || len > 5)
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;
        if (!isdigit((unsigned char) buf[0]) || buf[len - 3] != ':' || sscanf(buf, "%u:%u", &h, &m) != 2)
                return -EINVAL;
        if (!isdigit((unsigned char) buf[len - 1]) || !isdigit((unsigned char) buf[len - 2]))
                return -EINVAL;
        if (h > 24 || m > 59 || (h == 24 && m != 0))
                return -EINVAL;
        *ret = (uint16_t) (h * 60 + m);
        return 0;
}

static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static int day_parse(const char *s, size_t len) {
        for (int i = 0; i < 7; i++)
                if (len == 3 && strncasecmp(s, day_names[i], 3) == 0)
                        return i;
        return -EINVAL;
}

/* "mon-fri", "sat", "sat-sun" (a range may wrap past Saturday). */
static int days_parse(const char *s, uint8_t *ret) {
        const char *dash = strchr(s, '-');
        int a, b;

        if (dash) {
                a = day_parse(s, (size_t) (dash - s));
                b = day_parse(dash + 1, strlen(dash + 1));
        } else
                a = b = day_parse(s, strlen(s));
        if (a < 0 || b < 0)
                return -EINVAL;
        uint8_t days = 0;
        for (int d = a;; d = (d + 1) % 7) {
                days |= (uint8_t) (1u << d);
                if (d == b)
                        break;
        }
        *ret = days;
        return 0;
}

int rollout_window_parse(const char *s, RolloutWindow *ret) {
        RolloutWindow w = { .days = 0x7f };
        const char *comma = s ? strchr(s, ',') : NULL;
        size_t len = s ? (comma ? (size_t) (comma - s) : strlen(s)) : 0;
        const char *dash = s ? memchr(s, '-', len) : NULL;

        if (!dash || clock_parse(s, (size_t) (dash - s), &w.start) < 0 ||
            clock_parse(dash + 1, len - (size_t) (dash - s) - 1, &w.end) < 0 || w.start == w.end)
                return -EINVAL;
        if (w.start == 24 * 60)
                return -EINVAL;
        if (comma && days_parse(comma + 1, &w.days) < 0)
                return -EINVAL;
        *ret = w;
        return 0;
}

int rate_parse(const char *s, uint32_t *ret) {
        const char *slash = s ? strchr(s, '/') : NULL;
        uint32_t n;

        if (!slash)
                return -EINVAL;
        _cleanup_free_ char *num = xstrndup(s, (size_t) (slash - s));
        if (parse_u32(num, &n) < 0 || n == 0)
                return -EINVAL;
        if (streq(slash + 1, "min") || streq(slash + 1, "m"))
                *ret = n;
        else if (streq(slash + 1, "h") || streq(slash + 1, "hour"))
                *ret = n < 60 ? 1 : n / 60;
        else
                return -EINVAL;
        return 0;
}

typedef int (*KeySetter)(RolloutSpec *s, const char *value);

static int set_release(RolloutSpec *s, const char *v) {
        int64_t id;
        if (parse_i64(v, &id) < 0 || id <= 0)
                return -EINVAL;
        s->release_id = id;
        return 0;
}
static int set_select(RolloutSpec *s, const char *v) {
        free(s->select);
        s->select = xstrdup(v);
        return 0;
}
static int set_waves(RolloutSpec *s, const char *v) {
        return rollout_waves_parse(v, s->waves, &s->n_waves);
}
static int set_soak(RolloutSpec *s, const char *v) {
        return parse_duration(v, &s->soak);
}
static int set_min_success(RolloutSpec *s, const char *v) {
        return ratio_parse(v, &s->min_success);
}
static int set_max_failure(RolloutSpec *s, const char *v) {
        return ratio_parse(v, &s->max_failure);
}
static int set_max_silent(RolloutSpec *s, const char *v) {
        return ratio_parse(v, &s->max_silent);
}
static int set_min_sample(RolloutSpec *s, const char *v) {
        return parse_u32(v, &s->min_sample);
}
static int set_window(RolloutSpec *s, const char *v) {
        if (streq(v, "none") || streq(v, "any")) {
                s->n_windows = 0;
                return 0;
        }
        if (s->n_windows == ROLLOUT_WINDOWS_MAX)
                return -EINVAL;
        return rollout_window_parse(v, &s->windows[s->n_windows]) < 0 ? -EINVAL : (s->n_windows++, 0);
}
static int set_rate(RolloutSpec *s, const char *v) {
        if (streq(v, "none") || streq(v, "0")) {
                s->rate = 0;
                return 0;
        }
        return rate_parse(v, &s->rate);
}
static int set_ramp(RolloutSpec *s, const char *v) {
        char *end;
        double f = strtod(v, &end);
        if (*v == 0 || *end || !isfinite(f) || f < 1.0 || f > 100.0)
                return -EINVAL;
        s->ramp = f;
        return 0;
}
static int set_on_failure(RolloutSpec *s, const char *v) {
        OnFailure f = on_failure_from_string(v);
        return f < 0 ? f : (s->on_failure = f, 0);
}
static int set_promote(RolloutSpec *s, const char *v) {
        if (!name_is_valid(v) && !isempty(v))
                return -EINVAL;
        free(s->promote);
        s->promote = isempty(v) ? NULL : xstrdup(v);
        return 0;
}
static int set_approve(RolloutSpec *s, const char *v) {
        ApproveMode m = approve_mode_from_string(v);
        return m < 0 ? m : (s->approve = m, 0);
}
static int set_transport(RolloutSpec *s, const char *v) {
        Transport t = transport_from_string(v);
        return t < 0 ? t : (s->transport = t, 0);
}
static int set_silent_after(RolloutSpec *s, const char *v) {
        uint32_t k;
        return parse_u32(v, &k) < 0 || k == 0 || k > 1000 ? -EINVAL : (s->silent_after = k, 0);
}
static int set_stuck_polls(RolloutSpec *s, const char *v) {
        uint32_t n;
        return parse_u32(v, &n) < 0 || n == 0 || n > 1000 ? -EINVAL : (s->stuck_polls = n, 0);
}

static int set_image(RolloutSpec *s, const char *v) {
        /* absolute: the tick runs from cron, in another directory */
        if (strchr(v, '\n') || (!isempty(v) && v[0] != '/'))
                return -EINVAL;
        free(s->image);
        s->image = isempty(v) ? NULL : xstrdup(v);
        return 0;
}
static int set_parallel(RolloutSpec *s, const char *v) {
        uint32_t n;
        return parse_u32(v, &n) < 0 || n == 0 || n > 256 ? -EINVAL : (s->parallel = n, 0);
}
static int set_push_port(RolloutSpec *s, const char *v) {
        uint32_t n;
        return parse_u32(v, &n) < 0 || n > 65535 ? -EINVAL : (s->push_port = n, 0);
}

static const struct {
        const char *key;
        KeySetter set;
        const char *accepts;
} keys[] = {
        { "release", set_release, "a release id" },
        { "select", set_select, "a selection expression" },
        { "waves", set_waves, "increasing counts then percentages, e.g. 1,5%,25%,100%" },
        { "soak", set_soak, "a duration such as 30m, 12h or 7d" },
        { "min-success", set_min_success, "a percentage such as 95%" },
        { "max-failure", set_max_failure, "a percentage such as 2%" },
        { "max-silent", set_max_silent, "a percentage such as 5%" },
        { "min-sample", set_min_sample, "a device count" },
        { "window", set_window, "HH:MM-HH:MM[,day[-day]] in local time, or none (at most 8)" },
        { "rate", set_rate, "offers per minute such as 200/min, or none" },
        { "ramp", set_ramp, "a factor from 1 to 100" },
        { "on-failure", set_on_failure, "halt or rollback" },
        { "promote", set_promote, "a channel name" },
        { "approve", set_approve, "each, first or none" },
        { "transport", set_transport, "pull, espota or web" },
        { "silent-after", set_silent_after, "a number of poll intervals, 1-1000" },
        { "stuck-polls", set_stuck_polls, "a number of polls, 1-1000" },
        { "image", set_image, "the absolute path of the release's image file" },
        { "parallel", set_parallel, "a number of pushes at once, 1-256" },
        { "push-port", set_push_port, "a port, or 0 for the announced one" },
};

int rollout_spec_set(RolloutSpec *s, const char *key, const char *value,
                     char err[static ROLLOUT_SPEC_ERROR_MAX]) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (!streq(keys[i].key, key))
                        continue;
                RolloutSpec copy = *s;
                if (keys[i].set(s, value) < 0) {
                        /* setters change nothing on failure, except the arrays they fill in place */
                        memcpy(s->waves, copy.waves, sizeof(copy.waves));
                        s->n_waves = copy.n_waves;
                        snprintf(err, ROLLOUT_SPEC_ERROR_MAX, "%s: '%.40s' is not %s", key, value,
                                 keys[i].accepts);
                        return -EINVAL;
                }
                return 0;
        }
        snprintf(err, ROLLOUT_SPEC_ERROR_MAX, "unknown setting '%.40s'", key);
        return -EINVAL;
}

int rollout_spec_check(const RolloutSpec *s, char err[static ROLLOUT_SPEC_ERROR_MAX]) {
        if (s->release_id <= 0) {
                snprintf(err, ROLLOUT_SPEC_ERROR_MAX, "no release: give --release ID");
                return -EINVAL;
        }
        if (s->transport != TRANSPORT_PULL && !s->image) {
                snprintf(err, ROLLOUT_SPEC_ERROR_MAX, "transport %s: give the release's image, --image FILE",
                         transport_to_string(s->transport));
                return -EINVAL;
        }
        return 0;
}

static void format_wave(FILE *f, const RolloutWave *w) {
        char buf[16];
        if (w->is_percent)
                fputs(ratio_format(buf, w->value), f);
        else
                fprintf(f, "%u", w->value);
}

static void format_window(FILE *f, const RolloutWindow *w) {
        fprintf(f, "window=%02u:%02u-%02u:%02u", w->start / 60, w->start % 60, w->end / 60, w->end % 60);
        if (w->days == 0x7f)
                return;
        fputc(',', f);
        /* one range when the days are consecutive (possibly wrapping), otherwise the first of them */
        int first = -1, last = -1;
        for (int d = 0; d < 7; d++) {
                int prev = (d + 6) % 7;
                if ((w->days & (1u << d)) && !(w->days & (1u << prev)))
                        first = d;
        }
        for (int d = first; first >= 0; d = (d + 1) % 7) {
                if (!(w->days & (1u << d)))
                        break;
                last = d;
        }
        fprintf(f, first == last ? "%s" : "%s-%s", day_names[first], day_names[last]);
}

char *rollout_spec_format(const RolloutSpec *s) {
        char *text = NULL, buf[16];
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                abort();
        fprintf(f, "release=%" PRId64 "\n", s->release_id);
        fprintf(f, "select=%s\n", s->select ? s->select : "");
        fputs("waves=", f);
        for (size_t i = 0; i < s->n_waves; i++) {
                if (i > 0)
                        fputc(',', f);
                format_wave(f, &s->waves[i]);
        }
        fprintf(f, "\nsoak=%" PRIu64 "s\n", s->soak / USEC_PER_SEC);
        fprintf(f, "min-success=%s\n", ratio_format(buf, s->min_success));
        fprintf(f, "max-failure=%s\n", ratio_format(buf, s->max_failure));
        fprintf(f, "max-silent=%s\n", ratio_format(buf, s->max_silent));
        fprintf(f, "min-sample=%u\n", s->min_sample);
        for (size_t i = 0; i < s->n_windows; i++) {
                format_window(f, &s->windows[i]);
                fputc('\n', f);
        }
        fprintf(f, s->rate ? "rate=%u/min\n" : "rate=none\n", s->rate);
        fprintf(f, "ramp=%g\n", s->ramp);
        fprintf(f, "on-failure=%s\n", on_failure_to_string(s->on_failure));
        fprintf(f, "promote=%s\n", s->promote ? s->promote : "");
        fprintf(f, "approve=%s\n", approve_mode_to_string(s->approve));
        fprintf(f, "transport=%s\n", transport_to_string(s->transport));
        fprintf(f, "silent-after=%u\n", s->silent_after);
        fprintf(f, "stuck-polls=%u\n", s->stuck_polls);
        if (s->transport != TRANSPORT_PULL) {
                fprintf(f, "image=%s\n", s->image ? s->image : "");
                fprintf(f, "parallel=%u\n", s->parallel);
                fprintf(f, "push-port=%u\n", s->push_port);
        }
        fclose(f);
        return text;
}

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

int rollout_spec_parse(const char *text, RolloutSpec *ret, char err[static ROLLOUT_SPEC_ERROR_MAX]) {
        RolloutSpec s;
        _cleanup_free_ char *copy = xstrdup(text);
        char *save = NULL;
        unsigned line = 0;

        rollout_spec_init(&s);
        s.n_windows = 0;
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                line++;
                l = strip(l);
                if (!*l || *l == '#' || *l == ';')
                        continue;
                char *eq = strchr(l, '=');
                if (!eq) {
                        snprintf(err, ROLLOUT_SPEC_ERROR_MAX, "line %u: not key=value", line);
                        rollout_spec_done(&s);
                        return -EINVAL;
                }
                *eq = 0;
                char msg[ROLLOUT_SPEC_ERROR_MAX];
                if (rollout_spec_set(&s, strip(l), strip(eq + 1), msg) < 0) {
                        snprintf(err, ROLLOUT_SPEC_ERROR_MAX, "line %u: %.140s", line, msg);
                        rollout_spec_done(&s);
                        return -EINVAL;
                }
        }
        *ret = s;
        return 0;
}
