/* http.c - the demo's HTTP server (see http.h): one poll() thread, a fixed
 * table of clients, each either reading its request, writing one response
 * (then draining the socket briefly before closing, so the client sees the
 * whole response), or streaming multipart JPEG parts. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0   /* where it is missing, the program ignores SIGPIPE */
#endif

#define BOUNDARY "ferframe"
#define LINGER_MS 1000
#define FRAME_REQUEST_HOLD_MS 5000

enum { C_FREE, C_READ, C_WRITE, C_STREAM, C_LINGER };

typedef struct client {
    int fd;
    int state;
    char req[HTTP_MAX_REQUEST + 1];
    size_t req_len;
    uint8_t *out;              /* pending output [out_len], out_off already sent */
    size_t out_len, out_off, out_cap;
    double deadline;           /* request/linger deadline, ms */
    double progress;           /* last time output moved, ms */
    double taken;              /* stream: last time all queued output was sent, ms */
    uint64_t sent_seq;         /* the last frame sent (stream) */
} client;

struct http_server {
    int lfd, port;
    int wake[2];               /* a byte on wake[1] wakes the poll loop */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;        /* guards everything below */
    int stop;
    uint8_t *jpeg;
    size_t jpeg_len, jpeg_cap;
    uint64_t seq;              /* bumped by each published frame */
    char *json;
    size_t json_len, json_cap;
    _Atomic int streams;       /* connected stream clients (written by the server thread only) */
    double frame_request;      /* when /frame.jpg was last asked for */
    _Atomic long served;
    client clients[HTTP_MAX_CLIENTS];
};

