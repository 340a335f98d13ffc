/* SPDX-License-Identifier: MIT */
/*
 * flota demo end to end: the real flotad and flota-sim it starts, the status it ends with, and
 * that nothing it started outlives it (processes, port, temporary directory) on every way out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flotad-harness.h"
#include "tmpdir.h"

/* Each test runs the demo with TMPDIR in a directory of its own, so what the demo leaves is visible. */
static int setup(void **state) {
        char *dir = tmpdir_new();

        if (!dir)
                return -1;
        setenv("TMPDIR", dir, 1);
        *state = dir;
        return 0;
}

static int teardown(void **state) {
        unsetenv("TMPDIR");
        tmpdir_remove(*state);
        return 0;
}

static void sleep_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

/* The number after "key" in the demo's notes ("flotad (pid 123)"), or -1. */
static long after(const char *text, const char *key) {
        const char *p = strstr(text, key);
        return p ? atol(p + strlen(key)) : -1;
}

/* A process is gone once it no longer exists or is a zombie nobody has reaped yet. */
static bool process_gone(long pid) {
        char path[64], stat[256] = "";

        if (kill((pid_t) pid, 0) < 0 && errno == ESRCH)
                return true;
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return true;
        bool zombie = fgets(stat, sizeof(stat), f) && strstr(stat, ") Z ");
        fclose(f);
        return zombie;
}

static bool gone_within(long pid, int ms) {
        for (int i = 0; i < ms / 50 && !process_gone(pid); i++)
                sleep_ms(50);
        return process_gone(pid);
}

static bool port_open(int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        bool open = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
        close(fd);
        return open;
}

/* How many demo directories are left in dir. */
static int entries(const char *dir) {
        DIR *d = opendir(dir);
        int n = 0;

        assert_non_null(d);
        for (struct dirent *e; (e = readdir(d));)
                n += strncmp(e->d_name, "flota-demo-", 11) == 0;
        closedir(d);
        return n;
}

/* What the demo's notes say it started: both pids and the server's port, checked to be gone now. */
static void assert_all_stopped(const char *out, const char *tmp) {
        long flotad = after(out, "flotad (pid "), sim = after(out, "flota-sim (pid ");
        long port = after(out, "serves http://127.0.0.1:");

        if (flotad <= 0 || sim <= 0 || port <= 0)
                fail_msg("the demo did not say what it started: %s", out);
        assert_true(gone_within(flotad, 5000));
        assert_true(gone_within(sim, 5000));
        assert_false(port_open((int) port));
        if (entries(tmp) != 0)
                fail_msg("the demo left its directory in %s: %s", tmp, out);
}

static void test_demo_runs_and_stops(void **state) {
        const char *argv[] = { getenv("FLOTA"), "demo", "--duration", "12", "--json",
                               "--devices",     "20",   "--port",     "0",  NULL };
        char *out = NULL;

        int rc = run_program((char *const *) argv, true, &out);
        if (rc != 0)
                fail_msg("flota demo: exit %d: %s", rc, out);
        /* stdout and stderr together: the notes have no braces, and what follows the JSON is ignored */
        cJSON *j = strchr(out, '{') ? cJSON_Parse(strchr(out, '{')) : NULL;
        if (!j)
                fail_msg("no status JSON in: %s", out);
        assert_int_equal(cJSON_GetObjectItem(j, "devices")->valueint, 20);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "server"), "reachable")));
        const cJSON *on_new = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_version"), "1.1.0");
        if (!cJSON_IsNumber(on_new) || on_new->valueint < 1)
                fail_msg("no device reached 1.1.0: %s", out);
        const cJSON *platforms = cJSON_GetObjectItem(j, "by_platform");
        assert_non_null(cJSON_GetObjectItem(platforms, "esp8266"));
        assert_non_null(cJSON_GetObjectItem(platforms, "esp32"));
        cJSON_Delete(j);
        assert_all_stopped(out, *state);
        free(out);
}

