/* SPDX-License-Identifier: MIT */
/*
 * flota push: uploads an image to devices that do not poll, over ArduinoOTA's espota protocol or
 * the device's web updater (flota/push.h), several at once on one loop; then waits, bounded, for
 * each device to come back and checks through flotad that it runs the pushed version.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/discovery.h"
#include "flota/fileio.h"
#include "flota/hash.h"
#include "flota/image.h"
#include "flota/inventory.h"
#include "flota/json-decode.h"
#include "flota/mac.h"
#include "flota/push.h"
#include "flota/strutil.h"
#include "push-run.h"

static const char *const verified_names[] = { "", "updated", "failed", "silent", "unverified" };

static void help(void) {
        printf("Usage: flota push DEVICE FILE|--release ID [OPTIONS]\n"
               "       flota push --devices FILE|- FILE|--release ID [OPTIONS]\n"
               "\n"
               "Uploads FILE to devices that do not poll: ArduinoOTA's network port (espota) or the\n"
               "device's web updater. DEVICE is a MAC or host name from the inventory, or an address\n"
               "(10.0.0.5, 10.0.0.5:8080, [fe80::1]:3232). Passwords come from the config file's [push]\n"
               "section: password.<MAC> (no colons: 18FE34B9ACF5), password.<host>, password.<product>,\n"
               "then password.\n"
               "\n"
               "Options:\n"
               "  --transport espota|web  how to upload (default: espota, web for a device mDNS knows as "
               "http)\n"
               "  --password-from KEY     take the password from this [push] key (e.g. password.lab)\n"
               "  --filesystem            FILE is a filesystem image (espota command 100, form field "
               "filesystem)\n"
               "  --release ID            push one of flotad's releases (fetched and checked against its "
               "MD5)\n"
               "  --devices FILE|-        push to every device listed, one a line ('#' starts a comment)\n"
               "  --parallel N            pushes at once (default 4, at most 256)\n"
               "  --port P                the device's port (default: mDNS's, else 8266/3232, web 80)\n"
               "  --path PATH             the web updater's path (default [push] web-path, else /update)\n"
               "  --phase-timeout SECS    wait this long for each answer, the connection, each chunk "
               "(default 10)\n"
               "  --deadline SECS         give a whole push this long (default 300)\n"
               "  --verify-timeout SECS   wait this long for the device to report the new version through\n"
               "                          flotad (default 120; 0: do not wait)\n"
               "  --stats                 print on stderr how late the loop ran a 5 ms timer at worst\n"
               "  -j, --json              the results as JSON\n"
               "\n"
               "Outcomes: ok, auth-failed, refused, no-answer, upload-failed, timeout; after ok, verified "
               "is\n"
               "updated, failed (back on another version), silent (not back in time) or unverified.\n"
               "Exit status: 0 when every push was ok and none came back on another version, 1 "
               "otherwise.\n");
}

static int parse_secs(const char *opt, const char *s, bool zero, usec_t *ret) {
        uint32_t v;

        if (parse_u32(s, &v) < 0 || (!zero && v == 0) || v > 86400)
                return cli_usage("%s expects seconds from %d to 86400", opt, zero ? 0 : 1);
        *ret = (usec_t) v * USEC_PER_SEC;
        return 0;
}

/* ---- the run ---- */

static void start_next(PushRun *run);

static void draw_progress(PushRun *run) {
        uint64_t sent = 0, total = (uint64_t) run->size * run->n;

        if (!run->progress)
                return;
        /* ten times a second at most, and always at the end */
        usec_t now = loop_now(run->loop);
        if (run->finished < run->n && now < run->drawn + 100 * USEC_PER_MSEC)
                return;
        run->drawn = now;
        for (size_t i = 0; i < run->n; i++)
                sent += run->jobs[i].done ? run->size : run->jobs[i].sent;
        unsigned pct = total ? (unsigned) (sent * 100 / total) : 100;
        char bar[21];
        for (unsigned i = 0; i < 20; i++)
                bar[i] = i < pct / 5 ? '#' : '.';
        bar[20] = 0;
        fprintf(stderr, "\r[%s] %3u%%  %zu/%zu done, %zu running ", bar, pct, run->finished, run->n,
                run->running);
}

