/* SPDX-License-Identifier: MIT */
/*
 * The New rollout form (n in the Rollouts view): the settings of 'flota rollout create', one
 * field a line, each checked as it is typed with the rollout spec's own parser, and a live
 * plan preview (who is selected, who is excluded and why, the waves' sizes) that the worker
 * computes off the UI thread from the inventory whenever a field changes. Enter on the last
 * field asks to create the rollout, started or as a draft, and says what it will do.
 */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

/* id, label, spec key (NULL: not a spec key), default, help */
#define FORM_FIELDS(X)                                                                                      \
        X(NAME, "name", NULL, "", "1-64 of A-Z a-z 0-9 . _ -")                                              \
        X(RELEASE, "release", "release", "", "Left/Right: flotad's sketch releases")                        \
        X(SELECT, "select", "select", "", "product=door version<2.0 label=x online (empty: the product's)") \
        X(WAVES, "waves", "waves", "1,5%,25%,100%", "device counts or percentages, the last 100%")          \
        X(SOAK, "soak", "soak", "30m", "how long a wave runs before the gate")                              \
        X(MAX_FAILURE, "max failure", "max-failure", "2%", "failed share that halts it")                    \
        X(MIN_SAMPLE, "min sample", "min-sample", "5", "verdicts a gate waits for")                         \
        X(WINDOW, "window", "window", "", "e.g. 01:00-05:00 or mon-fri 22:00-06:00 (empty: any time)")      \
        X(APPROVE, "approve", "approve", "none", "Left/Right: none, first, each")                           \
        X(ON_FAILURE, "on failure", "on-failure", "halt", "Left/Right: halt, rollback")                     \
        X(PROMOTE, "promote", "promote", "", "a channel to point at the release at the end (empty: none)")  \
        X(START, "start", NULL, "now", "Left/Right: now, or keep it a draft")

typedef enum FormField {
#define X(id, label, key, def, help) FORM_##id,
        /* clang-format off */
        FORM_FIELDS(X)
#undef X
        _FORM_MAX,
        /* clang-format on */
} FormField;

static const struct {
        const char *label, *key, *def, *help;
} fields[_FORM_MAX] = {
#define X(id, label, key, def, help) [FORM_##id] = { label, key, def, help },
        FORM_FIELDS(X)
#undef X
};

/* the fields whose value is picked with Left/Right, and their choices */
static const char *const *choices_of(FormField f) {
        static const char *const approve[] = { "none", "first", "each", NULL };
        static const char *const on_failure[] = { "halt", "rollback", NULL };
        static const char *const start[] = { "now", "draft", NULL };

        switch (f) {
        case FORM_APPROVE: return approve;
        case FORM_ON_FAILURE: return on_failure;
        case FORM_START: return start;
        default: return NULL;
        }
}

static bool is_choice(FormField f) {
        return f == FORM_RELEASE || choices_of(f);
}

struct CreateForm {
        char value[_FORM_MAX][APP_FILTER_MAX];
        char error[_FORM_MAX][ROLLOUT_SPEC_ERROR_MAX];
        int64_t release; /* the chosen release's id; 0: none yet */
        size_t field;
        bool fresh;   /* the field was just entered: the first character typed replaces its text */
        uint64_t seq; /* of the last preview asked for */
        bool have_preview;
        PlanPreview preview;
        char preview_error[WORKER_MESSAGE_MAX];
};

/* The releases a rollout can move to: flotad's sketch releases, newest first as the Releases view keeps
 * them. */
static const Release *release_at(const App *a, size_t i) {
        size_t k = 0;

        for (size_t j = 0; a->releases && j < a->releases->n; j++) {
                const Release *r = &a->releases->items[j];
                if (r->kind != IMAGE_KIND_SKETCH)
                        continue;
                if (k++ == i)
                        return r;
        }
        return NULL;
}

static const Release *chosen_release(const App *a) {
        const Release *r;

        for (size_t i = 0; (r = release_at(a, i)); i++)
                if (r->id == a->form->release)
                        return r;
        return NULL;
}

static void describe_release(const Release *r, char *buf, size_t size) {
        const char *platform = platform_to_string(r->platform);
        snprintf(buf, size, "%s %s %s (release %" PRId64 ")", r->product, r->version,
                 platform ? platform : "", r->id);
}

/*
 * The spec's text from the form, checking every field (errors in f->error). For a preview,
 * only the fields that decide who is reached (release, select, waves) must be right: the
 * others are left out while they are wrong. false when the spec cannot be made.
 */
