/* http.h - the tiny HTTP/1.1 server of `fer demo -http PORT`. It serves
 * exactly four things: "/" (a page that shows the stream and polls the
 * JSON), "/stream.mjpg" (multipart/x-mixed-replace of JPEG frames),
 * "/frame.jpg" (the latest frame) and "/faces.json" (the latest per-face
 * probabilities); anything else is 404, no files are served.
 *
 * One thread runs a poll() loop over non-blocking sockets. Bounded: at most
 * HTTP_MAX_CLIENTS connections (503 beyond), requests up to
 * HTTP_MAX_REQUEST bytes (431 beyond), HTTP_REQUEST_TIMEOUT_MS to send a
 * request (408), HTTP_STALL_TIMEOUT_MS for a client that reads nothing, and
 * for a stream client that has not taken a whole frame (a byte now and then
 * does not count; stream sockets get a small send buffer so the kernel
 * does not hide a stalled reader); a slow stream client skips frames
 * instead of queueing them. Malformed
 * requests get 400, methods other than GET/HEAD 405. Sends use
 * MSG_NOSIGNAL, so a client that disconnects never raises SIGPIPE. */
#ifndef FER_HTTP_H
#define FER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#define HTTP_MAX_CLIENTS 8
#define HTTP_MAX_REQUEST 8192
#define HTTP_REQUEST_TIMEOUT_MS 5000
#define HTTP_STALL_TIMEOUT_MS 10000
#define HTTP_MAX_FRAME (16u << 20)
#define HTTP_STREAM_SNDBUF (64 << 10)

typedef struct http_server http_server;

/* Listens on bind_addr ("127.0.0.1" by default when NULL) and port (0 = any
 * free port; see http_port) and starts the server thread. */
int http_start(http_server **out, const char *bind_addr, int port, fer_err *e);
int http_port(const http_server *s);
/* Replaces the current frame (a JPEG, may be NULL) and JSON; copies both
 * and wakes the server. */
int http_publish(http_server *s, const uint8_t *jpeg, size_t jpeg_len, const char *json, size_t json_len);
/* Clients that want JPEG frames now (stream or /frame.jpg); the caller
 * skips encoding when there are none. */
int http_wants_frames(http_server *s);
/* Requests served so far, by status class (for tests and the log). */
long http_served(http_server *s);
void http_stop(http_server *s);

/* Parses one request head (text up to and including the blank line).
 * Returns the HTTP status to answer: 200 with *path set to the target's
 * path (query removed, NUL-terminated in path[cap]), or 400, 405, 414, 505.
 * head_only is set for HEAD. Exposed for unit tests. */
int http_parse_request(const char *req, size_t len, char *path, size_t cap, int *head_only);

#endif
