/* SPDX-License-Identifier: MIT */
/* Pushes on a Loop: their life cycle, deadlines and the libcurl multi handle web pushes share. */
#include "flota/push.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "push-internal.h"

#define DEFAULT_PHASE (10 * USEC_PER_SEC)
#define DEFAULT_FINAL (60 * USEC_PER_SEC)
#define DEFAULT_DEADLINE (300 * USEC_PER_SEC)
#define DEFAULT_INVITATIONS 5

static const char *const transports[_PUSH_TRANSPORT_MAX] = {
        [PUSH_TRANSPORT_ESPOTA] = "espota",
        [PUSH_TRANSPORT_WEB] = "web",
};

static const char *const outcomes[_PUSH_OUTCOME_MAX] = {
        [PUSH_OK] = "ok",
        [PUSH_AUTH_FAILED] = "auth-failed",
        [PUSH_REFUSED] = "refused",
        [PUSH_NO_ANSWER] = "no-answer",
        [PUSH_UPLOAD_FAILED] = "upload-failed",
        [PUSH_TIMEOUT] = "timeout",
};

const char *push_transport_to_string(PushTransport t) {
        return t >= 0 && t < _PUSH_TRANSPORT_MAX ? transports[t] : NULL;
}

PushTransport push_transport_from_string(const char *s) {
        for (int i = 0; s && i < _PUSH_TRANSPORT_MAX; i++)
                if (streq(s, transports[i]))
                        return (PushTransport) i;
        return _PUSH_TRANSPORT_INVALID;
}

const char *push_outcome_to_string(PushOutcome o) {
        return o >= 0 && o < _PUSH_OUTCOME_MAX ? outcomes[o] : NULL;
}

PushOutcome push_outcome_from_string(const char *s) {
        for (int i = 0; s && i < _PUSH_OUTCOME_MAX; i++)
                if (streq(s, outcomes[i]))
                        return (PushOutcome) i;
        return _PUSH_OUTCOME_INVALID;
}

Loop *push_loop(Push *p) {
        return p->pr->loop;
}

/* libcurl's sockets and timer on the loop */
static void on_curl_io(Loop *l, int fd, short revents, void *userdata);

static void check_multi(Pusher *pr) {
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(pr->multi, &left))) {
                if (m->msg != CURLMSG_DONE)
                        continue;
                Push *p = NULL;
                (void) curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &p);
                if (p && web_push_transport.curl_done)
                        web_push_transport.curl_done(p, m->data.result);
        }
}

static void on_curl_io(Loop *l, int fd, short revents, void *userdata) {
        Pusher *pr = userdata;
        int running, action = 0;

        (void) l;
        if (revents & POLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & POLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (POLLERR | POLLHUP))
                action |= CURL_CSELECT_ERR;
        (void) curl_multi_socket_action(pr->multi, fd, action, &running);
        check_multi(pr);
}

static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
        Pusher *pr = userp;

        (void) e;
        (void) socketp;
        if (what == CURL_POLL_REMOVE) {
                loop_unwatch(pr->loop, s);
                return 0;
        }
        short events = (what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0);
        (void) loop_watch(pr->loop, s, events, on_curl_io, pr);
        return 0;
}

