/* SPDX-License-Identifier: MIT */
/* The flotad integration fixture. */
#include "flotad-harness.h"

#include <arpa/inet.h>
#include <sqlite3.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "tmpdir.h"

static const char *flotad_path(void) {
        const char *p = getenv("FLOTAD");
        return p ? p : "flotad";
}

static void sleep_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

int flotad_run(char *const *args, char **ret_output) {
        char *argv[32];
        size_t n = 0;

        argv[n++] = (char *) flotad_path();
        for (size_t i = 1; args[0] && args[i] && n < 31; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return run_program(argv, true, ret_output);
}

int run_program(char *const *argv, bool with_stderr, char **ret_output) {
        int pipefd[2];
        pid_t pid;
        int status;

        if (pipe(pipefd) < 0)
                return -errno;
        pid = fork();
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                if (with_stderr)
                        dup2(pipefd[1], STDERR_FILENO);
                close(pipefd[0]);
                execv(argv[0], argv);
                _exit(127);
        }
        close(pipefd[1]);
        size_t n = 0, allocated = 0;
        char *out = NULL;
        for (;;) {
                out = xgrow(out, &allocated, n + 4097, 1);
                ssize_t k = read(pipefd[0], out + n, 4096);
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        out[n] = 0;
        close(pipefd[0]);
        waitpid(pid, &status, 0);
        if (ret_output)
                *ret_output = out;
        else
                free(out);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *pg_test_database(void) {
        static unsigned counter;
        const char *base = getenv("FLOTA_TEST_PG"), *bindir = getenv("FLOTA_TEST_PG_BINDIR");

        if (!base || !bindir || !strchr(base, '?'))
                return NULL;
        char *name = xasprintf("flotad_%d_%u", (int) getpid(), counter++);
        char *createdb = xasprintf("%s/createdb", bindir);
        char *argv[] = { createdb, name, NULL };
        if (run_program(argv, true, NULL) != 0) {
                fprintf(stderr, "createdb %s failed\n", name);
                abort();
        }
        char *url = xasprintf("postgresql:///%s%s", name, strchr(base, '?'));
        free(createdb);
        free(name);
        return url;
}

static void create_token(Flotad *f, const char *name, const char *role, char *out, size_t size) {
        char *args[] = { (char *) flotad_path(),
                         (char *) "--data-dir",
                         f->data_dir,
                         (char *) "token",
                         (char *) "create",
                         (char *) name,
                         (char *) "--role",
                         (char *) role,
                         NULL,
                         NULL,
                         NULL };
        if (f->database) {
                /* options before the command */
                memmove(args + 5, args + 3, 6 * sizeof(char *));
                args[3] = (char *) "--database";
                args[4] = f->database;
        }
        char *output = NULL;

        if (flotad_run(args, &output) != 0) {
                fprintf(stderr, "token create failed: %s\n", output);
                abort();
        }
        /* the token is the line that starts with flota_ */
        char *t = strstr(output, "flota_");
        if (!t)
                abort();
        t[strcspn(t, "\n")] = 0;
        snprintf(out, size, "%s", t);
        free(output);
}

void flotad_init(Flotad *f) {
        *f = (Flotad) { .pid = -1 };
        f->dir = tmpdir_new();
        if (!f->dir)
                abort();
        f->data_dir = xasprintf("%s/data", f->dir);
        f->log_path = xasprintf("%s/flotad.log", f->dir);
        f->database = pg_test_database();
        create_token(f, "test-admin", "admin", f->admin_token, sizeof(f->admin_token));
        create_token(f, "test-read", "read", f->read_token, sizeof(f->read_token));
}

static int read_port(const char *log_path) {
        char *text = NULL;
        size_t n;
        FILE *fp = fopen(log_path, "r");

        if (!fp)
                return -1;
        text = xcalloc(1, 65536);
        n = fread(text, 1, 65535, fp);
        fclose(fp);
        text[n] = 0;
        /* only this start's output counts: earlier runs of the fixture are in the same log */
        const char *start = text;
        for (const char *q = text; (q = strstr(q, "--- start\n")); q++)
                start = q;
        const char *p = strstr(start, "listening on http://127.0.0.1:");
        int port = p ? atoi(p + strlen("listening on http://127.0.0.1:")) : -1;
        free(text);
        return port;
}

int flotad_start(Flotad *f, const char *const *extra_args) {
        const char *argv[32] = { flotad_path(), "--data-dir", f->data_dir, "--listen", "127.0.0.1:0" };
        size_t n = 5;

        if (f->database) {
                argv[n++] = "--database";
                argv[n++] = f->database;
        }
        for (size_t i = 0; extra_args && extra_args[i] && n < 30; i++)
                argv[n++] = extra_args[i];
        argv[n] = NULL;
        /* keep earlier runs' output: flotad_finish() scans all of it */
        int mark = open(f->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (mark >= 0) {
                (void) !write(mark, "--- start\n", 10);
                close(mark);
        }
        f->pid = fork();
        if (f->pid == 0) {
                int fd = open(f->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
                dup2(fd, STDERR_FILENO);
                dup2(fd, STDOUT_FILENO);
                execv(flotad_path(), (char *const *) argv);
                _exit(127);
        }
        for (int i = 0; i < 200; i++) {
                int status;
                f->port = read_port(f->log_path);
                if (f->port > 0)
                        return 0;
                if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
                        f->pid = -1;
                        return -ECHILD;
                }
                sleep_ms(50);
        }
        return -ETIMEDOUT;
}

int flotad_stop(Flotad *f, int sig) {
        int status;

        if (f->pid <= 0)
                return -1;
        kill(f->pid, sig);
        for (int i = 0; i < 300; i++) {
                if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
                        f->pid = -1;
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                }
                sleep_ms(50);
        }
        kill(f->pid, SIGKILL);
        waitpid(f->pid, &status, 0);
        f->pid = -1;
        return -1;
}

static bool log_has_sanitizer_report(const char *path) {
        FILE *fp = fopen(path, "r");
        char line[1024];
        bool found = false;

        while (fp && fgets(line, sizeof(line), fp))
                if (strstr(line, "Sanitizer") || strstr(line, "runtime error:")) {
                        fprintf(stderr, "flotad log: %s", line);
                        found = true;
                }
        if (fp)
                fclose(fp);
        return found;
}

int flotad_finish(Flotad *f) {
        int r = 0;

        if (f->pid > 0) {
                int status = flotad_stop(f, SIGTERM);
                if (status != 0) {
                        fprintf(stderr, "flotad exited with status %d on SIGTERM\n", status);
                        r = -1;
                }
        }
        if (log_has_sanitizer_report(f->log_path))
                r = -1;
        return r;
}

void flotad_cleanup(Flotad *f) {
        if (f->pid > 0)
                (void) flotad_stop(f, SIGKILL);
        if (getenv("FLOTA_KEEP_TEST_DIR"))
                fprintf(stderr, "kept %s\n", f->dir);
        else
                tmpdir_remove(f->dir);
        f->dir = NULL;
        free(f->data_dir);
        free(f->log_path);
        free(f->database);
        f->database = NULL;
}

int http_raw(int port, const char *request, size_t len, HttpResponse *ret) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char *buf = NULL;
        size_t n = 0, allocated = 0;

        *ret = (HttpResponse) { .status = -1 };
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                return r;
        }
        size_t off = 0;
        while (off < len) {
                ssize_t w = send(fd, request + off, len - off, MSG_NOSIGNAL);
                if (w <= 0)
                        break; /* the server may answer early and close */
                off += (size_t) w;
        }
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 10000) <= 0)
                        break;
                buf = xgrow(buf, &allocated, n + 65537, 1);
                ssize_t k = recv(fd, buf + n, 65536, 0);
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        close(fd);
        if (!buf)
                return -ECONNRESET;
        buf[n] = 0;
        char *sep = strstr(buf, "\r\n\r\n");
        size_t head_len = sep ? (size_t) (sep - buf) : n;
        ret->head = xstrndup(buf, head_len);
        ret->body_len = sep ? n - head_len - 4 : 0;
        ret->body = xmalloc(ret->body_len + 1);
        if (ret->body_len)
                memcpy(ret->body, sep + 4, ret->body_len);
        ret->body[ret->body_len] = 0;
        if (sscanf(ret->head, "HTTP/1.%*d %d", &ret->status) != 1)
                ret->status = -1;
        free(buf);
        return 0;
}