static const char page[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>fer demo</title>\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<style>body{background:#111;color:#eee;font:14px sans-serif;margin:16px}"
    "h1{font-size:18px}img{max-width:100%;border:1px solid #444;display:block}"
    "#faces{margin-top:10px}.face{display:inline-block;vertical-align:top;margin:0 16px 8px 0}"
    "td{padding:1px 6px}.bar{height:10px;background:#5a9;display:inline-block}"
    ".b0{background:#eb4034}.b1{background:#6eb428}.b2{background:#aa64dc}.b3{background:#facd28}"
    ".b4{background:#4682eb}.b5{background:#fa8c1e}.b6{background:#c8c8c8}</style></head>\n"
    "<body><h1>fer &mdash; live facial expressions</h1>\n"
    "<img id=\"video\" src=\"/stream.mjpg\" alt=\"live annotated video\">\n"
    "<div id=\"status\">waiting for frames&hellip;</div><div id=\"faces\"></div>\n"
    "<script>\n"
    "function esc(s){return String(s).replace(/[&<>\"]/g,function(c){return {'&':'&amp;','<':'&lt;','>':'&gt;','\"':'&quot;'}[c];});}\n"
    "function render(j){\n"
    "  document.getElementById('status').textContent='frame '+j.frame+(j.fps!==undefined?' \\u00b7 '+j.fps+' fps':'')+"
    "(j.ms?' \\u00b7 detect '+j.ms.detect+' ms \\u00b7 classify '+j.ms.classify+' ms':'');\n"
    "  var h='';(j.faces||[]).forEach(function(f){h+='<div class=\"face\"><b>face '+f.id+': '+esc(f.label)+'</b><table>';\n"
    "    (f.probs||[]).forEach(function(p,k){var n=j.classes&&j.classes[k]!==undefined?j.classes[k]:k;"
    "h+='<tr><td>'+esc(n)+'</td><td><span class=\"bar b'+(k%7)+'\" style=\"width:'+Math.round(p*120)+'px\"></span></td><td>'+(p*100).toFixed(1)+'%</td></tr>';});\n"
    "    h+='</table></div>';});\n"
    "  document.getElementById('faces').innerHTML=h||'no faces';\n"
    "}\n"
    "function poll(){fetch('/faces.json',{cache:'no-store'}).then(function(r){return r.json();}).then(render)"
    ".catch(function(){}).then(function(){setTimeout(poll,500);});}\n"
    "poll();\n"
    "</script></body></html>\n";

/* ---- request parsing --------------------------------------------------------- */

static int is_tchar(char c)
{
    /* c != 0: strchr also finds a string's terminating NUL */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

int http_parse_request(const char *req, size_t len, char *path, size_t cap, int *head_only)
{
    *head_only = 0;
    if (cap) path[0] = 0;
    const char *end = req + len, *p = req;
    const char *eol = memchr(p, '\n', len);
    if (!eol) return 400;
    const char *line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
    /* request line: METHOD SP TARGET SP VERSION */
    const char *sp1 = memchr(p, ' ', (size_t)(line_end - p));
    if (!sp1 || sp1 == p || sp1 - p > 16) return 400;
    for (const char *q = p; q < sp1; q++)
        if (*q < 'A' || *q > 'Z') return 400;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', (size_t)(line_end - target));
    if (!sp2 || sp2 == target) return 400;
    for (const char *q = target; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) return 400;
    const char *ver = sp2 + 1;
    size_t vlen = (size_t)(line_end - ver);
    if (vlen != 8 || memcmp(ver, "HTTP/", 5) || ver[6] != '.' || ver[5] < '0' || ver[5] > '9' || ver[7] < '0' ||
        ver[7] > '9')
        return 400;
    if (ver[5] != '1') return 505;
    int http11 = ver[7] != '0';
    if (*target != '/') return 400;
    size_t tlen = (size_t)(sp2 - target);
    if (tlen > 2048) return 414;
    /* headers */
    int host = 0, body = 0;
    p = eol + 1;
    for (;;) {
        if (p >= end) return 400;   /* no blank line */
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) return 400;
        line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (line_end == p) break;   /* blank line: end of head */
        if (*p == ' ' || *p == '\t') return 400;   /* obsolete line folding */
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (!colon || colon == p) return 400;
        for (const char *q = p; q < colon; q++)
            if (!is_tchar(*q)) return 400;
        for (const char *q = colon + 1; q < line_end; q++)
            if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) return 400;
        size_t nlen = (size_t)(colon - p);
        const char *v = colon + 1;
        while (v < line_end && (*v == ' ' || *v == '\t')) v++;
        if (nlen == 4 && !strncasecmp(p, "host", 4)) host++;
        if (nlen == 14 && !strncasecmp(p, "content-length", 14)) {
            if (v == line_end) return 400;
            for (const char *q = v; q < line_end; q++)
                if ((*q < '0' || *q > '9') && *q != ' ' && *q != '\t') return 400;
            for (const char *q = v; q < line_end; q++)
                if (*q >= '1' && *q <= '9') body = 1;
        }
        if (nlen == 17 && !strncasecmp(p, "transfer-encoding", 17)) body = 1;
        p = eol + 1;
    }
    if ((http11 && host != 1) || host > 1) return 400;
    size_t mlen = (size_t)(sp1 - req);
    int get = mlen == 3 && !memcmp(req, "GET", 3), head = mlen == 4 && !memcmp(req, "HEAD", 4);
    if (!get && !head) return 405;
    if (body) return 400;   /* GET and HEAD carry no body here */
    *head_only = head;
    size_t plen = 0;
    while (plen < tlen && target[plen] != '?' && target[plen] != '#') plen++;
    if (plen + 1 > cap) return 414;
    memcpy(path, target, plen);
    path[plen] = 0;
    return 200;
}

/* ---- connections ------------------------------------------------------------ */

static void close_client(http_server *s, client *c)
{
    if (c->state == C_STREAM) s->streams--;
    close(c->fd);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->state = C_FREE;
}

static int out_add(client *c, const void *p, size_t n)
{
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 16384;
        while (cap < c->out_len + n) cap *= 2;
        if (cap > HTTP_MAX_FRAME + 65536) return -1;
        uint8_t *o = realloc(c->out, cap);
        if (!o) return -1;
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Error";
}

/* Queues a complete response; the connection closes after it. */
static void respond(http_server *s, client *c, int status, const char *ctype, const void *body, size_t len,
                    int head_only)
{
    char hdr[512], msg[80];
    if (!body) {   /* an error: a short text body */
        snprintf(msg, sizeof msg, "%d %s\n", status, reason(status));
        body = msg;
        len = strlen(msg);
        ctype = "text/plain; charset=utf-8";
    }
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n%sConnection: close\r\n\r\n",
                     status, reason(status), ctype, len,
                     status == 405 ? "Allow: GET, HEAD\r\n" : status == 503 ? "Retry-After: 1\r\n" : "");
    c->out_off = c->out_len = 0;
    if (out_add(c, hdr, (size_t)n) || (!head_only && out_add(c, body, len))) {
        close_client(s, c);
        return;
    }
    c->state = C_WRITE;
    c->progress = clock_seconds() * 1e3;
    s->served++;
}