static void job_finished(PushRun *run, Job *j) {
        /* one audit entry per push, as it ends: a run cut short still left its trace */
        cli_audit(run->cli, "push", "%s %s:%u %s %s %s -> %s%s%s", j->device, j->host, j->port,
                  push_transport_to_string(j->transport), run->filesystem ? "filesystem" : "sketch",
                  run->file, push_outcome_to_string(j->result.outcome), j->verified ? ", " : "",
                  j->verified ? verified_names[j->verified] : "");
        j->done = true;
        /* a job can end from mDNS (avahi-daemon gone) while its check was due: no second end */
        loop_timer_cancel(run->loop, &j->verify_timer);
        run->finished++;
        draw_progress(run);
        if (run->finished == run->n)
                loop_quit(run->loop);
}

/* Through flotad: it knows the device by its MAC, and the image says its version. */
static bool can_verify_flotad(const PushRun *run, const Job *j) {
        return run->api && !isempty(j->id) && run->version[0] && !run->filesystem;
}

/*
 * mDNS can tell unless avahi-daemon said it is away: discovery connects on a thread of its own,
 * so right after the start it has not said anything yet, and a push may already be over.
 */
static bool can_verify(const PushRun *run, const Job *j) {
        return run->verify > 0 &&
               (can_verify_flotad(run, j) || (j->announced && run->mdns && !run->mdns_down));
}

static PushRun *the_run; /* one run per process: the timer callbacks find it here */

static void verify_tick(Loop *l, void *userdata) {
        Job *j = userdata;
        PushRun *run = the_run;
        char err[API_CLIENT_ERROR_MAX];
        DeviceDetail d = {};

        /* a quick GET on flotad: how the device polled since its OK (flotad's times are whole
         * seconds; identical polls are recorded as check-ins only now and then, but each moves the
         * device's last_seen). The new version settles it; another one counts from two seconds
         * after the OK on (a poll under way at the OK may still carry the old one) */
        size_t after = 0;
        bool updated = false;
        if (!can_verify_flotad(run, j)) {
                /* mDNS only: a version it announces (ESPHome) settles it; without one, coming
                 * back is all that can be said */
                if (j->back && j->announced_version[0] && run->version[0]) {
                        updated = streq(j->announced_version, run->version);
                        after = !updated;
                        strscpy(j->seen_version, sizeof(j->seen_version), j->announced_version);
                } else if (j->back) {
                        j->verified = VERIFIED_UNVERIFIED;
                        job_finished(run, j);
                        return;
                }
        } else if (api_device_detail(run->api, j->id, &d, err) == 0) {
                for (size_t i = 0; i < d.n_checkins && !updated; i++) {
                        const Checkin *c = &d.checkins[i];
                        if (c->at + USEC_PER_SEC <= j->ok_wall)
                                break;
                        updated = streq(c->version, run->version);
                }
                if (!updated && d.device.last_seen >= j->ok_wall + 2 * USEC_PER_SEC) {
                        updated = streq(d.device.version, run->version);
                        after = !updated;
                }
                if (updated || after)
                        strscpy(j->seen_version, sizeof(j->seen_version),
                                updated ? run->version : d.device.version);
                device_detail_done(&d);
        }
        bool over = loop_now(l) >= j->verify_until;
        if (updated)
                j->verified = VERIFIED_UPDATED;
        else if (after > 0)
                j->verified = VERIFIED_FAILED;
        else if (over)
                j->verified = VERIFIED_SILENT;
        if (j->verified != VERIFIED_NONE) {
                job_finished(run, j);
                return;
        }
        loop_timer_start(l, loop_now(l) + VERIFY_EVERY, verify_tick, j, &j->verify_timer);
}

/* --stats: a 5 ms heartbeat; how late it fires is how long the loop's turns are */
static void on_beat(Loop *l, void *userdata) {
        PushRun *run = userdata;
        usec_t late = loop_now(l) - run->beat_due;

        if (late > run->worst_turn)
                run->worst_turn = late;
        run->beats++;
        if (run->finished == run->n)
                return;
        run->beat_due = loop_now(l) + 5 * USEC_PER_MSEC;
        loop_timer_start(l, run->beat_due, on_beat, run, &run->beat);
}

