/* SPDX-License-Identifier: MIT */
/* The dashboard's key table. */
#include "keymap.h"

#include <curses.h>

/* clang-format off */
#define CTRL(c) ((c) & 0x1f)
/* clang-format on */

/* key, name, views, action, bar label (or NULL), help text */
#define KEYMAP(X)                                                                                           \
        X(KEY_F(1), "F1", V_ALL, ACTION_HELP, "Help", "show this help (Esc returns)")                       \
        X('?', "?", V_ALL & ~V_HELP, ACTION_HELP, NULL, "show this help")                                   \
        X(KEY_F(2), "F2", V_ALL, ACTION_VIEW_FLEET, "Fleet", "the fleet: meters and every device")          \
        X(KEY_F(3), "F3", V_ALL, ACTION_VIEW_RELEASES, "Releases", "releases per product and the channels") \
        X(KEY_F(4), "F4", V_ALL, ACTION_VIEW_ROLLOUTS, "Rollouts", "rollouts: waves, gates, actions")       \
        X(KEY_F(5), "F5", V_ALL, ACTION_VIEW_EVENTS, "Events", "rollout steps and the audit log")           \
        X('\t', "Tab", V_ALL, ACTION_NEXT_VIEW, NULL, "the next view (in a form: the next field)")          \
        X(KEY_UP, "Up", V_LISTS, ACTION_UP, NULL, "move up")                                                \
        X('k', "k", V_LISTS, ACTION_UP, NULL, "move up")                                                    \
        X(KEY_DOWN, "Down", V_LISTS, ACTION_DOWN, NULL, "move down")                                        \
        X('j', "j", V_LISTS, ACTION_DOWN, NULL, "move down")                                                \
        X(KEY_PPAGE, "PgUp", V_LISTS, ACTION_PAGE_UP, NULL, "a page up")                                    \
        X(KEY_NPAGE, "PgDn", V_LISTS, ACTION_PAGE_DOWN, NULL, "a page down")                                \
        X(KEY_HOME, "Home", V_LISTS, ACTION_HOME, NULL, "the first row")                                    \
        X(KEY_END, "End", V_LISTS, ACTION_END, NULL, "the last row")                                        \
        X('/', "/", V_FLEET, ACTION_FILTER, "filter",                                                       \
          "filter devices (product=door version<2.1 label=x online)")                                       \
        X('/', "/", V_EVENTS, ACTION_FILTER, "filter",                                                      \
          "show only events containing a text ('check-in', a device, 'r1 wave')")                           \
        X(27, "Esc", V_FLEET | V_DEVICE | V_EVENTS | V_CREATE | V_OUTPUT | V_HELP, ACTION_BACK, NULL,       \
          "clear the filter; back from a detail or a form; stop a command")                                 \
        X(':', ":", V_ALL & ~(V_HELP | V_CREATE), ACTION_COMMAND, "command",                                \
          "run a flota verb (:devices --product door), output in a pane")                                   \
        X(KEY_LEFT, "Left", V_DEVICE, ACTION_BACK, NULL, "back to the fleet")                               \
        X(' ', "Space", V_FLEET, ACTION_MARK, "mark", "mark or unmark the device")                          \
        X('\n', "Enter", V_FLEET, ACTION_DETAIL, "detail", "the device's detail")                           \
        X(KEY_ENTER, "Enter", V_FLEET, ACTION_DETAIL, NULL, "the device's detail")                          \
        X('l', "l", V_FLEET | V_DEVICE, ACTION_LABEL, NULL,                                                 \
          "set the labels of the marked devices (or this one)")                                             \
        X('p', "p", V_FLEET | V_DEVICE, ACTION_PIN, NULL,                                                   \
          "pin the marked devices (or this one) to a release")                                              \
        X('u', "u", V_FLEET | V_DEVICE, ACTION_UNPIN, NULL,                                                 \
          "remove the pins of the marked devices (or this one)")                                            \
        X('a', "a", V_FLEET | V_DEVICE, ACTION_ASSIGN, NULL,                                                \
          "assign a release to the marked devices (or this one)")                                           \
        X('>', ">", V_FLEET, ACTION_SORT_NEXT, "sort", "sort by the next column")                           \
        X('<', "<", V_FLEET, ACTION_SORT_PREV, NULL, "sort by the previous column")                         \
        X('I', "I", V_FLEET, ACTION_SORT_REVERSE, NULL, "reverse the sort order")                           \
        X(' ', "Space", V_ROLLOUTS, ACTION_PAUSE_RESUME, "pause", "pause or resume the rollout")            \
        X('A', "A", V_ROLLOUTS, ACTION_APPROVE, "approve", "approve the next wave")                         \
        X('X', "X", V_ROLLOUTS, ACTION_ABORT, "abort", "abort the rollout (asks first)")                    \
        X('F', "F", V_ROLLOUTS, ACTION_RETRY_FAILED, "retry", "offer the failed devices again")             \
        X('R', "R", V_ROLLOUTS, ACTION_ROLLBACK, "rollback",                                                \
          "give every updated device its old release back (asks first)")                                    \
        X('\n', "Enter", V_CREATE, ACTION_SUBMIT, "next",                                                   \
          "the next field; on the last, create the rollout (asks first)")                                   \
        X(KEY_ENTER, "Enter", V_CREATE, ACTION_SUBMIT, NULL,                                                \
          "the next field; on the last, create the rollout")                                                \
        X(KEY_RIGHT, "Right", V_CREATE, ACTION_CHOICE_NEXT, NULL,                                           \
          "the next choice (release, approve, on failure, start)")                                          \
        X(KEY_LEFT, "Left", V_CREATE, ACTION_CHOICE_PREV, NULL, "the previous choice")                      \
        X('P', "P", V_ROLLOUTS, ACTION_PROMOTE, "promote", "point the channel at the release (asks first)") \
        X('n', "n", V_ROLLOUTS, ACTION_NEW_ROLLOUT, "new",                                                  \
          "a new rollout: a form with a live plan preview")                                                 \
        X('s', "s", V_ROLLOUTS, ACTION_START, "start", "start the draft rollout (asks first)")              \
        X('U', "U", V_RELEASES, ACTION_UPLOAD, "upload",                                                    \
          "upload an image as a release (asks for the file, Tab completes)")                                \
        X('P', "P", V_RELEASES, ACTION_PROMOTE, "promote",                                                  \
          "point a channel at the release (asks which, then asks first)")                                   \
        X('f', "f", V_EVENTS, ACTION_FOLLOW, "follow", "follow new events, or stop following")              \
        X(CTRL('l'), "^L", V_ALL, ACTION_REFRESH, NULL, "redraw the screen")                                \
        X(KEY_F(10), "F10", V_ALL, ACTION_QUIT, "Quit", "quit")                                             \
        X('q', "q", V_ALL, ACTION_QUIT, NULL, "quit")