static bool form_spec(App *a, bool preview, char **ret_text) {
        CreateForm *f = a->form;
        char err[ROLLOUT_SPEC_ERROR_MAX], id[32];
        RolloutSpec spec;
        bool ok = true;

        rollout_spec_init(&spec);
        for (size_t i = 0; i < _FORM_MAX; i++) {
                bool decides = i == FORM_RELEASE || i == FORM_SELECT || i == FORM_WAVES;
                const char *v = f->value[i];
                f->error[i][0] = 0;
                if (i == FORM_RELEASE) {
                        if (!f->release) {
                                snprintf(f->error[i], sizeof(f->error[i]),
                                         "flotad has no sketch release yet");
                                ok = false;
                                continue;
                        }
                        snprintf(id, sizeof(id), "%" PRId64, f->release);
                        v = id;
                }
                if (i == FORM_NAME && !rollout_name_is_valid(v)) {
                        snprintf(f->error[i], sizeof(f->error[i]), "%s",
                                 isempty(v) ? "a name is needed" : "not a name");
                        ok = ok && preview;
                        continue;
                }
                if (!fields[i].key || (isempty(v) && i != FORM_SELECT))
                        continue;
                if (rollout_spec_set(&spec, fields[i].key, v, err) < 0) {
                        (void) strscpy(f->error[i], sizeof(f->error[i]), err);
                        ok = ok && preview && !decides;
                }
        }
        if (ok)
                *ret_text = rollout_spec_format(&spec);
        rollout_spec_done(&spec);
        return ok;
}

/* After a change: checks the fields and asks the worker for a new preview. */
static void form_changed(App *a) {
        CreateForm *f = a->form;
        _cleanup_free_ char *text = NULL;
        const Release *r = chosen_release(a);

        f->seq++;
        if (!form_spec(a, true, &text) || !r) {
                f->have_preview = false;
                f->preview_error[0] = 0;
                return;
        }
        RolloutRelease rel = rollout_release_from(r);
        worker_plan(a->worker, f->seq,
                    rollout_name_is_valid(f->value[FORM_NAME]) ? f->value[FORM_NAME] : "preview", text,
                    &rel);
}

int create_form_open(App *a) {
        if (!a->server) {
                app_status(a, ROLE_WARN, "no flotad configured: a rollout needs --server (or FLOTA_SERVER)");
                return CHANGE_REDRAW;
        }
        if (!a->form) {
                a->form = xcalloc(1, sizeof(CreateForm));
                for (size_t i = 0; i < _FORM_MAX; i++)
                        (void) strscpy(a->form->value[i], sizeof(a->form->value[i]), fields[i].def);
        }
        const Release *r = release_at(a, 0);
        if (!a->form->release && r)
                a->form->release = r->id;
        app_set_view(a, VIEW_CREATE);
        form_changed(a);
        return CHANGE_REDRAW;
}

static void take_plan(App *a, WorkerEvent *e) {
        CreateForm *f = a->form;

        if (!f || e->preview.seq != f->seq)
                return; /* an answer to an older state of the form */
        f->have_preview = e->ok;
        f->preview = e->preview;
        (void) strscpy(f->preview_error, sizeof(f->preview_error), e->ok ? "" : e->message);
}

/* After a WORKER_ACTION: a rollout the form asked for was created; the form closes. */
static void created(App *a, WorkerEvent *e) {
        if (!a->form || !e->ok || !streq(e->rollout, a->form->value[FORM_NAME]))
                return;
        (void) strscpy(a->rollout_pick, sizeof(a->rollout_pick), e->rollout);
        free(a->form);
        a->form = NULL;
        if (a->view == VIEW_CREATE)
                app_set_view(a, VIEW_ROLLOUTS);
}

/* ---- drawing ---- */

