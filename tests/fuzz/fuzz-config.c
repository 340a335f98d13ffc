/* SPDX-License-Identifier: MIT */
/* Fuzzes flotad's configuration file parser (INI through libinih plus flotad's keys). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "flota/fileio.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char path[] = "/tmp/flota-fuzz-config-XXXXXX", err[256];
        int fd = mkstemp(path);
        Config c;

        if (fd < 0)
                return 0;
        (void) write_all(fd, data, size);
        close(fd);
        config_init(&c);
        (void) config_load_file(&c, path, err, sizeof(err));
        config_done(&c);
        unlink(path);
        return 0;
}
