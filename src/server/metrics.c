/* SPDX-License-Identifier: MIT */
/* /metrics (Prometheus text format) and /healthz. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "flota/alloc.h"
#include "server.h"

static const unsigned poll_statuses[] = { 200, 304, 400, 401, 403, 404 };

void metrics_count_poll(Metrics *m, unsigned status) {
        for (size_t i = 0; i < ELEMENTSOF(poll_statuses); i++)
                if (poll_statuses[i] == status) {
                        atomic_fetch_add(&m->polls_by_status[i], 1);
                        return;
                }
        atomic_fetch_add(&m->polls_other, 1);
}

typedef struct Text {
        char *buf;
        size_t len, allocated;
} Text;

static _printf_(2, 3) void put(Text *t, const char *fmt, ...) {
        va_list ap;

        for (;;) {
                size_t room = t->allocated - t->len;
                va_start(ap, fmt);
                int n = vsnprintf(t->buf ? t->buf + t->len : NULL, room, fmt, ap);
                va_end(ap);
                if ((size_t) n < room) {
                        t->len += (size_t) n;
                        return;
                }
                t->buf = xgrow(t->buf, &t->allocated, t->len + (size_t) n + 1, 1);
        }
}

enum MHD_Result metrics_handle(Server *srv, struct MHD_Connection *conn) {
        Metrics *m = &srv->metrics;
        Text t = {};

        put(&t, "# HELP flotad_polls_total Device polls answered, by HTTP status.\n"
                "# TYPE flotad_polls_total counter\n");
        for (size_t i = 0; i < ELEMENTSOF(poll_statuses); i++)
                put(&t, "flotad_polls_total{status=\"%u\"} %lu\n", poll_statuses[i],
                    (unsigned long) atomic_load(&m->polls_by_status[i]));
        put(&t, "flotad_polls_total{status=\"other\"} %lu\n", (unsigned long) atomic_load(&m->polls_other));
        put(&t, "# HELP flotad_poll_reasons_total Device polls by the reason for the answer.\n"
                "# TYPE flotad_poll_reasons_total counter\n");
        for (int i = 0; i < _REASON_MAX; i++)
                put(&t, "flotad_poll_reasons_total{reason=\"%s\"} %lu\n", reason_to_string((Reason) i),
                    (unsigned long) atomic_load(&m->reasons[i]));
        put(&t,
            "# HELP flotad_image_bytes_served_total Bytes of firmware images sent to devices.\n"
            "# TYPE flotad_image_bytes_served_total counter\n"
            "flotad_image_bytes_served_total %lu\n",
            (unsigned long) atomic_load(&m->bytes_served));
        put(&t,
            "# HELP flotad_api_requests_total Management API requests.\n"
            "# TYPE flotad_api_requests_total counter\n"
            "flotad_api_requests_total %lu\n"
            "# HELP flotad_api_errors_total Management API requests answered with an error.\n"
            "# TYPE flotad_api_errors_total counter\n"
            "flotad_api_errors_total{class=\"4xx\"} %lu\n"
            "flotad_api_errors_total{class=\"5xx\"} %lu\n",
            (unsigned long) atomic_load(&m->api_requests), (unsigned long) atomic_load(&m->api_errors_4xx),
            (unsigned long) atomic_load(&m->api_errors_5xx));
        put(&t, "# HELP flotad_api_calls_total Management API calls, by route and status class.\n"
                "# TYPE flotad_api_calls_total counter\n");
        for (size_t i = 0; i <= api_n_routes(); i++)
                for (unsigned k = 0; k < 4; k++) {
                        char name[64];
                        put(&t, "flotad_api_calls_total{route=\"%s\",class=\"%uxx\"} %lu\n",
                            api_route_name(i, name, sizeof(name)), k + 2,
                            (unsigned long) atomic_load(&m->api_calls[i][k]));
                }
        put(&t,
            "# HELP flotad_checkins_written_total Check-ins committed to the database.\n"
            "# TYPE flotad_checkins_written_total counter\n"
            "flotad_checkins_written_total %lu\n"
            "# HELP flotad_checkin_write_failures_total Failed check-in batch commits (retried).\n"
            "# TYPE flotad_checkin_write_failures_total counter\n"
            "flotad_checkin_write_failures_total %lu\n"
            "# HELP flotad_checkins_pending Check-ins waiting for the writer.\n"
            "# TYPE flotad_checkins_pending gauge\n"
            "flotad_checkins_pending %zu\n"
            "# HELP flotad_checkins_dropped_total Check-ins lost: the queue was full or the server "
            "stopped.\n"
            "# TYPE flotad_checkins_dropped_total counter\n"
            "flotad_checkins_dropped_total %lu\n"
            "# HELP flotad_checkins_spilled_total Check-ins that waited in the journal only: the queue "
            "was full.\n"
            "# TYPE flotad_checkins_spilled_total counter\n"
            "flotad_checkins_spilled_total %lu\n"
            "# HELP flotad_checkins_replayed_total Check-ins answered before the last stop and written "
            "from the journal at start.\n"
            "# TYPE flotad_checkins_replayed_total counter\n"
            "flotad_checkins_replayed_total %lu\n"
            "# HELP flotad_checkin_journal_errors_total Check-ins the journal could not take (answered "
            "anyway).\n"
            "# TYPE flotad_checkin_journal_errors_total counter\n"
            "flotad_checkin_journal_errors_total %lu\n",
            (unsigned long) atomic_load(&srv->checkins.written),
            (unsigned long) atomic_load(&srv->checkins.failures), checkin_queue_pending(&srv->checkins),
            (unsigned long) atomic_load(&srv->checkins.dropped),
            (unsigned long) atomic_load(&srv->checkins.spilled_total),
            (unsigned long) atomic_load(&srv->checkins.replayed),
            (unsigned long) atomic_load(&srv->checkins.journal_errors));
        put(&t,
            "# HELP flotad_connections_open Connections open now.\n"
            "# TYPE flotad_connections_open gauge\n"
            "flotad_connections_open %u\n"
            "# HELP flotad_connections_refused_total Connections closed at accept: over connection-limit.\n"
            "# TYPE flotad_connections_refused_total counter\n"
            "flotad_connections_refused_total %lu\n"
            "# HELP flotad_request_head_timeouts_total Connections closed: request head not complete in "
            "time.\n"
            "# TYPE flotad_request_head_timeouts_total counter\n"
            "flotad_request_head_timeouts_total %lu\n",
            atomic_load(&srv->guard.active), (unsigned long) atomic_load(&srv->guard.refused),
            (unsigned long) atomic_load(&srv->guard.head_timeouts));
        put(&t,
            "# HELP flotad_auth_failures_total Wrong product keys and API tokens presented.\n"
            "# TYPE flotad_auth_failures_total counter\n"
            "flotad_auth_failures_total %lu\n"
            "# HELP flotad_auth_throttled_total Requests answered 429: too many failed authentications from "
            "the address.\n"
            "# TYPE flotad_auth_throttled_total counter\n"
            "flotad_auth_throttled_total %lu\n",
            (unsigned long) atomic_load(&srv->auth_limit.failures),
            (unsigned long) atomic_load(&srv->auth_limit.throttled));
        put(&t,
            "# HELP flotad_releases_uploaded_total Releases accepted since start.\n"
            "# TYPE flotad_releases_uploaded_total counter\n"
            "flotad_releases_uploaded_total %lu\n",
            (unsigned long) atomic_load(&m->releases_uploaded));

        struct MHD_Response *resp = MHD_create_response_from_buffer(t.len, t.buf, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
}

enum MHD_Result healthz_handle(Server *srv, struct MHD_Connection *conn) {
        cJSON *o = cJSON_CreateObject();

        bool stuck = checkin_queue_is_stuck(&srv->checkins);
        bool stale = atomic_load(&srv->catalog_stale);

        /* polls are answered either way; "degraded" says check-ins are not being stored */
        cJSON_AddStringToObject(o, "status", stuck || stale ? "degraded" : "ok");
        cJSON_AddNumberToObject(o, "uptime_seconds",
                                (double) ((now_usec(CLOCK_MONOTONIC) - srv->started) / USEC_PER_SEC));
        cJSON_AddStringToObject(o, "writer", stuck ? "failing" : "ok");
        cJSON_AddNumberToObject(o, "checkins_pending", (double) checkin_queue_pending(&srv->checkins));
        cJSON_AddNumberToObject(o, "checkins_written", (double) atomic_load(&srv->checkins.written));
        cJSON_AddNumberToObject(o, "checkins_dropped", (double) atomic_load(&srv->checkins.dropped));
        cJSON_AddStringToObject(o, "database_check", "ok");
        /* stale: a saved change is not served because reloading the catalog failed */
        cJSON_AddStringToObject(o, "catalog", stale ? "stale" : "ok");
        return respond_json(conn, MHD_HTTP_OK, o);
}