static int draw_preview(App *a, int y) {
        const CreateForm *f = a->form;
        const PlanPreview *p = &f->preview;
        char line[512];
        size_t n = 0;

        term_hline(y, 0, COLS);
        term_printf(y++, 0, COLS, ROLE_TITLE, "%s plan preview ", term_glyph(GLYPH_HLINE));
        if (f->preview_error[0]) {
                term_print(y++, 2, COLS - 2, ROLE_BAD, f->preview_error);
                return y;
        }
        if (!f->have_preview) {
                term_print(y++, 2, COLS - 2, ROLE_DIM, "fix the fields in red to see who it would reach");
                return y;
        }
        term_printf(y++, 2, COLS - 2, p->eligible ? ROLE_NORMAL : ROLE_WARN,
                    "%" PRIu64 " devices selected, %" PRIu64 " eligible, %" PRIu64 " of them offline now",
                    p->selected, p->eligible, p->offline);
        for (int i = 1; i < _EXCLUDE_MAX; i++)
                if (p->excluded[i])
                        n += (size_t) snprintf(line + n, sizeof(line) - n, "%s%s %" PRIu64, n ? ", " : "",
                                               exclude_reason_to_string((ExcludeReason) i), p->excluded[i]);
        term_printf(y++, 2, COLS - 2, n ? ROLE_WARN : ROLE_DIM, "excluded: %s", n ? line : "none");
        n = 0;
        for (size_t i = 0; i < p->n_waves && n < sizeof(line); i++) {
                uint64_t size = p->targets[i] - (i > 0 ? p->targets[i - 1] : 0);
                n += (size_t) snprintf(line + n, sizeof(line) - n, "%s%" PRIu64, i ? " > " : "", size);
        }
        term_printf(y++, 2, COLS - 2, ROLE_NORMAL, "waves: %s devices", p->n_waves ? line : "-");
        return y;
}

static void draw(App *a) {
        const CreateForm *f = a->form;
        char buf[256];
        int y = 1;

        if (!f)
                return;
        term_print(y, 1, COLS - 1, ROLE_TITLE, "New rollout");
        term_print(y++, 14, COLS - 14, ROLE_DIM,
                   "Up/Down, Tab: field   Left/Right: choice   Enter: next, on the last: create   Esc: back "
                   "(kept)");
        for (size_t i = 0; i < _FORM_MAX && y < LINES - 8; i++, y++) {
                bool cur = i == f->field;
                const char *v = f->value[i];
                if (i == FORM_RELEASE) {
                        const Release *r = chosen_release(a);
                        if (r)
                                describe_release(r, buf, sizeof(buf));
                        else
                                snprintf(buf, sizeof(buf), "%s",
                                         a->releases ? "none" : "(waiting for flotad)");
                        v = buf;
                }
                term_printf(y, 1, 14, cur ? ROLE_ACCENT : ROLE_TITLE, "%s%s",
                            cur ? term_glyph(GLYPH_CURSOR) : " ", fields[i].label);
                int x = 16, w = COLS / 2 - x > 24 ? COLS / 2 - x : 24;
                if (cur)
                        term_fill(y, x, w, ROLE_ACCENT);
                term_printf(y, x, w, cur ? ROLE_ACCENT : ROLE_NORMAL, "%s%s%s", is_choice(i) ? "< " : "", v,
                            cur && !is_choice(i) ? "_"
                            : is_choice(i)       ? " >"
                                                 : "");
                if (x + w + 1 < COLS)
                        term_print(y, x + w + 1, COLS - x - w - 1, f->error[i][0] ? ROLE_BAD : ROLE_DIM,
                                   f->error[i][0] ? f->error[i]
                                   : cur          ? fields[i].help
                                                  : "");
        }
        draw_preview(a, y + 1);
}

/* ---- keys ---- */

static void cycle(App *a, int step) {
        CreateForm *f = a->form;
        FormField i = (FormField) f->field;

        if (i == FORM_RELEASE) {
                size_t n = 0, at = 0;
                while (release_at(a, n)) {
                        if (release_at(a, n)->id == f->release)
                                at = n;
                        n++;
                }
                if (n == 0)
                        return;
                f->release = release_at(a, (at + n + (size_t) step) % n)->id;
        } else {
                const char *const *c = choices_of(i);
                size_t n = 0, at = 0;
                if (!c)
                        return;
                for (; c[n]; n++)
                        if (streq(c[n], f->value[i]))
                                at = n;
                (void) strscpy(f->value[i], sizeof(f->value[i]), c[(at + n + (size_t) step) % n]);
        }
        form_changed(a);
}

/* Asks to create: what it will reach and whether it starts. */
static int ask(App *a) {
        CreateForm *f = a->form;
        _cleanup_free_ char *text = NULL;
        const Release *r = chosen_release(a);
        char rel[160];

        if (!form_spec(a, false, &text) || !r) {
                for (size_t i = 0; i < _FORM_MAX; i++)
                        if (f->error[i][0]) {
                                f->field = i;
                                f->fresh = true;
                                app_status(a, ROLE_BAD, "%s: %s", fields[i].label, f->error[i]);
                                break;
                        }
                return CHANGE_REDRAW;
        }
        describe_release(r, rel, sizeof(rel));
        bool start = streq(f->value[FORM_START], "now");
        if (f->have_preview)
                snprintf(a->confirm_text, sizeof(a->confirm_text),
                         "%s rollout %s: %s to %" PRIu64 " devices in %zu waves (%" PRIu64
                         " excluded)? [y/N]",
                         start ? "Create and start" : "Create the draft", f->value[FORM_NAME], rel,
                         f->preview.eligible, f->preview.n_waves, f->preview.selected - f->preview.eligible);
        else
                snprintf(a->confirm_text, sizeof(a->confirm_text), "%s rollout %s: %s? [y/N]",
                         start ? "Create and start" : "Create the draft", f->value[FORM_NAME], rel);
        a->confirm_for = CONFIRM_VIEW;
        a->confirming = true;
        return CHANGE_REDRAW;
}

