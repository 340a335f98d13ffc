/* SPDX-License-Identifier: MIT */
/*
 * Every key binding of the dashboard in one table (keymap.c's KEYMAP X-macro): key, the views
 * it works in, the action, its label on the F-key bar and its help text. The dispatcher, the
 * '?' help screen, the bottom bar and the man page's DASHBOARD section all read this table.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum View {
        VIEW_FLEET,
        VIEW_DEVICE,
        VIEW_RELEASES,
        VIEW_ROLLOUTS,
        VIEW_EVENTS,
        VIEW_CREATE, /* the New rollout form */
        VIEW_OUTPUT, /* a ':' command's output */
        VIEW_HELP,
        _VIEW_MAX,
} View;

#define V_FLEET (1u << VIEW_FLEET)
#define V_DEVICE (1u << VIEW_DEVICE)
#define V_RELEASES (1u << VIEW_RELEASES)
#define V_ROLLOUTS (1u << VIEW_ROLLOUTS)
#define V_EVENTS (1u << VIEW_EVENTS)
#define V_CREATE (1u << VIEW_CREATE)
#define V_OUTPUT (1u << VIEW_OUTPUT)
#define V_HELP (1u << VIEW_HELP)
#define V_ALL (V_FLEET | V_DEVICE | V_RELEASES | V_ROLLOUTS | V_EVENTS | V_CREATE | V_OUTPUT | V_HELP)
#define V_LISTS V_ALL

const char *view_to_string(View v);

/* Every action: id, name, whether flotad must take it from an admin token (a read-only one is refused). */
#define ACTIONS(X)                               \
        X(HELP, "help", false)                   \
        X(VIEW_FLEET, "view-fleet", false)       \
        X(VIEW_RELEASES, "view-releases", false) \
        X(VIEW_ROLLOUTS, "view-rollouts", false) \
        X(VIEW_EVENTS, "view-events", false)     \
        X(NEXT_VIEW, "next-view", false)         \
        X(QUIT, "quit", false)                   \
        X(UP, "up", false)                       \
        X(DOWN, "down", false)                   \
        X(PAGE_UP, "page-up", false)             \
        X(PAGE_DOWN, "page-down", false)         \
        X(HOME, "home", false)                   \
        X(END, "end", false)                     \
        X(FILTER, "filter", false)               \
        X(BACK, "back", false)                   \
        X(MARK, "mark", false)                   \
        X(DETAIL, "detail", false)               \
        X(SORT_NEXT, "sort-next", false)         \
        X(SORT_PREV, "sort-prev", false)         \
        X(SORT_REVERSE, "sort-reverse", false)   \
        X(PAUSE_RESUME, "pause-resume", true)    \
        X(APPROVE, "approve", true)              \
        X(ABORT, "abort", true)                  \
        X(RETRY_FAILED, "retry-failed", true)    \
        X(ROLLBACK, "rollback", true)            \
        X(PROMOTE, "promote", true)              \
        X(REFRESH, "refresh", false)             \
        X(FOLLOW, "follow", false)               \
        X(LABEL, "label", true)                  \
        X(PIN, "pin", true)                      \
        X(UNPIN, "unpin", true)                  \
        X(ASSIGN, "assign", true)                \
        X(COMMAND, "command", false)             \
        X(NEW_ROLLOUT, "new-rollout", true)      \
        X(START, "start", true)                  \
        X(SUBMIT, "submit", false)               \
        X(CHOICE_NEXT, "choice-next", false)     \
        X(CHOICE_PREV, "choice-prev", false)     \
        X(UPLOAD, "upload", true)

typedef enum Action {
#define X(id, name, admin) ACTION_##id,
        /* clang-format off */
        ACTIONS(X)
#undef X
        _ACTION_MAX,
        /* clang-format on */
        _ACTION_INVALID = -1,
} Action;

const char *action_to_string(Action a);
/* Whether flotad takes the action only from an admin token. */
bool action_needs_admin(Action a);

typedef struct KeyBinding {
        int key;          /* a curses key code or a character */
        const char *name; /* "F4", "/", "Space" */
        unsigned views;   /* V_* bits */
        Action action;
        const char *bar; /* its label on the bottom bar, or NULL */
        const char *help;
} KeyBinding;

/* The whole table, in the order the help screen lists it. */
const KeyBinding *keymap_table(size_t *ret_n);

/* The binding of key in view, or NULL when the key does nothing there. */
const KeyBinding *keymap_lookup(int key, View view);

/* The first key bound to action in view, or NULL (for "press X to ..." hints). */
const KeyBinding *keymap_key_for(Action action, View view);
