/* SPDX-License-Identifier: MIT */
/* flotad lifecycle: open the store, listen, serve, drain. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/fileio.h"
#include "flota/log.h"
#include "flota/strutil.h"
#include "http.h"
#include "server.h"

/*
 * Per-connection memory of libmicrohttpd: it bounds a request's headers and is cleared for
 * every connection, so it is kept small (an update poll's head is about 600 bytes; devices
 * open one connection per poll).
 */
#define CONNECTION_MEMORY 8192

/* Connections libmicrohttpd may hold above connection-limit, so that the guard is the one that refuses. */
#define CONNECTION_LIMIT_HEADROOM 64

/* How long an API write waits for the database's write lock before answering 503. */
#define API_BUSY_TIMEOUT_MS 2000

char *server_image_path(Server *srv, const char *sha256) {
        return xasprintf("%s/%.2s/%s", srv->images_dir, sha256, sha256);
}

static int open_image(Server *srv, const Release *r) {
        _cleanup_free_ char *path = server_image_path(srv, r->sha256);
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t) st.st_size != r->size) {
                log_error("release %" PRId64 " (%s %s): image %s is missing or has the wrong size", r->id,
                          r->product, r->version, path);
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        return fd;
}

/* The X-Accel-Redirect answer: flotad's headers, no body; nginx sends the file. */
static struct MHD_Response *accel_response(const Release *r) {
        char disposition[200], location[sizeof(FLOTAD_X_ACCEL_PREFIX) + 3 + SHA256_HEX_LEN + 1];
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);

        if (!resp)
                return NULL;
        snprintf(location, sizeof(location), "%s%.2s/%s", FLOTAD_X_ACCEL_PREFIX, r->sha256, r->sha256);
        snprintf(disposition, sizeof(disposition), "attachment; filename=%s-%s.bin", r->product, r->version);
        MHD_add_response_header(resp, "X-Accel-Redirect", location);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
        /* nginx drops these on the redirect; the shipped snippet adds them back from here */
        MHD_add_response_header(resp, "x-MD5", r->md5);
        if (r->platform == PLATFORM_ESP32)
                MHD_add_response_header(resp, "x-SHA256", r->sha256);
        return resp;
}

struct MHD_Response *image_response(Server *srv, const Release *r, int fd) {
        if (fd < 0)
                return NULL;
        if (srv->config->image_delivery == IMAGE_DELIVERY_X_ACCEL)
                return accel_response(r);
        return image_file_response(r, fd);
}

struct MHD_Response *image_file_response(const Release *r, int fd) {
        char disposition[200];

        if (fd < 0)
                return NULL;
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return NULL;
        /* the response owns the copy and closes it when the answer is sent */
        struct MHD_Response *resp = MHD_create_response_from_fd64(r->size, copy);
        if (!resp) {
                close(copy);
                return NULL;
        }
        snprintf(disposition, sizeof(disposition), "attachment; filename=%s-%s.bin", r->product, r->version);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
        MHD_add_response_header(resp, "x-MD5", r->md5);
        if (r->platform == PLATFORM_ESP32)
                MHD_add_response_header(resp, "x-SHA256", r->sha256);
        return resp;
}

static Served *served_free(Served *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; s->catalog && i < s->catalog->n_releases; i++)
                if (s->image_fds[i] >= 0)
                        close(s->image_fds[i]);
        free(s->image_fds);
        catalog_free(s->catalog);
        free(s);
        return NULL;
}

int server_reload_catalog_from(Server *srv, Store *store) {
        int64_t version = 0;
        Catalog *c;
        int r;

        /* the version first: a change that lands during the load is loaded again next time */
        r = store_catalog_version(store, &version);
        if (r == 0)
                r = store_catalog_load(store, &c);
        if (r < 0) {
                log_error("loading the catalog failed: %s", store_last_error(store));
                return r;
        }
        Served *s = xcalloc(1, sizeof(Served));
        s->catalog = c;
        s->image_fds = xcalloc(c->n_releases ? c->n_releases : 1, sizeof(int));
        for (size_t i = 0; i < c->n_releases; i++)
                s->image_fds[i] = open_image(srv, &c->releases[i]);

        pthread_rwlock_wrlock(&srv->catalog_lock);
        Served *old = NULL;
        if (!srv->served || version >= srv->served_version) {
                old = srv->served;
                srv->served = s;
                srv->served_version = version;
        } else
                old = s; /* another thread swapped in a newer one meanwhile */
        pthread_rwlock_unlock(&srv->catalog_lock);
        served_free(old);
        return 0;
}

