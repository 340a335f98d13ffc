/* SPDX-License-Identifier: MIT */
/*
 * The config file's [push] section: password, password.<product|MAC|host|address>, web-user,
 * web-path[.<product>], kept in order (the last of a key wins), and the password a push picks.
 * Below the verbs that read it and main.c that fills it, so it calls none of them.
 */
#include "cli.h"
#include "flota/alloc.h"
#include "flota/mac.h"
#include "flota/strutil.h"

void cli_push_settings_add(Cli *cli, const char *name, const char *value) {
        /* a colon ends an INI key: a MAC is written 18FE34B9ACF5 or 18-FE-34-B9-AC-F5, and kept
         * in its canonical form, as the inventory has it */
        char mac[MAC_STR_LEN + 1];
        _cleanup_free_ char *key = NULL;

        if (startswith(name, "password.") && mac_canonicalize(name + strlen("password."), mac) == 0)
                name = key = xasprintf("password.%s", mac);
        cli->push_keys = xrealloc(cli->push_keys, (cli->n_push + 1) * sizeof(char *));
        cli->push_values = xrealloc(cli->push_values, (cli->n_push + 1) * sizeof(char *));
        cli->push_keys[cli->n_push] = xstrdup(name);
        cli->push_values[cli->n_push++] = xstrdup(value);
}

void cli_push_settings_free(Cli *cli) {
        for (size_t i = 0; i < cli->n_push; i++) {
                free(cli->push_keys[i]);
                free(cli->push_values[i]);
        }
        free(cli->push_keys);
        free(cli->push_values);
        cli->push_keys = cli->push_values = NULL;
        cli->n_push = 0;
}

const char *cli_push_setting(const Cli *cli, const char *key) {
        for (size_t i = cli->n_push; i > 0; i--)
                if (streq(cli->push_keys[i - 1], key))
                        return cli->push_values[i - 1];
        return NULL;
}

const char *cli_push_password(Cli *cli, const char *from, const char *const *names, size_t n,
                              const char *product) {
        if (from)
                return cli_push_setting(cli, from);
        for (size_t i = 0; i <= n; i++) {
                const char *name = i < n ? names[i] : product;
                if (isempty(name))
                        continue;
                _cleanup_free_ char *k = xasprintf("password.%s", name);
                const char *v = cli_push_setting(cli, k);
                if (v)
                        return v;
        }
        return cli_push_setting(cli, "password");
}

const char *cli_rollout_push_password(const char *device, const char *host, const char *product,
                                      void *userdata) {
        const char *names[] = { device, host };
        return cli_push_password(userdata, NULL, names, ELEMENTSOF(names), product);
}