/* mDNS: a service at a pushed device's address goes after its OK, or comes back. */
static void on_mdns(Discovery *d, DiscoveryEvent event, const DiscoveryService *svc, void *userdata) {
        PushRun *run = userdata;

        (void) d;
        if (event == DISCOVERY_DAEMON_DOWN || event == DISCOVERY_DAEMON_UP) {
                run->mdns_down = event == DISCOVERY_DAEMON_DOWN;
                /* nothing left to watch with: the pushes that counted on mDNS alone cannot be verified */
                for (size_t i = 0; run->mdns_down && i < run->n; i++) {
                        Job *j = &run->jobs[i];
                        if (j->ok_mono != 0 && !j->done && j->verified == VERIFIED_NONE &&
                            !can_verify_flotad(run, j)) {
                                j->verified = VERIFIED_UNVERIFIED;
                                job_finished(run, j);
                        }
                }
                return;
        }
        if (!svc || (event != DISCOVERY_ADDED && event != DISCOVERY_UPDATED && event != DISCOVERY_REMOVED))
                return;
        for (size_t i = 0; i < run->n; i++) {
                Job *j = &run->jobs[i];
                if (j->ok_mono == 0 || j->done || !streq(svc->address, j->host))
                        continue;
                if (event == DISCOVERY_REMOVED) {
                        j->went_away = true;
                        continue;
                }
                /* an announcement from before the reboot may still be resolving, and discovery
                 * re-resolves the services it knows on a schedule (UPDATED): only one after a
                 * goodbye counts, or without one a service ADDED anew a second and more after the OK */
                if (!j->went_away &&
                    (event != DISCOVERY_ADDED || loop_now(run->loop) < j->ok_mono + USEC_PER_SEC))
                        continue;
                j->back = true;
                if (svc->is_device && svc->device.version[0])
                        strscpy(j->announced_version, sizeof(j->announced_version), svc->device.version);
        }
}

static void on_push_progress(Push *p, uint64_t sent, uint64_t total, void *userdata) {
        Job *j = userdata;

        (void) p;
        (void) total;
        j->sent = sent;
        draw_progress(the_run);
}

static void on_push_done(Push *p, const PushResult *r, void *userdata) {
        Job *j = userdata;
        PushRun *run = the_run;

        (void) p;
        j->result = *r;
        run->running--;
        if (r->outcome == PUSH_OK) {
                j->sent = run->size;
                if (can_verify(run, j)) {
                        j->ok_wall = now_usec(CLOCK_REALTIME);
                        j->ok_mono = loop_now(run->loop);
                        j->verify_until = loop_now(run->loop) + run->verify;
                        loop_timer_start(run->loop, loop_now(run->loop) + VERIFY_EVERY, verify_tick, j,
                                         &j->verify_timer);
                } else {
                        j->verified = VERIFIED_UNVERIFIED;
                        job_finished(run, j);
                }
        } else
                job_finished(run, j);
        start_next(run);
}

static void start_next(PushRun *run) {
        while (run->running < run->parallel && run->next < run->n) {
                Job *j = &run->jobs[run->next++];
                PushRequest req = {
                        .transport = j->transport,
                        .host = j->host,
                        .port = j->port,
                        .image = run->image,
                        .size = run->size,
                        .md5 = run->md5,
                        .filesystem = run->filesystem,
                        .password = j->password,
                        .user = cli_push_setting(run->cli, "web-user"),
                        .path = j->path,
                        .phase_timeout = run->phase,
                        .deadline = run->deadline,
                };
                j->started = true;
                int r = push_start(run->pusher, &req, on_push_done, on_push_progress, j, NULL);
                if (r < 0) {
                        j->result = (PushResult) { .outcome = PUSH_NO_ANSWER };
                        snprintf(j->result.message, sizeof(j->result.message), "cannot start: %s",
                                 strerror(-r));
                        job_finished(run, j);
                        continue;
                }
                run->running++;
        }
}