int server_reload_catalog(Server *srv) {
        return server_reload_catalog_from(srv, srv->api_store);
}

int server_catalog_changed(Server *srv) {
        int r = server_reload_catalog(srv);

        if (r < 0) {
                atomic_store(&srv->catalog_stale, true);
                log_error(
                        "a change was saved but is not served: reloading the catalog failed; retried before "
                        "every API call");
                return r;
        }
        atomic_store(&srv->catalog_stale, false);
        return 0;
}

void server_catalog_sync(Server *srv) {
        int64_t version, served;

        if (store_catalog_version(srv->api_store, &version) < 0)
                return; /* the call itself will meet the database's trouble and say so */
        pthread_rwlock_rdlock(&srv->catalog_lock);
        served = srv->served_version;
        pthread_rwlock_unlock(&srv->catalog_lock);
        if (version != served)
                (void) server_reload_catalog(srv);
}

void server_catalog_retry(Server *srv) {
        if (!atomic_load(&srv->catalog_stale))
                return;
        if (server_reload_catalog(srv) == 0) {
                atomic_store(&srv->catalog_stale, false);
                log_info("catalog reloaded: every saved change is served again");
        }
}

/* Parses "ADDR:PORT", "[V6]:PORT", ":PORT" or "PORT" and returns a listening socket. */
static int open_listener(const char *listen_spec, char *url, size_t url_size) {
        _cleanup_free_ char *spec = xstrdup(listen_spec);
        char *host = NULL, *port = spec, *colon;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai = NULL;
        int fd, one = 1, r;

        if (spec[0] == '[') {
                char *end = strchr(spec, ']');
                if (!end || end[1] != ':')
                        return -EINVAL;
                *end = 0;
                host = spec + 1;
                port = end + 2;
        } else if ((colon = strrchr(spec, ':'))) {
                *colon = 0;
                host = *spec ? spec : NULL;
                port = colon + 1;
        }
        uint32_t p;
        if (parse_u32(port, &p) < 0 || p > 65535)
                return -EINVAL;
        r = getaddrinfo(host, port, &hints, &ai);
        if (r != 0)
                return -EADDRNOTAVAIL;
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                r = -errno;
                freeaddrinfo(ai);
                return r;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
                r = -errno;
                close(fd);
                freeaddrinfo(ai);
                return r;
        }
        freeaddrinfo(ai);

        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        char h[NI_MAXHOST], s[NI_MAXSERV];
        if (getsockname(fd, (struct sockaddr *) &ss, &len) == 0 &&
            getnameinfo((struct sockaddr *) &ss, len, h, sizeof(h), s, sizeof(s),
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0)
                snprintf(url, url_size, ss.ss_family == AF_INET6 ? "http://[%s]:%s" : "http://%s:%s", h, s);
        return fd;
}

/*
 * With an image directory that several replicas share, a file may belong to an upload that
 * another replica has in flight: only files older than this are taken for left-overs.
 */
#define SHARED_LEFTOVER_AGE_SEC 3600

static bool old_enough(Server *srv, int dfd, const char *name) {
        struct stat st;

        if (!srv->shared_database)
                return true;
        return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               time(NULL) - st.st_mtime > SHARED_LEFTOVER_AGE_SEC;
}

/* Removes uploads that a crash interrupted: they were never committed, so nothing refers to them. */
static void remove_stale_uploads(Server *srv, const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *e;
        int n = 0;

        if (!d)
                return;
        while ((e = readdir(d)))
                if (startswith(e->d_name, ".tmp-") && old_enough(srv, dirfd(d), e->d_name) &&
                    unlinkat(dirfd(d), e->d_name, 0) == 0)
                        n++;
        closedir(d);
        if (n > 0)
                log_info("removed %d interrupted upload%s from %s", n, n == 1 ? "" : "s", dir);
}

