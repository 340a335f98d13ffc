/* SPDX-License-Identifier: MIT */
/*
 * flota demo's set-up and tear-down: the temporary directory, the private flotad, the catalog
 * (products, releases, channels, rollouts) and the flota-sim fleet. Every process started here
 * is stopped by pid in demo_tear_down(), which also removes the directory (unless --keep).
 */
#include "demo-setup.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "flota/alloc.h"
#include "flota/fileio.h"
#include "flota/image.h"
#include "flota/rollout.h"
#include "flota/strutil.h"

/*
 * Stops a child the demo started: SIGTERM, a bounded wait, then SIGKILL. 0 when it stopped
 * cleanly; otherwise (killed, or a failure such as a sanitizer report) -1 after reporting.
 */
static int stop_child(Demo *d, pid_t *pid, const char *name) {
        pid_t was = *pid;
        int status;

        if (child_stop(pid, DEMO_STOP_TIMEOUT, &status) < 0)
                return cli_error("demo: %s (pid %d) did not stop in time and was killed", name, (int) was);
        if (child_exit_status(status) == 0)
                return 0;
        _cleanup_free_ char *log = xasprintf("%s.log", name);
        _cleanup_free_ char *last = demo_log_line(d, log, "");
        return cli_error("demo: %s exited with status %d when stopped: %s", name, child_exit_status(status),
                         last ? last : "no reason given");
}

/* ---- the private flotad ---- */

static int create_token(Demo *d) {
        char out[256];
        size_t n = 0;
        int pipefd[2], status;

        _cleanup_close_ int log = demo_open_log(d, "flotad.log");
        _cleanup_free_ char *data = xasprintf("%s/data", d->dir);
        char *argv[] = { d->flotad_path,    (char *) "--data-dir", data,
                         (char *) "token",  (char *) "create",     (char *) "demo",
                         (char *) "--role", (char *) "admin",      NULL };
        if (log < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
                return cli_error("demo: %s: %s", d->dir, strerror(errno));
        pid_t pid = child_spawn(argv, pipefd[1], log);
        close(pipefd[1]);
        while (pid > 0 && n < sizeof(out) - 1) {
                ssize_t k = read(pipefd[0], out + n, sizeof(out) - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        close(pipefd[0]);
        out[n] = 0;
        if (pid < 0)
                return cli_error("demo: cannot start %s: %s", d->flotad_path, strerror(-pid));
        if (child_reap(pid, DEMO_START_TIMEOUT, &status) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0 || !startswith(out, "flota_")) {
                _cleanup_free_ char *why = demo_log_line(d, "flotad.log", "");
                return cli_error("demo: flotad could not create a token: %s", why ? why : "no reason given");
        }
        out[strcspn(out, "\n")] = 0;
        d->token = xstrdup(out);
        return 0;
}

/* Why flotad exited before it listened, as the user can act on it. */
static int flotad_failed(Demo *d, int status) {
        _cleanup_free_ char *busy = demo_log_line(d, "flotad.log", strerror(EADDRINUSE));
        _cleanup_free_ char *last = demo_log_line(d, "flotad.log", "error");

        if (busy)
                return cli_error("demo: port %u on 127.0.0.1 is in use: stop what listens there, or choose "
                                 "another with --port P (--port 0: any free port)",
                                 (unsigned) d->port);
        if (last)
                return cli_error("demo: flotad did not start: %s", last);
        return cli_error("demo: flotad did not start (exit status %d)", child_exit_status(status));
}

/* Waits (bounded) for flotad to log the address it listens on; that is the server's URL. */
static int wait_listening(Demo *d, char **ret_url) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + DEMO_START_TIMEOUT;
        int status;

        while (now_usec(CLOCK_MONOTONIC) < end && !demo_stop_requested()) {
                _cleanup_free_ char *line = demo_log_line(d, "flotad.log", "listening on http://");
                if (line) {
                        char *url = strstr(line, "http://");
                        url[strcspn(url, " ")] = 0;
                        *ret_url = xstrdup(url);
                        return 0;
                }
                if (child_exited(&d->flotad, &status))
                        return flotad_failed(d, status);
                sleep_usec(50 * USEC_PER_MSEC);
        }
        return demo_stop_requested() ? 0 : cli_error("demo: flotad did not start listening in time");
}

static int start_flotad(Demo *d) {
        char listen[32];
        _cleanup_free_ char *data = xasprintf("%s/data", d->dir);
        _cleanup_free_ char *url = NULL;
        _cleanup_close_ int log = demo_open_log(d, "flotad.log");
        char err[API_CLIENT_ERROR_MAX];

        if (log < 0)
                return cli_error("demo: %s: %s", d->dir, strerror(errno));
        if (create_token(d) < 0)
                return -1;
        snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned) d->port);
        /* a check-in row for every poll: the demo's fleet is small, and its devices' last-seen stays live */
        char *argv[] = { d->flotad_path, (char *) "--data-dir",          data,         (char *) "--listen",
                         listen,         (char *) "--checkin-heartbeat", (char *) "0", NULL };
        pid_t pid = child_spawn(argv, log, log);
        if (pid < 0)
                return cli_error("demo: cannot start %s: %s", d->flotad_path, strerror(-pid));
        d->flotad = pid;
        if (wait_listening(d, &url) < 0 || demo_stop_requested())
                return -1;
        free(d->cli->server);
        free(d->cli->token);
        free(d->cli->db);
        d->cli->server = TAKE_PTR(url);
        d->cli->token = xstrdup(d->token);
        d->cli->db = xasprintf("%s/flota.db", d->dir);
        for (int i = 0; !cli_ping(d->cli, err); i++) {
                if (i >= 50 || !demo_pause_unless_stopped(100 * USEC_PER_MSEC))
                        return demo_stop_requested() ? -1
                                                     : cli_error("demo: flotad does not answer: %s", err);
        }
        demo_note(d, "flotad (pid %d) serves %s, data in %s", (int) d->flotad, d->cli->server, d->dir);
        demo_note(d, "admin token %s", d->token);
        return 0;
}

