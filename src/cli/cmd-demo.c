/* SPDX-License-Identifier: MIT */
/*
 * flota demo: a private flotad on a temporary directory, a flota-sim fleet on mixed versions
 * and platforms, two releases per product, and the fleet's status refreshed live while the
 * fleet updates itself. Every process it starts is stopped by pid on every way out, and the
 * directory is removed (unless --keep).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/fileio.h"
#include "flota/image.h"
#include "flota/inventory.h"
#include "flota/rollout.h"
#include "flota/strutil.h"
#include "tui.h"

#define DEMO_PORT_DEFAULT 8070
#define DEMO_DEVICES_DEFAULT 50
#define DEMO_UNATTENDED_DURATION (30 * USEC_PER_SEC) /* no terminal and no --duration */
#define DEMO_TICK (2 * USEC_PER_SEC)                  /* a frame, and the devices' poll interval */
#define DEMO_PROMOTE_AFTER (10 * USEC_PER_SEC)     /* when the staged rollouts start */
#define DEMO_START_TIMEOUT (10 * USEC_PER_SEC)
#define DEMO_STOP_TIMEOUT (5 * USEC_PER_SEC)
#define DEMO_IMAGE_SIZE (256 << 10)
#define DEMO_OLD "1.0.0"
#define DEMO_NEW "1.1.0"
/* the fleet starts on these (weights), the older ones below the first stable release */
#define DEMO_FLEET_VERSIONS "0.8.2=10,0.9.0=30," DEMO_OLD "=60"

typedef struct DemoProduct {
        const char *name;
        const char *platform;
        Platform id;
} DemoProduct;

static const DemoProduct products[] = {
        { "door", "esp8266", PLATFORM_ESP8266 },
        { "meter", "esp32", PLATFORM_ESP32 },
};

typedef struct Demo {
        Cli *cli;
        /* options */
        uint32_t devices;
        uint32_t port;
        usec_t duration;          /* 0: until stopped */
        bool keep;
        bool dashboard;           /* a terminal, no --json: the dashboard; else notes on stderr, one report */
        /* state */
        char *flotad_path;
        char *sim_path;
        char *dir;
        pid_t flotad;
        pid_t sim;
        char *token;
        int64_t new_release[ELEMENTSOF(products)];
        usec_t started;           /* when the fleet started */
        usec_t promote_at;        /* when the rollouts start (monotonic) */
        bool promoted;            /* the rollouts started */
        bool over;                /* the last frame */
} Demo;

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) {
        (void) sig;
        stop_requested = 1;
}

static void sleep_usec(usec_t t) {
        struct timespec ts = { (time_t) (t / USEC_PER_SEC), (long) (t % USEC_PER_SEC) * 1000 };
        (void) nanosleep(&ts, NULL);
}

/* Sleeps up to t in short steps; false when a stop was requested. */
static bool pause_unless_stopped(usec_t t) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + t, step = 100 * USEC_PER_MSEC;

        for (usec_t now; !stop_requested && (now = now_usec(CLOCK_MONOTONIC)) < end;)
                sleep_usec(end - now < step ? end - now : step);
        return !stop_requested;
}

