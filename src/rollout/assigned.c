/* SPDX-License-Identifier: MIT */
/*
 * What flotad holds for a release: the devices assigned it, with their poll counts and times,
 * read once per step. The tick learns silence from it and reconciles against it.
 */
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "reconcile.h"

#define ASSIGNED_PAGE 100000

static int assigned_cmp(const void *a, const void *b) {
        return strcmp(((const AssignedDevice *) a)->id, ((const AssignedDevice *) b)->id);
}

void assigned_set_done(AssignedSet *s) {
        free(s->items);
        *s = (AssignedSet) {};
}

int assigned_fetch(ApiClient *api, int64_t release, AssignedSet *ret, char err[static ROLLOUT_ERROR_MAX]) {
        AssignedSet s = {};
        char after[DEVICE_ID_MAX + 1] = "";

        for (;;) {
                AssignmentPage page = {};
                char msg[API_CLIENT_ERROR_MAX];
                int r = api_assignments_page(api, release, after[0] ? after : NULL, ASSIGNED_PAGE, &page,
                                             msg);
                if (r < 0) {
                        snprintf(err, ROLLOUT_ERROR_MAX, "%s", msg);
                        assigned_set_done(&s);
                        return r;
                }
                s.items = xgrow(s.items, &s.allocated, s.n + page.n, sizeof(AssignedDevice));
                if (page.n > 0)
                        memcpy(s.items + s.n, page.items, page.n * sizeof(AssignedDevice));
                s.n += page.n;
                strscpy(after, sizeof(after), page.next);
                assignment_page_done(&page);
                if (!after[0])
                        break;
        }
        /* flotad sends them in id order already; sorting keeps bsearch's promise whatever it sends */
        qsort_safe(s.items, s.n, sizeof(AssignedDevice), assigned_cmp);
        *ret = s;
        return 0;
}

const AssignedDevice *assigned_find(const AssignedSet *s, const char *id) {
        AssignedDevice key;

        if (!s || s->n == 0 || !strscpy(key.id, sizeof(key.id), id))
                return NULL;
        return bsearch(&key, s->items, s->n, sizeof(AssignedDevice), assigned_cmp);
}