/* ---- products, releases, channels ---- */

/* Writes the image of version (what flota-sim mkimage writes) next to the demo's data. */
static int write_image(Demo *d, const DemoProduct *p, const char *version, char **ret_file) {
        _cleanup_free_ char *file = xasprintf("%s/%s-%s.bin", d->dir, p->name, version);
        _cleanup_close_ int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        uint8_t *img;
        size_t n;

        if (fd < 0)
                return cli_error("demo: cannot write %s: %s", file, strerror(errno));
        image_build(p->id, version, DEMO_IMAGE_SIZE, 1, &img, &n);
        int r = write_all(fd, img, n);
        free(img);
        if (r < 0)
                return cli_error("demo: cannot write %s: %s", file, strerror(-r));
        *ret_file = TAKE_PTR(file);
        return 0;
}

static int upload(Demo *d, const DemoProduct *p, const char *version, int64_t *ret_id) {
        ApiReleaseUpload u = { .product = p->name, .version = version, .platform = p->platform };
        _cleanup_free_ char *file = NULL;
        char err[API_CLIENT_ERROR_MAX];
        ApiClient *api;
        uint64_t size;
        Release rel;

        if (write_image(d, p, version, &file) < 0 || cli_client(d->cli, "demo", &api) < 0)
                return -1;
        _cleanup_close_ int fd = cli_open_upload("demo", file, &size);
        if (fd < 0)
                return -1;
        int r = api_release_upload(api, &u, fd, size, NULL, NULL, &rel, err);
        if (r < 0)
                return cli_api_error(d->cli, "demo", r, err);
        *ret_id = rel.id;
        release_done(&rel);
        return 0;
}

