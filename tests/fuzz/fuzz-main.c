/* SPDX-License-Identifier: MIT */
/*
 * Corpus replay: runs every file named on the command line (directories are walked one
 * level) through the fuzz target, so each fuzzer is also a regression test over its
 * checked-in corpus. A crash or sanitizer report fails the test.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flota/fileio.h"
#include "fuzz.h"

static int run_file(const char *path) {
        char *data;
        size_t size;
        int r = read_file(path, 1 << 24, &data, &size);

        if (r < 0) {
                fprintf(stderr, "fuzz-replay: cannot read %s\n", path);
                return 1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *) data, size);
        free(data);
        return 0;
}

int main(int argc, char **argv) {
        int failures = 0, count = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "fuzz-replay: %s: not found\n", argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        failures += run_file(argv[i]);
                        count++;
                        continue;
                }
                DIR *d = opendir(argv[i]);
                struct dirent *e;
                while (d && (e = readdir(d))) {
                        if (e->d_name[0] == '.')
                                continue;
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                        failures += run_file(path);
                        count++;
                }
                if (d)
                        closedir(d);
        }
        printf("fuzz-replay: %d inputs\n", count);
        if (count == 0) {
                fprintf(stderr, "fuzz-replay: empty corpus\n");
                return 1;
        }
        return failures ? 1 : 0;
}
