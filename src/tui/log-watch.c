/* SPDX-License-Identifier: MIT */
/* inotify over the followed logs' directories, on the UI's loop. */
#include "log-watch.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/strutil.h"

#define WATCH_EVENTS (IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO)

typedef struct Watched {
        int wd;
        char *name; /* the log's file name in its directory */
} Watched;

struct LogWatch {
        Loop *loop;
        int fd;
        Watched *v;
        size_t n;
        void (*changed)(void *userdata);
        void *userdata;
};

static void on_events(Loop *l, int fd, short revents, void *userdata) {
        LogWatch *w = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool hit = false;
        ssize_t len;

        while ((len = read(fd, buf, sizeof(buf))) > 0)
                for (char *p = buf; p < buf + len;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        for (size_t i = 0; i < w->n && e->len > 0; i++)
                                if (w->v[i].wd == e->wd && streq(w->v[i].name, e->name))
                                        hit = true;
                        p += sizeof(struct inotify_event) + e->len;
                }
        if (hit)
                w->changed(w->userdata);
}

int log_watch_new(Loop *l, const char *const *paths, size_t n, void (*changed)(void *userdata),
                  void *userdata, LogWatch **ret) {
        LogWatch *w = xcalloc(1, sizeof(LogWatch));

        *w = (LogWatch) { .loop = l, .changed = changed, .userdata = userdata };
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0) {
                int r = -errno;
                free(w);
                return r;
        }
        w->v = xcalloc(n ? n : 1, sizeof(Watched));
        for (size_t i = 0; i < n; i++) {
                const char *slash = strrchr(paths[i], '/');
                _cleanup_free_ char *dir =
                        slash ? xstrndup(paths[i], slash == paths[i] ? 1 : (size_t) (slash - paths[i]))
                              : xstrdup(".");
                int wd = inotify_add_watch(w->fd, dir, WATCH_EVENTS);
                if (wd < 0)
                        continue; /* that log is read on every pass only */
                w->v[w->n++] = (Watched) { wd, xstrdup(slash ? slash + 1 : paths[i]) };
        }
        int r = loop_watch(l, w->fd, POLLIN, on_events, w);
        if (r < 0) {
                log_watch_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

LogWatch *log_watch_free(LogWatch *w) {
        if (!w)
                return NULL;
        loop_unwatch(w->loop, w->fd);
        close(w->fd);
        for (size_t i = 0; i < w->n; i++)
                free(w->v[i].name);
        free(w->v);
        free(w);
        return NULL;
}