/* Starts the demo with its output in a file; returns its pid once it has started the fleet. */
static pid_t start_demo(const char *log) {
        const char *argv[] = { getenv("FLOTA"), "demo", "--devices", "10", "--port", "0", NULL };
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        pid_t pid = fork();

        if (pid == 0) {
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        close(fd);
        for (int i = 0; i < 400; i++) {
                size_t n;
                _cleanup_free_ char *text = slurp(log, &n);
                if (strstr(text, "flota-sim (pid "))
                        return pid;
                sleep_ms(50);
        }
        kill(pid, SIGKILL);
        fail_msg("the demo did not start its fleet");
        return -1;
}

static int wait_exit(pid_t pid) {
        int status;
        for (int i = 0; i < 200; i++) {
                if (waitpid(pid, &status, WNOHANG) == pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                sleep_ms(50);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
}

/* Ctrl-C stops everything; flota finds flotad and flota-sim beside it in the build tree. */
static void test_demo_ctrl_c(void **state) {
        _cleanup_free_ char *log = xasprintf("%s/demo.log", (char *) *state);
        _cleanup_free_ char *flotad = xstrdup(getenv("FLOTAD")), *sim = xstrdup(getenv("FLOTA_SIM"));
        size_t n;

        unsetenv("FLOTAD");
        unsetenv("FLOTA_SIM");
        pid_t pid = start_demo(log);
        setenv("FLOTAD", flotad, 1);
        setenv("FLOTA_SIM", sim, 1);
        sleep_ms(1500);
        kill(pid, SIGINT);
        assert_int_equal(wait_exit(pid), 0);
        _cleanup_free_ char *out = slurp(log, &n);
        assert_non_null(strstr(out, "removed "));
        assert_all_stopped(out, *state);
}

/* Killed outright, the demo cannot clean up; its processes still stop (they are told when it dies). */
static void test_demo_killed(void **state) {
        _cleanup_free_ char *log = xasprintf("%s/demo.log", (char *) *state);
        size_t n;

        pid_t pid = start_demo(log);
        kill(pid, SIGKILL);
        assert_int_equal(wait_exit(pid), 128 + SIGKILL);
        _cleanup_free_ char *out = slurp(log, &n);
        assert_true(gone_within(after(out, "flotad (pid "), 5000));
        assert_true(gone_within(after(out, "flota-sim (pid "), 5000));
}

static void test_demo_errors(void **state) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char port[8], *out = NULL;

        /* a port somebody else listens on */
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 1), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
        snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
        const char *busy[] = { getenv("FLOTA"), "demo", "--port", port, "--duration", "5", NULL };
        assert_int_equal(run_program((char *const *) busy, true, &out), 1);
        _cleanup_free_ char *want = xasprintf("flota: demo: port %s on 127.0.0.1 is in use", port);
        if (!strstr(out, want))
                fail_msg("no clear message for a busy port: %s", out);
        free(out);
        close(fd);
        assert_int_equal(entries(*state), 0);

        /* a flotad that is not there */
        _cleanup_free_ char *flotad = xstrdup(getenv("FLOTAD"));
        setenv("FLOTAD", "/nonexistent/flotad", 1);
        const char *missing[] = { getenv("FLOTA"), "demo", NULL };
        int rc = run_program((char *const *) missing, true, &out);
        setenv("FLOTAD", flotad, 1);
        assert_int_equal(rc, 1);
        assert_non_null(strstr(out, "FLOTAD=/nonexistent/flotad is not a program"));
        free(out);

        /* usage */
        const char *bad[] = { getenv("FLOTA"), "demo", "--devices", "0", NULL };
        assert_int_equal(run_program((char *const *) bad, true, &out), 2);
        free(out);
        assert_int_equal(entries(*state), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_demo_runs_and_stops, setup, teardown),
                cmocka_unit_test_setup_teardown(test_demo_ctrl_c, setup, teardown),
                cmocka_unit_test_setup_teardown(test_demo_killed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_demo_errors, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