void http_response_done(HttpResponse *r) {
        free(r->head);
        free(r->body);
        *r = (HttpResponse) {};
}

const char *http_header(const HttpResponse *r, const char *name) {
        static char value[512];
        size_t nl = strlen(name);

        for (const char *p = r->head; p && *p;) {
                const char *eol = strstr(p, "\r\n");
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
                        const char *v = p + nl + 1;
                        while (*v == ' ')
                                v++;
                        snprintf(value, sizeof(value), "%.*s", (int) (len - (size_t) (v - p)), v);
                        return value;
                }
                p = eol ? eol + 2 : NULL;
        }
        return NULL;
}

int api_call(const Flotad *f, const char *method, const char *path, const char *token, const char *body,
             size_t body_len, HttpResponse *ret) {
        char *auth = token ? xasprintf("Authorization: Bearer %s\r\n", token) : xstrdup("");
        char *head = xasprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n"
                               "Content-Length: %zu\r\n\r\n",
                               method, path, f->port, auth, body ? body_len : 0);
        size_t hl = strlen(head);
        char *req = xmalloc(hl + body_len + 1);

        memcpy(req, head, hl);
        if (body)
                memcpy(req + hl, body, body_len);
        int r = http_raw(f->port, req, hl + (body ? body_len : 0), ret);
        free(req);
        free(head);
        free(auth);
        return r;
}

int api(const Flotad *f, const char *method, const char *path, const char *body, HttpResponse *ret) {
        int r = api_call(f, method, path, f->admin_token, body, body ? strlen(body) : 0, ret);
        return r < 0 ? r : ret->status;
}

