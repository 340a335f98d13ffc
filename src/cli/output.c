/* SPDX-License-Identifier: MIT */
/* Errors, the API client with its reporting, JSON and table output. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/fileio.h"
#include "flota/inventory.h"
#include "flota/strutil.h"

/* Messages quote servers, files and devices: control characters in them are escaped (term_escape()). */
static _printf_(1, 0) void report(const char *fmt, va_list ap, const char *suffix) {
        _cleanup_free_ char *msg = NULL;

        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        _cleanup_free_ char *safe = term_escape(msg ? msg : "(out of memory)");
        fprintf(stderr, "flota: %s%s", safe, suffix);
}

int cli_error(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report(fmt, ap, "\n");
        va_end(ap);
        return -1;
}

int cli_usage(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report(fmt, ap, " (see flota --help)\n");
        va_end(ap);
        return CLI_USAGE;
}

void print_fields(const cJSON *o, const char *const *keys, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const cJSON *v = cJSON_GetObjectItem(o, keys[i]);
                _cleanup_free_ char *text =
                        cJSON_IsString(v) ? xstrdup(v->valuestring) : cJSON_PrintUnformatted(v);
                _cleanup_free_ char *safe = term_escape(text);
                printf("%-11s %s\n", keys[i], safe);
        }
}

int cli_client(Cli *cli, const char *verb, ApiClient **ret) {
        char err[API_CLIENT_ERROR_MAX];

        if (!cli->client) {
                if (!cli->server)
                        return cli_error(
                                "%s: no server: pass --server URL, set FLOTA_SERVER or server= in the "
                                "config file",
                                verb);
                if (api_client_new(cli->server, cli->token, cli->timeout, &cli->client, err) < 0)
                        return cli_error("%s: %s", verb, err);
        }
        *ret = cli->client;
        return 0;
}

int cli_api_error(Cli *cli, const char *verb, int r, const char *err) {
        /* flotad answers 401 for a missing or unknown token, and 403 for a role that may not write */
        bool no_token = r == -EACCES && !cli->token && strstr(err, "rejected the API token");

        return cli_error("%s: %s%s", verb, err,
                         no_token ? " (none given: --token, FLOTA_TOKEN or token= in the config)" : "");
}

static void show_progress(uint64_t sent, uint64_t total, void *userdata) {
        (void) userdata;
        if (total)
                fprintf(stderr, "\ruploading: %3u%% (%llu of %llu bytes)", (unsigned) (sent * 100 / total),
                        (unsigned long long) sent, (unsigned long long) total);
}

void (*cli_upload_progress(void))(uint64_t sent, uint64_t total, void *userdata) {
        return isatty(STDERR_FILENO) ? show_progress : NULL;
}

int cli_open_upload(const char *verb, const char *file, uint64_t *ret_size) {
        struct stat st;
        _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || fstat(fd, &st) < 0)
                return cli_error("%s: cannot read %s: %s", verb, file, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return cli_error("%s: %s is not a regular file", verb, file);
        *ret_size = (uint64_t) st.st_size;
        return TAKE_FD(fd);
}

cJSON *cli_channel_json(const ApiChannel *c) {
        ChannelInfo ch = { .kind = c->kind, .release = c->release, .updated = c->updated };

        strscpy(ch.product, sizeof(ch.product), c->product);
        strscpy(ch.name, sizeof(ch.name), c->name);
        strscpy(ch.version, sizeof(ch.version), c->version);
        return channel_info_to_json(&ch);
}

cJSON *cli_device_json(const DeviceRecord *d) {
        Device v = device_record_view(d);
        return device_to_json(&v);
}

/* The inventory's path: --db, else under $XDG_STATE_HOME (or ~/.local/state). NULL when neither is known. */
static char *inventory_path(const Cli *cli) {
        const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

        if (cli->db)
                return xstrdup(cli->db);
        if (!isempty(state))
                return xasprintf("%s/flota/flota.db", state);
        if (!isempty(home))
                return xasprintf("%s/.local/state/flota/flota.db", home);
        return NULL;
}

int cli_inventory_existing(Cli *cli, Store **ret) {
        _cleanup_free_ char *path = inventory_path(cli);

        *ret = NULL;
        if (!cli->inventory && (!path || access(path, F_OK) < 0))
                return 0;
        return cli_inventory(cli, ret);
}

int cli_inventory(Cli *cli, Store **ret) {
        _cleanup_free_ char *path = inventory_path(cli);
        int r;

        if (cli->inventory) {
                *ret = cli->inventory;
                return 0;
        }
        if (!path)
                return cli_error("no inventory: pass --db FILE (neither XDG_STATE_HOME nor HOME is set)");
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                r = mkdir_p(dir, 0700);
                if (r < 0)
                        return cli_error("cannot create %s: %s", dir, strerror(-r));
        }
        r = inventory_open(path, &cli->inventory);
        if (r == -EPROTO)
                return cli_error("%s was written by a newer flota", path);
        if (r < 0)
                return cli_error("cannot open the inventory %s: %s", path, strerror(-r));
        *ret = cli->inventory;
        return 0;
}

