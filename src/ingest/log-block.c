/* SPDX-License-Identifier: MIT */
/* Parsing a block of log lines in two parts, the second on a worker thread (see log-block.h). */
#include "flota/log-block.h"

#include <pthread.h>
#include <string.h>

#include "flota/alloc.h"

/* Blocks smaller than this are not worth a hand-off. */
#define SPLIT_MIN (256 * 1024)
/* The caller's share of a block: it also folds the records in, the worker only parses. */
#define HEAD_SHARE 0.35

typedef struct Part {
        LogParser *parser;
        LogRecord *recs;
        size_t n, alloc;
        LogBad *bad;
        size_t n_bad, alloc_bad;
        char **owned; /* copies of text that lived in the parser's scratch space */
        size_t n_owned, alloc_owned;
        uint64_t lines;
} Part;

struct LogBlockParser {
        Part head, tail;
        bool threaded;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        const char *job; /* the tail to parse, NULL when there is none */
        size_t job_len;
        bool done, quit;
};

static void part_reset(Part *p) {
        for (size_t i = 0; i < p->n_owned; i++)
                free(p->owned[i]);
        p->n = p->n_bad = p->n_owned = 0;
        p->lines = 0;
}

static void part_free(Part *p) {
        part_reset(p);
        log_parser_free(p->parser);
        free(p->recs);
        free(p->bad);
        free(p->owned);
}

/* A slice that points into the parser's scratch space gets its own copy. */
static void own_slice(Part *p, LogSlice *s) {
        if (s->n == 0)
                return;
        char *copy = xstrndup(s->p, s->n);
        p->owned = xgrow(p->owned, &p->alloc_owned, p->n_owned + 1, sizeof(char *));
        p->owned[p->n_owned++] = copy;
        s->p = copy;
}

static void parse_part(Part *p, const char *data, size_t len) {
        const char *pos = data, *end = data + len;

        part_reset(p);
        while (pos < end) {
                const char *nl = memchr(pos, '\n', (size_t) (end - pos));
                const char *stop = nl ? nl : end;
                const char *why;

                p->lines++;
                p->recs = xgrow(p->recs, &p->alloc, p->n + 1, sizeof(LogRecord));
                LogRecord *rec = &p->recs[p->n];
                if (log_parse_line(p->parser, pos, (size_t) (stop - pos), rec, &why) < 0) {
                        p->bad = xgrow(p->bad, &p->alloc_bad, p->n_bad + 1, sizeof(LogBad));
                        p->bad[p->n_bad++] = (LogBad) {
                                .line = p->lines, .why = why, .text = pos, .len = (size_t) (stop - pos)
                        };
                } else if (rec->device[0]) {
                        if (rec->in_scratch) {
                                own_slice(p, &rec->version);
                                own_slice(p, &rec->sketch_md5);
                                own_slice(p, &rec->addr);
                                own_slice(p, &rec->product);
                                rec->in_scratch = false;
                        }
                        p->n++;
                }
                pos = stop + 1;
        }
}

static LogParsed view(const Part *p) {
        return (LogParsed) {
                .recs = p->recs, .n = p->n, .bad = p->bad, .n_bad = p->n_bad, .lines = p->lines
        };
}

static void *worker(void *userdata) {
        LogBlockParser *bp = userdata;

        pthread_mutex_lock(&bp->lock);
        for (;;) {
                while (!bp->job && !bp->quit)
                        pthread_cond_wait(&bp->cond, &bp->lock);
                if (bp->quit)
                        break;
                const char *job = bp->job;
                size_t len = bp->job_len;
                pthread_mutex_unlock(&bp->lock);
                parse_part(&bp->tail, job, len);
                pthread_mutex_lock(&bp->lock);
                bp->job = NULL;
                bp->done = true;
                pthread_cond_broadcast(&bp->cond);
        }
        pthread_mutex_unlock(&bp->lock);
        return NULL;
}

LogBlockParser *log_block_parser_new(const LogFormat *f, unsigned threads) {
        LogBlockParser *bp = xcalloc(1, sizeof(LogBlockParser));

        bp->head.parser = log_parser_new(f);
        bp->tail.parser = log_parser_new(f);
        pthread_mutex_init(&bp->lock, NULL);
        pthread_cond_init(&bp->cond, NULL);
        bp->threaded = threads > 1 && pthread_create(&bp->thread, NULL, worker, bp) == 0;
        return bp;
}

LogBlockParser *log_block_parser_free(LogBlockParser *bp) {
        if (!bp)
                return NULL;
        if (bp->threaded) {
                pthread_mutex_lock(&bp->lock);
                bp->quit = true;
                pthread_cond_broadcast(&bp->cond);
                pthread_mutex_unlock(&bp->lock);
                pthread_join(bp->thread, NULL);
        }
        pthread_mutex_destroy(&bp->lock);
        pthread_cond_destroy(&bp->cond);
        part_free(&bp->head);
        part_free(&bp->tail);
        free(bp);
        return NULL;
}

/* Where the tail starts: just after the newline nearest past the caller's share. */
static size_t split_at(const char *data, size_t len) {
        size_t at = (size_t) ((double) len * HEAD_SHARE);
        const char *nl = memchr(data + at, '\n', len - at);
        return nl ? (size_t) (nl - data) + 1 : len;
}

static void wait_tail(LogBlockParser *bp) {
        pthread_mutex_lock(&bp->lock);
        while (!bp->done)
                pthread_cond_wait(&bp->cond, &bp->lock);
        pthread_mutex_unlock(&bp->lock);
}

int log_block_parse(LogBlockParser *bp, const char *data, size_t len,
                    int (*cb)(const LogParsed *part, void *userdata), void *userdata) {
        size_t cut = bp->threaded && len >= SPLIT_MIN ? split_at(data, len) : len;
        int r;

        if (cut < len) {
                pthread_mutex_lock(&bp->lock);
                bp->job = data + cut;
                bp->job_len = len - cut;
                bp->done = false;
                pthread_cond_broadcast(&bp->cond);
                pthread_mutex_unlock(&bp->lock);
        }
        parse_part(&bp->head, data, cut);
        LogParsed head = view(&bp->head);
        r = cb(&head, userdata);
        if (cut == len)
                return r;
        wait_tail(bp);
        if (r < 0)
                return r;
        LogParsed tail = view(&bp->tail);
        return cb(&tail, userdata);
}