static int promote(Demo *d, const DemoProduct *p, int64_t release) {
        char err[API_CLIENT_ERROR_MAX];
        ApiClient *api;

        if (cli_client(d->cli, "demo", &api) < 0)
                return -1;
        int r = api_channel_put(api, p->name, "stable", release, err);
        return r < 0 ? cli_api_error(d->cli, "demo", r, err) : 0;
}

static int create_product(Demo *d, const DemoProduct *p) {
        char err[API_CLIENT_ERROR_MAX];
        ApiClient *api;

        if (cli_client(d->cli, "demo", &api) < 0)
                return -1;
        int r = api_product_create(api, p->name, p->platform, NULL, err);
        return r < 0 ? cli_api_error(d->cli, "demo", r, err) : 0;
}

/* Each product with its old release on stable and the new one uploaded, for later. */
static int set_up_catalog(Demo *d) {
        for (size_t i = 0; i < DEMO_PRODUCTS; i++) {
                const DemoProduct *p = &demo_products[i];
                int64_t old;

                if (create_product(d, p) < 0 || upload(d, p, DEMO_OLD, &old) < 0 ||
                    upload(d, p, DEMO_NEW, &d->new_release[i]) < 0 || promote(d, p, old) < 0)
                        return -1;
                if (demo_stop_requested())
                        return -1;
        }
        demo_note(d, "products door (ESP8266) and meter (ESP32): " DEMO_OLD " on stable, " DEMO_NEW
                     " uploaded");
        return 0;
}

/*
 * Runs f with the rollout engine under the rollout lock, as 'flota rollout' does: the demo's
 * inventory is its own, but an operator may point flota at it from another shell.
 */
static int with_engine(Demo *d, int (*f)(Demo *d, RolloutEngine *e, char *err), const char *what) {
        char err[ROLLOUT_ERROR_MAX] = "";
        ApiClient *api;
        Store *inv;

        if (cli_client(d->cli, "demo", &api) < 0 || cli_inventory(d->cli, &inv) < 0)
                return -1;
        _cleanup_free_ char *path = cli_inventory_path(d->cli);
        _cleanup_close_ int lock = rollout_lock(path, 10);
        if (lock < 0)
                return cli_error("demo: %s: the rollout lock: %s", what, strerror(-lock));
        RolloutEngine e = {
                .inventory = inv, .api = api, .server = d->cli->server, .now = now_usec(CLOCK_REALTIME)
        };
        int r = f(d, &e, err);
        return r < 0 ? cli_error("demo: %s: %s", what, err[0] ? err : strerror(-r)) : 0;
}

/* A staged rollout of the new release per product: a canary, 10 %, half, all; stable at the end. */
static int create_rollouts(Demo *d, RolloutEngine *e, char *err) {
        for (size_t i = 0; i < DEMO_PRODUCTS; i++) {
                _cleanup_free_ char *name = xasprintf("%s-" DEMO_NEW, demo_products[i].name);
                _cleanup_free_ char *select = xasprintf("product=%s", demo_products[i].name);
                _cleanup_free_ char *release = xasprintf("%" PRId64, d->new_release[i]);
                char msg[ROLLOUT_SPEC_ERROR_MAX];
                RolloutSpec spec;
                Rollout r;
                rollout_spec_init(&spec);
                int k = 0;
                const char *const settings[][2] = {
                        { "release", release }, { "select", select },  { "waves", "1,10%,50%,100%" },
                        { "soak", "6s" },       { "min-sample", "1" }, { "promote", "stable" },
                };
                for (size_t j = 0; k >= 0 && j < ELEMENTSOF(settings); j++)
                        k = rollout_spec_set(&spec, settings[j][0], settings[j][1], msg);
                if (k >= 0)
                        k = rollout_create(e, name, &spec, &r, err);
                if (k >= 0) {
                        rollout_done(&r);
                        k = rollout_start(e, name, err);
                }
                rollout_spec_done(&spec);
                if (k < 0)
                        return k;
        }
        return 0;
}

