/* SPDX-License-Identifier: MIT */
/* Durable file writes (temp + fsync + rename + fsync dir) and bounded reads. */
#include "flota/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/macro.h"

int mkdir_p(const char *path, unsigned mode) {
        _cleanup_free_ char *p = xstrdup(path);

        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int fsync_dir(const char *dir) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        return fsync(fd) < 0 ? -errno : 0;
}

int tmpfile_in(const char *dir, char **ret_path) {
        char *path = xasprintf("%s/.tmp-XXXXXX", dir);
        int fd = mkostemp(path, O_CLOEXEC);

        if (fd < 0) {
                int r = -errno;
                free(path);
                return r;
        }
        *ret_path = path;
        return fd;
}

int file_commit(int fd, const char *tmp_path, const char *final_path) {
        _cleanup_free_ char *dir = xstrdup(final_path);
        int r = 0;

        if (fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp_path, final_path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp_path);
                return r;
        }
        return fsync_dir(dirname(dir));
}

int write_all(int fd, const void *data, size_t n) {
        const char *p = data;

        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

int read_file(const char *path, size_t max, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, allocated = 0;

        if (fd < 0)
                return -errno;
        for (;;) {
                buf = xgrow(buf, &allocated, n + 4097, 1);
                ssize_t k = read(fd, buf + n, allocated - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max)
                        return -EFBIG;
        }
        buf[n] = 0;
        *ret_data = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}