static void handle_request(http_server *s, client *c)
{
    char path[2100];
    int head;
    int status = http_parse_request(c->req, c->req_len, path, sizeof path, &head);
    if (status != 200) {
        respond(s, c, status, NULL, NULL, 0, 0);
        return;
    }
    if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
        respond(s, c, 200, "text/html; charset=utf-8", page, sizeof page - 1, head);
    } else if (!strcmp(path, "/faces.json")) {
        pthread_mutex_lock(&s->mu);
        if (s->json_len) {
            char *copy = malloc(s->json_len + 1);
            if (copy) {
                memcpy(copy, s->json, s->json_len);
                copy[s->json_len] = '\n';
            }
            size_t n = s->json_len + 1;
            pthread_mutex_unlock(&s->mu);
            if (copy) respond(s, c, 200, "application/json", copy, n, head);
            else respond(s, c, 503, NULL, NULL, 0, 0);
            free(copy);
        } else {
            pthread_mutex_unlock(&s->mu);
            static const char none[] = "{\"frame\": -1, \"faces\": []}\n";
            respond(s, c, 200, "application/json", none, sizeof none - 1, head);
        }
    } else if (!strcmp(path, "/frame.jpg")) {
        pthread_mutex_lock(&s->mu);
        s->frame_request = clock_seconds() * 1e3;
        if (s->jpeg_len) {
            respond(s, c, 200, "image/jpeg", s->jpeg, s->jpeg_len, head);
            pthread_mutex_unlock(&s->mu);
        } else {
            pthread_mutex_unlock(&s->mu);
            respond(s, c, 503, NULL, NULL, 0, 0);
        }
    } else if (!strcmp(path, "/stream.mjpg")) {
        static const char hdr[] = "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=" BOUNDARY
                                  "\r\nCache-Control: no-store\r\nPragma: no-cache\r\nConnection: close\r\n\r\n";
        c->out_off = c->out_len = 0;
        if (out_add(c, hdr, sizeof hdr - 1)) {
            close_client(s, c);
            return;
        }
        s->served++;
        if (head) {
            c->state = C_WRITE;
        } else {
            c->state = C_STREAM;
            c->sent_seq = 0;
            s->streams++;
            /* a small kernel buffer, so that a client that stops reading is
             * seen stalling within a frame or two, not after megabytes */
            int sndbuf = HTTP_STREAM_SNDBUF;
            setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        }
        c->taken = clock_seconds() * 1e3;
        c->progress = clock_seconds() * 1e3;
    } else {
        respond(s, c, 404, NULL, NULL, 0, 0);
    }
}

/* Whether the request head is complete (a blank line). */
static int head_complete(const client *c)
{
    for (size_t i = 0; i + 1 < c->req_len; i++)
        if (c->req[i] == '\n' && (c->req[i + 1] == '\n' || (c->req[i + 1] == '\r' && i + 2 < c->req_len &&
                                                             c->req[i + 2] == '\n')))
            return 1;
    return 0;
}

static void on_readable(http_server *s, client *c)
{
    if (c->state == C_READ) {
        ssize_t n = recv(c->fd, c->req + c->req_len, sizeof c->req - c->req_len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            close_client(s, c);
            return;
        }
        if (n < 0) return;
        c->req_len += (size_t)n;
        if (head_complete(c)) handle_request(s, c);
        else if (c->req_len > HTTP_MAX_REQUEST) respond(s, c, 431, NULL, NULL, 0, 0);
        return;
    }
    /* writing, streaming or lingering: whatever arrives is discarded */
    char junk[4096];
    ssize_t n = recv(c->fd, junk, sizeof junk, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) close_client(s, c);
}

static void on_writable(http_server *s, client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            close_client(s, c);
            return;
        }
        c->out_off += (size_t)n;
        c->progress = clock_seconds() * 1e3;
    }
    c->taken = clock_seconds() * 1e3;
    if (c->state == C_WRITE) {   /* done: half-close, then drain what the client still sends */
        shutdown(c->fd, SHUT_WR);
        c->state = C_LINGER;
        c->deadline = clock_seconds() * 1e3 + LINGER_MS;
    }
}

