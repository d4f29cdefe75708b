/* png.c - fer's own PNG encoder: 8-bit gray, gray+alpha, RGB or RGBA
 * pixels, a per-row filter chosen by the minimum-sum-of-absolute-differences
 * heuristic (None, Sub, Up, Average, Paeth), a zlib stream compressed with
 * deflate (RFC 1951: LZ77 over a 32 KiB window with hash chains and lazy
 * matching, each block sent as dynamic Huffman, fixed Huffman or stored,
 * whichever is smallest), Adler-32 (RFC 1950) and CRC-32 per chunk.
 *
 * Everything lives in per-call state: no tables are shared between calls. */
#include "png.h"

#include <stdlib.h>
#include <string.h>

/* ---- checksums ----------------------------------------------------------- */

typedef struct crc_table { uint32_t t[256]; } crc_table;

static void crc_table_init(crc_table *c)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t v = n;
        for (int k = 0; k < 8; k++) v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
        c->t[n] = v;
    }
}

static uint32_t crc_update(const crc_table *c, uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = c->t[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t adler32(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;
    while (n) {
        size_t k = n < 5552 ? n : 5552;   /* largest run without overflow before the modulo */
        n -= k;
        while (k--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

/* ---- a growable byte buffer and an LSB-first bit writer ------------------ */

typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
    int oom;
} bytes;

static void put_bytes(bytes *b, const void *src, size_t n)
{
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) { b->oom = 1; return; }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32be(bytes *b, uint32_t v)
{
    uint8_t q[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    put_bytes(b, q, 4);
}

typedef struct bitwriter {
    bytes *out;
    uint64_t acc;     /* pending bits, LSB first */
    int n;            /* how many */
} bitwriter;

static void put_bits(bitwriter *w, uint32_t v, int n)
{
    w->acc |= (uint64_t)v << w->n;
    w->n += n;
    while (w->n >= 8) {
        uint8_t byte = (uint8_t)w->acc;
        put_bytes(w->out, &byte, 1);
        w->acc >>= 8;
        w->n -= 8;
    }
}

static void flush_to_byte(bitwriter *w)
{
    if (w->n) put_bits(w, 0, 8 - w->n);
}

/* ---- Huffman codes ------------------------------------------------------- */

#define LITLEN_CODES 286
#define DIST_CODES 30
#define MAX_SYMBOLS 288

typedef struct huffman {
    int n;                       /* symbols */
    uint8_t len[MAX_SYMBOLS];    /* code length per symbol, 0 = unused */
    uint16_t code[MAX_SYMBOLS];  /* bit-reversed code, ready for put_bits */
} huffman;

static uint32_t reverse_bits(uint32_t v, int n)
{
    uint32_t r = 0;
    for (int i = 0; i < n; i++) r = r << 1 | ((v >> i) & 1);
    return r;
}

/* Canonical codes from the lengths (RFC 1951 3.2.2). */
static void huffman_codes(huffman *h)
{
    int count[16] = { 0 }, next[16] = { 0 };
    for (int i = 0; i < h->n; i++) count[h->len[i]]++;
    count[0] = 0;
    int code = 0;
    for (int b = 1; b < 16; b++) {
        code = (code + count[b - 1]) << 1;
        next[b] = code;
    }
    for (int i = 0; i < h->n; i++)
        if (h->len[i]) h->code[i] = (uint16_t)reverse_bits((uint32_t)next[h->len[i]]++, h->len[i]);
}

typedef struct hnode { uint32_t freq; int left, right; } hnode;

/* Length-limited Huffman code lengths for freq[0..n): a Huffman tree built
 * with two queues over the leaves sorted by frequency, its depth histogram
 * brought under `limit` by the JPEG method (ITU T.81 K.3: move pairs of the
 * deepest leaves up, split a shallower leaf), then lengths handed out again
 * by frequency. At least two symbols get a code, so the code is complete. */
static void huffman_build(huffman *h, const uint32_t *freq_in, int n, int limit)
{
    uint32_t freq[MAX_SYMBOLS];
    memcpy(freq, freq_in, (size_t)n * sizeof *freq);
    h->n = n;
    memset(h->len, 0, sizeof h->len);
    int used = 0;
    for (int i = 0; i < n; i++) used += freq[i] > 0;
    for (int i = 0; used < 2 && i < n; i++)
        if (!freq[i]) { freq[i] = 1; used++; }
    /* leaves sorted by (freq, symbol): insertion sort, n <= 288 */
    int sym[MAX_SYMBOLS], m = 0;
    for (int i = 0; i < n; i++) {
        if (!freq[i]) continue;
        int j = m++;
        while (j > 0 && freq[sym[j - 1]] > freq[i]) { sym[j] = sym[j - 1]; j--; }
        sym[j] = i;
    }
    hnode node[2 * MAX_SYMBOLS];
    for (int i = 0; i < m; i++) node[i] = (hnode){ freq[sym[i]], -1, -1 };
    int leaf = 0, inner = m, made = m;
    while (made < 2 * m - 1) {
        int pick[2];
        for (int k = 0; k < 2; k++) {
            if (leaf < m && (inner >= made || node[leaf].freq <= node[inner].freq)) pick[k] = leaf++;
            else pick[k] = inner++;
        }
        node[made++] = (hnode){ node[pick[0]].freq + node[pick[1]].freq, pick[0], pick[1] };
    }
    /* depths from the root (the last node made): parents come after children */
    int depth[2 * MAX_SYMBOLS];
    depth[made - 1] = 0;
    for (int i = made - 1; i >= m; i--) {
        depth[node[i].left] = depth[i] + 1;
        depth[node[i].right] = depth[i] + 1;
    }
    int count[2 * MAX_SYMBOLS] = { 0 };
    int maxd = 0;
    for (int i = 0; i < m; i++) {
        count[depth[i]]++;
        if (depth[i] > maxd) maxd = depth[i];
    }
    for (int d = maxd; d > limit; d--)
        while (count[d] > 0) {
            int j = d - 2;
            while (count[j] == 0) j--;
            count[d] -= 2;
            count[d - 1] += 1;
            count[j + 1] += 2;
            count[j] -= 1;
        }
    /* the most frequent symbols (end of sym[]) get the shortest codes */
    int k = m - 1;
    for (int d = 1; d <= limit; d++)
        for (int c = 0; c < count[d]; c++) h->len[sym[k--]] = (uint8_t)d;
    huffman_codes(h);
}

static void huffman_fixed(huffman *lit, huffman *dist)
{
    lit->n = MAX_SYMBOLS;
    for (int i = 0; i < MAX_SYMBOLS; i++) lit->len[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
    huffman_codes(lit);
    dist->n = 32;
    memset(dist->len, 0, sizeof dist->len);
    for (int i = 0; i < 32; i++) dist->len[i] = 5;
    huffman_codes(dist);
}

/* ---- LZ77 ---------------------------------------------------------------- */

#define WINDOW 32768
#define WMASK (WINDOW - 1)
#define HASH_BITS 15
#define MIN_MATCH 3
#define MAX_MATCH 258
#define MAX_CHAIN 64     /* candidates tried per position */
#define NICE_MATCH 128   /* a match this long ends the search */
#define BLOCK_SYMBOLS 16384

static const uint16_t len_base[29] = { 3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                       31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t len_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                       2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t dist_base[30] = { 1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
                                        193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const uint8_t dist_extra[30] = { 0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                        6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

static int len_code_slow(int len)
{
    int c = 28;
    while (len_base[c] > len) c--;
    return c;
}

static int dist_code_slow(int dist)
{
    int c = 29;
    while (dist_base[c] > dist) c--;
    return c;
}

/* Code lookups filled once per stream: lengths 3..258 directly; distances
 * 1..256 directly, larger ones by (dist - 1) >> 7 (codes >= 16 span whole
 * multiples of 128), as zlib does. */
typedef struct code_tables {
    uint8_t len[MAX_MATCH + 1];
    uint8_t dist_lo[257];
    uint8_t dist_hi[256];
} code_tables;

static void code_tables_init(code_tables *t)
{
    for (int l = MIN_MATCH; l <= MAX_MATCH; l++) t->len[l] = (uint8_t)len_code_slow(l);
    for (int d = 1; d <= 256; d++) t->dist_lo[d] = (uint8_t)dist_code_slow(d);
    for (int k = 2; k < 256; k++) t->dist_hi[k] = (uint8_t)dist_code_slow((k << 7) + 1);
}

typedef struct deflater {
    const uint8_t *in;
    size_t n;
    int32_t *head;          /* [1 << HASH_BITS] last position with this hash, -1 = none */
    int32_t *prev;          /* [WINDOW] previous position with the same hash, by pos & WMASK */
    uint16_t *sym_len;      /* [BLOCK_SYMBOLS] literal byte, or match length when sym_dist > 0 */
    uint16_t *sym_dist;     /* [BLOCK_SYMBOLS] match distance, 0 for a literal */
    int nsym;
    size_t block_start;     /* first input byte of the pending block */
    bitwriter w;
    code_tables codes;
} deflater;

static int len_code(const deflater *d, int len) { return d->codes.len[len]; }
static int dist_code(const deflater *d, int dist)
{
    return dist <= 256 ? d->codes.dist_lo[dist] : d->codes.dist_hi[(dist - 1) >> 7];
}

static uint32_t hash3(const uint8_t *p)
{
    return ((uint32_t)p[0] << 10 ^ (uint32_t)p[1] << 5 ^ p[2]) & ((1u << HASH_BITS) - 1);
}

static void insert_pos(deflater *d, size_t pos)
{
    if (pos + MIN_MATCH > d->n) return;
    uint32_t hv = hash3(d->in + pos);
    d->prev[pos & WMASK] = d->head[hv];
    d->head[hv] = (int32_t)pos;
}

/* Longest match for the bytes at pos among earlier positions in the window. */
static int longest_match(const deflater *d, size_t pos, int *dist)
{
    if (pos + MIN_MATCH > d->n) return 0;
    int best = 0, limit = MAX_CHAIN;
    size_t maxlen = d->n - pos < MAX_MATCH ? d->n - pos : MAX_MATCH;
    int32_t cand = d->head[hash3(d->in + pos)];
    const uint8_t *p = d->in + pos;
    while (cand >= 0 && limit-- > 0) {
        size_t c = (size_t)cand;
        if (c >= pos || pos - c > WINDOW) break;
        const uint8_t *q = d->in + c;
        if (q[best] == p[best] && q[0] == p[0]) {
            size_t l = 0;
            while (l < maxlen && q[l] == p[l]) l++;
            if ((int)l > best) {
                best = (int)l;
                *dist = (int)(pos - c);
                if (l == maxlen || l >= NICE_MATCH) break;
            }
        }
        int32_t nx = d->prev[c & WMASK];
        if (nx >= cand) break;   /* the slot was reused by a newer position */
        cand = nx;
    }
    return best >= MIN_MATCH ? best : 0;
}

/* ---- blocks -------------------------------------------------------------- */

/* Code-length sequence for a dynamic header, run-length coded with 16/17/18:
 * items are symbol | extra << 8. Returns the count. */
static int rle_lengths(const uint8_t *lens, int n, uint16_t *items)
{
    int k = 0;
    for (int i = 0; i < n;) {
        int v = lens[i], run = 1;
        while (i + run < n && lens[i + run] == v) run++;
        if (v == 0 && run >= 3) {
            int r = run > 138 ? 138 : run;
            items[k++] = r >= 11 ? (uint16_t)(18 | (r - 11) << 8) : (uint16_t)(17 | (r - 3) << 8);
            i += r;
        } else if (v != 0 && run >= 4) {
            items[k++] = (uint16_t)v;
            int r = run - 1 > 6 ? 6 : run - 1;
            items[k++] = (uint16_t)(16 | (r - 3) << 8);
            i += 1 + r;
        } else {
            items[k++] = (uint16_t)v;
            i++;
        }
    }
    return k;
}

static const uint8_t cl_order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };

typedef struct dynamic_header {
    huffman cl;
    int hlit, hdist, hclen, nitems;
    uint16_t items[LITLEN_CODES + DIST_CODES];
    long bits;
} dynamic_header;

static void dynamic_header_make(dynamic_header *dh, const huffman *lit, const huffman *dist)
{
    dh->hlit = LITLEN_CODES;
    while (dh->hlit > 257 && !lit->len[dh->hlit - 1]) dh->hlit--;
    dh->hdist = DIST_CODES;
    while (dh->hdist > 1 && !dist->len[dh->hdist - 1]) dh->hdist--;
    uint8_t all[LITLEN_CODES + DIST_CODES];
    memcpy(all, lit->len, (size_t)dh->hlit);
    memcpy(all + dh->hlit, dist->len, (size_t)dh->hdist);
    dh->nitems = rle_lengths(all, dh->hlit + dh->hdist, dh->items);
    uint32_t freq[19] = { 0 };
    for (int i = 0; i < dh->nitems; i++) freq[dh->items[i] & 0xff]++;
    huffman_build(&dh->cl, freq, 19, 7);
    dh->hclen = 19;
    while (dh->hclen > 4 && !dh->cl.len[cl_order[dh->hclen - 1]]) dh->hclen--;
    dh->bits = 5 + 5 + 4 + 3L * dh->hclen;
    static const int item_extra[19] = { [16] = 2, [17] = 3, [18] = 7 };
    for (int i = 0; i < dh->nitems; i++) {
        int s = dh->items[i] & 0xff;
        dh->bits += dh->cl.len[s] + item_extra[s];
    }
}

static void dynamic_header_write(bitwriter *w, const dynamic_header *dh)
{
    put_bits(w, (uint32_t)(dh->hlit - 257), 5);
    put_bits(w, (uint32_t)(dh->hdist - 1), 5);
    put_bits(w, (uint32_t)(dh->hclen - 4), 4);
    for (int i = 0; i < dh->hclen; i++) put_bits(w, dh->cl.len[cl_order[i]], 3);
    for (int i = 0; i < dh->nitems; i++) {
        int s = dh->items[i] & 0xff, extra = dh->items[i] >> 8;
        put_bits(w, dh->cl.code[s], dh->cl.len[s]);
        if (s == 16) put_bits(w, (uint32_t)extra, 2);
        else if (s == 17) put_bits(w, (uint32_t)extra, 3);
        else if (s == 18) put_bits(w, (uint32_t)extra, 7);
    }
}

/* Bits the block's symbols take with these codes (extra bits included). */
static long symbols_cost(const deflater *d, const huffman *lit, const huffman *dist)
{
    long bits = lit->len[256];
    for (int i = 0; i < d->nsym; i++) {
        if (!d->sym_dist[i]) {
            bits += lit->len[d->sym_len[i]];
        } else {
            int lc = len_code(d, d->sym_len[i]), dc = dist_code(d, d->sym_dist[i]);
            bits += lit->len[257 + lc] + len_extra[lc] + dist->len[dc] + dist_extra[dc];
        }
    }
    return bits;
}

static void symbols_write(deflater *d, const huffman *lit, const huffman *dist)
{
    bitwriter *w = &d->w;
    for (int i = 0; i < d->nsym; i++) {
        if (!d->sym_dist[i]) {
            int s = d->sym_len[i];
            put_bits(w, lit->code[s], lit->len[s]);
        } else {
            int len = d->sym_len[i], dst = d->sym_dist[i];
            int lc = len_code(d, len), dc = dist_code(d, dst);
            put_bits(w, lit->code[257 + lc], lit->len[257 + lc]);
            if (len_extra[lc]) put_bits(w, (uint32_t)(len - len_base[lc]), len_extra[lc]);
            put_bits(w, dist->code[dc], dist->len[dc]);
            if (dist_extra[dc]) put_bits(w, (uint32_t)(dst - dist_base[dc]), dist_extra[dc]);
        }
    }
    put_bits(w, lit->code[256], lit->len[256]);
}

/* Emits the pending symbols (covering input [block_start, end)) as the
 * smallest of a dynamic, fixed or stored block. */
static void flush_block(deflater *d, size_t end, int final)
{
    uint32_t lf[LITLEN_CODES] = { 0 }, df[DIST_CODES] = { 0 };
    for (int i = 0; i < d->nsym; i++) {
        if (!d->sym_dist[i]) {
            lf[d->sym_len[i]]++;
        } else {
            lf[257 + len_code(d, d->sym_len[i])]++;
            df[dist_code(d, d->sym_dist[i])]++;
        }
    }
    lf[256] = 1;
    huffman dlit, ddist, flit, fdist;
    huffman_build(&dlit, lf, LITLEN_CODES, 15);
    huffman_build(&ddist, df, DIST_CODES, 15);
    huffman_fixed(&flit, &fdist);
    dynamic_header dh;
    dynamic_header_make(&dh, &dlit, &ddist);
    long dyn = 3 + dh.bits + symbols_cost(d, &dlit, &ddist);
    long fix = 3 + symbols_cost(d, &flit, &fdist);
    size_t raw = end - d->block_start;
    long stored = (long)((raw / 65535 + 1) * 5 * 8 + raw * 8) + 7;
    bitwriter *w = &d->w;
    if (stored < dyn && stored < fix) {
        size_t pos = d->block_start;
        do {
            size_t k = end - pos > 65535 ? 65535 : end - pos;
            int last = final && pos + k == end;
            put_bits(w, (uint32_t)last, 1);
            put_bits(w, 0, 2);
            flush_to_byte(w);
            uint8_t hdr[4] = { (uint8_t)k, (uint8_t)(k >> 8), (uint8_t)~k, (uint8_t)(~k >> 8) };
            put_bytes(w->out, hdr, 4);
            put_bytes(w->out, d->in + pos, k);
            pos += k;
        } while (pos < end);
    } else if (fix <= dyn) {
        put_bits(w, (uint32_t)final, 1);
        put_bits(w, 1, 2);
        symbols_write(d, &flit, &fdist);
    } else {
        put_bits(w, (uint32_t)final, 1);
        put_bits(w, 2, 2);
        dynamic_header_write(w, &dh);
        symbols_write(d, &dlit, &ddist);
    }
    d->nsym = 0;
    d->block_start = end;
}

static void emit(deflater *d, int len_or_byte, int dist, size_t end_after)
{
    d->sym_len[d->nsym] = (uint16_t)len_or_byte;
    d->sym_dist[d->nsym] = (uint16_t)dist;
    if (++d->nsym == BLOCK_SYMBOLS) flush_block(d, end_after, 0);
}

/* Appends a zlib stream (RFC 1950) of in[0..n) to out. */
static int zlib_compress(bytes *out, const uint8_t *in, size_t n, fer_err *e)
{
    deflater d;
    memset(&d, 0, sizeof d);
    d.in = in;
    d.n = n;
    d.head = malloc(sizeof *d.head << HASH_BITS);
    d.prev = malloc(sizeof *d.prev * WINDOW);
    d.sym_len = malloc(sizeof *d.sym_len * BLOCK_SYMBOLS);
    d.sym_dist = malloc(sizeof *d.sym_dist * BLOCK_SYMBOLS);
    if (!d.head || !d.prev || !d.sym_len || !d.sym_dist) {
        free(d.head); free(d.prev); free(d.sym_len); free(d.sym_dist);
        return fer_fail(e, "png: out of memory");
    }
    memset(d.head, 0xff, sizeof *d.head << HASH_BITS);
    memset(d.prev, 0xff, sizeof *d.prev * WINDOW);
    d.w.out = out;
    code_tables_init(&d.codes);
    uint8_t zhdr[2] = { 0x78, 0xda };   /* deflate, 32 KiB window, best compression */
    put_bytes(out, zhdr, 2);
    size_t pos = 0;
    while (pos < n) {
        int dist = 0, len = longest_match(&d, pos, &dist);
        if (len && len < 32 && pos + 1 < n) {   /* lazy: does the next byte start a longer match? */
            insert_pos(&d, pos);
            int dist2 = 0, len2 = longest_match(&d, pos + 1, &dist2);
            if (len2 > len) {
                emit(&d, in[pos], 0, pos + 1);
                pos++;
                len = len2;
                dist = dist2;
            } else {
                emit(&d, len, dist, pos + (size_t)len);
                for (size_t k = 1; k < (size_t)len; k++) insert_pos(&d, pos + k);
                pos += (size_t)len;
                continue;
            }
        }
        if (len) {
            emit(&d, len, dist, pos + (size_t)len);
            for (size_t k = 0; k < (size_t)len; k++) insert_pos(&d, pos + k);
            pos += (size_t)len;
        } else {
            insert_pos(&d, pos);
            emit(&d, in[pos], 0, pos + 1);
            pos++;
        }
    }
    flush_block(&d, n, 1);
    flush_to_byte(&d.w);
    put_u32be(out, adler32(in, n));
    free(d.head); free(d.prev); free(d.sym_len); free(d.sym_dist);
    return out->oom ? fer_fail(e, "png: out of memory") : 0;
}

/* ---- PNG ------------------------------------------------------------------ */

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Filters row y into out[0..stride] (out[0] = filter type) with the filter
 * whose bytes, read as signed, have the smallest sum of magnitudes. */
static void filter_row(const uint8_t *cur, const uint8_t *up, size_t stride, int bpp, uint8_t *out, uint8_t *tmp)
{
    long best = -1;
    for (int f = 0; f < 5; f++) {
        long sum = 0;
        for (size_t i = 0; i < stride; i++) {
            int a = i >= (size_t)bpp ? cur[i - bpp] : 0, b = up ? up[i] : 0;
            int c = up && i >= (size_t)bpp ? up[i - bpp] : 0, x = cur[i], v;
            switch (f) {
            case 0: v = x; break;
            case 1: v = x - a; break;
            case 2: v = x - b; break;
            case 3: v = x - ((a + b) >> 1); break;
            default: v = x - paeth(a, b, c); break;
            }
            tmp[i] = (uint8_t)v;
            sum += abs((int)(int8_t)(uint8_t)v);
        }
        if (best < 0 || sum < best) {
            best = sum;
            out[0] = (uint8_t)f;
            memcpy(out + 1, tmp, stride);
        }
    }
}

static void put_chunk(bytes *b, const crc_table *ct, const char *type, const uint8_t *data, size_t n)
{
    put_u32be(b, (uint32_t)n);
    size_t at = b->len;
    put_bytes(b, type, 4);
    if (n) put_bytes(b, data, n);
    if (b->oom) return;
    put_u32be(b, crc_update(ct, 0, b->p + at, n + 4));
}

int png_encode(const uint8_t *pixels, int w, int h, int channels, uint8_t **out, size_t *len, fer_err *e)
{
    static const uint8_t color_type[5] = { 0, 0, 4, 2, 6 };
    *out = NULL;
    *len = 0;
    if (w < 1 || h < 1 || w > 65535 || h > 65535 || channels < 1 || channels > 4)
        return fer_fail(e, "png: cannot encode %dx%d with %d channels (sides 1..65535, 1..4 channels)", w, h, channels);
    size_t stride = (size_t)w * channels;
    uint8_t *filtered = malloc((stride + 1) * (size_t)h);
    uint8_t *tmp = malloc(stride);
    if (!filtered || !tmp) {
        free(filtered);
        free(tmp);
        return fer_fail(e, "png: out of memory for %dx%d", w, h);
    }
    for (int y = 0; y < h; y++)
        filter_row(pixels + stride * y, y ? pixels + stride * (y - 1) : NULL, stride, channels,
                   filtered + (stride + 1) * y, tmp);
    free(tmp);
    bytes z = { 0 };
    if (zlib_compress(&z, filtered, (stride + 1) * (size_t)h, e)) {
        free(filtered);
        free(z.p);
        return -1;
    }
    free(filtered);
    crc_table ct;
    crc_table_init(&ct);
    bytes b = { 0 };
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    put_bytes(&b, sig, 8);
    uint8_t ihdr[13] = { (uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                         (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                         8, color_type[channels], 0, 0, 0 };
    put_chunk(&b, &ct, "IHDR", ihdr, 13);
    const size_t idat_max = 1 << 16;
    for (size_t at = 0; at < z.len; at += idat_max)
        put_chunk(&b, &ct, "IDAT", z.p + at, z.len - at < idat_max ? z.len - at : idat_max);
    put_chunk(&b, &ct, "IEND", NULL, 0);
    free(z.p);
    if (b.oom) {
        free(b.p);
        return fer_fail(e, "png: out of memory");
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

int png_write(const char *path, const uint8_t *pixels, int w, int h, int channels, fer_err *e)
{
    uint8_t *buf;
    size_t n;
    if (png_encode(pixels, w, h, channels, &buf, &n, e)) return -1;
    char tmp[4096];
    FILE *f = atomic_open(path, tmp, sizeof tmp, e);
    if (!f) {
        free(buf);
        return -1;
    }
    int ok = fwrite(buf, 1, n, f) == n;
    free(buf);
    if (!ok) {
        fclose(f);
        remove(tmp);
        return fer_fail(e, "%s: write error", path);
    }
    return atomic_close(f, tmp, path, e);
}