static cJSON *job_json(const PushRun *run, const Job *j) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "device", j->device);
        cJSON_AddStringToObject(o, "id", j->id);
        cJSON_AddStringToObject(o, "address", j->host);
        cJSON_AddNumberToObject(o, "port", j->port);
        cJSON_AddStringToObject(o, "transport", push_transport_to_string(j->transport));
        cJSON_AddStringToObject(o, "kind", run->filesystem ? "filesystem" : "sketch");
        cJSON_AddStringToObject(o, "outcome", push_outcome_to_string(j->result.outcome));
        cJSON_AddStringToObject(o, "message", j->result.message);
        cJSON_AddNumberToObject(o, "bytes", (double) j->result.sent);
        cJSON_AddNumberToObject(o, "seconds", (double) (j->result.elapsed / 1000) / 1000.0);
        if (j->result.sha256_auth)
                cJSON_AddStringToObject(o, "auth", "sha256");
        if (j->result.http_status)
                cJSON_AddNumberToObject(o, "http_status", j->result.http_status);
        if (j->verified != VERIFIED_NONE)
                cJSON_AddStringToObject(o, "verified", verified_names[j->verified]);
        else
                cJSON_AddNullToObject(o, "verified");
        cJSON_AddStringToObject(o, "version", run->version);
        if (j->ok_mono && j->announced)
                cJSON_AddBoolToObject(o, "announced_again", j->back);
        if (j->seen_version[0])
                cJSON_AddStringToObject(o, "version_seen", j->seen_version);
        return o;
}

static void print_results(const PushRun *run, bool json) {
        if (json) {
                cJSON *a = cJSON_CreateArray();
                for (size_t i = 0; i < run->n; i++)
                        cJSON_AddItemToArray(a, job_json(run, &run->jobs[i]));
                print_json(a);
                cJSON_Delete(a);
                return;
        }
        static const char *const headers[] = { "DEVICE",   "ADDRESS", "TRANSPORT", "OUTCOME",
                                               "VERIFIED", "SECONDS", "MESSAGE" };
        Table *t = table_new(headers, ELEMENTSOF(headers));
        for (size_t i = 0; i < run->n; i++) {
                const Job *j = &run->jobs[i];
                char addr[INET6_ADDRSTRLEN + 8], secs[32];
                snprintf(addr, sizeof(addr), strchr(j->host, ':') ? "[%s]:%u" : "%s:%u", j->host, j->port);
                snprintf(secs, sizeof(secs), "%.2f", (double) j->result.elapsed / 1e6);
                const char *cells[] = { j->device,
                                        addr,
                                        push_transport_to_string(j->transport),
                                        push_outcome_to_string(j->result.outcome),
                                        j->verified ? verified_names[j->verified] : "-",
                                        secs,
                                        j->result.message };
                table_add(t, cells);
        }
        table_print(t);
        table_free(t);
}

static int load_image(const char *file, bool filesystem, PushRun *run) {
        char *data;
        size_t n;
        int r = read_file(file, IMAGE_MAX, &data, &n);

        if (r == -EFBIG)
                return cli_error("push: %s is larger than 16 MiB", file);
        if (r < 0)
                return cli_error("push: cannot read %s: %s", file, strerror(-r));
        run->image = (uint8_t *) data;
        run->size = n;
        if (n == 0)
                return cli_error("push: %s is empty", file);
        /* the device checks the magic byte too, but only after the transfer: say it now */
        if (!filesystem &&
            !(run->image[0] == 0xE9 || (n >= 2 && run->image[0] == 0x1f && run->image[1] == 0x8b)))
                return cli_error(
                        "push: %s is not a firmware image (its first byte is not 0xE9, nor is it gzip); "
                        "--filesystem for a filesystem image",
                        file);
        md5_hex(run->image, n, run->md5);
        if (!filesystem && image_embedded_version(run->image, n < 65536 ? n : 65536, run->version) < 0)
                run->version[0] = 0;
        return 0;
}

/* The image of one of flotad's releases, fetched through the API and checked against the release. */
static int load_release(Cli *cli, int64_t id, PushRun *run) {
        char err[API_CLIENT_ERROR_MAX];
        ApiClient *api;
        Release rel = {};

        if (cli_client(cli, "push", &api) < 0)
                return -1;
        int r = api_release_get(api, id, &rel, err);
        if (r == 0)
                r = api_release_image(api, &rel, &run->image, &run->size, err);
        if (r < 0) {
                release_done(&rel);
                return cli_api_error(cli, "push", r, err);
        }
        if (rel.kind == IMAGE_KIND_FILESYSTEM)
                run->filesystem = true;
        memcpy(run->md5, rel.md5, sizeof(run->md5));
        (void) strscpy(run->version, sizeof(run->version), rel.version);
        run->file_owned = xasprintf("release %" PRId64 " (%s %s)", rel.id, rel.product, rel.version);
        run->file = run->file_owned;
        release_done(&rel);
        return 0;
}

