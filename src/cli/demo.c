/* SPDX-License-Identifier: MIT */
/* flota demo's shared pieces: its products, the stop flag, notes and the logs of its directory. */
#include "demo.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/fileio.h"

const DemoProduct demo_products[DEMO_PRODUCTS] = {
        { "door", "esp8266", PLATFORM_ESP8266 },
        { "meter", "esp32", PLATFORM_ESP32 },
};

static volatile sig_atomic_t stop_requested;

void demo_on_stop_signal(int sig) {
        (void) sig;
        stop_requested = 1;
}

bool demo_stop_requested(void) {
        return stop_requested;
}

bool demo_pause_unless_stopped(usec_t t) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + t, step = 100 * USEC_PER_MSEC;

        for (usec_t now; !stop_requested && (now = now_usec(CLOCK_MONOTONIC)) < end;)
                sleep_usec(end - now < step ? end - now : step);
        return !stop_requested;
}

void demo_note(const Demo *d, const char *fmt, ...) {
        va_list ap;

        if (d->dashboard && d->started)
                return;
        va_start(ap, fmt);
        fputs("demo: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

int demo_open_log(const Demo *d, const char *name) {
        _cleanup_free_ char *path = xasprintf("%s/%s", d->dir, name);
        return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

char *demo_log_line(const Demo *d, const char *name, const char *needle) {
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
