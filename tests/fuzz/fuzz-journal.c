/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes flotad's check-in journal reader: the file is opened as flotad does at start (header,
 * scan for the end of the last whole record, damage skipped), then every record is read back.
 * Each record read must encode to bytes that decode to the same check-in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkin-journal.h"
#include "flota/fileio.h"
#include "fuzz.h"
#include "journal-record.h"

static int check_record(const Checkin *c, int64_t generation, uint64_t end, void *userdata) {
        uint8_t a[JOURNAL_RECORD_MAX], b[JOURNAL_RECORD_MAX];
        Checkin again;
        size_t used;
        size_t n = journal_record_encode(c, a);

        if (journal_record_decode(a, n, &again, &used) != JOURNAL_RECORD || used != n)
                abort();
        if (journal_record_encode(&again, b) != n || memcmp(a, b, n) != 0)
                abort();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char path[] = "/tmp/flota-fuzz-journal-XXXXXX";
        int fd = mkstemp(path);
        CheckinJournal j;

        if (fd < 0)
                return 0;
        (void) write_all(fd, data, size);
        close(fd);
        if (checkin_journal_open(&j, path) == 0) {
                uint64_t skipped;
                (void) checkin_journal_replay(&j, NULL, j.size, check_record, NULL, &skipped);
                checkin_journal_close(&j);
        }
        unlink(path);
        return 0;
}