/* Removes the image files in one images/XX/ directory that no release refers to. */
static int remove_unreferenced_in(Server *srv, int dfd, const char *sub) {
        struct dirent *e;
        DIR *d;
        int fd, n = 0;

        fd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return 0;
        }
        while ((e = readdir(d))) {
                if (strlen(e->d_name) != SHA256_HEX_LEN || !startswith(e->d_name, sub))
                        continue;
                /* only when the database says so for sure: an error keeps the file */
                if (!old_enough(srv, dirfd(d), e->d_name) ||
                    store_blob_in_use(srv->api_store, e->d_name) != 0)
                        continue;
                if (unlinkat(dirfd(d), e->d_name, 0) == 0) {
                        log_info("removed image %s/%s: no release refers to it", sub, e->d_name);
                        n++;
                }
        }
        closedir(d);
        return n;
}

/*
 * Removes image files that no release refers to: a crash between storing an image and
 * recording its release, or an upload refused after its image was stored, leaves them.
 */
static void remove_unreferenced_images(Server *srv) {
        DIR *d = opendir(srv->images_dir);
        struct dirent *e;
        int n = 0;

        if (!d)
                return;
        while ((e = readdir(d)))
                if (strlen(e->d_name) == 2 && isxdigit((unsigned char) e->d_name[0]) &&
                    isxdigit((unsigned char) e->d_name[1]))
                        n += remove_unreferenced_in(srv, dirfd(d), e->d_name);
        closedir(d);
        if (n > 0)
                log_info("removed %d unreferenced image%s from %s", n, n == 1 ? "" : "s", srv->images_dir);
}

static void raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

/* Refuses a corrupt database at start-up, saying how to recover, rather than serving from it. */
static int check_database(Server *srv) {
        _cleanup_free_ char *problem = NULL;
        int r = store_quick_check(srv->api_store, &problem);

        if (r == -EBADMSG)
                return log_error_errno(
                        r,
                        "database %s is corrupt (quick_check: %s); not starting. Stop flotad, keep "
                        "a copy, then restore a backup or rebuild it with "
                        "'sqlite3 %s .recover | sqlite3 recovered.db' and move recovered.db in its place",
                        srv->db_path, problem, srv->db_path);
        if (r < 0)
                return log_error_errno(r, "cannot check database %s: %s", srv->db_path, strerror(-r));
        return 0;
}

/* The database's name for messages: a URL without its password. */
static const char *db_name(Server *srv) {
        return srv->shared_database ? "the PostgreSQL database" : srv->db_path;
}

static int open_stores(Server *srv, Store **ret_writer) {
        int r = store_open_url(srv->db_path, &srv->api_store);

        if (r == -EPROTO)
                return log_error_errno(r, "%s was written by a newer flotad; refusing to touch it",
                                       db_name(srv));
        if (r == -EBADMSG)
                return log_error_errno(
                        r,
                        "database %s is corrupt; not starting. Stop flotad, keep a copy, then "
                        "restore a backup or rebuild it with "
                        "'sqlite3 %s .recover | sqlite3 recovered.db' and move recovered.db in its place",
                        srv->db_path, srv->db_path);
        if (r < 0)
                return log_error_errno(r, "cannot open %s: %s", db_name(srv),
                                       r == -ECONNREFUSED ? "cannot connect to the server (see --database; "
                                                            "--log-level debug shows its answer)"
                                                          : strerror(-r));
        r = check_database(srv);
        if (r < 0)
                return r;
        /* an API write that cannot get the database answers 503 soon instead of holding its caller */
        store_set_busy_timeout(srv->api_store, API_BUSY_TIMEOUT_MS);
        r = store_open_url(srv->db_path, ret_writer);
        if (r < 0)
                return log_error_errno(r, "cannot open %s: %s", db_name(srv), strerror(-r));
        store_set_checkin_heartbeat(*ret_writer, srv->config->checkin_heartbeat);
        r = store_tune_for_checkins(*ret_writer);
        if (r < 0)
                return log_error_errno(r, "cannot set up the check-in writer: %s",
                                       store_last_error(*ret_writer));
        return 0;
}

