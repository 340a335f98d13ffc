/* SPDX-License-Identifier: MIT */
/* flotad's INI configuration: keys, values and errors with line numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../harness/tmpdir.h"
#include "config.h"
#include "flota/alloc.h"

static char *write_conf(const char *dir, const char *text) {
        char *p = xasprintf("%s/flotad.conf", dir);
        FILE *f = fopen(p, "w");
        fputs(text, f);
        fclose(f);
        return p;
}

static void test_good_file(void **state) {
        char *dir = tmpdir_new(), err[256];
        char *p = write_conf(dir, "; comment\n[flotad]\ndata-dir = /var/lib/flota\nlisten = 127.0.0.1:9000\n"
                                  "max-image-size = 8M\nthreads = 4\nlog-level = debug\n");
        Config c;

        config_init(&c);
        assert_int_equal(config_load_file(&c, p, err, sizeof(err)), 0);
        assert_string_equal(c.data_dir, "/var/lib/flota");
        assert_string_equal(c.listen, "127.0.0.1:9000");
        assert_int_equal(c.max_image_size, 8u << 20);
        assert_int_equal(c.threads, 4);
        config_done(&c);
        free(p);
        tmpdir_remove(dir);
}

static void expect_error(const char *text, const char *needle) {
        char *dir = tmpdir_new(), err[256] = "";
        char *p = write_conf(dir, text);
        Config c;

        config_init(&c);
        assert_int_equal(config_load_file(&c, p, err, sizeof(err)), -EINVAL);
        if (!strstr(err, needle))
                fail_msg("error '%s' does not mention '%s'", err, needle);
        config_done(&c);
        free(p);
        tmpdir_remove(dir);
}

static void test_bad_files(void **state) {
        expect_error("[flotad]\nbogus = 1\n", ":2: unknown setting 'bogus'");
        expect_error("[other]\nlisten = x\n", "unknown section");
        expect_error("[flotad]\nthreads = many\n", "threads");
        expect_error("[flotad]\nmax-image-size = 10T\n", "max-image-size");
        expect_error("[flotad]\nlog-level = loud\n", "log-level");
        expect_error("[flotad]\nupdate-path = update\n", "update-path");
        expect_error("[flotad]\nupdate-path = /metrics\n", "update-path");
        expect_error("[flotad]\nupdate-path = /ota/\n", "update-path");
        expect_error("[flotad]\nlisten =\n", "listen: a value is required");
        expect_error("[flotad]\ncheckin-retention = 0d\n", "checkin-retention");
        expect_error("[flotad]\ncheckin-retention = soon\n", "checkin-retention");
        expect_error("[flotad\nlisten = x\n", ":1:");
}

/* The settings for several replicas: a database URL, a shared image directory, nginx delivery. */
static void test_replica_settings(void **state) {
        Config c;
        char err[256] = "";

        config_init(&c);
        assert_int_equal(config_check(&c, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "--data-dir is required"));
        assert_int_equal(
                config_set(&c, "database", "postgresql:///flota?host=/run/postgresql", err, sizeof(err)), 0);
        /* a server database still needs somewhere for the images */
        assert_int_equal(config_check(&c, err, sizeof(err)), -EINVAL);
        assert_int_equal(config_set(&c, "image-dir", "/srv/flota/images", err, sizeof(err)), 0);
        assert_int_equal(config_check(&c, err, sizeof(err)), 0);
        assert_int_equal(c.image_delivery, IMAGE_DELIVERY_SENDFILE);
        assert_int_equal(config_set(&c, "image-delivery", "x-accel", err, sizeof(err)), 0);
        assert_int_equal(c.image_delivery, IMAGE_DELIVERY_X_ACCEL);
        config_done(&c);

        config_init(&c);
        assert_int_equal(config_set(&c, "data-dir", "/var/lib/flota", err, sizeof(err)), 0);
        char *db = config_database(&c), *images = config_image_dir(&c);
        assert_string_equal(db, "/var/lib/flota/flotad.db");
        assert_string_equal(images, "/var/lib/flota/images");
        free(db);
        free(images);
        assert_int_equal(config_set(&c, "database", "sqlite:/srv/flotad.db", err, sizeof(err)), 0);
        config_done(&c);

        expect_error("[flotad]\ndatabase = mysql://x\n",
                     "database: expected postgresql://... or sqlite:PATH");
        expect_error("[flotad]\ndatabase = /var/lib/flota/flotad.db\n", "database: expected");
        expect_error("[flotad]\ndatabase = sqlite:\n", "database: expected");
        expect_error("[flotad]\nimage-delivery = redirect\n",
                     "image-delivery: expected sendfile or x-accel");
        /* command-line-only options are not file keys */
        expect_error("[flotad]\nhelp = 1\n", "unknown setting 'help'");
        expect_error("[flotad]\nconfig = other.conf\n", "unknown setting 'config'");
}

/* The one option table: every row has a name and help, file keys are unique. */
static void test_option_table(void **state) {
        for (size_t i = 0; i < config_n_options; i++) {
                const ConfigOption *o = &config_options[i];
                assert_non_null(o->name);
                assert_non_null(o->help);
                assert_ptr_equal(config_option_find(o->name), o);
                if (o->type != OPTION_COMMAND_LINE)
                        assert_non_null(o->metavar);
        }
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        config_print_help(m);
        fclose(m);
        for (size_t i = 0; i < config_n_options; i++) {
                char *flag = xasprintf("--%s", config_options[i].name);
                assert_non_null(strstr(text, flag));
                free(flag);
        }
        free(text);

        /* and flotad(8) documents every one of them */
        const char *root = getenv("FLOTA_SOURCE_ROOT");
        if (!root)
                return;
        char *path = xasprintf("%s/share/man/flotad.8.scd", root);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char *man = xcalloc(1, 1 << 20);
        size_t n = fread(man, 1, (1 << 20) - 1, f);
        fclose(f);
        man[n] = 0;
        for (size_t i = 0; i < config_n_options; i++) {
                char *flag = xasprintf("*--%s*", config_options[i].name);
                if (!strstr(man, flag))
                        fail_msg("flotad(8) does not document %s", flag);
                free(flag);
        }
        free(man);
        free(path);
}

static void test_missing_file(void **state) {
        Config c;
        char err[64];

        config_init(&c);
        assert_int_equal(config_load_file(&c, "/nonexistent/flotad.conf", err, sizeof(err)), -ENOENT);
        config_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good_file),    cmocka_unit_test(test_bad_files),
                cmocka_unit_test(test_missing_file), cmocka_unit_test(test_replica_settings),
                cmocka_unit_test(test_option_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
