/* SPDX-License-Identifier: MIT */
/*
 * The programs a verb runs as children: finding one, starting it on given fds, waiting for it
 * (always bounded), and reading how it ended. Nothing here knows which programs they are or
 * what they are for; the caller keeps the pids.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "flota/time-util.h"

/*
 * The path of the program name: $env when set and not empty (it must be executable); else
 * beside the running flota, as the build tree lays it out (src/cli/flota, src/<subdir>/<name>)
 * or as installed (bin/<name>, then ../sbin/<name>); else the first <name> on $PATH. 0 with an
 * owned path in *ret, or -1 after reporting "flota: VERB: why" (cli_error()).
 */
int child_find_program(const char *verb, const char *env, const char *name, const char *subdir, char **ret);

/*
 * Starts argv[0] (a path; argv is NULL-terminated) with stdin from /dev/null and stdout and
 * stderr on out_fd and err_fd, every other fd closed. The child runs in a process group of its
 * own, so a Ctrl-C on the terminal reaches only the caller, which stops its children in order;
 * it gets SIGTERM if the caller dies first. A child that cannot exec exits 127. The pid, or
 * -errno when fork failed.
 */
pid_t child_spawn(char *const *argv, int out_fd, int err_fd);

/*
 * Waits up to timeout for pid to end; past it, kills it (SIGKILL) and reaps it. 0 when it
 * ended by itself in time (its wait status in *ret_status, which may be NULL; 0 when pid was
 * not a child), else -ETIMEDOUT.
 */
int child_reap(pid_t pid, usec_t timeout, int *ret_status);

/* A wait status as a shell shows it: the exit code, or 128 + the signal that ended it. */
int child_exit_status(int status);

/*
 * Without waiting: true when the child *pid has exited; then it is reaped, *pid is set to 0 and
 * *ret_status says how it ended. False (nothing changed) while it runs, or when *pid <= 0.
 */
bool child_exited(pid_t *pid, int *ret_status);

/*
 * Stops the child *pid: SIGTERM, then child_reap() within timeout (SIGKILL past it). *pid is
 * set to 0 in every case. 0 with its wait status in *ret_status (may be NULL; 0 when *pid was
 * <= 0: nothing to stop), or -ETIMEDOUT when it had to be killed.
 */
int child_stop(pid_t *pid, usec_t timeout, int *ret_status);