static void print_stats(const PushRun *run, usec_t began, const struct rusage *ru0) {
        struct rusage ru1;
        size_t ok = 0;

        (void) getrusage(RUSAGE_SELF, &ru1);
        double wall = (double) (now_usec(CLOCK_MONOTONIC) - began) / 1e6;
        double cpu = (double) (ru1.ru_utime.tv_sec - ru0->ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                               ru0->ru_stime.tv_sec) +
                     (double) (ru1.ru_utime.tv_usec - ru0->ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                               ru0->ru_stime.tv_usec) /
                             1e6;
        for (size_t i = 0; i < run->n; i++)
                ok += run->jobs[i].result.outcome == PUSH_OK;
        fprintf(stderr,
                "push stats: %zu pushes (%zu ok) of %zu bytes in %.2f s: %.1f pushes/s, %.2f ms CPU per "
                "push, "
                "%.1f MiB/s; the loop's longest turn %.2f ms (%llu heartbeats)\n",
                run->n, ok, run->size, wall, wall > 0 ? (double) run->n / wall : 0,
                run->n ? cpu * 1000 / (double) run->n : 0,
                wall > 0 ? (double) ok * (double) run->size / wall / 1048576.0 : 0,
                (double) run->worst_turn / 1000.0, (unsigned long long) run->beats);
}

/* Runs every push (and its check) on a loop of its own; -1 when one failed or came back wrong. */
static int run_pushes(PushRun *run) {
        struct rusage ru0;
        usec_t began = now_usec(CLOCK_MONOTONIC);
        bool announced = false, bad = false;

        the_run = run;
        run->loop = loop_new();
        run->pusher = pusher_new(run->loop);
        run->progress = !run->cli->json && isatty(STDERR_FILENO);
        (void) getrusage(RUSAGE_SELF, &ru0);
        if (run->stats) {
                run->beat_due = loop_now(run->loop) + 5 * USEC_PER_MSEC;
                loop_timer_start(run->loop, run->beat_due, on_beat, run, &run->beat);
        }
        /* a device's reboot shows on mDNS: its service goes and comes back (avahi-daemon
         * answering or not, the pushes go on) */
        for (size_t i = 0; i < run->n; i++)
                announced |= run->jobs[i].announced;
        if (run->verify > 0 && announced &&
            discovery_new(run->loop, DISCOVERY_TYPES_DEFAULT, on_mdns, run, &run->mdns) < 0)
                run->mdns = NULL;
        start_next(run);
        if (run->finished < run->n)
                (void) loop_run(run->loop);
        run->mdns = discovery_free(run->mdns);
        loop_timer_cancel(run->loop, &run->beat);
        if (run->stats)
                print_stats(run, began, &ru0);
        if (run->progress)
                fputc('\n', stderr);
        print_results(run, run->cli->json);
        for (size_t i = 0; i < run->n; i++) {
                Job *j = &run->jobs[i];
                bad |= j->result.outcome != PUSH_OK || j->verified == VERIFIED_FAILED;
                loop_timer_cancel(run->loop, &j->verify_timer);
        }
        run->pusher = pusher_free(run->pusher);
        run->loop = loop_free(run->loop);
        the_run = NULL;
        return bad ? -1 : 0;
}

