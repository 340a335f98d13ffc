/* SPDX-License-Identifier: MIT */
/*
 * --state FILE: the fleet's firmware survives the run. The file holds one JSON object for
 * the fleet and one per device (what it runs, whether it bricked); it is replaced atomically.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/fileio.h"
#include "flota/json-encode.h"
#include "flota/strutil.h"
#include "sim.h"

#define STATE_MAX (256u << 20)

int sim_state_save(const Sim *s, const char *path) {
        _cleanup_free_ char *dir_copy = xstrdup(path);
        char *tmp = NULL;
        int fd = tmpfile_in(dirname(dir_copy), &tmp);

        if (fd < 0)
                return fd;
        _cleanup_free_ char *tmp_path = tmp;
        char *head =
                xasprintf("{\"flota-sim-state\":1,\"seed\":%u,\"devices\":%u}\n", s->o->seed, s->n_devices);
        int r = write_all(fd, head, strlen(head));
        free(head);
        for (uint32_t i = 0; r == 0 && i < s->n_devices; i++) {
                const SimDevice *d = &s->devices[i];
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "i", i);
                cJSON_AddStringToObject(o, "version", d->esp.version);
                cJSON_AddStringToObject(o, "md5", d->esp.sketch_md5);
                cJSON_AddStringToObject(o, "sha256", d->esp.sketch_sha256);
                cJSON_AddNumberToObject(o, "size", (double) d->esp.sketch_size);
                cJSON_AddBoolToObject(o, "bricked", d->bricked);
                char *line = json_print(o);
                cJSON_Delete(o);
                size_t n = strlen(line);
                line = xrealloc(line, n + 2);
                line[n] = '\n';
                r = write_all(fd, line, n + 1);
                free(line);
        }
        if (r < 0) {
                close(fd);
                unlink(tmp_path);
                return r;
        }
        return file_commit(fd, tmp_path, path);
}

static int bad(const char *path, unsigned line, const char *what) {
        fprintf(stderr, "flota-sim: %s:%u: %s\n", path, line, what);
        return -EINVAL;
}

int sim_state_load(Sim *s, const char *path) {
        _cleanup_free_ char *text = NULL;
        unsigned line_no = 0;
        int r = read_file(path, STATE_MAX, &text, NULL);

        if (r == -ENOENT)
                return 0; /* first run: the file is written at the end */
        if (r < 0) {
                fprintf(stderr, "flota-sim: cannot read %s: %s\n", path, strerror(-r));
                return r;
        }
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                cJSON *o = cJSON_Parse(line);
                line_no++;
                if (!cJSON_IsObject(o)) {
                        cJSON_Delete(o);
                        return bad(path, line_no, "not a JSON object");
                }
                if (line_no == 1) {
                        const cJSON *seed = cJSON_GetObjectItem(o, "seed"),
                                    *n = cJSON_GetObjectItem(o, "devices");
                        bool ok = cJSON_IsNumber(cJSON_GetObjectItem(o, "flota-sim-state")) &&
                                  cJSON_IsNumber(seed) && cJSON_IsNumber(n) &&
                                  (uint32_t) seed->valuedouble == s->o->seed &&
                                  (uint32_t) n->valuedouble == s->n_devices;
                        cJSON_Delete(o);
                        if (!ok)
                                return bad(
                                        path, line_no,
                                        "a state file of another fleet (--seed and --devices must match)");
                        continue;
                }
                const cJSON *i = cJSON_GetObjectItem(o, "i"), *v = cJSON_GetObjectItem(o, "version");
                const cJSON *md5 = cJSON_GetObjectItem(o, "md5"), *sha = cJSON_GetObjectItem(o, "sha256");
                const cJSON *size = cJSON_GetObjectItem(o, "size"),
                            *bricked = cJSON_GetObjectItem(o, "bricked");
                bool ok = cJSON_IsNumber(i) && i->valuedouble >= 0 && i->valuedouble < s->n_devices &&
                          cJSON_IsString(v) && version_is_valid(v->valuestring) && cJSON_IsString(md5) &&
                          (is_hex(md5->valuestring, MD5_HEX_LEN) || !*md5->valuestring) &&
                          cJSON_IsString(sha) &&
                          (is_hex(sha->valuestring, SHA256_HEX_LEN) || !*sha->valuestring) &&
                          cJSON_IsNumber(size) && size->valuedouble >= 0 && cJSON_IsBool(bricked);
                if (ok) {
                        SimDevice *d = &s->devices[(uint32_t) i->valuedouble];
                        esp_device_run(&d->esp, v->valuestring, md5->valuestring, sha->valuestring,
                                       (uint64_t) size->valuedouble);
                        d->bricked = cJSON_IsTrue(bricked);
                }
                cJSON_Delete(o);
                if (!ok)
                        return bad(path, line_no, "malformed device entry");
        }
        return 0;
}
