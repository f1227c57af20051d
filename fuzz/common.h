/* common.h — what the fuzz targets share: reading the input a field at a
 * time, and handing it to parsers that want a file. */
#ifndef NFPROBE_FUZZ_COMMON_H
#define NFPROBE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* The fuzzer's input, consumed from the front; reads past its end give
 * zeros, so every input means something. */
struct fuzz_input {
    const uint8_t *p;
    size_t left;
};

uint8_t fuzz_u8(struct fuzz_input *in);
uint16_t fuzz_u16(struct fuzz_input *in);
uint32_t fuzz_u32(struct fuzz_input *in);
uint64_t fuzz_u64(struct fuzz_input *in);
/* The next n bytes in place (fewer when the input ends: *got says). */
const uint8_t *fuzz_bytes(struct fuzz_input *in, size_t n, size_t *got);

/* The data as the contents of a file: a path that reads them back (one
 * memfd, rewritten each call; aborts when that fails). The runners close
 * the target's stderr (-close_fd_mask), so the parsers' messages cost
 * nothing to read. */
const char *fuzz_as_file(const uint8_t *data, size_t size);

/* The data as a C string (a copy with a NUL; free() it). */
char *fuzz_as_string(const uint8_t *data, size_t size);

/* The link types a packet input may name: the first byte of a packet
 * input picks one (index modulo the count). */
int fuzz_link_type(uint8_t index);

/* Abort with a message: a property the target checks did not hold. */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
