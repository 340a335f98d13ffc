/* SPDX-License-Identifier: MIT */
/*
 * flota rollout: the staged-rollout engine's front end. Every subcommand that changes a
 * rollout takes the lock beside the inventory, so the cron tick, the dashboard and an
 * operator never act at once; 'tick' is what cron or the systemd timer runs.
 */
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/rollout.h"
#include "flota/strutil.h"
#include "flota/time-util.h"

#define EXIT_HALTED 3
#define PLAN_SHOWN 10

typedef struct RolloutArgs {
        RolloutSpec spec;
        const char *name;
        const char *file;
        usec_t now;
        unsigned wait;
        bool dry_run;
        bool all;
        char *file_name; /* name= from --file */
} RolloutArgs;

static void rollout_args_done(RolloutArgs *a) {
        rollout_spec_done(&a->spec);
        free(a->file_name);
}

typedef struct IniCtx {
        RolloutArgs *args;
        char error[ROLLOUT_SPEC_ERROR_MAX + 32];
} IniCtx;

static int on_ini(void *user, const char *section, const char *key, const char *value) {
        IniCtx *c = user;
        char msg[ROLLOUT_SPEC_ERROR_MAX];

        if (!streq(section, "rollout")) {
                snprintf(c->error, sizeof(c->error), "unknown section [%.40s] (expected [rollout])",
                         section);
                return 0;
        }
        if (streq(key, "name")) {
                free(c->args->file_name);
                c->args->file_name = xstrdup(value);
                return 1;
        }
        if (rollout_spec_set(&c->args->spec, key, value, msg) < 0) {
                snprintf(c->error, sizeof(c->error), "%s", msg);
                return 0;
        }
        return 1;
}

static int load_file(RolloutArgs *a, const char *path) {
        FILE *f = fopen(path, "re");
        if (!f)
                return cli_error("rollout: cannot read %s: %s", path, strerror(errno));
        IniCtx c = { .args = a };
        int line = ini_parse_file(f, on_ini, &c);
        fclose(f);
        if (line != 0)
                return cli_usage("rollout: %s:%d: %s", path, line, c.error[0] ? c.error : "syntax error");
        return 0;
}

/* Options: the spec's keys as --key VALUE or --key=VALUE, and --file, --now, --wait, --dry-run, --all. */
static int parse_args(int argc, char **argv, RolloutArgs *a) {
        char msg[ROLLOUT_SPEC_ERROR_MAX];

        rollout_spec_init(&a->spec);
        a->now = now_usec(CLOCK_REALTIME);
        a->wait = 30;
        for (int i = 0; i < argc; i++) {
                const char *arg = argv[i];
                if (!startswith(arg, "--")) {
                        if (a->name)
                                return cli_usage("rollout: unexpected argument '%s'", arg);
                        a->name = arg;
                        continue;
                }
                _cleanup_free_ char *key = xstrdup(arg + 2);
                char *eq = strchr(key, '='), *value;
                if (eq) {
                        *eq = 0;
                        value = eq + 1;
                } else if (streq(key, "dry-run") || streq(key, "all")) {
                        *(streq(key, "all") ? &a->all : &a->dry_run) = true;
                        continue;
                } else if (i + 1 < argc)
                        value = argv[++i];
                else
                        return cli_usage("rollout: --%s needs a value", key);
                if (streq(key, "file")) {
                        int k = load_file(a, value);
                        if (k < 0)
                                return k; /* an unreadable file is an error, a bad one a usage error */
                        a->file = value;
                } else if (streq(key, "now")) {
                        if (parse_timestamp(value, &a->now) < 0)
                                return cli_usage("rollout: --now takes an RFC 3339 time or Unix seconds");
                } else if (streq(key, "wait")) {
                        uint32_t w;
                        if (parse_u32(value, &w) < 0 || w > 3600)
                                return cli_usage("rollout: --wait takes seconds from 0 to 3600");
                        a->wait = w;
                } else if (rollout_spec_set(&a->spec, key, value, msg) < 0)
                        return cli_usage("rollout: --%s", msg);
        }
        if (!a->name && a->file_name)
                a->name = a->file_name;
        return 0;
}

