/* fuzz_template.c — the template file parser (-T FILE,
 * exporter_load_template() -> template_parse()) on any file, and, when a
 * template loads, the IPFIX and NetFlow v9 encoders built from it encoding
 * a record: a template the parser accepts must either give messages or be
 * refused by the encoder with a message (too big for a message, ...), never
 * crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "encoder.h"
#include "export.h"

static int count_message(void *ctx, const uint8_t *msg, size_t len, uint32_t nrecords,
                         enum msg_kind kind)
{
    (void)msg, (void)nrecords, (void)kind;
    if (len < 16)
        fuzz_fail("a %zu-byte message", len);
    ++*(unsigned *)ctx;
    return 0;
}

static void encode_with(enum export_format f, bool biflow, const struct template_def *t)
{
    char err[512] = "";
    unsigned messages = 0;
    struct encoder_config cfg = {f, 7, 1400, biflow, 1, t};
    struct encoder *e = encoder_new(&cfg, count_message, &messages, err, sizeof err);
    if (!e) {
        if (!err[0])
            fuzz_fail("encoder refused the template without a message");
        return;
    }
    struct flow_record r = {.id = 1, .first_ms = {1000, 1500}, .last_ms = {2000, 2500},
                            .packets = {3, 2}, .ip_octets = {300, 200}, .l2_octets = {342, 228},
                            .src = {10, 0, 0, 1}, .dst = {10, 0, 0, 2}, .sport = 1234, .dport = 80,
                            .ip_version = 4, .proto = 6, .tcp_flags = {0x1b, 0x1b}, .end_reason = 3};
    if (encoder_send_templates(e) == 0 && encoder_add_flow(e, &r) == 0 && encoder_flush(e) == 0 &&
        messages == 0)
        fuzz_fail("the encoder took a record and sent nothing");
    encoder_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_as_file(data, size);
    struct template_def t;
    char err[1024] = "";
    if (exporter_load_template(path, &t, err, sizeof err) < 0) {
        if (!err[0])
            fuzz_fail("the template was refused without a message");
        return 0;
    }
    encode_with(FORMAT_IPFIX, false, &t);
    encode_with(FORMAT_IPFIX, true, &t);
    encode_with(FORMAT_NETFLOW9, false, &t);
    template_free(&t);
    return 0;
}
