/* SPDX-License-Identifier: MIT */
/* Names of the firmware enums. */
#include "flota/firmware.h"

#include <stdlib.h>

#include "flota/strutil.h"

static const char *const platform_names[_PLATFORM_MAX] = {
        [PLATFORM_ESP8266] = "esp8266",
        [PLATFORM_ESP32] = "esp32",
};

static const char *const kind_names[_IMAGE_KIND_MAX] = {
        [IMAGE_KIND_SKETCH] = "sketch",
        [IMAGE_KIND_FILESYSTEM] = "filesystem",
};

static const char *const mode_names[_UPDATE_MODE_MAX] = {
        [UPDATE_MODE_SKETCH] = "sketch",
        [UPDATE_MODE_FILESYSTEM] = "filesystem",
        [UPDATE_MODE_VERSION] = "version",
};

static int lookup(const char *const *table, int n, const char *s) {
        if (!s)
                return -EINVAL;
        for (int i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return i;
        return -EINVAL;
}

const char *platform_to_string(Platform p) {
        return p >= 0 && p < _PLATFORM_MAX ? platform_names[p] : NULL;
}

Platform platform_from_string(const char *s) {
        return (Platform) lookup(platform_names, _PLATFORM_MAX, s);
}

const char *image_kind_to_string(ImageKind k) {
        return k >= 0 && k < _IMAGE_KIND_MAX ? kind_names[k] : NULL;
}

ImageKind image_kind_from_string(const char *s) {
        return (ImageKind) lookup(kind_names, _IMAGE_KIND_MAX, s);
}

const char *update_mode_to_string(UpdateMode m) {
        return m >= 0 && m < _UPDATE_MODE_MAX ? mode_names[m] : NULL;
}

UpdateMode update_mode_from_string(const char *s) {
        static const char *const fs_words[] = { "spiffs", "fatfs", "littlefs", "flashfs", "filesystem" };

        if (!s)
                return _UPDATE_MODE_INVALID;
        if (streq(s, "sketch"))
                return UPDATE_MODE_SKETCH;
        if (streq(s, "version"))
                return UPDATE_MODE_VERSION;
        for (size_t i = 0; i < ELEMENTSOF(fs_words); i++)
                if (streq(s, fs_words[i]))
                        return UPDATE_MODE_FILESYSTEM;
        return _UPDATE_MODE_INVALID;
}

ImageKind update_mode_image_kind(UpdateMode m) {
        return m == UPDATE_MODE_FILESYSTEM ? IMAGE_KIND_FILESYSTEM : IMAGE_KIND_SKETCH;
}

void release_done(Release *r) {
        if (!r)
                return;
        free(r->product);
        free(r->version);
        free(r->chip);
        free(r->notes);
        *r = (Release) {};
}