/* The inventory, the server and the engine; lock_fd >= 0 when the subcommand changes state. */
typedef struct Session {
        RolloutEngine e;
        int lock_fd;
} Session;

static void session_done(Session *s) {
        if (s->lock_fd >= 0)
                close(s->lock_fd);
}

static int open_session(Cli *cli, const RolloutArgs *a, bool need_server, bool lock, Session *ret) {
        Store *inv;
        ApiClient *api = NULL;
        *ret = (Session) { .lock_fd = -1 };

        if (cli_inventory(cli, &inv) < 0)
                return -1;
        if (need_server && cli_client(cli, "rollout", &api) < 0)
                return -1;
        if (lock) {
                _cleanup_free_ char *path = cli_inventory_path(cli);
                int fd = rollout_lock(path, a->wait);
                if (fd == -EWOULDBLOCK)
                        return cli_error("rollout: another flota holds the rollout lock of %s (waited %us)",
                                         path, a->wait);
                if (fd < 0)
                        return cli_error("rollout: cannot lock %s.lock: %s", path, strerror(-fd));
                ret->lock_fd = fd;
                /* a step reads and writes every device of a large fleet: 64 MiB of cache, not 8 */
                (void) store_cache_size(inv, 65536);
        }
        ret->e = (RolloutEngine) {
                .inventory = inv,
                .api = api,
                .server = cli->server ? cli->server : "",
                .now = a->now,
                .dry_run = a->dry_run,
                .push_password = cli_rollout_push_password,
                .push_userdata = cli,
                .push_user = cli_push_setting(cli, "web-user"),
        };
        return 0;
}

/* ---- create ---- */

static int rollout_create_cmd(Cli *cli, RolloutArgs *a) {
        Session s;
        Rollout r;
        char err[ROLLOUT_ERROR_MAX];

        if (!a->name)
                return cli_usage("rollout create: give a NAME (or name= in --file)");
        if (open_session(cli, a, true, false, &s) < 0)
                return -1;
        int k = rollout_create(&s.e, a->name, &a->spec, &r, err);
        session_done(&s);
        if (k == -EINVAL)
                return cli_usage("rollout create: %s", err);
        if (k < 0)
                return cli_error("rollout create: %s", err);
        if (cli->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "name", r.name);
                cJSON_AddStringToObject(o, "state", rollout_state_to_string(r.state));
                cJSON_AddNumberToObject(o, "release", (double) r.release_id);
                print_json(o);
                cJSON_Delete(o);
        } else {
                /* the product and version are flotad's words: escaped for the terminal */
                _cleanup_free_ char *product = term_escape(r.product), *version = term_escape(r.version);
                printf("created rollout %s: %s %s (release %" PRId64
                       "), a draft; 'flota rollout plan %s' shows it, "
                       "'flota rollout start %s' starts it\n",
                       r.name, product, version, r.release_id, r.name, r.name);
        }
        rollout_done(&r);
        return 0;
}

/* ---- plan ---- */