/* The check-in journal, when there is a place for it. */
static int open_journal(Server *srv) {
        _cleanup_free_ char *path = config_checkin_journal(srv->config);
        int r;

        if (!path) {
                log_warning("no check-in journal (%s): check-ins answered but not yet written are lost "
                            "if flotad is killed",
                            srv->config->checkin_journal ? "checkin-journal = none" : "no --data-dir");
                return 0;
        }
        if (!srv->config->checkin_journal) {
                /* the default place: with a PostgreSQL database nothing else may have made DATA_DIR */
                r = mkdir_p(srv->config->data_dir, 0750);
                if (r < 0)
                        return log_error_errno(r, "cannot create %s: %s", srv->config->data_dir,
                                               strerror(-r));
        }
        r = checkin_journal_open(&srv->checkin_journal, path);
        if (r == -EBUSY)
                return log_error_errno(
                        r,
                        "the check-in journal %s is in use by another flotad: each flotad needs "
                        "one of its own (its own --data-dir, or --checkin-journal)",
                        path);
        if (r == -EPROTO)
                return log_error_errno(r,
                                       "%s (or %s.1) is not a check-in journal this flotad can read: "
                                       "move it away (it may hold check-ins a newer flotad did not write)",
                                       path, path);
        if (r < 0)
                return log_error_errno(r, "cannot open the check-in journal %s: %s", path, strerror(-r));
        if (srv->checkin_journal.damaged_bytes > 0)
                log_error("check-in journal %s: %" PRIu64 " damaged bytes between records; the records "
                          "around them are kept",
                          path, srv->checkin_journal.damaged_bytes);
        return 0;
}

