/* SPDX-License-Identifier: MIT */
/* Reading a log in blocks of whole lines: plain files with read(2), gzip files from `gzip -dc`. */
#include "flota/log-reader.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flota/alloc.h"

#define BUFFER_SIZE (4u * 1024 * 1024)

extern char **environ;

struct LogReader {
        int fd;
        bool compressed;
        pid_t gzip; /* the decompressor while it runs, or 0 */
        struct stat st;
        char *buf;
        size_t start, fill; /* unread bytes are buf[start, fill) */
        uint64_t offset;    /* content offset of buf[start] */
        bool eof;
        int error;     /* gzip's verdict, given once the lines before it are out */
        bool skipping; /* inside an overlong line: drop up to its newline */
};

static int spawn_gzip(const char *path, int *ret_fd, pid_t *ret_pid) {
        posix_spawn_file_actions_t fa;
        int p[2], r;
        pid_t pid;
        char *argv[] = { (char *) "gzip", (char *) "-dc", (char *) "--", (char *) path, NULL };

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        r = posix_spawnp(&pid, "gzip", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        (void) close(p[1]);
        if (r != 0) {
                (void) close(p[0]);
                return -r;
        }
        *ret_fd = p[0];
        *ret_pid = pid;
        return 0;
}

static bool is_gzip(int fd) {
        unsigned char magic[2];
        return pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

int log_reader_open(const char *path, LogReader **ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        int r;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        LogReader *lr = xcalloc(1, sizeof(LogReader));
        lr->st = st;
        lr->fd = -1;
        lr->buf = xmalloc(BUFFER_SIZE);
        if (S_ISREG(st.st_mode) && is_gzip(fd)) {
                lr->compressed = true;
                r = spawn_gzip(path, &lr->fd, &lr->gzip);
                if (r < 0) {
                        log_reader_free(lr);
                        return r;
                }
        } else
                lr->fd = TAKE_FD(fd);
        *ret = lr;
        return 0;
}

LogReader *log_reader_free(LogReader *r) {
        if (!r)
                return NULL;
        if (r->fd >= 0)
                (void) close(r->fd);
        if (r->gzip > 0) {
                (void) kill(r->gzip, SIGTERM);
                (void) waitpid(r->gzip, NULL, 0);
        }
        free(r->buf);
        free(r);
        return NULL;
}

bool log_reader_compressed(const LogReader *r) {
        return r->compressed;
}

uint64_t log_reader_inode(const LogReader *r) {
        return (uint64_t) r->st.st_ino;
}

uint64_t log_reader_file_size(const LogReader *r) {
        return (uint64_t) r->st.st_size;
}

/* Waits for gzip at the end of its output: -EIO when it found the file damaged. */
static int reap_gzip(LogReader *r) {
        int status;

        if (r->gzip <= 0)
                return 0;
        if (waitpid(r->gzip, &status, 0) < 0)
                return -errno;
        r->gzip = 0;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Reads more after the unread bytes, moving them to the front first. 0, or -errno. */
static int fill(LogReader *r) {
        if (r->start > 0) {
                memmove(r->buf, r->buf + r->start, r->fill - r->start);
                r->fill -= r->start;
                r->start = 0;
        }
        while (r->fill < BUFFER_SIZE && !r->eof) {
                ssize_t n = read(r->fd, r->buf + r->fill, BUFFER_SIZE - r->fill);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0) {
                        r->eof = true;
                        r->error = reap_gzip(r);
                        return 0;
                }
                r->fill += (size_t) n;
                if (!r->compressed)
                        break; /* a regular file gives what it has at once */
        }
        return 0;
}

int log_reader_fingerprint(LogReader *r, char ret[static LOG_FINGERPRINT_LEN + 1]) {
        int k = fill(r);
        if (k < 0)
                return k;
        const char *first = r->buf + r->start;
        size_t avail = r->fill - r->start, n = avail < LOG_LINE_MAX ? avail : LOG_LINE_MAX;
        const char *nl = memchr(first, '\n', n);
        if (nl)
                n = (size_t) (nl - first) + 1;
        else if (n < LOG_LINE_MAX && !(r->eof && r->compressed && n > 0))
                return -EAGAIN; /* the first line is still being written */
        md5_hex(first, n, ret);
        return 0;
}

int log_reader_seek(LogReader *r, uint64_t offset) {
        if (offset < r->offset)
                return -EINVAL;
        if (!r->compressed) {
                if (offset > (uint64_t) r->st.st_size)
                        return -ERANGE;
                if (offset - r->offset <= r->fill - r->start) {
                        r->start += offset - r->offset;
                } else {
                        if (lseek(r->fd, (off_t) offset, SEEK_SET) < 0)
                                return -errno;
                        r->start = r->fill = 0;
                }
                r->offset = offset;
                return 0;
        }
        while (r->offset < offset) {
                if (r->start == r->fill) {
                        if (r->eof)
                                return -ERANGE;
                        int k = fill(r);
                        if (k < 0)
                                return k;
                        continue;
                }
                size_t n = r->fill - r->start;
                if (n > offset - r->offset)
                        n = (size_t) (offset - r->offset);
                r->start += n;
                r->offset += n;
        }
        return 0;
}

static void take(LogReader *r, size_t n, LogBlock *ret, bool overlong) {
        *ret = (LogBlock) { .data = r->buf + r->start, .len = n, .overlong = overlong };
        r->start += n;
        r->offset += n;
        ret->end = r->offset;
}

/* In an overlong line: drops bytes through its newline. 1 when found, 0 when more is needed. */
static int skip_rest(LogReader *r) {
        const char *nl = memchr(r->buf + r->start, '\n', r->fill - r->start);
        size_t n = nl ? (size_t) (nl - (r->buf + r->start)) + 1 : r->fill - r->start;

        r->start += n;
        r->offset += n;
        if (nl)
                r->skipping = false;
        return nl != NULL;
}

int log_reader_next(LogReader *r, LogBlock *ret) {
        for (;;) {
                if (r->skipping && r->start < r->fill) {
                        (void) skip_rest(r);
                        continue;
                }
                size_t avail = r->fill - r->start;
                const char *last = avail ? memrchr(r->buf + r->start, '\n', avail) : NULL;
                if (last && (r->eof || r->fill == BUFFER_SIZE || avail >= BUFFER_SIZE / 2)) {
                        take(r, (size_t) (last - (r->buf + r->start)) + 1, ret, false);
                        return 1;
                }
                if (!last && avail >= LOG_LINE_MAX) {
                        take(r, avail, ret, true);
                        r->skipping = true;
                        return 1;
                }
                if (r->eof) {
                        if (last) {
                                take(r, (size_t) (last - (r->buf + r->start)) + 1, ret, false);
                                return 1;
                        }
                        /* an unfinished last line: a gzip file is complete, a live log may still be written
                         */
                        if (avail > 0 && r->compressed && r->error == 0) {
                                take(r, avail, ret, false);
                                return 1;
                        }
                        return r->error;
                }
                int k = fill(r);
                if (k < 0)
                        return k;
        }
}