static cJSON *plan_json(const Rollout *r, const RolloutPlan *p, bool window_open, uint64_t first_offers) {
        cJSON *o = cJSON_CreateObject(), *waves = cJSON_AddArrayToObject(o, "waves");
        cJSON *excluded = cJSON_AddArrayToObject(o, "excluded"),
              *offline = cJSON_AddArrayToObject(o, "offline");

        cJSON_AddStringToObject(o, "name", r->name);
        cJSON_AddNumberToObject(o, "release", (double) r->release_id);
        cJSON_AddStringToObject(o, "version", r->version);
        cJSON_AddNumberToObject(o, "eligible", (double) p->n_eligible);
        for (size_t w = 0; w < p->n_waves; w++) {
                cJSON *x = cJSON_CreateObject(), *members = cJSON_AddArrayToObject(x, "devices");
                cJSON_AddNumberToObject(x, "wave", (double) w + 1);
                cJSON_AddNumberToObject(x, "target", (double) p->targets[w]);
                for (size_t i = 0; i < p->n_eligible; i++)
                        if (p->devices[i].wave == w)
                                cJSON_AddItemToArray(members, cJSON_CreateString(p->devices[i].id));
                cJSON_AddItemToArray(waves, x);
        }
        for (size_t i = 0; i < p->n; i++) {
                const PlanDevice *d = &p->devices[i];
                if (d->excluded != EXCLUDE_NONE) {
                        cJSON *x = cJSON_CreateObject();
                        cJSON_AddStringToObject(x, "device", d->id);
                        cJSON_AddStringToObject(x, "reason", exclude_reason_to_string(d->excluded));
                        cJSON_AddItemToArray(excluded, x);
                } else if (!d->online)
                        cJSON_AddItemToArray(offline, cJSON_CreateString(d->id));
        }
        cJSON *first = cJSON_AddObjectToObject(o, "first_tick");
        cJSON_AddBoolToObject(first, "window_open", window_open);
        cJSON_AddNumberToObject(first, "offers", (double) first_offers);
        return o;
}

static void print_ids(const RolloutPlan *p, size_t from, size_t to, bool all,
                      bool (*pick)(const PlanDevice *d, size_t wave), size_t wave) {
        size_t shown = 0, n = 0;
        for (size_t i = from; i < to; i++) {
                if (!pick(&p->devices[i], wave))
                        continue;
                if (all || shown < PLAN_SHOWN) {
                        print_escaped(shown == 0 ? "    " : " ", p->devices[i].id, "");
                        shown++;
                }
                n++;
        }
        if (n > shown)
                printf(" ... and %zu more (--all lists them)", n - shown);
        if (shown > 0)
                putchar('\n');
}

static bool in_wave(const PlanDevice *d, size_t wave) {
        return d->wave == wave;
}
static bool is_offline(const PlanDevice *d, size_t wave) {
        return !d->online;
}
static bool excluded_for(const PlanDevice *d, size_t reason) {
        return d->excluded == reason;
}

static void plan_print(const Rollout *r, const RolloutSpec *spec, const RolloutPlan *p, bool all,
                       bool window_open, uint64_t first_offers, usec_t now) {
        _cleanup_free_ char *product = term_escape(r->product), *version = term_escape(r->version);
        printf("%s%s%s: %s %s (release %" PRId64 "), %zu eligible of %zu selected\n", style_on(STYLE_HEADER),
               r->name, style_off(), product, version, r->release_id, p->n_eligible, p->n);
        uint64_t prev = 0;
        for (size_t w = 0; w < p->n_waves; w++) {
                uint64_t n = p->targets[w] - prev;
                printf("wave %zu: %" PRIu64 " device%s (%" PRIu64 " in all)\n", w + 1, n, n == 1 ? "" : "s",
                       p->targets[w]);
                print_ids(p, 0, p->n_eligible, all, in_wave, w);
                prev = p->targets[w];
        }
        for (size_t x = 1; x < _EXCLUDE_MAX; x++) {
                if (p->excluded[x] == 0)
                        continue;
                printf("excluded, %s: %" PRIu64 "\n", exclude_reason_to_string(x), p->excluded[x]);
                print_ids(p, p->n_eligible, p->n, all, excluded_for, x);
        }
        if (p->offline > 0) {
                printf("offline (not seen within 3 poll intervals): %" PRIu64 "\n", p->offline);
                print_ids(p, 0, p->n_eligible, all, is_offline, 0);
        }
        if (!window_open) {
                usec_t at = rollout_window_next(spec->windows, spec->n_windows, now);
                time_t t = (time_t) (at / USEC_PER_SEC);
                char when[32] = "never";
                struct tm tm;
                if (at != USEC_INFINITY && localtime_r(&t, &tm))
                        strftime(when, sizeof(when), "%a %H:%M", &tm);
                printf("first tick: outside its windows, no offers until the next opens (%s)\n", when);
        } else
                printf("first tick: offers %" PRIu64 " device%s (wave 1%s)\n", first_offers,
                       first_offers == 1 ? "" : "s", spec->rate ? ", rate-limited" : "");
}

