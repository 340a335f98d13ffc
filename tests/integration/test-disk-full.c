/* SPDX-License-Identifier: MIT */
/*
 * A full disk: flotad's data directory on a small tmpfs. An upload that does not fit is
 * refused with 507 and leaves nothing behind; the server keeps answering polls, says that
 * its check-in writer is failing (and its check-in journal, on the same disk, counts what it
 * could not take), and writes what was queued once there is space again.
 * Needs root (to mount); exits 77, which meson reports as skipped, otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flotad-harness.h"

static void test_upload_on_full_disk(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        assert_int_equal(flotad_start(f, NULL), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);

        /* 6 MiB into a 4 MiB filesystem */
        _cleanup_free_ char *path = xasprintf("%s/big.bin", f->dir);
        _cleanup_free_ char *cmd =
                xasprintf("'%s' mkimage --size 6M --version 2.0 -o '%s'", getenv("FLOTA_SIM"), path);
        assert_int_equal(system(cmd), 0);
        size_t len;
        _cleanup_free_ char *img = slurp(path, &len);
        assert_int_equal(api_call(f, "POST", "/api/v1/releases?product=door&version=2.0", f->admin_token,
                                  img, len, &r),
                         0);
        if (r.status != 507 || !strstr(r.body, "\"code\":\"storage\""))
                fail_msg("upload on a full disk: %d %s", r.status, r.body);
        http_response_done(&r);

        /* no temporary file is left, and no release exists */
        _cleanup_free_ char *check = xasprintf("test -z \"$(find '%s/images' -type f)\"", f->data_dir);
        assert_int_equal(system(check), 0);
        assert_int_equal(api(f, "GET", "/api/v1/releases", NULL, &r), 200);
        assert_string_equal(r.body, "{\"releases\":[]}\n");
        http_response_done(&r);

        /* devices are still answered */
        _cleanup_free_ char *req =
                esp8266_poll("/update/door", f->port, "18:FE:AA:00:00:01", "1", NULL, 1 << 20, NULL);
        assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
        assert_int_equal(r.status, 304);
        http_response_done(&r);
}

/* /healthz's body once it contains needle (bounded wait, 20 s), else the last body seen. */
static char *wait_health(Flotad *f, const char *needle) {
        char *body = NULL;

        for (int i = 0; i < 200; i++) {
                HttpResponse r;
                assert_int_equal(api_call(f, "GET", "/healthz", NULL, NULL, 0, &r), 0);
                assert_int_equal(r.status, 200);
                free(body);
                body = xstrdup(r.body);
                http_response_done(&r);
                if (strstr(body, needle))
                        break;
                struct timespec ts = { .tv_nsec = 100 * 1000000L };
                nanosleep(&ts, NULL);
        }
        return body;
}

/* With the disk full, polls are still answered; the writer says it is failing, then catches up. */
static void test_polls_on_full_disk(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        /* the rest of the tmpfs, taken */
        _cleanup_free_ char *filler = xasprintf("%s/filler", f->data_dir);
        FILE *o = fopen(filler, "w");
        assert_non_null(o);
        static char chunk[65536];
        for (int i = 0; i < 1024 && fwrite(chunk, 1, sizeof(chunk), o) == sizeof(chunk) && fflush(o) == 0;
             i++)
                ;
        fclose(o);

        for (int i = 0; i < 300; i++) {
                _cleanup_free_ char *mac = xasprintf("02:00:00:00:%02X:%02X", i / 256, i % 256);
                _cleanup_free_ char *req =
                        esp8266_poll("/update/door", f->port, mac, "1", NULL, 1 << 20, NULL);
                assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
                assert_int_equal(r.status, 304);
                http_response_done(&r);
        }
        _cleanup_free_ char *h = wait_health(f, "\"writer\":\"failing\"");
        if (!strstr(h, "\"status\":\"degraded\""))
                fail_msg("healthz with a full disk: %s", h);
        /* the journal, on the same disk, could not take them either: counted and said, answered anyway */
        assert_int_equal(api(f, "GET", "/metrics", NULL, &r), 200);
        const char *m = strstr(r.body, "\nflotad_checkin_journal_errors_total ");
        if (!m || atol(m + strlen("\nflotad_checkin_journal_errors_total ")) <= 0)
                fail_msg("no journal errors counted on a full disk: %s", m ? m : "(no counter)");
        http_response_done(&r);
        _cleanup_free_ char *log = slurp(f->log_path, NULL);
        assert_non_null(strstr(log, "appending to the check-in journal"));

        /* space again: everything queued is written, nothing was lost */
        assert_int_equal(unlink(filler), 0);
        free(wait_health(f, "\"writer\":\"ok\""));
        assert_true(wait_checkins(f, 301) >= 301);
        assert_int_equal(db_count(f, "SELECT count(*) FROM devices"), 301);
}

int main(void) {
        Flotad f;

        if (geteuid() != 0) {
                fprintf(stderr, "test-disk-full: needs root to mount a small tmpfs; skipped\n");
                return 77;
        }
        flotad_init(&f);
        /* move the data directory onto a 4 MiB tmpfs (the tokens made by flotad_init go with it) */
        _cleanup_free_ char *keep = xasprintf("%s/keep", f.dir);
        _cleanup_free_ char *mv = xasprintf("mv '%s' '%s'", f.data_dir, keep);
        if (system(mv) != 0 || mkdir(f.data_dir, 0755) < 0 ||
            mount("tmpfs", f.data_dir, "tmpfs", 0, "size=4m") < 0) {
                fprintf(stderr, "test-disk-full: cannot mount a tmpfs here; skipped\n");
                flotad_cleanup(&f);
                return 77;
        }
        _cleanup_free_ char *back = xasprintf("cp -a '%s'/. '%s'/", keep, f.data_dir);
        int rc = system(back);

        const struct CMUnitTest tests[] = {
                cmocka_unit_test_prestate(test_upload_on_full_disk, &f),
                cmocka_unit_test_prestate(test_polls_on_full_disk, &f),
        };
        if (rc == 0)
                rc = cmocka_run_group_tests(tests, NULL, NULL);
        if (flotad_finish(&f) < 0)
                rc = 1;
        if (f.pid > 0)
                flotad_stop(&f, SIGKILL);
        (void) umount2(f.data_dir, MNT_DETACH);
        flotad_cleanup(&f);
        return rc;
}