int demo_start_rollouts(Demo *d) {
        if (with_engine(d, create_rollouts, "starting the rollouts") < 0)
                return -1;
        d->promoted = true;
        demo_note(d,
                  "staged rollouts of " DEMO_NEW " started for door and meter: a canary, 10 %%, half, all");
        return 0;
}

static int tick(Demo *d, RolloutEngine *e, char *err) {
        return rollout_tick(e, NULL, NULL, NULL, err);
}

int demo_tick_rollouts(Demo *d) {
        return with_engine(d, tick, "the rollout tick");
}

/* ---- the fleet ---- */

static int start_sim(Demo *d) {
        char devices[16], interval[16];
        _cleanup_close_ int log = demo_open_log(d, "flota-sim.log");

        snprintf(devices, sizeof(devices), "%u", (unsigned) d->devices);
        snprintf(interval, sizeof(interval), "%u", (unsigned) (DEMO_TICK / USEC_PER_SEC));
        char *argv[] = { d->sim_path,
                         (char *) "--server",
                         d->cli->server,
                         (char *) "--devices",
                         devices,
                         (char *) "--product",
                         (char *) "esp8266=door,esp32=meter",
                         (char *) "--mix",
                         (char *) "esp8266=60,esp32=40",
                         (char *) "--versions",
                         (char *) DEMO_FLEET_VERSIONS,
                         (char *) "--interval",
                         interval,
                         (char *) "--jitter",
                         NULL };
        if (log < 0)
                return cli_error("demo: %s: %s", d->dir, strerror(errno));
        pid_t pid = child_spawn(argv, log, log);
        if (pid < 0)
                return cli_error("demo: cannot start %s: %s", d->sim_path, strerror(-pid));
        d->sim = pid;
        demo_note(d, "flota-sim (pid %d): %u devices on " DEMO_FLEET_VERSIONS ", polling every %s s",
                  (int) pid, (unsigned) d->devices, interval);
        return 0;
}

/* ---- set-up and tear-down ---- */

static int make_dir(Demo *d) {
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *tmpl = xasprintf("%s/flota-demo-XXXXXX", isempty(tmp) ? "/tmp" : tmp);

        if (!mkdtemp(tmpl))
                return cli_error("demo: cannot create a directory in %s: %s", isempty(tmp) ? "/tmp" : tmp,
                                 strerror(errno));
        d->dir = TAKE_PTR(tmpl);
        return 0;
}

int demo_set_up(Demo *d) {
        return make_dir(d) < 0 || start_flotad(d) < 0 || set_up_catalog(d) < 0 || start_sim(d) < 0 ? -1 : 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

int demo_tear_down(Demo *d) {
        bool sim = d->sim > 0, flotad = d->flotad > 0;
        const char *what = sim && flotad ? "stopped flota-sim and flotad; "
                           : sim         ? "stopped flota-sim; "
                           : flotad      ? "stopped flotad; "
                                         : "";
        int r = stop_child(d, &d->sim, "flota-sim");

        /* flotad drains open connections before it stops: ours (kept alive) goes first */
        d->cli->client = api_client_free(d->cli->client);
        if (stop_child(d, &d->flotad, "flotad") < 0)
                r = -1;
        /* the inventory lives in the directory: close it first */
        d->cli->inventory = store_free(d->cli->inventory);
        if (!d->dir)
                return r;
        if (d->keep) {
                fprintf(stderr, "demo: %skept %s (flotad.log, flota-sim.log, data/, flota.db)\n", what,
                        d->dir);
                return r;
        }
        (void) nftw(d->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        if (access(d->dir, F_OK) == 0)
                return cli_error("demo: could not remove %s", d->dir);
        fprintf(stderr, "demo: %sremoved %s\n", what, d->dir);
        return r;
}