/* Notes on stderr; under the dashboard they would spoil its screen, so only before it opens. */
static _printf_(2, 3) void note(const Demo *d, const char *fmt, ...) {
        va_list ap;

        if (d->dashboard && d->started)
                return;
        va_start(ap, fmt);
        fputs("demo: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

/* ---- finding and running the other programs ---- */

static char *executable_in(const char *dir, const char *rel) {
        char *p = xasprintf("%s/%s", dir, rel);

        if (access(p, X_OK) == 0)
                return p;
        free(p);
        return NULL;
}

/*
 * name's path: $env when set; else beside flota as the build tree lays it out (src/cli/flota,
 * src/<subdir>/<name>) or as installed (bin/, sbin/); else $PATH. -1 after reporting.
 */
static int find_program(const char *env, const char *name, const char *subdir, char **ret) {
        const char *e = getenv(env);
        char self[PATH_MAX];
        char *p = NULL;

        if (!isempty(e)) {
                if (access(e, X_OK) < 0)
                        return cli_error("demo: %s=%s is not a program: %s", env, e, strerror(errno));
                *ret = xstrdup(e);
                return 0;
        }
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = 0;
                *strrchr(self, '/') = 0;
                _cleanup_free_ char *build = xasprintf("../%s/%s", subdir, name);
                _cleanup_free_ char *sbin = xasprintf("../sbin/%s", name);
                if (!(p = executable_in(self, build)) && !(p = executable_in(self, name)))
                        p = executable_in(self, sbin);
        }
        _cleanup_free_ char *path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin");
        for (char *save = NULL, *dir = strtok_r(path, ":", &save); !p && dir; dir = strtok_r(NULL, ":", &save))
                p = executable_in(dir, name);
        if (!p)
                return cli_error("demo: cannot find %s (build it, install it next to flota, or set %s=PATH)",
                                 name, env);
        *ret = p;
        return 0;
}

/*
 * Starts argv[0] with stdin from /dev/null and stdout/stderr on out_fd/err_fd, in a process
 * group of its own (a Ctrl-C on the terminal reaches flota, which stops the others in order)
 * and with SIGTERM due if flota dies first. The pid, or -errno.
 */
static pid_t spawn(char *const *argv, int out_fd, int err_fd) {
        pid_t parent = getpid();
        pid_t pid = fork();

        if (pid != 0)
                return pid < 0 ? -errno : pid;
        (void) setpgid(0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(127);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(err_fd, STDERR_FILENO) < 0)
                _exit(127);
        (void) close_range(3, ~0U, 0);
        execv(argv[0], argv);
        _exit(127);
}

/* Waits for pid (bounded), then kills it. 0 when it ended by itself within the time, else -ETIMEDOUT. */
static int reap(pid_t pid, usec_t timeout, int *ret_status) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + timeout;
        int status = 0;

        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid || (r < 0 && errno == ECHILD))
                        break;
                if (now_usec(CLOCK_MONOTONIC) >= end) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, &status, 0);
                        return -ETIMEDOUT;
                }
                sleep_usec(20 * USEC_PER_MSEC);
        }
        if (ret_status)
                *ret_status = status;
        return 0;
}

/* A wait status as a shell shows it. */
static int exit_status(int status) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* True when the child has exited (it is reaped and *pid cleared; *ret_status says how). */
static bool child_exited(pid_t *pid, int *ret_status) {
        if (*pid <= 0 || waitpid(*pid, ret_status, WNOHANG) != *pid)
                return false;
        *pid = 0;
        return true;
}

