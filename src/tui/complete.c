/* SPDX-License-Identifier: MIT */
/* File name completion for the dashboard's path prompts (Tab, as a shell completes). */
#include "complete.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flota/alloc.h"
#include "flota/strutil.h"

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void path_matches_free(PathMatches *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->names[i]);
        free(m->names);
        *m = (PathMatches) {};
}

static size_t common_prefix(char *const *v, size_t n) {
        size_t len = n ? strlen(v[0]) : 0;

        for (size_t i = 1; i < n; i++) {
                size_t k = 0;
                while (k < len && v[i][k] == v[0][k])
                        k++;
                len = k;
        }
        return len;
}

int path_complete(const char *typed, char *ret, size_t size, PathMatches *ret_matches) {
        const char *slash = strrchr(typed, '/');
        size_t dir_len = slash ? (size_t) (slash - typed) + 1 : 0;
        const char *base = typed + dir_len;
        _cleanup_free_ char *dir = dir_len ? xstrndup(typed, dir_len) : xstrdup("./");
        PathMatches m = {};
        size_t allocated = 0;
        struct dirent *de;

        DIR *d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                /* hidden files only when asked for by a leading dot, as shells do */
                if (de->d_name[0] == '.' && base[0] != '.')
                        continue;
                if (strncmp(de->d_name, base, strlen(base)) != 0)
                        continue;
                _cleanup_free_ char *path = xasprintf("%s%s", dir, de->d_name);
                struct stat st;
                bool is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
                m.names = xgrow(m.names, &allocated, m.n + 1, sizeof(char *));
                m.names[m.n++] = xasprintf("%s%s", de->d_name, is_dir ? "/" : "");
        }
        closedir(d);
        qsort_safe(m.names, m.n, sizeof(char *), cmp_str);
        size_t k = common_prefix(m.names, m.n);
        if (m.n == 0 || dir_len + k + 1 > size) {
                int r = m.n == 0 ? -ENOENT : -ENAMETOOLONG;
                path_matches_free(&m);
                return r;
        }
        memcpy(ret, typed, dir_len);
        memcpy(ret + dir_len, m.names[0], k);
        ret[dir_len + k] = 0;
        if (ret_matches)
                *ret_matches = m;
        else
                path_matches_free(&m);
        return 0;
}
