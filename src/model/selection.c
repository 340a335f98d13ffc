/* SPDX-License-Identifier: MIT */
/* Selection expressions: parsing terms, matching devices, and comparing versions. */
#include "flota/selection.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/mac.h"
#include "flota/strutil.h"

#define SELECTION_TERMS_MAX 32

typedef enum Field {
        FIELD_PRODUCT,
        FIELD_PLATFORM,
        FIELD_LABEL,
        FIELD_VERSION,
        FIELD_SEEN_SINCE,
        FIELD_ONLINE,
        FIELD_ID,
} Field;

typedef enum Op {
        OP_EQ,
        OP_NE,
        OP_LT,
        OP_LE,
        OP_GT,
        OP_GE,
} Op;

typedef struct Term {
        Field field;
        Op op;
        char **values; /* the comma-separated items */
        size_t n;
        usec_t since; /* FIELD_SEEN_SINCE: the time a device must have been seen after */
        bool want;    /* FIELD_ONLINE */
} Term;

struct Selection {
        Term terms[SELECTION_TERMS_MAX];
        size_t n;
};

static const struct {
        const char *name;
        Field field;
} fields[] = {
        { "product", FIELD_PRODUCT },
        { "platform", FIELD_PLATFORM },
        { "label", FIELD_LABEL },
        { "version", FIELD_VERSION },
        { "seen-since", FIELD_SEEN_SINCE },
        { "online", FIELD_ONLINE },
        { "mac", FIELD_ID },
        { "id", FIELD_ID },
};

Selection *selection_free(Selection *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n; i++) {
                for (size_t j = 0; j < s->terms[i].n; j++)
                        free(s->terms[i].values[j]);
                free(s->terms[i].values);
        }
        free(s);
        return NULL;
}

/* Splits "key<op>value"; the operator is the first of = != < <= > >=. */
static int split_term(const char *t, char **ret_key, Op *ret_op, const char **ret_value) {
        size_t k = strcspn(t, "=!<>");
        const char *p = t + k;
        Op op;

        if (k == 0)
                return -EINVAL;
        if (*p == 0) {
                *ret_key = xstrdup(t);
                *ret_op = OP_EQ;
                *ret_value = NULL;
                return 0;
        }
        if (p[0] == '!' && p[1] == '=')
                op = OP_NE, p += 2;
        else if (p[0] == '<' && p[1] == '=')
                op = OP_LE, p += 2;
        else if (p[0] == '>' && p[1] == '=')
                op = OP_GE, p += 2;
        else if (p[0] == '<')
                op = OP_LT, p++;
        else if (p[0] == '>')
                op = OP_GT, p++;
        else if (p[0] == '=')
                op = OP_EQ, p++;
        else
                return -EINVAL;
        *ret_key = xstrndup(t, k);
        *ret_op = op;
        *ret_value = p;
        return 0;
}

static void split_values(Term *term, const char *v) {
        _cleanup_free_ char *copy = xstrdup(v);
        char *save = NULL;
        size_t allocated = 0;

        for (char *i = strtok_r(copy, ",", &save); i; i = strtok_r(NULL, ",", &save)) {
                term->values = xgrow(term->values, &allocated, term->n + 1, sizeof(char *));
                term->values[term->n++] = xstrdup(i);
        }
}

static int field_lookup(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (streq(fields[i].name, key))
                        return (int) fields[i].field;
        return -EINVAL;
}