static void accept_clients(http_server *s)
{
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) return;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        client *c = NULL;
        for (int i = 0; i < HTTP_MAX_CLIENTS && !c; i++)
            if (s->clients[i].state == C_FREE) c = &s->clients[i];
        if (!c) {   /* full: a best-effort 503 */
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                       "Content-Length: 24\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
                                       "503 too many clients\r\n\r\n";
            if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL) < 0) { /* nothing more to do */ }
            close(fd);
            continue;
        }
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->state = C_READ;
        c->deadline = clock_seconds() * 1e3 + HTTP_REQUEST_TIMEOUT_MS;
        c->progress = clock_seconds() * 1e3;
    }
}

/* Gives every stream client that has sent its last part the newest frame. */
static void feed_streams(http_server *s)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < HTTP_MAX_CLIENTS; i++) {
        client *c = &s->clients[i];
        if (c->state != C_STREAM || c->out_off < c->out_len || !s->jpeg_len || c->sent_seq == s->seq) continue;
        char hdr[160];
        int n = snprintf(hdr, sizeof hdr, "--" BOUNDARY "\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n\r\n",
                         s->jpeg_len);
        if (out_add(c, hdr, (size_t)n) || out_add(c, s->jpeg, s->jpeg_len) || out_add(c, "\r\n", 2)) {
            close_client(s, c);
            continue;
        }
        c->sent_seq = s->seq;
    }
    pthread_mutex_unlock(&s->mu);
}

static void *serve(void *arg)
{
    http_server *s = arg;
    struct pollfd pfd[2 + HTTP_MAX_CLIENTS];
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) break;
        feed_streams(s);
        int n = 0;
        pfd[n++] = (struct pollfd){ s->wake[0], POLLIN, 0 };
        pfd[n++] = (struct pollfd){ s->lfd, POLLIN, 0 };
        int idx[HTTP_MAX_CLIENTS];
        for (int i = 0; i < HTTP_MAX_CLIENTS; i++) {
            client *c = &s->clients[i];
            idx[i] = -1;
            if (c->state == C_FREE) continue;
            short ev = POLLIN;
            if (c->out_off < c->out_len) ev |= POLLOUT;
            idx[i] = n;
            pfd[n++] = (struct pollfd){ c->fd, ev, 0 };
        }
        int r = poll(pfd, (nfds_t)n, 100);
        if (r < 0 && errno != EINTR) break;
        if (r > 0 && (pfd[0].revents & POLLIN)) {
            char buf[64];
            while (read(s->wake[0], buf, sizeof buf) > 0) {}
        }
        if (r > 0 && (pfd[1].revents & POLLIN)) accept_clients(s);
        double now = clock_seconds() * 1e3;
        for (int i = 0; i < HTTP_MAX_CLIENTS; i++) {
            client *c = &s->clients[i];
            if (c->state == C_FREE || idx[i] < 0) continue;
            short re = r > 0 ? pfd[idx[i]].revents : 0;
            if (re & POLLNVAL) {
                close_client(s, c);
                continue;
            }
            if (re & (POLLIN | POLLHUP | POLLERR)) on_readable(s, c);
            if (c->state != C_FREE && (re & POLLOUT)) on_writable(s, c);
            if (c->state == C_FREE) continue;
            if (c->state == C_READ && now > c->deadline) respond(s, c, 408, NULL, NULL, 0, 0);
            else if (c->state == C_LINGER && now > c->deadline) close_client(s, c);
            else if (c->state == C_WRITE && c->out_off < c->out_len && now - c->progress > HTTP_STALL_TIMEOUT_MS)
                close_client(s, c);
            else if (c->state == C_STREAM && c->out_off < c->out_len && now - c->taken > HTTP_STALL_TIMEOUT_MS)
                close_client(s, c);   /* no whole frame taken for that long, however many bytes */
        }
    }
    return NULL;
}

/* ---- public ------------------------------------------------------------------ */