int verb_push(Cli *cli, int argc, char **argv) {
        enum {
                A_TRANSPORT = 0x100,
                A_PASSWORD_FROM,
                A_FILESYSTEM,
                A_DEVICES,
                A_PARALLEL,
                A_PORT,
                A_PATH,
                A_PHASE,
                A_DEADLINE,
                A_VERIFY,
                A_STATS,
                A_RELEASE
        };
        static const struct option options[] = {
                { "deadline", required_argument, NULL, A_DEADLINE },
                { "devices", required_argument, NULL, A_DEVICES },
                { "filesystem", no_argument, NULL, A_FILESYSTEM },
                { "help", no_argument, NULL, 'h' },
                { "parallel", required_argument, NULL, A_PARALLEL },
                { "password-from", required_argument, NULL, A_PASSWORD_FROM },
                { "path", required_argument, NULL, A_PATH },
                { "phase-timeout", required_argument, NULL, A_PHASE },
                { "port", required_argument, NULL, A_PORT },
                { "release", required_argument, NULL, A_RELEASE },
                { "stats", no_argument, NULL, A_STATS },
                { "transport", required_argument, NULL, A_TRANSPORT },
                { "verify-timeout", required_argument, NULL, A_VERIFY },
                {},
        };
        JobOptions jo = { .transport = -1 };
        PushRun run = { .cli = cli,
                        .parallel = 4,
                        .phase = 10 * USEC_PER_SEC,
                        .deadline = 300 * USEC_PER_SEC,
                        .verify = 120 * USEC_PER_SEC };
        const char *devices = NULL;
        uint64_t release = 0;
        char **names = NULL;
        size_t n_names = 0;
        uint32_t v;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h': help(); return 0;
                case A_TRANSPORT:
                        if ((jo.transport = push_transport_from_string(optarg)) < 0)
                                return cli_usage("--transport expects espota or web");
                        break;
                case A_PASSWORD_FROM: jo.password_from = optarg; break;
                case A_FILESYSTEM: run.filesystem = true; break;
                case A_STATS: run.stats = true; break;
                case A_RELEASE:
                        if (parse_u64(optarg, &release) < 0 || release == 0 || release > INT64_MAX)
                                return cli_usage("push: --release expects a release id");
                        break;
                case A_DEVICES: devices = optarg; break;
                case A_PARALLEL:
                        if (parse_u32(optarg, &v) < 0 || v == 0 || v > 256)
                                return cli_usage("--parallel expects 1 to 256");
                        run.parallel = v;
                        break;
                case A_PORT:
                        if (parse_u32(optarg, &v) < 0 || v == 0 || v > 65535)
                                return cli_usage("--port expects 1 to 65535");
                        jo.port = v;
                        break;
                case A_PATH:
                        if (optarg[0] != '/' || strpbrk(optarg, " \r\n\t?#"))
                                return cli_usage("--path expects an absolute path");
                        jo.path = optarg;
                        break;
                case A_PHASE:
                        if (parse_secs("--phase-timeout", optarg, false, &run.phase) < 0)
                                return CLI_USAGE;
                        break;
                case A_DEADLINE:
                        if (parse_secs("--deadline", optarg, false, &run.deadline) < 0)
                                return CLI_USAGE;
                        break;
                case A_VERIFY:
                        if (parse_secs("--verify-timeout", optarg, true, &run.verify) < 0)
                                return CLI_USAGE;
                        break;
                default: return CLI_USAGE;
                }
        }
        int rest = argc - optind, want = (devices ? 0 : 1) + (release ? 0 : 1);
        if (rest != want)
                return cli_usage(
                        release   ? (devices ? "push --devices FILE|- --release ID takes no image FILE"
                                             : "push expects DEVICE --release ID (and no image FILE)")
                        : devices ? "push --devices FILE|- expects the image FILE (or --release ID)"
                                  : "push expects DEVICE FILE (or --release ID, or --devices FILE|- FILE)");
        const char *file = release ? NULL : argv[argc - 1];
        run.file = file;
        if (devices) {
                if (push_read_list(devices, &names, &n_names) < 0)
                        return -1;
        } else {
                names = xcalloc(1, sizeof(char *));
                names[0] = xstrdup(argv[optind]);
                n_names = 1;
        }
        run.jobs = xcalloc(n_names, sizeof(Job));
        run.n = n_names;
        for (size_t i = 0; i < n_names && r >= 0; i++)
                r = push_resolve_job(cli, &jo, names[i], &run.jobs[i]);
        if (r >= 0)
                r = release ? load_release(cli, (int64_t) release, &run)
                            : load_image(file, run.filesystem, &run);
        if (r >= 0 && cli->server) {
                char err[API_CLIENT_ERROR_MAX];
                /* verification only: without flotad the pushes still go */
                /* short: the checks run on the loop, between pushes */
                if (api_client_new(cli->server, cli->token, cli->timeout < 2 ? cli->timeout : 2, &run.api,
                                   err) < 0)
                        run.api = NULL;
        }
        if (r >= 0)
                r = run_pushes(&run);
        api_client_free(run.api);
        for (size_t i = 0; i < run.n; i++)
                push_job_done(&run.jobs[i]);
        free(run.jobs);
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        free(run.image);
        free(run.file_owned);
        return r;
}
