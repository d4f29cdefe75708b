/* fuzz_http.c - the HTTP request parser of `fer demo -http`: the input is a
 * request head for http_parse_request, parsed with a path buffer of 4096
 * bytes and again with one of 8.
 * Oracles: the status is one of 200, 400, 405, 414, 505; a 200 has a
 * NUL-terminated path that starts with '/' and holds no '?' or '#', and
 * its head (up to the blank line) holds no NUL byte: none is allowed in a
 * method, target, header name or value (RFC 9110). */
#include "fuzz.h"
#include "vision/http.h"

/* Bytes up to and including the blank line that ends the head ("\n\n" or
 * "\n\r\n"); size when there is none. */
static size_t head_length(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 1 < size; i++) {
        if (data[i] != '\n') continue;
        if (data[i + 1] == '\n') return i + 2;
        if (data[i + 1] == '\r' && i + 2 < size && data[i + 2] == '\n') return i + 3;
    }
    return size;
}

static void parse_and_check(const uint8_t *data, size_t size, size_t cap)
{
    char path[4096];
    memset(path, 'x', sizeof path);
    int head = -1;
    int st = http_parse_request((const char *)data, size, path, cap, &head);
    fuzz_require(st == 200 || st == 400 || st == 405 || st == 414 || st == 505, "an unexpected status");
    fuzz_require(head == 0 || head == 1, "head_only not set");
    fuzz_require(path[0] == 0 || st == 200, "a path set on an error");
    if (st != 200) return;
    fuzz_require(memchr(path, 0, cap) != NULL, "the path is not NUL-terminated within cap");
    fuzz_require(path[0] == '/' && !strpbrk(path, "?#"), "a malformed path accepted");
    fuzz_require(memchr(data, 0, head_length(data, size)) == NULL, "a head with a NUL byte accepted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_and_check(data, size, 4096);
    parse_and_check(data, size, 8);
    return 0;
}