static int open_log(const Demo *d, const char *name) {
        _cleanup_free_ char *path = xasprintf("%s/%s", d->dir, name);
        return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* The last line of a log in the demo directory that contains needle ("" for any), or NULL. */
static char *log_line(const Demo *d, const char *name, const char *needle) {
        _cleanup_free_ char *path = xasprintf("%s/%s", d->dir, name), *text = NULL;
        char *found = NULL;
        size_t n;

        if (read_file(path, 1 << 20, &text, &n) < 0)
                return NULL;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (strstr(l, needle)) {
                        free(found);
                        found = xstrdup(l);
                }
        return found;
}

/*
 * Stops a child the demo started: SIGTERM, a bounded wait, then SIGKILL. 0 when it stopped
 * cleanly; otherwise (killed, or a failure such as a sanitizer report) -1 after reporting.
 */
static int stop_child(Demo *d, pid_t *pid, const char *name) {
        int status = 0;

        if (*pid <= 0)
                return 0;
        (void) kill(*pid, SIGTERM);
        int r = reap(*pid, DEMO_STOP_TIMEOUT, &status);
        pid_t was = *pid;
        *pid = 0;
        if (r < 0)
                return cli_error("demo: %s (pid %d) did not stop in time and was killed", name, (int) was);
        if (exit_status(status) == 0)
                return 0;
        _cleanup_free_ char *log = xasprintf("%s.log", name);
        _cleanup_free_ char *last = log_line(d, log, "");
        return cli_error("demo: %s exited with status %d when stopped: %s", name, exit_status(status),
                         last ? last : "no reason given");
}

/* ---- the private flotad ---- */

static int create_token(Demo *d) {
        char out[256];
        size_t n = 0;
        int pipefd[2], status;

        _cleanup_close_ int log = open_log(d, "flotad.log");
        _cleanup_free_ char *data = xasprintf("%s/data", d->dir);
        char *argv[] = { d->flotad_path, (char *) "--data-dir", data, (char *) "token", (char *) "create",
                         (char *) "demo", (char *) "--role", (char *) "admin", NULL };
        if (log < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
                return cli_error("demo: %s: %s", d->dir, strerror(errno));
        pid_t pid = spawn(argv, pipefd[1], log);
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
        if (reap(pid, DEMO_START_TIMEOUT, &status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
            !startswith(out, "flota_")) {
                _cleanup_free_ char *why = log_line(d, "flotad.log", "");
                return cli_error("demo: flotad could not create a token: %s", why ? why : "no reason given");
        }
        out[strcspn(out, "\n")] = 0;
        d->token = xstrdup(out);
        return 0;
}

/* Why flotad exited before it listened, as the user can act on it. */
static int flotad_failed(Demo *d, int status) {
        _cleanup_free_ char *busy = log_line(d, "flotad.log", strerror(EADDRINUSE));
        _cleanup_free_ char *last = log_line(d, "flotad.log", "error");

        if (busy)
                return cli_error("demo: port %u on 127.0.0.1 is in use: stop what listens there, or choose "
                                 "another with --port P (--port 0: any free port)",
                                 (unsigned) d->port);
        if (last)
                return cli_error("demo: flotad did not start: %s", last);
        return cli_error("demo: flotad did not start (exit status %d)", exit_status(status));
}

/* Waits (bounded) for flotad to log the address it listens on; that is the server's URL. */
static int wait_listening(Demo *d, char **ret_url) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + DEMO_START_TIMEOUT;
        int status;

        while (now_usec(CLOCK_MONOTONIC) < end && !stop_requested) {
                _cleanup_free_ char *line = log_line(d, "flotad.log", "listening on http://");
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
        return stop_requested ? 0 : cli_error("demo: flotad did not start listening in time");
}

static int start_flotad(Demo *d) {
        char listen[32];
        _cleanup_free_ char *data = xasprintf("%s/data", d->dir);
        _cleanup_free_ char *url = NULL;
        _cleanup_close_ int log = open_log(d, "flotad.log");
        char err[API_CLIENT_ERROR_MAX];

        if (log < 0)
                return cli_error("demo: %s: %s", d->dir, strerror(errno));
        if (create_token(d) < 0)
                return -1;
        snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned) d->port);
        /* a check-in row for every poll: the demo's fleet is small, and its devices' last-seen stays live */
        char *argv[] = { d->flotad_path, (char *) "--data-dir", data, (char *) "--listen", listen,
                         (char *) "--checkin-heartbeat", (char *) "0", NULL };
        pid_t pid = spawn(argv, log, log);
        if (pid < 0)
                return cli_error("demo: cannot start %s: %s", d->flotad_path, strerror(-pid));
        d->flotad = pid;
        if (wait_listening(d, &url) < 0 || stop_requested)
                return -1;
        free(d->cli->server);
        free(d->cli->token);
        free(d->cli->db);
        d->cli->server = TAKE_PTR(url);
        d->cli->token = xstrdup(d->token);
        d->cli->db = xasprintf("%s/flota.db", d->dir);
        for (int i = 0; !cli_ping(d->cli, err); i++) {
                if (i >= 50 || !pause_unless_stopped(100 * USEC_PER_MSEC))
                        return stop_requested ? -1 : cli_error("demo: flotad does not answer: %s", err);
        }
        note(d, "flotad (pid %d) serves %s, data in %s", (int) d->flotad, d->cli->server, d->dir);
        note(d, "admin token %s", d->token);
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
        for (size_t i = 0; i < ELEMENTSOF(products); i++) {
                const DemoProduct *p = &products[i];
                int64_t old;

                if (create_product(d, p) < 0 || upload(d, p, DEMO_OLD, &old) < 0 ||
                    upload(d, p, DEMO_NEW, &d->new_release[i]) < 0 || promote(d, p, old) < 0)
                        return -1;
                if (stop_requested)
                        return -1;
        }
        note(d, "products door (ESP8266) and meter (ESP32): " DEMO_OLD " on stable, " DEMO_NEW " uploaded");
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
        RolloutEngine e = { .inventory = inv, .api = api, .server = d->cli->server, .now = now_usec(CLOCK_REALTIME) };
        int r = f(d, &e, err);
        return r < 0 ? cli_error("demo: %s: %s", what, err[0] ? err : strerror(-r)) : 0;
}

/* A staged rollout of the new release per product: a canary, 10 %, half, all; stable at the end. */
static int create_rollouts(Demo *d, RolloutEngine *e, char *err) {
        for (size_t i = 0; i < ELEMENTSOF(products); i++) {
                _cleanup_free_ char *name = xasprintf("%s-" DEMO_NEW, products[i].name);
                _cleanup_free_ char *select = xasprintf("product=%s", products[i].name);
                _cleanup_free_ char *release = xasprintf("%" PRId64, d->new_release[i]);
                char msg[ROLLOUT_SPEC_ERROR_MAX];
                RolloutSpec spec;
                Rollout r;
                rollout_spec_init(&spec);
                int k = 0;
                const char *const settings[][2] = {
                        { "release", release }, { "select", select }, { "waves", "1,10%,50%,100%" },
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

static int start_rollouts(Demo *d) {
        if (with_engine(d, create_rollouts, "starting the rollouts") < 0)
                return -1;
        d->promoted = true;
        note(d, "staged rollouts of " DEMO_NEW " started for door and meter: a canary, 10 %%, half, all");
        return 0;
}

static int tick(Demo *d, RolloutEngine *e, char *err) {
        return rollout_tick(e, NULL, NULL, NULL, err);
}

/* ---- the fleet ---- */

static int start_sim(Demo *d) {
        char devices[16], interval[16];
        _cleanup_close_ int log = open_log(d, "flota-sim.log");

        snprintf(devices, sizeof(devices), "%u", (unsigned) d->devices);
        snprintf(interval, sizeof(interval), "%u", (unsigned) (DEMO_TICK / USEC_PER_SEC));
        char *argv[] = { d->sim_path, (char *) "--server", d->cli->server, (char *) "--devices", devices,
                         (char *) "--product", (char *) "esp8266=door,esp32=meter", (char *) "--mix",
                         (char *) "esp8266=60,esp32=40", (char *) "--versions", (char *) DEMO_FLEET_VERSIONS,
                         (char *) "--interval", interval, (char *) "--jitter", NULL };
        if (log < 0)
                return cli_error("demo: %s: %s", d->dir, strerror(errno));
        pid_t pid = spawn(argv, log, log);
        if (pid < 0)
                return cli_error("demo: cannot start %s: %s", d->sim_path, strerror(-pid));
        d->sim = pid;
        note(d, "flota-sim (pid %d): %u devices on " DEMO_FLEET_VERSIONS ", polling every %s s", (int) pid,
             (unsigned) d->devices, interval);
        return 0;
}

/* A child that went away in the middle of the demo ends it, with its last words. */
static int check_child(Demo *d, pid_t *pid, const char *name) {
        int status;

        if (!child_exited(pid, &status))
                return 0;
        _cleanup_free_ char *log = xasprintf("%s.log", name);
        _cleanup_free_ char *last = log_line(d, log, "");
        return cli_error("demo: %s exited (status %d): %s", name, exit_status(status),
                         last ? last : "no reason given");
}

/* ---- the screen ---- */

/* How to run this flota again from the user's shell: relative to the working directory, or by name. */
typedef struct StageLines {
        Store *inv;
        FILE *f;
} StageLines;

static int print_rollout(const Rollout *r, void *userdata) {
        StageLines *s = userdata;
        char line[256];

        if (rollout_summary(s->inv, r, 0, line) < 0)
                return 0;
        _cleanup_free_ char *safe = term_escape(line);
        fprintf(s->f, "rollout      %s\n", safe);
        return 0;
}

static void print_stage(const Demo *d, FILE *f, usec_t now) {
        Store *inv;

        if (!d->promoted) {
                fprintf(f, "stable       " DEMO_OLD " for door and meter; staged rollouts of " DEMO_NEW
                           " start in %llu s\n",
                        (unsigned long long) ((d->promote_at - now + USEC_PER_SEC - 1) / USEC_PER_SEC));
                return;
        }
        if (cli_inventory(d->cli, &inv) < 0)
                return;
        StageLines s = { inv, f };
        (void) rollout_list(inv, print_rollout, &s);
}

/* One refresh: the feed into the inventory, then the status; on a terminal, a frame. */
static int refresh(Demo *d, cJSON **ret_status) {
        uint64_t n;
        cJSON *status;

        /* the tick reads the feed too, and steps the rollouts */
        if (d->promoted ? with_engine(d, tick, "the rollout tick") < 0 : cli_ingest_server(d->cli, &n) < 0)
                return -1;
        if (cli_status_build(d->cli, &status) < 0)
                return -1;
        if (ret_status)
                *ret_status = status;
        else
                cJSON_Delete(status);
        return 0;
}

static int run_fleet(Demo *d) {
        d->started = now_usec(CLOCK_MONOTONIC);
        /* a short demo starts its rollouts sooner, so its fleet still updates before the end */
        usec_t after = DEMO_PROMOTE_AFTER;
        if (d->duration && d->duration / 3 < after)
                after = d->duration / 3;
        d->promote_at = d->started + after;
        for (;;) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                if (stop_requested || (d->duration && now >= d->started + d->duration))
                        return 0;
                if (check_child(d, &d->flotad, "flotad") < 0 || check_child(d, &d->sim, "flota-sim") < 0)
                        return -1;
                if (!d->promoted && now >= d->promote_at && start_rollouts(d) < 0)
                        return -1;
                if (refresh(d, NULL) < 0)
                        return -1;
                usec_t next = now + DEMO_TICK;
                if (!d->promoted && d->promote_at < next)
                        next = d->promote_at;
                if (d->duration && d->started + d->duration < next)
                        next = d->started + d->duration;
                now = now_usec(CLOCK_MONOTONIC);
                (void) pause_unless_stopped(next > now ? next - now : 0);
        }
}

/* The end: the last status on stdout, the same as 'flota status' (with --json, its JSON). */
static int report(Demo *d) {
        cJSON *status;

        d->over = true;
        if (refresh(d, &status) < 0)
                return -1;
        if (d->cli->json)
                print_json(status);
        else {
                cli_status_print(status, stdout);
                print_stage(d, stdout, now_usec(CLOCK_MONOTONIC));
        }
        cJSON_Delete(status);
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

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

/* Stops what the demo started, fleet first, and removes (or keeps) its directory. -1: not cleanly. */
static int tear_down(Demo *d) {
        bool sim = d->sim > 0, flotad = d->flotad > 0;
        const char *what = sim && flotad ? "stopped flota-sim and flotad; " : sim ? "stopped flota-sim; "
                                                                          : flotad ? "stopped flotad; " : "";
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

/* Follows the feed until the inventory knows the whole fleet (or a few seconds went by). */
static int wait_for_fleet(Demo *d) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 5 * DEMO_TICK;
        InventorySummary sum = {};
        Store *inv;
        uint64_t n;

        if (cli_inventory(d->cli, &inv) < 0)
                return -1;
        while (!stop_requested && now_usec(CLOCK_MONOTONIC) < deadline) {
                if (cli_ingest_server(d->cli, &n) < 0 || check_child(d, &d->sim, "flota-sim") < 0)
                        return -1;
                if (inventory_summary(inv, 0, &sum) >= 0 && sum.devices >= (int64_t) d->devices)
                        break;
                (void) pause_unless_stopped(DEMO_TICK / 4);
        }
        return 0;
}

/*
 * On a terminal: the dashboard on the demo's inventory, server and token, stepping the
 * rollouts as the cron tick would; the rollouts start as it opens (their first wave is one
 * device, so the fleet is seen on its old versions first).
 */
static int run_dashboard(Demo *d) {
        char err[256];

        if (wait_for_fleet(d) < 0 || stop_requested || start_rollouts(d) < 0)
                return stop_requested ? 0 : -1;
        _cleanup_free_ char *path = cli_inventory_path(d->cli);
        TuiOptions o = {
                .inventory_path = path,
                .server = d->cli->server,
                .token = d->token,
                .timeout_sec = d->cli->timeout,
                .interval = DEMO_TICK,
                .tick = true,
                .color = style_on(STYLE_GOOD)[0] != 0,
                .duration = d->duration,
        };
        if (tui_run(&o, err) < 0)
                return cli_error("demo: %s", err);
        return 0;
}

static int demo_run(Demo *d) {
        if (make_dir(d) < 0 || start_flotad(d) < 0 || set_up_catalog(d) < 0 || start_sim(d) < 0)
                return stop_requested ? 0 : -1;
        if (d->dashboard)
                return run_dashboard(d);
        if (run_fleet(d) < 0)
                return -1;
        return report(d);
}

static int parse_argv(Demo *d, int argc, char **argv) {
        static const struct option options[] = {
                { "devices", required_argument, NULL, 'n' },
                { "duration", required_argument, NULL, 'd' },
                { "keep", no_argument, NULL, 'k' },
                { "port", required_argument, NULL, 'p' },
                {},
        };
        uint32_t v;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        if (parse_u32(optarg, &d->devices) < 0 || d->devices == 0 || d->devices > 100000)
                                return cli_usage("demo: --devices expects 1 to 100000");
                        break;
                case 'd':
                        if (parse_u32(optarg, &v) < 0 || v == 0 || v > 7 * 24 * 3600)
                                return cli_usage("demo: --duration expects seconds (at least 1)");
                        d->duration = v * USEC_PER_SEC;
                        break;
                case 'k':
                        d->keep = true;
                        break;
                case 'p':
                        if (parse_u32(optarg, &d->port) < 0 || d->port > 65535)
                                return cli_usage("demo: --port expects 0 to 65535 (0: any free port)");
                        break;
                default:
                        return CLI_USAGE;
                }
        if (optind < argc)
                return cli_usage("demo: unexpected argument '%s'", argv[optind]);
        return 0;
}

int verb_demo(Cli *cli, int argc, char **argv) {
        Demo d = { .cli = cli, .devices = DEMO_DEVICES_DEFAULT, .port = DEMO_PORT_DEFAULT };
        struct sigaction sa = { .sa_handler = on_stop_signal }, old[3];
        static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
        int r;

        r = parse_argv(&d, argc, argv);
        if (r < 0)
                return r;
        bool tty = isatty(STDOUT_FILENO);
        d.dashboard = tty && !cli->json;
        /* a script never waits forever */
        if (!tty && !d.duration)
                d.duration = DEMO_UNATTENDED_DURATION;
        if (find_program("FLOTAD", "flotad", "server", &d.flotad_path) < 0 ||
            find_program("FLOTA_SIM", "flota-sim", "sim", &d.sim_path) < 0) {
                free(d.flotad_path);
                return -1;
        }
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                (void) sigaction(signals[i], &sa, &old[i]);

        r = demo_run(&d);
        if (tear_down(&d) < 0 && r == 0)
                r = -1;

        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                (void) sigaction(signals[i], &old[i], NULL);
        free(d.flotad_path);
        free(d.sim_path);
        free(d.dir);
        free(d.token);
        return r;
}