static int rollout_plan_cmd(Cli *cli, RolloutArgs *a) {
        Session s;
        Rollout r = {};
        RolloutSpec spec;
        RolloutPlan plan = {};
        char err[ROLLOUT_ERROR_MAX];
        int k;

        if (!a->name)
                return cli_usage("rollout plan: give the NAME of a rollout, or --file F");
        if (open_session(cli, a, a->file != NULL, false, &s) < 0)
                return -1;
        if (a->file) {
                /* a plan from a file: the release comes from flotad, nothing is stored */
                s.e.dry_run = true;
                k = rollout_create(&s.e, a->name, &a->spec, &r, err);
                if (k < 0)
                        return k == -EINVAL ? cli_usage("rollout plan: %s", err)
                                            : cli_error("rollout plan: %s", err);
        } else if ((k = rollout_get(s.e.inventory, a->name, &r)) < 0)
                return cli_error("rollout plan: %s",
                                 k == -ENOENT ? "no rollout of that name" : "cannot read the rollout");
        k = rollout_spec_parse(r.spec_text, &spec, err);
        if (k < 0) {
                rollout_done(&r);
                return cli_error("rollout plan: %s", err);
        }
        RolloutRelease rel = rollout_release_of(&r);
        k = rollout_plan_build(s.e.inventory, &spec, &rel, r.name, a->now, &plan, err);
        if (k >= 0) {
                bool open = rollout_window_open(spec.windows, spec.n_windows, a->now);
                uint64_t first = plan.n_waves ? plan.targets[0] : 0;
                if (spec.rate && first > spec.rate)
                        first = spec.rate;
                if (!open)
                        first = 0;
                if (cli->json) {
                        cJSON *o = plan_json(&r, &plan, open, first);
                        print_json(o);
                        cJSON_Delete(o);
                } else
                        plan_print(&r, &spec, &plan, a->all, open, first, a->now);
        }
        rollout_plan_done(&plan);
        rollout_spec_done(&spec);
        rollout_done(&r);
        session_done(&s);
        return k < 0 ? cli_error("rollout plan: %s", err) : 0;
}

/* ---- list, show, history ---- */

static cJSON *counts_json(const RolloutCounts *c) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "eligible", (double) c->eligible);
        cJSON_AddNumberToObject(o, "pending", (double) c->pending);
        cJSON_AddNumberToObject(o, "offered", (double) c->offered);
        cJSON_AddNumberToObject(o, "downloading", (double) c->downloading);
        cJSON_AddNumberToObject(o, "updated", (double) c->updated);
        cJSON_AddNumberToObject(o, "failed", (double) c->failed);
        cJSON_AddNumberToObject(o, "silent", (double) c->silent);
        cJSON_AddNumberToObject(o, "rolled_back", (double) c->rolled_back);
        return o;
}

static void add_time(cJSON *o, const char *key, usec_t t) {
        char buf[RFC3339_MAX];
        if (t)
                cJSON_AddStringToObject(o, key, format_rfc3339(buf, t));
        else
                cJSON_AddNullToObject(o, key);
}

