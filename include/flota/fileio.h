/* SPDX-License-Identifier: MIT */
/* Layer: util. Files: directories, durable atomic replacement, whole-file reads. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Creates path and its parents with mode. 0 or -errno. */
int mkdir_p(const char *path, unsigned mode);

/* fsync(2) on a directory, so a rename inside it is durable. 0 or -errno. */
int fsync_dir(const char *dir);

/*
 * Creates a temporary file in dir (O_TMPFILE is not used: the name must survive for
 * link-by-rename). On success returns the fd and stores the malloc'ed path in *ret_path.
 */
int tmpfile_in(const char *dir, char **ret_path);

/*
 * Makes tmp_path durable and visible as final_path: fsync(fd), rename, fsync(dir).
 * Until the rename, no reader sees the file; after a crash either the old or the
 * whole new file exists. Closes fd in every case; unlinks tmp_path on failure.
 */
int file_commit(int fd, const char *tmp_path, const char *final_path);

/* Writes all n bytes (retrying on short writes and EINTR). 0 or -errno. */
int write_all(int fd, const void *data, size_t n);

/* Reads a whole file of at most max bytes into a NUL-terminated buffer. -EFBIG when larger. */
int read_file(const char *path, size_t max, char **ret_data, size_t *ret_size);