bool cli_ping(Cli *cli, char err[static API_CLIENT_ERROR_MAX]) {
        if (!cli->client && api_client_new(cli->server, cli->token, cli->timeout, &cli->client, err) < 0)
                return false;
        return api_healthz(cli->client, err) == 0;
}

void print_escaped(const char *prefix, const char *s, const char *suffix) {
        _cleanup_free_ char *safe = term_escape(s);
        printf("%s%s%s", prefix, safe, suffix);
}

void print_json(const cJSON *j) {
        char *text = cJSON_Print(j);
        if (!text)
                abort();
        puts(text);
        free(text);
}

const char *jstr(const cJSON *o, const char *key) {
        const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
        return cJSON_IsString(v) ? v->valuestring : "";
}

double jnum(const cJSON *o, const char *key) {
        const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
        return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static ColorMode color_mode = COLOR_AUTO;
static int color_enabled = -1; /* decided on first use */

ColorMode color_mode_from_string(const char *s) {
        static const char *const names[_COLOR_MODE_MAX] = {
                [COLOR_AUTO] = "auto",
                [COLOR_ALWAYS] = "always",
                [COLOR_NEVER] = "never",
        };
        for (int i = 0; i < _COLOR_MODE_MAX; i++)
                if (streq(s, names[i]))
                        return (ColorMode) i;
        return _COLOR_MODE_INVALID;
}

void cli_set_color(ColorMode mode) {
        color_mode = mode;
        color_enabled = -1;
}

static bool use_color(void) {
        if (color_enabled < 0) {
                const char *term = getenv("TERM");
                color_enabled = color_mode == COLOR_ALWAYS ||
                                (color_mode == COLOR_AUTO && isempty(getenv("NO_COLOR")) &&
                                 isatty(STDOUT_FILENO) && !(term && streq(term, "dumb")));
        }
        return color_enabled;
}

const char *style_on(Style s) {
        static const char *const escapes[_STYLE_MAX] = {
                [STYLE_HEADER] = "\033[1m",
                [STYLE_GOOD] = "\033[32m",
                [STYLE_BAD] = "\033[31m",
        };
        return use_color() ? escapes[s] : "";
}

const char *style_off(void) {
        return use_color() ? "\033[0m" : "";
}

struct Table {
        size_t n;
        char **cells; /* row-major, headers first */
        size_t rows;
        size_t *width;
};

Table *table_new(const char *const *headers, size_t n) {
        Table *t = xcalloc(1, sizeof(Table));
        t->n = n;
        t->width = xcalloc(n, sizeof(size_t));
        table_add(t, headers);
        return t;
}

void table_add(Table *t, const char *const *cells) {
        t->cells = xrealloc(t->cells, (t->rows + 1) * t->n * sizeof(char *));
        for (size_t i = 0; i < t->n; i++) {
                /* cells come from servers, logs and devices: control characters are shown escaped */
                char *c = term_escape(cells[i]);
                t->cells[t->rows * t->n + i] = c;
                size_t w = strlen(c);
                if (w > t->width[i])
                        t->width[i] = w;
        }
        t->rows++;
}

void table_print(Table *t) {
        struct winsize ws;
        size_t cols = isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col
                              ? ws.ws_col
                              : 1000;
        for (size_t r = 0; r < t->rows; r++) {
                size_t used = 0;
                /* escapes take no columns: only the cells count towards the width */
                if (r == 0)
                        fputs(style_on(STYLE_HEADER), stdout);
                for (size_t i = 0; i < t->n; i++) {
                        const char *c = t->cells[r * t->n + i];
                        size_t w = i + 1 < t->n ? t->width[i] : strlen(c);
                        /* the last column that fits is cut at the terminal's width */
                        if (used + w > cols)
                                w = cols > used ? cols - used : 0;
                        printf("%-*.*s", (int) w, (int) w, c);
                        used += w;
                        if (i + 1 < t->n && used + 2 <= cols) {
                                fputs("  ", stdout);
                                used += 2;
                        }
                }
                if (r == 0)
                        fputs(style_off(), stdout);
                fputc('\n', stdout);
        }
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->rows * t->n; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->width);
        free(t);
        return NULL;
}

void cli_audit(Cli *cli, const char *action, const char *fmt, ...) {
        _cleanup_free_ char *what = NULL, *detail = NULL;
        Store *inv;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&what, fmt, ap) < 0)
                what = NULL;
        va_end(ap);
        if (!what || cli_inventory(cli, &inv) < 0)
                return;
        detail = xasprintf("%s on %s", what, cli->server ? cli->server : "-");
        if (inventory_audit(inv, action, detail) < 0)
                fprintf(stderr, "flota: warning: could not record '%s' in the audit log: %s\n", action,
                        store_last_error(inv));
}

char *cli_inventory_path(const Cli *cli) {
        return inventory_path(cli);
}