static void on_curl_timer(Loop *l, void *userdata) {
        Pusher *pr = userdata;
        int running;

        (void) l;
        (void) curl_multi_socket_action(pr->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_multi(pr);
}

static int on_curl_timer_set(CURLM *m, long timeout_ms, void *userp) {
        Pusher *pr = userp;

        (void) m;
        loop_timer_cancel(pr->loop, &pr->curl_timer);
        if (timeout_ms >= 0)
                loop_timer_start(pr->loop, loop_now(pr->loop) + (usec_t) timeout_ms * USEC_PER_MSEC,
                                 on_curl_timer, pr, &pr->curl_timer);
        return 0;
}

Pusher *pusher_new(Loop *l) {
        static bool initialised;
        Pusher *pr = xcalloc(1, sizeof(Pusher));

        if (!initialised) {
                curl_global_init(CURL_GLOBAL_DEFAULT);
                initialised = true;
        }
        pr->loop = l;
        pr->multi = curl_multi_init();
        if (!pr->multi)
                abort();
        curl_multi_setopt(pr->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
        curl_multi_setopt(pr->multi, CURLMOPT_SOCKETDATA, pr);
        curl_multi_setopt(pr->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer_set);
        curl_multi_setopt(pr->multi, CURLMOPT_TIMERDATA, pr);
        return pr;
}

static void push_release(Push *p) {
        Pusher *pr = p->pr;

        loop_timer_cancel(pr->loop, &p->deadline_timer);
        loop_timer_cancel(pr->loop, &p->phase_timer);
        espota_transport.cleanup(p);
        web_push_transport.cleanup(p);
        if (p->prev)
                p->prev->next = p->next;
        else
                pr->pushes = p->next;
        if (p->next)
                p->next->prev = p->prev;
        pr->n--;
        free((char *) p->req.host);
        free((char *) p->req.password);
        free((char *) p->req.user);
        free((char *) p->req.path);
        free(p);
}

Pusher *pusher_free(Pusher *pr) {
        if (!pr)
                return NULL;
        while (pr->pushes)
                push_release(pr->pushes);
        loop_timer_cancel(pr->loop, &pr->curl_timer);
        curl_multi_cleanup(pr->multi);
        free(pr);
        return NULL;
}

size_t pusher_active(const Pusher *pr) {
        return pr->n;
}

static void on_finished(Loop *l, void *userdata) {
        Push *p = userdata;
        PushResult r = p->result;
        PushDoneFn done = p->done;
        void *ud = p->userdata;

        (void) l;
        push_release(p);
        done(p, &r, ud);
}

void push_finish(Push *p, PushOutcome outcome, const char *fmt, ...) {
        Loop *l = p->pr->loop;
        va_list ap;

        if (p->finished)
                return;
        p->finished = true;
        p->result.outcome = outcome;
        if (fmt) {
                va_start(ap, fmt);
                vsnprintf(p->result.message, sizeof(p->result.message), fmt, ap);
                va_end(ap);
        }
        p->result.elapsed = loop_now(l) - p->started;
        /* the sockets go now; p itself, and the callback, at the loop's next turn, so that no
         * caller up the stack is left holding a freed Push */
        espota_transport.cleanup(p);
        web_push_transport.cleanup(p);
        loop_timer_cancel(l, &p->phase_timer);
        loop_timer_cancel(l, &p->deadline_timer);
        loop_timer_start(l, loop_now(l), on_finished, p, &p->deadline_timer);
}

static void on_phase_timeout(Loop *l, void *userdata) {
        Push *p = userdata;

        (void) l;
        push_finish(p, PUSH_TIMEOUT, "no %s within %llu ms", p->phase_what ? p->phase_what : "progress",
                    (unsigned long long) (p->phase_len / USEC_PER_MSEC));
}

void push_phase(Push *p, usec_t timeout, const char *what) {
        Loop *l = p->pr->loop;

        loop_timer_cancel(l, &p->phase_timer);
        p->phase_what = what;
        p->phase_len = timeout;
        if (timeout > 0)
                loop_timer_start(l, loop_now(l) + timeout, on_phase_timeout, p, &p->phase_timer);
}

static void on_deadline(Loop *l, void *userdata) {
        Push *p = userdata;

        (void) l;
        push_finish(p, PUSH_TIMEOUT, "the push took longer than %llu s",
                    (unsigned long long) (p->req.deadline / USEC_PER_SEC));
}

void push_report_progress(Push *p, uint64_t sent) {
        p->result.sent = sent;
        if (p->progress)
                p->progress(p, sent, p->req.size, p->userdata);
}

int push_start(Pusher *pr, const PushRequest *req, PushDoneFn done, PushProgressFn progress, void *userdata,
               Push **ret) {
        if (!req || isempty(req->host) || req->port == 0 || !req->image || req->size == 0 || !done ||
            push_transport_to_string(req->transport) == NULL)
                return -EINVAL;
        Push *p = xcalloc(1, sizeof(Push));
        p->pr = pr;
        p->req = *req;
        p->req.host = xstrdup(req->host);
        p->req.md5 = NULL; /* espota copies it before it returns */
        p->req.password = isempty(req->password) ? NULL : xstrdup(req->password);
        p->req.user = xstrdup(req->user ? req->user : "admin");
        p->req.path = xstrdup(req->path ? req->path : PUSH_DEFAULT_WEB_PATH);
        if (p->req.phase_timeout == 0)
                p->req.phase_timeout = DEFAULT_PHASE;
        if (p->req.final_timeout == 0)
                p->req.final_timeout = DEFAULT_FINAL;
        if (p->req.deadline == 0)
                p->req.deadline = DEFAULT_DEADLINE;
        if (p->req.invitations == 0)
                p->req.invitations = DEFAULT_INVITATIONS;
        p->done = done;
        p->progress = progress;
        p->userdata = userdata;
        p->udp = p->listener = p->tcp = -1;
        p->started = loop_now(pr->loop);
        p->next = pr->pushes;
        if (p->next)
                p->next->prev = p;
        pr->pushes = p;
        pr->n++;
        p->req.md5 = req->md5;
        const PushTransportOps *ops =
                req->transport == PUSH_TRANSPORT_ESPOTA ? &espota_transport : &web_push_transport;
        int r = ops->begin(p);
        p->req.md5 = NULL;
        if (r < 0) {
                push_release(p);
                return r;
        }
        loop_timer_start(pr->loop, p->started + p->req.deadline, on_deadline, p, &p->deadline_timer);
        if (ret)
                *ret = p;
        return 0;
}