static int parse_bool_word(const char *v, bool *ret) {
        if (!v || streq(v, "yes") || streq(v, "true") || streq(v, "1"))
                *ret = true;
        else if (streq(v, "no") || streq(v, "false") || streq(v, "0"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

/* Normalises MAC items so any spelling of a MAC matches the inventory's. */
static void normalize_ids(Term *term) {
        for (size_t i = 0; i < term->n; i++) {
                char mac[MAC_STR_LEN + 1];
                if (mac_canonicalize(term->values[i], mac) == 0) {
                        free(term->values[i]);
                        term->values[i] = xstrdup(mac);
                }
        }
}

static int term_parse(const char *text, usec_t now, Term *term, char err[static SELECTION_ERROR_MAX]) {
        _cleanup_free_ char *key = NULL;
        const char *value;
        Op op;
        int f;

        if (split_term(text, &key, &op, &value) < 0 || (f = field_lookup(key)) < 0) {
                snprintf(
                        err, SELECTION_ERROR_MAX,
                        "'%.40s' is not a term (product, platform, label, version, seen-since, online, mac)",
                        text);
                return -EINVAL;
        }
        *term = (Term) { .field = f, .op = op };
        if (f == FIELD_ONLINE) {
                if (op != OP_EQ || parse_bool_word(value, &term->want) < 0)
                        goto bad;
                return 0;
        }
        if (isempty(value))
                goto bad;
        if (f == FIELD_SEEN_SINCE) {
                usec_t d;
                if (op != OP_EQ || parse_duration(value, &d) < 0)
                        goto bad;
                term->since = d < now ? now - d : 0;
                return 0;
        }
        if (op != OP_EQ && op != OP_NE && f != FIELD_VERSION)
                goto bad;
        split_values(term, value);
        if (term->n == 0 || (op != OP_EQ && op != OP_NE && term->n != 1))
                goto bad;
        if (f == FIELD_ID)
                normalize_ids(term);
        return 0;
bad:
        snprintf(err, SELECTION_ERROR_MAX, "'%.40s': %s", text,
                 f == FIELD_ONLINE       ? "online takes no value, or =yes/=no"
                 : f == FIELD_SEEN_SINCE ? "seen-since takes a duration such as 7d or 12h"
                 : f == FIELD_VERSION    ? "version takes = != < <= > >= and a version"
                                         : "takes = or != and a value (or a comma-separated list)");
        for (size_t j = 0; j < term->n; j++)
                free(term->values[j]);
        free(term->values);
        *term = (Term) {};
        return -EINVAL;
}

int selection_parse(const char *expr, usec_t now, Selection **ret, char err[static SELECTION_ERROR_MAX]) {
        _cleanup_(selection_freep) Selection *s = xcalloc(1, sizeof(Selection));
        _cleanup_free_ char *copy = xstrdup(expr ? expr : "");
        char *save = NULL;

        for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
                if (streq(t, "and"))
                        continue;
                if (s->n == SELECTION_TERMS_MAX) {
                        snprintf(err, SELECTION_ERROR_MAX, "more than %d terms", SELECTION_TERMS_MAX);
                        return -EINVAL;
                }
                if (term_parse(t, now, &s->terms[s->n], err) < 0)
                        return -EINVAL;
                s->n++;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

static bool in_list(const char *labels, const char *label) {
        size_t n = strlen(label);
        for (const char *p = labels; p && *p;) {
                const char *e = strchr(p, ',');
                size_t len = e ? (size_t) (e - p) : strlen(p);
                if (len == n && strncmp(p, label, n) == 0)
                        return true;
                p = e ? e + 1 : p + len;
        }
        return false;
}

static bool any_equal(const Term *t, const char *v, bool is_label) {
        for (size_t i = 0; i < t->n; i++)
                if (is_label ? in_list(v, t->values[i]) : streq(v ? v : "", t->values[i]))
                        return true;
        return false;
}

static bool version_matches(const Term *t, const char *v) {
        if (t->op == OP_EQ || t->op == OP_NE)
                return any_equal(t, v, false) == (t->op == OP_EQ);
        if (isempty(v))
                return false;
        int c = version_compare(v, t->values[0]);
        switch (t->op) {
        case OP_LT: return c < 0;
        case OP_LE: return c <= 0;
        case OP_GT: return c > 0;
        default: return c >= 0;
        }
}

static bool term_matches(const Term *t, const SelectDevice *d) {
        bool eq;
        switch (t->field) {
        case FIELD_PRODUCT: eq = any_equal(t, d->product, false); break;
        case FIELD_PLATFORM: eq = any_equal(t, d->platform, false); break;
        case FIELD_LABEL: eq = any_equal(t, d->labels, true); break;
        case FIELD_ID: eq = any_equal(t, d->id, false); break;
        case FIELD_VERSION: return version_matches(t, d->version);
        case FIELD_SEEN_SINCE: return d->last_seen >= t->since;
        case FIELD_ONLINE: return d->online == t->want;
        default: return false;
        }
        return eq == (t->op == OP_EQ);
}

bool selection_matches(const Selection *s, const SelectDevice *d) {
        for (size_t i = 0; i < s->n; i++)
                if (!term_matches(&s->terms[i], d))
                        return false;
        return true;
}

const char *selection_product(const Selection *s) {
        for (size_t i = 0; i < s->n; i++)
                if (s->terms[i].field == FIELD_PRODUCT && s->terms[i].op == OP_EQ && s->terms[i].n == 1)
                        return s->terms[i].values[0];
        return NULL;
}

/* ---- versions ---- */

/* The semantic-version view of s: "v" prefix skipped, core up to '-' or '+', pre-release after '-'. */
static bool semver_split(const char *s, const char **core, size_t *core_len, const char **pre,
                         size_t *pre_len) {
        if (*s == 'v' || *s == 'V')
                s++;
        if (!isdigit((unsigned char) *s))
                return false;
        size_t n = strcspn(s, "-+");
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char) s[i]) && s[i] != '.')
                        return false;
        *core = s;
        *core_len = n;
        if (s[n] == '-') {
                *pre = s + n + 1;
                *pre_len = strcspn(*pre, "+");
        } else {
                *pre = NULL;
                *pre_len = 0;
        }
        return true;
}

/* Compares dot-separated identifiers: numeric ones as numbers (below alphanumeric ones), others as text. */
static int compare_idents(const char *a, size_t an, const char *b, size_t bn) {
        size_t i = 0, j = 0;

        while (i < an && j < bn) {
                size_t la = 0, lb = 0;
                while (i + la < an && a[i + la] != '.')
                        la++;
                while (j + lb < bn && b[j + lb] != '.')
                        lb++;
                bool na = la > 0 && strspn(a + i, "0123456789") >= la;
                bool nb = lb > 0 && strspn(b + j, "0123456789") >= lb;
                int c;
                if (na && nb) {
                        /* numbers of any length: skip leading zeros, then longer is larger */
                        size_t za = 0, zb = 0;
                        while (za + 1 < la && a[i + za] == '0')
                                za++;
                        while (zb + 1 < lb && b[j + zb] == '0')
                                zb++;
                        c = (la - za) != (lb - zb) ? ((la - za) < (lb - zb) ? -1 : 1)
                                                   : strncmp(a + i + za, b + j + zb, la - za);
                } else if (na != nb)
                        c = na ? -1 : 1;
                else {
                        c = strncmp(a + i, b + j, la < lb ? la : lb);
                        if (c == 0 && la != lb)
                                c = la < lb ? -1 : 1;
                }
                if (c != 0)
                        return c < 0 ? -1 : 1;
                i += la + 1;
                j += lb + 1;
        }
        return (i < an) - (j < bn);
}

/* "2.0.0" and "2.0" are the same release: trailing zero parts of the core do not count. */
static size_t trim_zero_parts(const char *core, size_t n) {
        while (n > 2 && core[n - 1] == '0' && core[n - 2] == '.')
                n -= 2;
        return n;
}

int version_compare(const char *a, const char *b) {
        const char *ca, *cb, *pa, *pb;
        size_t cal, cbl, pal, pbl;

        if (!semver_split(a, &ca, &cal, &pa, &pal) || !semver_split(b, &cb, &cbl, &pb, &pbl)) {
                int c = strcmp(a, b);
                return (c > 0) - (c < 0);
        }
        int c = compare_idents(ca, trim_zero_parts(ca, cal), cb, trim_zero_parts(cb, cbl));
        if (c != 0)
                return c;
        if (!pa || !pb)
                return pa ? -1 : pb ? 1 : 0;
        return compare_idents(pa, pal, pb, pbl);
}
