/* SPDX-License-Identifier: MIT */
/* Fuzzes firmware image inspection: uploads are outside input. */
#include "flota/image.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ImageInfo info;
        char err[IMAGE_ERROR_MAX];

        (void) image_inspect(data, size, &info, err);
        return 0;
}
