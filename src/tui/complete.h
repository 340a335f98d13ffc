/* SPDX-License-Identifier: MIT */
/* File name completion for the dashboard's path prompts. No curses here: unit-tested. */
#pragma once

#include <stddef.h>

typedef struct PathMatches {
        char **names; /* the entries that match, sorted; directories end in '/' */
        size_t n;
} PathMatches;

void path_matches_free(PathMatches *m);

/*
 * Completes typed ("fw/do") against the files of its directory (the current one when it has
 * no '/'): ret (size bytes) gets typed extended by what every match has in common ("fw/door-"
 * for fw/door-1.0.bin and fw/door-1.1.bin; "fw/dist/" for a lone directory). Hidden files only
 * for a name that starts with '.'. The matches go to ret_matches when not NULL (free them).
 * 0; -ENOENT when nothing matches; -errno when the directory cannot be read.
 */
int path_complete(const char *typed, char *ret, size_t size, PathMatches *ret_matches);