static cJSON *rollout_json(Store *inv, const Rollout *r, bool detail) {
        uint64_t targets[ROLLOUT_WAVES_MAX];
        size_t n = 0;
        RolloutCounts all = {}, per[ROLLOUT_WAVES_MAX];
        cJSON *o = cJSON_CreateObject();

        for (const char *p = r->targets; *p; p++)
                n += *p == ',';
        n = r->targets[0] ? n + 1 : 0;
        n = n > ROLLOUT_WAVES_MAX ? ROLLOUT_WAVES_MAX : n;
        (void) rollout_count(inv, r->id, &all, per, n);
        cJSON_AddStringToObject(o, "name", r->name);
        cJSON_AddStringToObject(o, "state", rollout_state_to_string(r->state));
        cJSON_AddStringToObject(o, "server", r->server);
        cJSON *rel = cJSON_AddObjectToObject(o, "release");
        cJSON_AddNumberToObject(rel, "id", (double) r->release_id);
        cJSON_AddStringToObject(rel, "product", r->product);
        cJSON_AddStringToObject(rel, "platform", r->platform);
        cJSON_AddStringToObject(rel, "version", r->version);
        cJSON_AddNumberToObject(o, "wave", r->state == ROLLOUT_DRAFT ? 0 : r->wave + 1);
        cJSON_AddStringToObject(o, "hold", r->hold);
        cJSON_AddItemToObject(o, "counts", counts_json(&all));
        cJSON_AddNumberToObject(o, "excluded", (double) all.excluded);
        if (detail) {
                /* per-wave counts with the wave's cumulative target */
                const char *p = r->targets;
                cJSON *waves = cJSON_AddArrayToObject(o, "waves");
                for (size_t w = 0; w < n && p; w++) {
                        char *end;
                        targets[w] = strtoull(p, &end, 10);
                        p = *end == ',' ? end + 1 : NULL;
                        cJSON *x = counts_json(&per[w]);
                        cJSON_AddNumberToObject(x, "wave", (double) w + 1);
                        cJSON_AddNumberToObject(x, "target", (double) targets[w]);
                        cJSON_AddItemToArray(waves, x);
                }
                cJSON *spec = cJSON_AddObjectToObject(o, "settings");
                _cleanup_free_ char *text = xstrdup(r->spec_text);
                char *save = NULL;
                for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                        char *eq = strchr(l, '=');
                        if (!eq)
                                continue;
                        *eq = 0;
                        cJSON *have = cJSON_GetObjectItem(spec, l);
                        if (streq(l, "window")) {
                                cJSON *arr = have ? have : cJSON_AddArrayToObject(spec, "window");
                                cJSON_AddItemToArray(arr, cJSON_CreateString(eq + 1));
                        } else
                                cJSON_AddStringToObject(spec, l, eq + 1);
                }
                if (!cJSON_GetObjectItem(spec, "window"))
                        cJSON_AddArrayToObject(spec, "window");
        }
        add_time(o, "created", r->created);
        add_time(o, "started", r->started);
        add_time(o, "updated", r->updated);
        return o;
}

typedef struct ListCtx {
        Store *inv;
        cJSON *array;
        usec_t now;
} ListCtx;

static int list_one(const Rollout *r, void *userdata) {
        ListCtx *c = userdata;
        char line[256];

        if (c->array) {
                cJSON_AddItemToArray(c->array, rollout_json(c->inv, r, false));
                return 0;
        }
        if (rollout_summary(c->inv, r, c->now, line) >= 0)
                print_escaped("", line, "\n");
        return 0;
}

static int rollout_list_cmd(Cli *cli, RolloutArgs *a) {
        Store *inv;
        if (cli_inventory(cli, &inv) < 0)
                return -1;
        ListCtx c = { .inv = inv, .now = a->now };
        cJSON *o = NULL;
        if (cli->json) {
                o = cJSON_CreateObject();
                c.array = cJSON_AddArrayToObject(o, "rollouts");
        }
        int k = rollout_list(inv, list_one, &c);
        if (o) {
                if (k >= 0)
                        print_json(o);
                cJSON_Delete(o);
        }
        return k < 0 ? cli_error("rollout list: cannot read the inventory: %s", store_last_error(inv)) : 0;
}

static int get_named(Cli *cli, const RolloutArgs *a, const char *verb, Store **ret_inv, Rollout *ret) {
        if (!a->name)
                return cli_usage("rollout %s: give a NAME", verb);
        if (cli_inventory(cli, ret_inv) < 0)
                return -1;
        int k = rollout_get(*ret_inv, a->name, ret);
        if (k == -ENOENT)
                return cli_error("rollout %s: no rollout named %s", verb, a->name);
        return k < 0 ? cli_error("rollout %s: cannot read the inventory", verb) : 0;
}