static void confirmed(App *a) {
        CreateForm *f = a->form;
        _cleanup_free_ char *text = NULL;

        if (!f || !form_spec(a, false, &text))
                return;
        bool start = streq(f->value[FORM_START], "now");
        int r = worker_create(a->worker, f->value[FORM_NAME], text, start);
        if (r == -EBUSY)
                app_status(a, ROLE_WARN, "an action is still running; try again when it is done");
        else
                app_status(a, ROLE_BUSY, "%s %s: working...", start ? "create and start" : "create",
                           f->value[FORM_NAME]);
}

/* A key typed into the form's current field: CHANGE_* bits, or -1 when it is the key table's. */
static int key(App *a, int key) {
        CreateForm *f = a->form;

        if (!f)
                return -1;
        char *v = f->value[f->field];
        size_t len = strlen(v);

        /* Tab moves between the fields here, not between views */
        if (key == '\t' || key == KEY_BTAB) {
                f->field = key == '\t' ? (f->field + 1) % _FORM_MAX
                           : f->field  ? f->field - 1
                                       : _FORM_MAX - 1;
                f->fresh = true;
                return CHANGE_REDRAW;
        }
        /* printable keys are the form's: 'q' or 'j' type, they do not quit or move */
        if (is_choice((FormField) f->field))
                return key >= 32 && key < 127 ? CHANGE_NONE : -1;
        bool fresh = f->fresh;
        f->fresh = false;
        switch (key) {
        case KEY_BACKSPACE:
        case 127:
        case 8:
                if (len == 0)
                        return CHANGE_NONE;
                v[len - 1] = 0;
                break;
        case 21: /* ^U */ v[0] = 0; break;
        default:
                if (key < 32 || key >= 127)
                        return -1;
                if (fresh)
                        v[len = 0] = 0;
                if (len + 1 >= sizeof(f->value[0]))
                        return CHANGE_NONE;
                v[len] = (char) key;
                v[len + 1] = 0;
        }
        form_changed(a);
        return CHANGE_REDRAW;
}

static int act(App *a, Action action) {
        CreateForm *f = a->form;

        if (!f)
                return CHANGE_NONE;
        switch (action) {
        case ACTION_UP:
                f->field = f->field ? f->field - 1 : _FORM_MAX - 1;
                f->fresh = true;
                return CHANGE_REDRAW;
        case ACTION_DOWN:
                f->field = (f->field + 1) % _FORM_MAX;
                f->fresh = true;
                return CHANGE_REDRAW;
        case ACTION_CHOICE_NEXT: cycle(a, 1); return CHANGE_REDRAW;
        case ACTION_CHOICE_PREV: cycle(a, -1); return CHANGE_REDRAW;
        case ACTION_SUBMIT:
                if (f->field + 1 < _FORM_MAX) {
                        f->field++;
                        f->fresh = true;
                        return CHANGE_REDRAW;
                }
                return ask(a);
        case ACTION_BACK:
                /* the form is kept: n opens it again as it was */
                app_set_view(a, VIEW_ROLLOUTS);
                return CHANGE_REDRAW;
        default: return CHANGE_NONE;
        }
}

/* A click on a field's line moves to it. */
static int click(App *a, int y, int x) {
        if (!a->form || y < 2 || y >= 2 + _FORM_MAX)
                return CHANGE_NONE;
        a->form->field = (size_t) (y - 2);
        a->form->fresh = true;
        return CHANGE_REDRAW;
}

static void event(App *a, WorkerEvent *e) {
        if (e->kind == WORKER_PLAN)
                take_plan(a, e);
        else if (e->kind == WORKER_ACTION)
                created(a, e);
}

static void done(App *a) {
        free(a->form);
        a->form = NULL;
}

const ViewOps view_create_ops = {
        .draw = draw,
        .act = act,
        .click = click,
        .key = key,
        .event = event,
        .confirmed = confirmed,
        .done = done,
};
