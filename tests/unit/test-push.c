/* SPDX-License-Identifier: MIT */
/*
 * The push transports' pure parts: the espota invitation and authentication (values computed
 * independently with Python's hashlib: md5/sha256/pbkdf2_hmac), and how each known web
 * updater's answer is read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "flota/push.h"

static void test_invitation(void **state) {
        char buf[128];

        /* PROTOCOLS.md 3.2 step 2: "<cmd> <port> <size> <md5>\n" */
        assert_int_equal(espota_invitation(ESPOTA_CMD_FLASH, 43633, 12288,
                                           "9cec0000000000000000000000473a00", buf, sizeof(buf)),
                         (int) strlen("0 43633 12288 9cec0000000000000000000000473a00\n"));
        assert_string_equal(buf, "0 43633 12288 9cec0000000000000000000000473a00\n");
        assert_int_equal(
                espota_invitation(ESPOTA_CMD_FS, 1, 2, "00000000000000000000000000000000", buf, sizeof(buf)),
                41);
        assert_true(strncmp(buf, "100 1 2 ", 8) == 0);
        assert_int_equal(espota_invitation(0, 1, 2, "00000000000000000000000000000000", buf, 10), -ENOBUFS);
}

static void test_md5_auth(void **state) {
        char r[65];

        /* md5hex(md5hex("sekrit") ":" nonce ":" cnonce) */
        assert_int_equal(espota_auth_response("sekrit", "aa16a8e6e1f5b4f3c0d2e9a7b6c5d4e3",
                                              "0123456789abcdef0123456789abcdef", r, sizeof(r)),
                         0);
        assert_string_equal(r, "f0c06f7b8b88db2a05ad9aafa182db96");
}

static void test_sha256_auth(void **state) {
        char r[65];

        /* the ESP32 3.3.1+ scheme as flota implements it (see push.h) */
        assert_int_equal(
                espota_auth_response(
                        "sekrit", "1b16b1df538ba12dc3f97edbb85caa7050d46c148134290feba80f8236c83db9",
                        "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6", r, sizeof(r)),
                0);
        assert_string_equal(r, "402b0a074115788b5791914e06ad75575f4a360cc35648c94eb28cb1a8f915ad");
}

static void test_auth_rejects(void **state) {
        char r[65];

        /* a nonce of another length, not hex, or a client nonce of another length */
        assert_int_equal(espota_auth_response("x", "abc", "abc", r, sizeof(r)), -EINVAL);
        assert_int_equal(espota_auth_response("x", "zz16a8e6e1f5b4f3c0d2e9a7b6c5d4e3",
                                              "0123456789abcdef0123456789abcdef", r, sizeof(r)),
                         -EINVAL);
        assert_int_equal(espota_auth_response("x", "aa16a8e6e1f5b4f3c0d2e9a7b6c5d4e3", "0123", r, sizeof(r)),
                         -EINVAL);
        assert_int_equal(espota_auth_response("x", "aa16a8e6e1f5b4f3c0d2e9a7b6c5d4e3",
                                              "0123456789abcdef0123456789abcdef", r, 10),
                         -EINVAL);
}

static PushOutcome classify(long status, const char *body, char msg[static PUSH_MESSAGE_MAX + 1]) {
        return web_push_classify(status, body, body ? strlen(body) : 0, msg);
}

static void test_web_answers(void **state) {
        char msg[PUSH_MESSAGE_MAX + 1];

        /* stock ESP8266HTTPUpdateServer / ESP32 HTTPUpdateServer: 200 both ways */
        assert_int_equal(
                classify(200,
                         "<META http-equiv=\"refresh\" content=\"15;URL=/\">Update Success! Rebooting...",
                         msg),
                PUSH_OK);
        assert_string_equal(msg, "Update Success! Rebooting...");
        assert_int_equal(classify(200, "Update error: ERROR[10]: Magic byte is not 0xE9", msg),
                         PUSH_UPLOAD_FAILED);
        assert_string_equal(msg, "Update error: ERROR[10]: Magic byte is not 0xE9");
        /* the ESP32 WebServer + Update example */
        assert_int_equal(classify(200, "OK", msg), PUSH_OK);
        assert_int_equal(classify(200, "FAIL", msg), PUSH_UPLOAD_FAILED);
        /* ElegantOTA-style: an error status with the Updater's words */
        assert_int_equal(classify(400, "Failed to write chunked data to free space", msg),
                         PUSH_UPLOAD_FAILED);
        assert_string_equal(msg, "HTTP 400: Failed to write chunked data to free space");
        assert_int_equal(classify(500, "FAIL", msg), PUSH_UPLOAD_FAILED);
        /* credentials, no updater, a page flota does not know */
        assert_int_equal(classify(401, "", msg), PUSH_AUTH_FAILED);
        assert_int_equal(classify(404, "Not found", msg), PUSH_REFUSED);
        assert_int_equal(classify(200, "<html><body>Hello</body></html>", msg), PUSH_UPLOAD_FAILED);
        assert_string_equal(msg, "unrecognised answer: Hello");
        assert_int_equal(classify(200, NULL, msg), PUSH_UPLOAD_FAILED);
}

static void test_names(void **state) {
        for (int i = 0; i < _PUSH_OUTCOME_MAX; i++)
                assert_int_equal(push_outcome_from_string(push_outcome_to_string((PushOutcome) i)), i);
        assert_string_equal(push_outcome_to_string(PUSH_AUTH_FAILED), "auth-failed");
        assert_string_equal(push_outcome_to_string(PUSH_NO_ANSWER), "no-answer");
        assert_int_equal(push_transport_from_string("web"), PUSH_TRANSPORT_WEB);
        assert_int_equal(push_transport_from_string("pull"), _PUSH_TRANSPORT_INVALID);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_invitation),  cmocka_unit_test(test_md5_auth),
                cmocka_unit_test(test_sha256_auth), cmocka_unit_test(test_auth_rejects),
                cmocka_unit_test(test_web_answers), cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