char *esp8266_poll(const char *path, int port, const char *mac, const char *version, const char *md5,
                   long free_space, const char *mode) {
        char *v = version ? xasprintf("x-ESP8266-version: %s\r\n", version) : xstrdup("");
        char *req = xasprintf("GET %s HTTP/1.0\r\n"
                              "Host: 127.0.0.1:%d\r\n"
                              "User-Agent: ESP8266-http-Update\r\n"
                              "Connection: close\r\n"
                              "x-ESP8266-Chip-ID: 15602487\r\n"
                              "x-ESP8266-STA-MAC: %s\r\n"
                              "x-ESP8266-AP-MAC: %s\r\n"
                              "x-ESP8266-free-space: %ld\r\n"
                              "x-ESP8266-sketch-size: 400000\r\n"
                              "x-ESP8266-sketch-md5: %s\r\n"
                              "x-ESP8266-chip-size: 4194304\r\n"
                              "x-ESP8266-sdk-version: 2.5.0\r\n"
                              "x-ESP8266-mode: %s\r\n"
                              "%s"
                              "Content-Length: 0\r\n\r\n",
                              path, port, mac, mac, free_space,
                              md5 ? md5 : "0537061f98e956f58721a59bb6fa476e", mode ? mode : "sketch", v);
        free(v);
        return req;
}

char *esp32_poll(const char *path, int port, const char *mac, const char *version, const char *sha256,
                 long free_space, const char *mode) {
        char *v = version ? xasprintf("x-ESP32-version: %s\r\n", version) : xstrdup("");
        char *sha = sha256 ? xasprintf("x-ESP32-sketch-sha256: %s\r\n", sha256) : xstrdup("");
        char *req = xasprintf("GET %s HTTP/1.0\r\n"
                              "Host: 127.0.0.1:%d\r\n"
                              "User-Agent: ESP32-http-Update\r\n"
                              "Connection: close\r\n"
                              "Cache-Control: no-cache\r\n"
                              "x-ESP32-BASE-MAC: %s\r\n"
                              "x-ESP32-STA-MAC: %s\r\n"
                              "x-ESP32-AP-MAC: %s\r\n"
                              "x-ESP32-free-space: %ld\r\n"
                              "x-ESP32-sketch-size: 900000\r\n"
                              "%s"
                              "x-ESP32-chip-size: 4194304\r\n"
                              "x-ESP32-sdk-version: v4.4.5\r\n"
                              "x-ESP32-mode: %s\r\n"
                              "%s\r\n",
                              path, port, mac, mac, mac, free_space, sha, mode ? mode : "sketch", v);
        free(v);
        free(sha);
        return req;
}

char *make_image(const Flotad *f, const char *platform, const char *version, const char *size) {
        static int counter;
        char *path = xasprintf("%s/image-%d.bin", f->dir, ++counter);
        const char *tool = getenv("FLOTA_SIM");
        char *cmd = xasprintf("'%s' mkimage --platform %s --size %s --version '%s' -o '%s'",
                              tool ? tool : "flota-sim", platform, size, version, path);

        if (system(cmd) != 0)
                abort();
        free(cmd);
        return path;
}

char *slurp(const char *path, size_t *ret_len) {
        FILE *fp = fopen(path, "rb");
        if (!fp)
                abort();
        fseek(fp, 0, SEEK_END);
        long n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        char *data = xmalloc((size_t) n + 1);
        if (fread(data, 1, (size_t) n, fp) != (size_t) n)
                abort();
        data[n] = 0;
        fclose(fp);
        if (ret_len)
                *ret_len = (size_t) n;
        return data;
}

long sqlite_count(const char *path, const char *sql) {
        sqlite3 *db;
        sqlite3_stmt *st;
        long n = -1;

        if (sqlite3_open(path, &db) != SQLITE_OK)
                abort();
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return n;
}

long db_count(const Flotad *f, const char *sql) {
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", f->data_dir);
        return sqlite_count(path, sql);
}

int flotad_fixture_setup(void **state) {
        Flotad *f = xcalloc(1, sizeof(Flotad));

        flotad_init(f);
        if (flotad_start(f, NULL) < 0)
                return -1;
        *state = f;
        return 0;
}

int flotad_fixture_teardown(void **state) {
        int r = flotad_finish(*state);

        flotad_cleanup(*state);
        free(*state);
        return r;
}

long json_int(const char *json, const char *name) {
        char key[128];
        snprintf(key, sizeof(key), "\"%s\":", name);
        const char *p = json ? strstr(json, key) : NULL;
        return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

long wait_db_count(const Flotad *f, const char *sql, long want) {
        long count = -1;

        for (int i = 0; i < 200; i++) {
                count = db_count(f, sql);
                if (count >= want)
                        break;
                sleep_ms(50);
        }
        return count;
}

int wait_checkins(const Flotad *f, int n) {
        int count = 0;

        for (int i = 0; i < 100; i++) {
                HttpResponse r;
                count = 0;
                if (api(f, "GET", "/api/v1/checkins?after=0&limit=10000", NULL, &r) == 200)
                        for (const char *p = r.body; (p = strstr(p, "\"reason\":")); p++)
                                count++;
                http_response_done(&r);
                if (count >= n)
                        break;
                sleep_ms(100);
        }
        return count;
}