static int rollout_show_cmd(Cli *cli, RolloutArgs *a) {
        Store *inv;
        Rollout r;

        if (get_named(cli, a, "show", &inv, &r) < 0)
                return -1;
        cJSON *o = rollout_json(inv, &r, true);
        if (cli->json)
                print_json(o);
        else {
                const cJSON *c = cJSON_GetObjectItem(o, "counts"), *w;
                printf("%s%s%s  %s, wave %d of %d\n", style_on(STYLE_HEADER), r.name, style_off(),
                       rollout_state_to_string(r.state), (int) jnum(o, "wave"),
                       cJSON_GetArraySize(cJSON_GetObjectItem(o, "waves")));
                print_escaped("release    ", r.product, " ");
                print_escaped("", r.version, "");
                printf(" (release %" PRId64 ", %s)\n", r.release_id, r.platform);
                print_escaped("now        ", r.hold[0] ? r.hold : "-", "\n");
                printf("devices    %.0f eligible, %.0f excluded: %.0f updated, %.0f failed, %.0f silent, "
                       "%.0f pending\n",
                       jnum(c, "eligible"), jnum(o, "excluded"), jnum(c, "updated"), jnum(c, "failed"),
                       jnum(c, "silent"), jnum(c, "pending"));
                cJSON_ArrayForEach(w, cJSON_GetObjectItem(o, "waves")) {
                        printf("wave %-2.0f     target %-6.0f updated %-6.0f offered %-6.0f failed %-4.0f "
                               "silent %-4.0f "
                               "pending %.0f\n",
                               jnum(w, "wave"), jnum(w, "target"), jnum(w, "updated"), jnum(w, "offered"),
                               jnum(w, "failed"), jnum(w, "silent"), jnum(w, "pending"));
                }
                print_escaped("settings   ", "", "");
                _cleanup_free_ char *flat = xstrdup(r.spec_text);
                for (char *p = flat; *p; p++)
                        if (*p == '\n')
                                *p = ' ';
                print_escaped("", flat, "\n");
        }
        cJSON_Delete(o);
        rollout_done(&r);
        return 0;
}

typedef struct HistoryCtx {
        cJSON *array;
} HistoryCtx;

static int history_one(usec_t at, uint32_t wave, const char *event, const char *detail, void *userdata) {
        HistoryCtx *h = userdata;
        char when[RFC3339_MAX];

        if (h->array) {
                cJSON *o = cJSON_CreateObject();
                add_time(o, "at", at);
                cJSON_AddNumberToObject(o, "wave", wave + 1);
                cJSON_AddStringToObject(o, "event", event);
                cJSON_AddStringToObject(o, "detail", detail);
                cJSON_AddItemToArray(h->array, o);
                return 0;
        }
        printf("%s  %-14s ", format_rfc3339(when, at), event);
        print_escaped("", detail, "\n");
        return 0;
}

static int rollout_history_cmd(Cli *cli, RolloutArgs *a) {
        Store *inv;
        Rollout r;

        if (get_named(cli, a, "history", &inv, &r) < 0)
                return -1;
        HistoryCtx h = {};
        cJSON *o = NULL;
        if (cli->json) {
                o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "name", r.name);
                h.array = cJSON_AddArrayToObject(o, "events");
        }
        int k = rollout_events_list(inv, r.id, 1000, history_one, &h);
        if (o && k >= 0)
                print_json(o);
        cJSON_Delete(o);
        rollout_done(&r);
        return k < 0 ? cli_error("rollout history: cannot read the inventory") : 0;
}

/* ---- start and the operator's actions ---- */