int http_start(http_server **out, const char *bind_addr, int port, fer_err *e)
{
    *out = NULL;
    if (!bind_addr) bind_addr = "127.0.0.1";
    if (port < 0 || port > 65535) return fer_fail(e, "-http %d: a port is 0..65535", port);
    http_server *s = calloc(1, sizeof *s);
    if (!s) return fer_fail(e, "out of memory");
    s->lfd = s->wake[0] = s->wake[1] = -1;
    for (int i = 0; i < HTTP_MAX_CLIENTS; i++) s->clients[i].fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(bind_addr, portstr, &hints, &ai);
    if (gai) {
        fer_fail(e, "-http-bind %s: %s", bind_addr, gai_strerror(gai));
        goto fail;
    }
    s->lfd = socket(ai->ai_family, SOCK_STREAM, 0);
    int one = 1;
    if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(s->lfd, ai->ai_addr, ai->ai_addrlen) || listen(s->lfd, 16)) {
        fer_fail(e, "cannot listen on %s port %d: %s%s", bind_addr, port, strerror(errno),
                 errno == EADDRINUSE ? " (pick another -http PORT, or 0 for any free port)" : "");
        freeaddrinfo(ai);
        goto fail;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    if (getsockname(s->lfd, (struct sockaddr *)&sa, &sl) == 0)
        s->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                 : ((struct sockaddr_in *)&sa)->sin_port);
    fcntl(s->lfd, F_SETFL, fcntl(s->lfd, F_GETFL) | O_NONBLOCK);
    if (pipe(s->wake)) {
        fer_fail(e, "pipe: %s", strerror(errno));
        goto fail;
    }
    fcntl(s->wake[0], F_SETFL, fcntl(s->wake[0], F_GETFL) | O_NONBLOCK);
    fcntl(s->wake[1], F_SETFL, fcntl(s->wake[1], F_GETFL) | O_NONBLOCK);
    if (pthread_create(&s->thread, NULL, serve, s)) {
        fer_fail(e, "cannot start the HTTP thread");
        goto fail;
    }
    s->started = 1;
    *out = s;
    return 0;
fail:
    http_stop(s);
    return -1;
}

int http_port(const http_server *s) { return s->port; }

int http_publish(http_server *s, const uint8_t *jpeg, size_t jpeg_len, const char *json, size_t json_len)
{
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (jpeg && jpeg_len && jpeg_len <= HTTP_MAX_FRAME) {
        if (jpeg_len > s->jpeg_cap) {
            uint8_t *b = realloc(s->jpeg, jpeg_len);
            if (b) {
                s->jpeg = b;
                s->jpeg_cap = jpeg_len;
            }
        }
        if (jpeg_len <= s->jpeg_cap) {
            memcpy(s->jpeg, jpeg, jpeg_len);
            s->jpeg_len = jpeg_len;
            s->seq++;
        } else {
            rc = -1;
        }
    }
    if (json && json_len) {
        if (json_len > s->json_cap) {
            char *b = realloc(s->json, json_len);
            if (b) {
                s->json = b;
                s->json_cap = json_len;
            }
        }
        if (json_len <= s->json_cap) {
            memcpy(s->json, json, json_len);
            s->json_len = json_len;
        } else {
            rc = -1;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (write(s->wake[1], "", 1) < 0) { /* the pipe is full: the server is awake anyway */ }
    return rc;
}

int http_wants_frames(http_server *s)
{
    pthread_mutex_lock(&s->mu);
    int recent = s->frame_request > 0 && clock_seconds() * 1e3 - s->frame_request < FRAME_REQUEST_HOLD_MS;
    int want = atomic_load(&s->streams) > 0 || recent || s->jpeg_len == 0;
    pthread_mutex_unlock(&s->mu);
    return want;
}

long http_served(http_server *s)
{
    return atomic_load(&s->served);
}

void http_stop(http_server *s)
{
    if (!s) return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_mutex_unlock(&s->mu);
        if (write(s->wake[1], "", 1) < 0) { /* it polls with a timeout anyway */ }
        pthread_join(s->thread, NULL);
    }
    for (int i = 0; i < HTTP_MAX_CLIENTS; i++)
        if (s->clients[i].state != C_FREE) close_client(s, &s->clients[i]);
    if (s->lfd >= 0) close(s->lfd);
    if (s->wake[0] >= 0) close(s->wake[0]);
    if (s->wake[1] >= 0) close(s->wake[1]);
    pthread_mutex_destroy(&s->mu);
    free(s->jpeg);
    free(s->json);
    free(s);
}
