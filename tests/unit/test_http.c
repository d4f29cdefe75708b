/* test_http.c - the demo's HTTP server, in process, on 127.0.0.1 and a free
 * port, with a raw-socket client:
 * - request heads: good ones parse (path without query, HEAD), malformed
 *   ones get 400, other methods 405, HTTP/2 505, long targets 414;
 * - "/" serves the page, "/faces.json" the published JSON, "/frame.jpg"
 *   the published JPEG, "/stream.mjpg" a multipart stream whose parts are
 *   the published frames in order; anything else is 404 (no files);
 * - an oversized request gets 431, a ninth client 503;
 * - clients that vanish mid-stream, or never read, do not stop or stall the
 *   server: it keeps answering others. */
#include "check.h"
#include "vision/http.h"
#include "codecs/jpeg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void test_parse(void)
{
    static const struct { const char *req; int status; const char *path; int head; } cases[] = {
        { "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 200, "/", 0 },
        { "GET /faces.json?t=123#frag HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 200, "/faces.json", 0 },
        { "HEAD /stream.mjpg HTTP/1.1\r\nhost: x\r\n\r\n", 200, "/stream.mjpg", 1 },
        { "GET / HTTP/1.0\r\n\r\n", 200, "/", 0 },
        { "GET / HTTP/1.1\nHost: x\n\n", 200, "/", 0 },
        { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 200, "/", 0 },
        { "GET / HTTP/1.1\r\n\r\n", 400, NULL, 0 },                          /* no Host */
        { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, NULL, 0 },    /* two Hosts */
        { "get / HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL, 0 },
        { "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL, 0 },
        { "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400, NULL, 0 },
        { "GET index.html HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL, 0 },
        { "GET / HTTP/1.1x\r\nHost: x\r\n\r\n", 400, NULL, 0 },
        { "GET / FTP/1.1\r\nHost: x\r\n\r\n", 400, NULL, 0 },
        { "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, NULL, 0 },
        { "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400, NULL, 0 },
        { "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, NULL, 0 },
        { "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, NULL, 0 },
        { "GET / HTTP/1.1\r\nHost: x\001y\r\n\r\n", 400, NULL, 0 },
        { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", 400, NULL, 0 },
        { "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, NULL, 0 },
        { "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400, NULL, 0 },
        { "POST / HTTP/1.1\r\nHost: x\r\n\r\n", 405, NULL, 0 },
        { "DELETE /faces.json HTTP/1.1\r\nHost: x\r\n\r\n", 405, NULL, 0 },
        { "\r\n\r\n", 400, NULL, 0 },
        { "GET / HTTP/1.1\r\nHost: x\r\n", 400, NULL, 0 },   /* no blank line */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[64];
        int head;
        int st = http_parse_request(cases[i].req, strlen(cases[i].req), path, sizeof path, &head);
        CHECK(st == cases[i].status, "case %zu: status %d, want %d", i, st, cases[i].status);
        if (cases[i].path) CHECK(!strcmp(path, cases[i].path) && head == cases[i].head, "case %zu: path '%s'", i, path);
    }
    /* a NUL inside a header name (strchr would match the set's terminator) */
    static const char nul_name[] = "GET / HTTP/1.1\r\nHost: x\r\nX\0Y: a\r\n\r\n";
    char p0[64];
    int h0;
    CHECK(http_parse_request(nul_name, sizeof nul_name - 1, p0, sizeof p0, &h0) == 400, "NUL in a header name");
    char big[3000] = "GET /";
    memset(big + 5, 'a', 2500);
    strcpy(big + 2505, " HTTP/1.1\r\nHost: x\r\n\r\n");
    char path[64];
    int head;
    CHECK(http_parse_request(big, strlen(big), path, sizeof path, &head) == 414, "long target");
}

/* ---- a small client ----------------------------------------------------------- */

static int port;

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads into buf until the peer closes, want bytes arrived, or ms pass. */
static size_t read_some(int fd, char *buf, size_t cap, size_t want, int ms)
{
    size_t n = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (n < want && n < cap) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        int left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) break;
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, left) <= 0) break;
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r <= 0) break;
        n += (size_t)r;
    }
    return n;
}

/* One request, the whole response (the server closes after it). */
static size_t fetch(const char *req, size_t reqlen, char *buf, size_t cap)
{
    int fd = dial();
    if (fd < 0) return 0;
    size_t off = 0;
    while (off < reqlen) {
        ssize_t w = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
        if (w <= 0) break;   /* the server may answer (431) and close before it has read everything */
        off += (size_t)w;
    }
    size_t n = read_some(fd, buf, cap - 1, cap - 1, 30000);
    buf[n] = 0;
    close(fd);
    return n;
}

static int status_of(const char *resp)
{
    int st = 0;
    return sscanf(resp, "HTTP/1.1 %d", &st) == 1 ? st : -1;
}

static const char *body_of(const char *resp, size_t n, size_t *len)
{
    const char *b = strstr(resp, "\r\n\r\n");
    if (!b) return NULL;
    *len = n - (size_t)(b + 4 - resp);
    return b + 4;
}

static size_t get(const char *path, char *buf, size_t cap)
{
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test_http\r\n\r\n", path);
    return fetch(req, (size_t)n, buf, cap);
}

static uint8_t *make_jpeg(int w, int h, int shade, size_t *len)
{
    uint8_t *px = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) px[i] = (uint8_t)((i * 7 + shade) & 255);
    jpeg_buf b = { 0 };
    fer_err e;
    if (jpeg_encode(&b, px, w, h, 3, 80, 1, &e)) {
        free(px);
        return NULL;
    }
    free(px);
    *len = b.len;
    return b.data;
}

static void sleep_ms(int ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

/* memmem, which POSIX lacks. */
static char *find(const char *hay, size_t n, const char *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(hay + i, needle, m)) return (char *)hay + i;
    return NULL;
}

/* Reads one multipart part of a stream: its JPEG length and bytes. */
static int read_part(int fd, char *buf, size_t cap, size_t *off, size_t *have, const uint8_t *want, size_t wlen)
{
    for (int tries = 0; tries < 100; tries++) {
        char *h = find(buf + *off, *have - *off, "--ferframe\r\n", 12);
        char *end = h ? find(h, *have - (size_t)(h - buf), "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t clen = 0;
            char *cl = find(h, (size_t)(end - h), "Content-Length: ", 16);
            if (cl) clen = strtoul(cl + 16, NULL, 10);
            size_t start = (size_t)(end + 4 - buf);
            if (*have >= start + clen + 2) {
                int ok = clen == wlen && !memcmp(buf + start, want, wlen) && !memcmp(buf + start + clen, "\r\n", 2);
                *off = start + clen + 2;
                return ok;
            }
        }
        *have += read_some(fd, buf + *have, cap - *have, 1, 200);
    }
    return 0;
}

static void test_server(void)
{
    http_server *s;
    fer_err e;
    CHECK(http_start(&s, NULL, 0, &e) == 0, "%s", e.msg);
    if (!s) return;
    port = http_port(s);
    CHECK(port > 0, "port %d", port);
    size_t cap = 4 << 20;
    char *buf = malloc(cap);
    size_t n, blen = 0;
    const char *body;

    n = get("/faces.json", buf, cap);
    CHECK(status_of(buf) == 200 && strstr(buf, "\"frame\": -1"), "JSON before any frame: %.80s", buf);
    n = get("/frame.jpg", buf, cap);
    CHECK(status_of(buf) == 503 && strstr(buf, "Retry-After"), "no frame yet: %.60s", buf);
    CHECK(http_wants_frames(s), "wants a first frame");

    size_t j1len, j2len;
    uint8_t *j1 = make_jpeg(64, 48, 0, &j1len), *j2 = make_jpeg(80, 60, 90, &j2len);
    const char *json = "{\"classes\": [\"a\", \"b\"], \"frame\": 7, \"faces\": []}";
    CHECK(http_publish(s, j1, j1len, json, strlen(json)) == 0, "publish");

    n = get("/", buf, cap);
    body = body_of(buf, n, &blen);
    char clen[64];
    snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", blen);
    CHECK(status_of(buf) == 200 && body && strstr(buf, "text/html") && strstr(buf, clen) &&
              strstr(body, "<img id=\"video\" src=\"/stream.mjpg\"") && strstr(body, "/faces.json"),
          "page: %.100s", buf);
    n = get("/index.html?x=1", buf, cap);
    CHECK(status_of(buf) == 200, "index.html");
    n = get("/faces.json", buf, cap);
    body = body_of(buf, n, &blen);
    CHECK(status_of(buf) == 200 && body && blen == strlen(json) + 1 && !memcmp(body, json, strlen(json)) &&
              strstr(buf, "application/json"),
          "faces.json: %.120s", buf);
    n = get("/frame.jpg", buf, cap);
    body = body_of(buf, n, &blen);
    CHECK(status_of(buf) == 200 && body && blen == j1len && !memcmp(body, j1, j1len), "frame.jpg: %zu bytes", blen);
    const char head[] = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";
    n = fetch(head, sizeof head - 1, buf, cap);
    body = body_of(buf, n, &blen);
    CHECK(status_of(buf) == 200 && body && blen == 0, "HEAD has no body (%zu bytes)", blen);

    static const char *const missing[] = { "/nope", "/../../etc/passwd", "/etc/passwd", "/stream.mjpg/x", "//" };
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        get(missing[i], buf, cap);
        CHECK(status_of(buf) == 404, "%s: %.40s", missing[i], buf);
    }
    static const char *const malformed[] = { "garbage\r\n\r\n", "GET /\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",
                                             "GET / HTTP/1.1\r\nno colon\r\n\r\n", "\x16\x03\x01\x02\r\n\r\n" };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        fetch(malformed[i], strlen(malformed[i]), buf, cap);
        CHECK(status_of(buf) == 400, "malformed %zu: %.40s", i, buf);
    }
    const char post[] = "POST /faces.json HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    fetch(post, sizeof post - 1, buf, cap);
    CHECK(status_of(buf) == 405 && strstr(buf, "Allow: GET, HEAD"), "POST: %.60s", buf);
    /* oversized: 20 KB of headers */
    size_t biglen = 20000;
    char *big = malloc(biglen + 64);
    n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: x\r\n");
    while (n < biglen) n += (size_t)sprintf(big + n, "X-Padding: %040d\r\n", 0);
    n += (size_t)sprintf(big + n, "\r\n");
    fetch(big, n, buf, cap);
    CHECK(status_of(buf) == 431, "oversized request: %.60s", buf);
    free(big);

    /* the stream: parts follow the published frames */
    int fd = dial();
    const char sreq[] = "GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(fd >= 0 && send(fd, sreq, sizeof sreq - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof sreq - 1), "stream request");
    size_t have = read_some(fd, buf, cap, 200, 20000), off = 0;
    buf[have < cap ? have : cap - 1] = 0;
    CHECK(status_of(buf) == 200 && strstr(buf, "multipart/x-mixed-replace; boundary=ferframe"), "stream head: %.100s",
          buf);
    CHECK(read_part(fd, buf, cap, &off, &have, j1, j1len), "first part is the current frame");
    CHECK(http_wants_frames(s), "a stream client wants frames");
    http_publish(s, j2, j2len, NULL, 0);
    CHECK(read_part(fd, buf, cap, &off, &have, j2, j2len), "second part is the new frame");
    /* vanish in the middle of a big part */
    size_t bigj = 3 << 20;
    uint8_t *huge = malloc(bigj);
    memset(huge, 0x55, bigj);
    http_publish(s, huge, bigj, NULL, 0);
    read_some(fd, buf, cap, 1000, 500);
    close(fd);
    n = get("/faces.json", buf, cap);
    CHECK(status_of(buf) == 200, "server answers after a client vanished mid-stream");

    /* a stream client that never reads does not stall the others */
    int lazy = dial();
    CHECK(lazy >= 0 && send(lazy, sreq, sizeof sreq - 1, MSG_NOSIGNAL) > 0, "lazy client");
    for (int k = 0; k < 5; k++) http_publish(s, huge, bigj, NULL, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = get("/", buf, cap);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    /* a server blocked on the lazy client would answer only when it drops
     * it, after HTTP_STALL_TIMEOUT_MS: half that leaves room for a loaded machine */
    CHECK(status_of(buf) == 200 && ms < HTTP_STALL_TIMEOUT_MS / 2, "page while a client stalls: status %d in %.0f ms",
          status_of(buf), ms);

    /* at most HTTP_MAX_CLIENTS connections: the next one gets 503 */
    sleep_ms(300);   /* the last response's connection closes */
    int idle[HTTP_MAX_CLIENTS];
    int nidle = 0;
    for (int k = 0; k < HTTP_MAX_CLIENTS - 1; k++) {   /* the lazy stream holds one slot */
        idle[nidle] = dial();
        if (idle[nidle] >= 0) nidle++;
    }
    sleep_ms(300);
    n = get("/", buf, cap);
    CHECK(status_of(buf) == 503, "client %d: %.40s", HTTP_MAX_CLIENTS + 1, buf);
    for (int k = 0; k < nidle; k++) close(idle[k]);
    close(lazy);
    /* the server frees the slots when it sees the closes: give a loaded
     * machine up to 10 s */
    for (int k = 0; k < 100; k++) {
        sleep_ms(100);
        n = get("/", buf, cap);
        if (status_of(buf) == 200) break;
    }
    CHECK(status_of(buf) == 200, "slots free again: %.40s", buf);
    CHECK(http_served(s) > 15, "served %ld", http_served(s));

    http_stop(s);
    free(huge);
    free(j1);
    free(j2);
    free(buf);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_parse();
    test_server();
    return check_summary("test_http");
}