static const KeyBinding table[] = {
#define X(key, name, views, action, bar, help) { key, name, views, action, bar, help },
        KEYMAP(X)
#undef X
};

static const char *const view_names[_VIEW_MAX] = {
        [VIEW_FLEET] = "fleet",       [VIEW_DEVICE] = "device", [VIEW_RELEASES] = "releases",
        [VIEW_ROLLOUTS] = "rollouts", [VIEW_EVENTS] = "events", [VIEW_CREATE] = "new rollout",
        [VIEW_OUTPUT] = "output",     [VIEW_HELP] = "help",
};

const char *view_to_string(View v) {
        return (unsigned) v < _VIEW_MAX ? view_names[v] : NULL;
}

static const char *const action_names[_ACTION_MAX] = {
#define X(id, name, admin) [ACTION_##id] = name,
        ACTIONS(X)
#undef X
};

static const bool action_admin[_ACTION_MAX] = {
#define X(id, name, admin) [ACTION_##id] = admin,
        ACTIONS(X)
#undef X
};

bool action_needs_admin(Action a) {
        return (unsigned) a < _ACTION_MAX && action_admin[a];
}

const char *action_to_string(Action a) {
        return (unsigned) a < _ACTION_MAX ? action_names[a] : NULL;
}

const KeyBinding *keymap_table(size_t *ret_n) {
        *ret_n = sizeof(table) / sizeof(table[0]);
        return table;
}

const KeyBinding *keymap_lookup(int key, View view) {
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (table[i].key == key && (table[i].views & (1u << view)))
                        return &table[i];
        /* a terminal may send CR for Enter */
        if (key == '\r')
                return keymap_lookup('\n', view);
        return NULL;
}

const KeyBinding *keymap_key_for(Action action, View view) {
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (table[i].action == action && (table[i].views & (1u << view)))
                        return &table[i];
        return NULL;
}