static int print_state(Cli *cli, RolloutEngine *e, const char *name) {
        Rollout r;
        char line[256];

        if (rollout_get(e->inventory, name, &r) < 0)
                return -1;
        if (cli->json) {
                cJSON *o = rollout_json(e->inventory, &r, true);
                print_json(o);
                cJSON_Delete(o);
        } else if (rollout_summary(e->inventory, &r, e->now, line) >= 0)
                print_escaped("", line, "\n");
        int halted = r.state == ROLLOUT_HALTED;
        rollout_done(&r);
        return halted ? EXIT_HALTED : 0;
}

static int rollout_action_cmd(Cli *cli, RolloutArgs *a, const char *verb, int action) {
        Session s;
        char err[ROLLOUT_ERROR_MAX] = "";
        int k;

        if (!a->name)
                return cli_usage("rollout %s: give a NAME", verb);
        if (open_session(cli, a, true, true, &s) < 0)
                return -1;
        k = action < 0 ? rollout_start(&s.e, a->name, err) : rollout_act(&s.e, a->name, action, err);
        if (k >= 0)
                k = print_state(cli, &s.e, a->name);
        session_done(&s);
        if (k == -EBUSY || k == -EINVAL)
                return cli_error("rollout %s: %s", verb, err);
        return k < 0 ? cli_error("rollout %s: %s", verb, err[0] ? err : strerror(-k)) : k;
}

/* ---- delete ---- */

/* Removes a rollout that no longer acts: a draft, or one that completed, halted or was aborted. */
static int rollout_delete_cmd(Cli *cli, RolloutArgs *a) {
        Session s;
        Rollout r;

        if (!a->name)
                return cli_usage("rollout delete: give a NAME");
        if (open_session(cli, a, false, true, &s) < 0)
                return -1;
        int k = rollout_get(s.e.inventory, a->name, &r);
        if (k < 0) {
                session_done(&s);
                return cli_error("rollout delete: %s",
                                 k == -ENOENT ? "no rollout of that name" : "cannot read it");
        }
        if (r.state != ROLLOUT_DRAFT && !rollout_state_is_final(r.state)) {
                int ret = cli_error("rollout delete: %s is %s; pause does not end it: abort it first",
                                    r.name, rollout_state_to_string(r.state));
                rollout_done(&r);
                session_done(&s);
                return ret;
        }
        k = store_begin(s.e.inventory);
        if (k >= 0)
                k = rollout_delete(s.e.inventory, r.id);
        if (k >= 0) {
                _cleanup_free_ char *detail = xasprintf("%s deleted (%s, release %" PRId64 ")", r.name,
                                                        rollout_state_to_string(r.state), r.release_id);
                k = inventory_audit(s.e.inventory, "rollout", detail);
        }
        k = store_end(s.e.inventory, k);
        rollout_done(&r);
        session_done(&s);
        if (k < 0)
                return cli_error("rollout delete: %s", store_last_error(s.e.inventory));
        if (!cli->json)
                printf("deleted rollout %s\n", a->name);
        return 0;
}

/* ---- tick ---- */

static void tick_line(const Rollout *r, const char *text, void *userdata) {
        cJSON *array = userdata;
        if (array) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "name", r->name);
                cJSON_AddStringToObject(o, "state", rollout_state_to_string(r->state));
                cJSON_AddNumberToObject(o, "wave", r->wave + 1);
                cJSON_AddStringToObject(o, "hold", r->hold);
                cJSON_AddStringToObject(o, "summary", text);
                cJSON_AddItemToArray(array, o);
                return;
        }
        print_escaped("", text, "\n");
}

