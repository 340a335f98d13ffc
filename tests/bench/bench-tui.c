/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's model over a large inventory: fills DB with N devices (three products,
 * several versions, labels, last-seen spread over a day) unless it holds them already, then
 * times snapshot_build(), the unfiltered and a filtered view, and a sort by each column.
 * Usage: bench-tui DB [N]   (a benchmark, not a test; bench-tui.sh adds the screen's times)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/fleet-snapshot.h"

static double ms_since(usec_t t0) {
        return (double) (now_usec(CLOCK_MONOTONIC) - t0) / 1000.0;
}

static int fill(Store *s, uint64_t n, usec_t now) {
        static const char *const products[] = { "door", "meter", "lamp" };
        static const char *const versions[] = { "2.1.0", "2.0.3", "2.0.1", "1.9.0", "2.2.0-rc1" };
        _cleanup_(inventory_writer_freep) InventoryWriter *w = NULL;
        int r = store_begin(s);

        if (r < 0)
                return r;
        r = inventory_writer_new(s, &w);
        for (uint64_t i = 0; r >= 0 && i < n; i++) {
                char id[32];
                snprintf(id, sizeof(id), "18:FE:%02X:%02X:%02X:%02X", (unsigned) (i >> 24) & 0xff,
                         (unsigned) (i >> 16) & 0xff, (unsigned) (i >> 8) & 0xff, (unsigned) i & 0xff);
                Sighting x = {
                        .device = id,
                        .product = products[i % 3],
                        .platform = i % 3 == 1 ? "esp32" : "esp8266",
                        .version = versions[(i * 7) % 5],
                        .at = now - (i % 86400) * USEC_PER_SEC,
                        .source = "flotad",
                };
                r = inventory_writer_record(w, &x);
        }
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        return store_commit(s);
}

int main(int argc, char **argv) {
        uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
        usec_t now = now_usec(CLOCK_REALTIME), t0;
        InventorySummary sum;
        Store *s;
        Snapshot *snap;
        char err[SELECTION_ERROR_MAX];
        size_t *idx, k;

        if (argc < 2) {
                fprintf(stderr, "usage: bench-tui DB [N]\n");
                return 2;
        }
        if (inventory_open(argv[1], &s) < 0 || inventory_summary(s, 0, &sum) < 0)
                return 1;
        if ((uint64_t) sum.devices < n) {
                t0 = now_usec(CLOCK_MONOTONIC);
                if (fill(s, n, now) < 0)
                        return 1;
                printf("fill: %" PRIu64 " devices in %.0f ms\n", n, ms_since(t0));
        }
        t0 = now_usec(CLOCK_MONOTONIC);
        if (snapshot_build(s, now, &snap) < 0)
                return 1;
        printf("snapshot_build: %zu devices in %.1f ms\n", snap->n_rows, ms_since(t0));
        t0 = now_usec(CLOCK_MONOTONIC);
        if (fleet_view_build(snap, NULL, now, FLEET_COL_ID, false, &idx, &k, err) < 0)
                return 1;
        printf("view, no filter, by id: %zu rows in %.1f ms\n", k, ms_since(t0));
        free(idx);
        t0 = now_usec(CLOCK_MONOTONIC);
        if (fleet_view_build(snap, "product=door version<2.1 online", now, FLEET_COL_SEEN, false, &idx, &k,
                             err) < 0)
                return 1;
        printf("view, 'product=door version<2.1 online', by last seen: %zu rows in %.1f ms\n", k,
               ms_since(t0));
        free(idx);
        for (int c = 0; c < _FLEET_COL_MAX; c++) {
                if (fleet_view_build(snap, NULL, now, FLEET_COL_ID, false, &idx, &k, err) < 0)
                        return 1;
                t0 = now_usec(CLOCK_MONOTONIC);
                fleet_sort(snap, idx, k, (FleetColumn) c, true);
                printf("sort by %s: %.1f ms\n", fleet_column_title((FleetColumn) c), ms_since(t0));
                free(idx);
        }
        snapshot_free(snap);
        store_free(s);
        return 0;
}
