/* SPDX-License-Identifier: MIT */
/* Child processes: finding a program, spawning it, bounded waits, exit statuses. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

static char *executable_in(const char *dir, const char *rel) {
        char *p = xasprintf("%s/%s", dir, rel);

        if (access(p, X_OK) == 0)
                return p;
        free(p);
        return NULL;
}

int child_find_program(const char *verb, const char *env, const char *name, const char *subdir, char **ret) {
        const char *e = getenv(env);
        char self[PATH_MAX];
        char *p = NULL;

        if (!isempty(e)) {
                if (access(e, X_OK) < 0)
                        return cli_error("%s: %s=%s is not a program: %s", verb, env, e, strerror(errno));
                *ret = xstrdup(e);
                return 0;
        }
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = 0;
                *strrchr(self, '/') = 0;
                _cleanup_free_ char *build = xasprintf("../%s/%s", subdir, name);
                _cleanup_free_ char *sbin = xasprintf("../sbin/%s", name);
                if (!(p = executable_in(self, build)) && !(p = executable_in(self, name)))
                        p = executable_in(self, sbin);
        }
        _cleanup_free_ char *path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin");
        for (char *save = NULL, *dir = strtok_r(path, ":", &save); !p && dir;
             dir = strtok_r(NULL, ":", &save))
                p = executable_in(dir, name);
        if (!p)
                return cli_error("%s: cannot find %s (build it, install it next to flota, or set %s=PATH)",
                                 verb, name, env);
        *ret = p;
        return 0;
}

pid_t child_spawn(char *const *argv, int out_fd, int err_fd) {
        pid_t parent = getpid();
        pid_t pid = fork();

        if (pid != 0)
                return pid < 0 ? -errno : pid;
        (void) setpgid(0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                _exit(127);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(err_fd, STDERR_FILENO) < 0)
                _exit(127);
        (void) close_range(3, ~0U, 0);
        execv(argv[0], argv);
        _exit(127);
}

int child_reap(pid_t pid, usec_t timeout, int *ret_status) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + timeout;
        int status = 0;

        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid || (r < 0 && errno == ECHILD))
                        break;
                if (now_usec(CLOCK_MONOTONIC) >= end) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, &status, 0);
                        return -ETIMEDOUT;
                }
                sleep_usec(20 * USEC_PER_MSEC);
        }
        if (ret_status)
                *ret_status = status;
        return 0;
}

int child_exit_status(int status) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool child_exited(pid_t *pid, int *ret_status) {
        if (*pid <= 0 || waitpid(*pid, ret_status, WNOHANG) != *pid)
                return false;
        *pid = 0;
        return true;
}

int child_stop(pid_t *pid, usec_t timeout, int *ret_status) {
        pid_t was = *pid;

        if (was <= 0) {
                if (ret_status)
                        *ret_status = 0;
                return 0;
        }
        *pid = 0;
        (void) kill(was, SIGTERM);
        return child_reap(was, timeout, ret_status);
}