int server_start(Server *srv, Config *config) {
        Store *writer = NULL;
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned threads = config->threads ? config->threads : (unsigned) (ncpu > 0 ? ncpu : 1);
        int r;

        *srv = (Server) {
                .config = config,
                .listen_fd = -1,
                .started = now_usec(CLOCK_MONOTONIC),
                .checkin_log = { .fd = -1 },
                .checkin_journal = { .fd = -1 },
        };
        pthread_rwlock_init(&srv->catalog_lock, NULL);
        pthread_mutex_init(&srv->api_lock, NULL);
        auth_limit_init(&srv->auth_limit);
        srv->db_path = config_database(config);
        srv->images_dir = config_image_dir(config);
        srv->shared_database = store_url_is_postgresql(srv->db_path);
        r = mkdir_p(srv->images_dir, 0750);
        if (r < 0)
                return log_error_errno(r, "cannot create %s: %s", srv->images_dir, strerror(-r));
        remove_stale_uploads(srv, srv->images_dir);
        r = open_stores(srv, &writer);
        if (r < 0) {
                store_free(writer);
                return r;
        }
        remove_unreferenced_images(srv);
        r = server_reload_catalog(srv);
        if (r < 0) {
                store_free(writer);
                return r;
        }
        srv->not_modified = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
        if (config->checkin_log) {
                r = checkin_log_open(&srv->checkin_log, config->checkin_log);
                if (r < 0) {
                        store_free(writer);
                        return log_error_errno(r, "cannot open the check-in log %s: %s", config->checkin_log,
                                               strerror(-r));
                }
        }
        r = open_journal(srv);
        if (r < 0) {
                store_free(writer);
                return r;
        }
        r = checkin_queue_start(&srv->checkins, writer, config->checkin_retention,
                                config->checkin_queue_size,
                                srv->checkin_log.fd >= 0 ? &srv->checkin_log : NULL,
                                srv->checkin_journal.fd >= 0 ? &srv->checkin_journal : NULL);
        if (r < 0) {
                store_free(writer);
                return log_error_errno(r, "cannot start the check-in writer");
        }

        if (srv->shared_database) {
                r = catalog_watch_start(srv, server_reload_catalog_from);
                if (r < 0)
                        return log_error_errno(r, "cannot start the catalog watch: %s", strerror(-r));
        }

        srv->listen_fd = open_listener(config->listen, srv->listen_url, sizeof(srv->listen_url));
        if (srv->listen_fd < 0)
                return log_error_errno(srv->listen_fd, "cannot listen on %s: %s", config->listen,
                                       srv->listen_fd == -EINVAL ? "expected ADDR:PORT"
                                                                 : strerror(-srv->listen_fd));
        raise_fd_limit();
        r = conn_guard_start(&srv->guard, config->connection_limit, config->head_timeout_sec * USEC_PER_SEC);
        if (r < 0)
                return log_error_errno(r, "cannot start the connection guard: %s", strerror(-r));
        /*
         * libmicrohttpd gets room above connection-limit: at its own limit it stops accepting and
         * leaves clients hanging, where the guard's accept policy closes them as documented.
         */
        srv->daemon = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ITC |
                        MHD_USE_ERROR_LOG,
                0, conn_guard_accept, &srv->guard, http_on_request, srv, MHD_OPTION_LISTEN_SOCKET,
                srv->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
                config->connection_limit + CONNECTION_LIMIT_HEADROOM, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                config->per_address_limit, MHD_OPTION_NOTIFY_CONNECTION, conn_guard_notify, &srv->guard,
                MHD_OPTION_CONNECTION_TIMEOUT, config->timeout_sec, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                (size_t) CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, srv,
                MHD_OPTION_URI_LOG_CALLBACK, http_on_uri, srv, MHD_OPTION_EXTERNAL_LOGGER, http_log, srv,
                MHD_OPTION_END);
        if (!srv->daemon)
                return log_error_errno(EIO, "cannot start the HTTP server on %s", config->listen);
        log_info("listening on %s (database %s, images %s, %u threads%s)", srv->listen_url,
                 srv->shared_database ? "postgresql" : srv->db_path, srv->images_dir, threads,
                 config->image_delivery == IMAGE_DELIVERY_X_ACCEL ? ", images sent by nginx" : "");
        return 0;
}

void server_reopen_logs(Server *srv) {
        if (srv->config->log_file) {
                int r = log_reopen();
                if (r < 0)
                        log_error("reopening the log file failed: %s", strerror(-r));
                else
                        log_info("log file reopened");
        }
        if (srv->checkin_log.fd >= 0) {
                checkin_log_request_reopen(&srv->checkin_log);
                log_info("check-in log: reopened with its next write");
        }
}

void server_stop(Server *srv) {
        if (srv->daemon) {
                /* stop accepting, let requests in flight finish (bounded), then stop */
                int fd = MHD_quiesce_daemon(srv->daemon);
                for (int i = 0; i < 100; i++) {
                        const union MHD_DaemonInfo *info =
                                MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
                        if (!info || info->num_connections == 0)
                                break;
                        usleep(100 * 1000);
                }
                MHD_stop_daemon(srv->daemon);
                if (fd >= 0)
                        close(fd);
                srv->listen_fd = -1;
        }
        conn_guard_stop(&srv->guard);
        catalog_watch_stop(srv);
        if (srv->listen_fd >= 0)
                close(srv->listen_fd);
        if (srv->checkins.store) {
                checkin_queue_stop(&srv->checkins);
                log_info("stopped; %lu check-ins written",
                         (unsigned long) atomic_load(&srv->checkins.written));
        }
        checkin_log_close(&srv->checkin_log);
        checkin_journal_close(&srv->checkin_journal);
        if (srv->not_modified)
                MHD_destroy_response(srv->not_modified);
        served_free(srv->served);
        store_free(srv->api_store);
        free(srv->db_path);
        free(srv->images_dir);
        pthread_rwlock_destroy(&srv->catalog_lock);
        pthread_mutex_destroy(&srv->api_lock);
        auth_limit_done(&srv->auth_limit);
}
