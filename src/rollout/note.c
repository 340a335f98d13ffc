/* SPDX-License-Identifier: MIT */
/*
 * A rollout's history entry, mirrored into the audit log: below every other file of the
 * engine (actions, tick, push waves all note their steps), so it calls none of them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "flota/alloc.h"
#include "flota/inventory.h"
#include "reconcile.h"

int rollout_note(RolloutEngine *e, const Rollout *r, const char *event, const char *fmt, ...) {
        _cleanup_free_ char *detail = NULL;
        va_list ap;

        if (e->dry_run)
                return 0;
        va_start(ap, fmt);
        if (vasprintf(&detail, fmt, ap) < 0)
                abort();
        va_end(ap);
        int k = rollout_event(e->inventory, r->id, e->now, r->wave, event, detail);
        if (k >= 0) {
                _cleanup_free_ char *audit = xasprintf("%s %s: %s (%s)", r->name, event, detail, r->server);
                k = inventory_audit(e->inventory, "rollout", audit);
        }
        return k;
}
