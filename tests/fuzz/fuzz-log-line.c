/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the poll-log line parser. The first byte picks the format: one of the presets, or
 * (past the last preset) the first line is compiled as a format string. Every further line
 * is parsed; what parses is folded into a LogBatch, and the format guesser sees the lines too.
 */
#include <assert.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/log-batch.h"
#include "flota/log-format.h"
#include "fuzz.h"

static size_t n_presets(void) {
        size_t n = 0;
        while (log_format_presets()[n].name)
                n++;
        return n;
}

static int count_seen(const LogSeen *s, void *userdata) {
        assert(s->device[0]);
        (*(size_t *) userdata)++;
        return 0;
}

static void check(const LogRecord *rec) {
        char again[DEVICE_ID_MAX + 1];
        if (!rec->device[0])
                return;
        /* the id is canonical: normalising it again changes nothing */
        assert(device_id_normalize(rec->device, again) == 0 && strcmp(again, rec->device) == 0);
        assert(rec->version.n <= VERSION_MAX);
        assert(rec->sketch_md5.n == 0 || rec->sketch_md5.n == 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(log_format_freep) LogFormat *f = NULL;
        char err[LOG_FORMAT_ERROR_MAX];
        const char *text = (const char *) data, *end = text + size;
        size_t pick;

        if (size < 1)
                return 0;
        pick = data[0] % (n_presets() + 1);
        text++;
        if (pick < n_presets()) {
                assert(log_format_compile(log_format_presets()[pick].name, &f, err) == 0);
        } else {
                const char *nl = memchr(text, '\n', (size_t) (end - text));
                _cleanup_free_ char *spec =
                        xstrndup(text, nl ? (size_t) (nl - text) : (size_t) (end - text));
                if (log_format_compile(spec, &f, err) < 0) {
                        assert(err[0]);
                        return 0;
                }
                text = nl ? nl + 1 : end;
        }

        _cleanup_(log_parser_freep) LogParser *p = log_parser_new(f);
        _cleanup_(log_batch_freep) LogBatch *b = log_batch_new();
        for (const char *pos = text; pos < end;) {
                const char *nl = memchr(pos, '\n', (size_t) (end - pos));
                const char *stop = nl ? nl : end;
                LogRecord rec;
                const char *why;
                if (log_parse_line(p, pos, (size_t) (stop - pos), &rec, &why) < 0)
                        assert(why && why[0]);
                else {
                        check(&rec);
                        if (rec.device[0])
                                log_batch_add(b, &rec);
                }
                pos = stop + 1;
        }
        size_t seen = 0;
        assert(log_batch_foreach_seen(b, count_seen, &seen) == 0);
        assert(seen == log_batch_pending(b));

        const LogPreset *guess;
        (void) log_format_guess(text, (size_t) (end - text), &guess);
        return 0;
}
