/* SPDX-License-Identifier: MIT */
/* flota-mkimage: writes a structurally valid ESP8266/ESP32 sketch image, for demos and tests. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "flota/fileio.h"
#include "flota/image.h"
#include "flota/strutil.h"

static void help(void) {
        printf("Usage: flota-mkimage [--platform esp8266|esp32] [--size SIZE] [--seed N] VERSION OUTPUT\n"
               "\n"
               "Writes a synthetic firmware image that passes flotad's checks: for esp8266 the Arduino\n"
               "layout (eboot, app, length and CRC words), for esp32 an image with an app descriptor\n"
               "carrying VERSION and an appended SHA-256. It does not run on hardware.\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "platform", required_argument, NULL, 'p' },
                { "size", required_argument, NULL, 's' },
                { "seed", required_argument, NULL, 'S' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        Platform platform = PLATFORM_ESP8266;
        uint64_t size = 256 << 10;
        uint32_t seed = 1;
        int c;

        while ((c = getopt_long(argc, argv, "p:s:h", options, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        platform = platform_from_string(optarg);
                        if (platform < 0) {
                                fprintf(stderr, "flota-mkimage: --platform must be esp8266 or esp32\n");
                                return 2;
                        }
                        break;
                case 's':
                        if (parse_size(optarg, &size) < 0 || size > (16u << 20)) {
                                fprintf(stderr, "flota-mkimage: --size must be a size up to 16M\n");
                                return 2;
                        }
                        break;
                case 'S':
                        if (parse_u32(optarg, &seed) < 0) {
                                fprintf(stderr, "flota-mkimage: --seed must be a number\n");
                                return 2;
                        }
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return 2;
                }
        }
        if (argc - optind != 2 || !version_is_valid(argv[optind])) {
                fprintf(stderr, "flota-mkimage: expected VERSION OUTPUT (see --help)\n");
                return 2;
        }
        uint8_t *img;
        size_t n;
        image_build(platform, argv[optind], size, seed, &img, &n);
        FILE *f = fopen(argv[optind + 1], "we");
        if (!f || fwrite(img, 1, n, f) != n || fclose(f) != 0) {
                fprintf(stderr, "flota-mkimage: cannot write %s: %s\n", argv[optind + 1], strerror(errno));
                free(img);
                return 1;
        }
        free(img);
        return 0;
}
