/* SPDX-License-Identifier: MIT */
/* API tokens: only their SHA-256 is stored. */
#include <errno.h>

#include "flota/strutil.h"
#include "store-internal.h"

static const char *const role_names[_TOKEN_ROLE_MAX] = {
        [TOKEN_ROLE_READ] = "read",
        [TOKEN_ROLE_ADMIN] = "admin",
};

const char *token_role_to_string(TokenRole r) {
        return r >= 0 && r < _TOKEN_ROLE_MAX ? role_names[r] : NULL;
}

TokenRole token_role_from_string(const char *s) {
        for (int i = 0; s && i < _TOKEN_ROLE_MAX; i++)
                if (streq(s, role_names[i]))
                        return (TokenRole) i;
        return _TOKEN_ROLE_INVALID;
}

int lite_token_create(Store *s, const char *name, TokenRole role, const char *sha256) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "INSERT INTO tokens (name, role, sha256, created) VALUES (?, ?, ?, ?)",
                              &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, name);
        store_bind_text(st, 2, token_role_to_string(role));
        store_bind_text(st, 3, sha256);
        sqlite3_bind_int64(st, 4, (sqlite3_int64) now_usec(CLOCK_REALTIME));
        return store_step_done(st);
}

int lite_token_delete(Store *s, const char *name) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "DELETE FROM tokens WHERE name = ?", &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, name);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int lite_tokens_list(Store *s, int (*cb)(const Token *t, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT id, name, role, sha256, created FROM tokens ORDER BY name", &st);

        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                Token t = {
                        .id = sqlite3_column_int64(st, 0),
                        .name = store_column_text(st, 1),
                        .role = token_role_from_string(store_column_text(st, 2)),
                        .sha256 = store_column_text(st, 3),
                        .created = (usec_t) sqlite3_column_int64(st, 4),
                };
                int k = cb(&t, userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}
