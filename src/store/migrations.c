/* SPDX-License-Identifier: MIT */
/* The schema, as migration steps. Released steps are never edited; add a new one instead. */
#include "store-internal.h"

const char *const store_migrations[] = {
        /* 0 -> 1 */
        "CREATE TABLE products ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  key_sha256 TEXT,"
        "  platform TEXT,"
        "  created INTEGER NOT NULL);"
        "CREATE TABLE releases ("
        "  id INTEGER PRIMARY KEY,"
        "  product_id INTEGER NOT NULL REFERENCES products(id),"
        "  version TEXT NOT NULL,"
        "  platform TEXT NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  size INTEGER NOT NULL,"
        "  md5 TEXT NOT NULL,"
        "  sha256 TEXT NOT NULL,"
        "  payload_md5 TEXT NOT NULL DEFAULT '',"
        "  min_flash_size INTEGER NOT NULL DEFAULT 0,"
        "  signed INTEGER NOT NULL DEFAULT 0,"
        "  compressed INTEGER NOT NULL DEFAULT 0,"
        "  chip TEXT NOT NULL DEFAULT '',"
        "  notes TEXT NOT NULL DEFAULT '',"
        "  created INTEGER NOT NULL,"
        "  UNIQUE (product_id, kind, version));"
        "CREATE INDEX releases_sha256 ON releases(sha256);"
        "CREATE TABLE channels ("
        "  product_id INTEGER NOT NULL REFERENCES products(id),"
        "  name TEXT NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  release_id INTEGER NOT NULL REFERENCES releases(id),"
        "  updated INTEGER NOT NULL,"
        "  PRIMARY KEY (product_id, name, kind));"
        "CREATE TABLE channel_history ("
        "  id INTEGER PRIMARY KEY,"
        "  product_id INTEGER NOT NULL REFERENCES products(id),"
        "  name TEXT NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  release_id INTEGER NOT NULL,"
        "  previous_release_id INTEGER,"
        "  actor TEXT NOT NULL DEFAULT '',"
        "  at INTEGER NOT NULL);"
        "CREATE TABLE devices ("
        "  id TEXT PRIMARY KEY,"
        "  product TEXT NOT NULL DEFAULT '',"
        "  mac TEXT NOT NULL DEFAULT '',"
        "  channel TEXT,"
        "  pin_release_id INTEGER REFERENCES releases(id),"
        "  assigned_release_id INTEGER REFERENCES releases(id),"
        "  first_seen INTEGER NOT NULL DEFAULT 0,"
        "  last_seen INTEGER NOT NULL DEFAULT 0,"
        "  ip TEXT NOT NULL DEFAULT '',"
        "  platform TEXT NOT NULL DEFAULT '',"
        "  version TEXT NOT NULL DEFAULT '',"
        "  sketch_md5 TEXT NOT NULL DEFAULT '',"
        "  free_space INTEGER NOT NULL DEFAULT -1,"
        "  chip_size INTEGER NOT NULL DEFAULT -1,"
        "  sdk TEXT NOT NULL DEFAULT '',"
        "  last_status INTEGER NOT NULL DEFAULT 0,"
        "  last_reason TEXT NOT NULL DEFAULT '',"
        "  last_checkin_id INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
        "CREATE INDEX devices_overrides ON devices(id)"
        "  WHERE pin_release_id IS NOT NULL OR assigned_release_id IS NOT NULL OR channel IS NOT NULL;"
        "CREATE TABLE device_labels ("
        "  device_id TEXT NOT NULL,"
        "  label TEXT NOT NULL,"
        "  PRIMARY KEY (device_id, label)) WITHOUT ROWID;"
        "CREATE INDEX device_labels_label ON device_labels(label);"
        "CREATE TABLE checkins ("
        "  id INTEGER PRIMARY KEY,"
        "  at INTEGER NOT NULL,"
        "  ip TEXT NOT NULL,"
        "  product TEXT NOT NULL,"
        "  device_id TEXT NOT NULL,"
        "  mac TEXT NOT NULL,"
        "  chip_id INTEGER,"
        "  platform TEXT NOT NULL,"
        "  version TEXT NOT NULL,"
        "  sketch_md5 TEXT NOT NULL,"
        "  sketch_sha256 TEXT NOT NULL,"
        "  free_space INTEGER NOT NULL,"
        "  sketch_size INTEGER NOT NULL,"
        "  chip_size INTEGER NOT NULL,"
        "  sdk TEXT NOT NULL,"
        "  mode TEXT NOT NULL,"
        "  user_agent TEXT NOT NULL,"
        "  status INTEGER NOT NULL,"
        "  reason TEXT NOT NULL,"
        "  release_id INTEGER,"
        "  source TEXT NOT NULL,"
        "  prev_id INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE tokens ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  role TEXT NOT NULL,"
        "  sha256 TEXT NOT NULL UNIQUE,"
        "  created INTEGER NOT NULL);",
        /* 1 -> 2: the devices assigned to a release, in id order, for rollouts that reconcile them */
        "CREATE INDEX devices_assigned ON devices(assigned_release_id, id)"
        "  WHERE assigned_release_id IS NOT NULL;",
        /* 2 -> 3: a product's public key (PEM); its releases must carry a signature that verifies */
        "ALTER TABLE products ADD COLUMN signing_key TEXT;",
        /*
         * 3 -> 4: unchanged polls count on the device instead of adding check-in rows, and
         * check-in ids come from a sequence row written in the same transaction as the rows
         * (never reused when retention empties the table; writers take ids in commit order).
         */
        "ALTER TABLE devices ADD COLUMN polls INTEGER NOT NULL DEFAULT 0;"
        "UPDATE devices SET polls = c.n FROM"
        "  (SELECT device_id, count(*) AS n FROM checkins GROUP BY device_id) AS c"
        "  WHERE c.device_id = devices.id;"
        "CREATE TABLE sequences (name TEXT PRIMARY KEY, next INTEGER NOT NULL);"
        "INSERT INTO sequences (name, next) VALUES ('checkins', (SELECT coalesce(max(id), 0) + 1 FROM "
        "checkins));",
        /*
         * 4 -> 5: sketch and filesystem image apart (a filesystem-mode poll carries the
         * filesystem's version), when each was last sent, and the AP MAC.
         */
        "ALTER TABLE devices ADD COLUMN ap_mac TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE devices ADD COLUMN fs_version TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE devices ADD COLUMN fs_md5 TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE devices ADD COLUMN sketch_updated INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE devices ADD COLUMN fs_updated INTEGER NOT NULL DEFAULT 0;",
        /*
         * 5 -> 6: how far into each check-in journal the check-ins reach, written in the
         * same transaction as each batch (flotad's checkin-journal.h).
         */
        "CREATE TABLE checkin_journals ("
        "  journal TEXT PRIMARY KEY,"
        "  generation INTEGER NOT NULL,"
        "  end_offset INTEGER NOT NULL,"
        "  updated INTEGER NOT NULL);",
};

const size_t store_n_migrations = sizeof(store_migrations) / sizeof(store_migrations[0]);