static int rollout_tick_cmd(Cli *cli, RolloutArgs *a) {
        Session s;
        TickResult res;
        char err[ROLLOUT_ERROR_MAX];

        if (a->name)
                return cli_usage("rollout tick: takes no NAME; it steps every running rollout");
        if (open_session(cli, a, true, true, &s) < 0)
                return -1;
        cJSON *o = NULL, *array = NULL;
        if (cli->json) {
                o = cJSON_CreateObject();
                array = cJSON_AddArrayToObject(o, "rollouts");
        }
        int k = rollout_tick(&s.e, tick_line, array, &res, err);
        session_done(&s);
        if (k < 0) {
                cJSON_Delete(o);
                return cli_error("rollout tick: %s", err[0] ? err : strerror(-k));
        }
        if (o) {
                cJSON_AddNumberToObject(o, "checkins", (double) res.checkins);
                cJSON_AddBoolToObject(o, "dry_run", a->dry_run);
                print_json(o);
                cJSON_Delete(o);
        }
        return res.halted > 0 ? EXIT_HALTED : 0;
}

static void usage(void) {
        printf("Usage: flota rollout SUBCOMMAND [NAME] [OPTIONS]\n"
               "\n"
               "  create NAME --release ID [settings] | --file F   a draft rollout\n"
               "  plan NAME | --file F [--all]                     who is in which wave, who is excluded "
               "and why\n"
               "  start NAME                                       fix the population and start offering\n"
               "  pause|resume|approve|abort|retry-failed|rollback|promote NAME\n"
               "  list | show NAME | history NAME                  (each with --json)\n"
               "  delete NAME                                      a draft, or a rollout that ended\n"
               "  tick [--dry-run]                                 step every running rollout (the cron "
               "job)\n"
               "\n"
               "Settings (also keys of an INI file's [rollout] section, with name=):\n"
               "  --release ID  --select EXPR  --waves 1,5%%,25%%,100%%  --soak 30m  --min-success 95%%\n"
               "  --max-failure 2%%  --min-sample 5  --max-silent 5%%  --window 01:00-05:00[,sat-sun] "
               "(repeatable)\n"
               "  --rate 200/min  --ramp F  --on-failure halt|rollback  --promote CHANNEL  --approve "
               "each|first|none\n"
               "  --transport pull|espota|web  --image FILE  --parallel N  --push-port P\n"
               "  --silent-after K  --stuck-polls N\n"
               "Common: --now TIME (decide as if it were TIME)  --wait SECS (for the lock, default 30)\n"
               "\n"
               "Exit status: 0 all well or waiting, 3 a rollout halted and needs a human, 1 error, 2 "
               "usage.\n");
}

int verb_rollout(Cli *cli, int argc, char **argv) {
        static const struct {
                const char *name;
                int action; /* RolloutAction, or -1 for start */
        } actions[] = {
                { "start", -1 },
                { "pause", ROLLOUT_ACTION_PAUSE },
                { "resume", ROLLOUT_ACTION_RESUME },
                { "approve", ROLLOUT_ACTION_APPROVE },
                { "abort", ROLLOUT_ACTION_ABORT },
                { "retry-failed", ROLLOUT_ACTION_RETRY_FAILED },
                { "rollback", ROLLOUT_ACTION_ROLLBACK },
                { "promote", ROLLOUT_ACTION_PROMOTE },
        };
        _cleanup_(rollout_args_done) RolloutArgs a = {};

        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                usage();
                return argc < 2 ? CLI_USAGE : 0;
        }
        const char *sub = argv[1];
        int k = parse_args(argc - 2, argv + 2, &a);
        if (k < 0)
                return k;
        if (streq(sub, "create"))
                return rollout_create_cmd(cli, &a);
        if (streq(sub, "plan"))
                return rollout_plan_cmd(cli, &a);
        if (streq(sub, "list"))
                return rollout_list_cmd(cli, &a);
        if (streq(sub, "show"))
                return rollout_show_cmd(cli, &a);
        if (streq(sub, "history"))
                return rollout_history_cmd(cli, &a);
        if (streq(sub, "tick"))
                return rollout_tick_cmd(cli, &a);
        if (streq(sub, "delete"))
                return rollout_delete_cmd(cli, &a);
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (streq(sub, actions[i].name))
                        return rollout_action_cmd(cli, &a, sub, actions[i].action);
        return cli_usage("rollout: unknown subcommand '%s'", sub);
}
