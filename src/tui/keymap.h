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
        VIEW_HELP,
        _VIEW_MAX,
} View;

#define V_FLEET (1u << VIEW_FLEET)
#define V_DEVICE (1u << VIEW_DEVICE)
#define V_RELEASES (1u << VIEW_RELEASES)
#define V_ROLLOUTS (1u << VIEW_ROLLOUTS)
#define V_EVENTS (1u << VIEW_EVENTS)
#define V_HELP (1u << VIEW_HELP)
#define V_ALL (V_FLEET | V_DEVICE | V_RELEASES | V_ROLLOUTS | V_EVENTS | V_HELP)
#define V_LISTS V_ALL

const char *view_to_string(View v);

typedef enum Action {
        ACTION_HELP,
        ACTION_VIEW_FLEET,
        ACTION_VIEW_RELEASES,
        ACTION_VIEW_ROLLOUTS,
        ACTION_VIEW_EVENTS,
        ACTION_NEXT_VIEW,
        ACTION_QUIT,
        ACTION_UP,
        ACTION_DOWN,
        ACTION_PAGE_UP,
        ACTION_PAGE_DOWN,
        ACTION_HOME,
        ACTION_END,
        ACTION_FILTER,
        ACTION_BACK,
        ACTION_MARK,
        ACTION_DETAIL,
        ACTION_SORT_NEXT,
        ACTION_SORT_PREV,
        ACTION_SORT_REVERSE,
        ACTION_PAUSE_RESUME,
        ACTION_APPROVE,
        ACTION_ABORT,
        ACTION_RETRY_FAILED,
        ACTION_ROLLBACK,
        ACTION_PROMOTE,
        ACTION_REFRESH,
        ACTION_FOLLOW,
        ACTION_LABEL,
        ACTION_PIN,
        ACTION_UNPIN,
        ACTION_ASSIGN,
        _ACTION_MAX,
        _ACTION_INVALID = -1,
} Action;

const char *action_to_string(Action a);

typedef struct KeyBinding {
        int key;                        /* a curses key code or a character */
        const char *name;               /* "F4", "/", "Space" */
        unsigned views;                 /* V_* bits */
        Action action;
        const char *bar;                /* its label on the bottom bar, or NULL */
        const char *help;
} KeyBinding;

/* The whole table, in the order the help screen lists it. */
const KeyBinding *keymap_table(size_t *ret_n);

/* The binding of key in view, or NULL when the key does nothing there. */
const KeyBinding *keymap_lookup(int key, View view);

/* The first key bound to action in view, or NULL (for "press X to ..." hints). */
const KeyBinding *keymap_key_for(Action action, View view);
