/* test_weights.c - the Darknet .weights reader and writer: a bit-exact round
 * trip, partial save/load (`upto`), the old 32-bit `seen` header, atomic
 * saves (written to path.tmp and renamed; no .tmp left; a failed save leaves
 * the old file alone), and rejection with a clear message of truncated,
 * over-long, empty, tiny, wrong-version and non-finite files and of files
 * made for another cfg; fer's half-precision extension (the binary16
 * conversion over all 65,536 halves and at hand-computed rounding cases, a
 * half file's layout, load, partial load, truncation and overflow); a
 * shapes-only network (fer net, darknet-check) matches the full build and
 * holds no weights. Files go to tests/out/. */
#include "check.h"
#include "engine/engine.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT "tests/out/"

/* conv+bn+leaky, grouped strided conv with a PReLU slope (a fer extension
 * parameter), maxpool, connected+bn, a batchnorm layer, connected, softmax */
static const char cfg_a[] =
    "[net]\nwidth=8\nheight=8\nchannels=2\n"
    "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\ngroups=2\nactivation=prelu\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[connected]\noutput=6\nbatch_normalize=1\nactivation=relu\n"
    "[batchnorm]\n"
    "[connected]\noutput=3\nactivation=linear\n"
    "[softmax]\n";

/* the same but 5 filters in the first layer */
static const char cfg_wider[] =
    "[net]\nwidth=8\nheight=8\nchannels=2\n"
    "[convolutional]\nfilters=6\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\ngroups=2\nactivation=prelu\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[connected]\noutput=6\nbatch_normalize=1\nactivation=relu\n"
    "[batchnorm]\n"
    "[connected]\noutput=3\nactivation=linear\n"
    "[softmax]\n";

/* fewer outputs in the last layer */
static const char cfg_narrower[] =
    "[net]\nwidth=8\nheight=8\nchannels=2\n"
    "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\ngroups=2\nactivation=prelu\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[connected]\noutput=6\nbatch_normalize=1\nactivation=relu\n"
    "[batchnorm]\n"
    "[connected]\noutput=2\nactivation=linear\n"
    "[softmax]\n";

static network *build(const char *name, const char *text)
{
    fer_err e;
    network *net;
    if (net_from_text(&net, name, text, NULL, &e)) {
        CHECK(0, "%s: %s", name, e.msg);
        return NULL;
    }
    return net;
}

/* Every parameter random (rolling variances positive), so that nothing a
 * load leaves untouched can look loaded. */
static void randomize(network *net, uint64_t seed)
{
    net_init_weights(net, seed);
    rng r;
    rng_seed(&r, seed + 1);
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            param *p = &net->layers[i].params[j];
            int positive = !strcmp(p->name, "rolling_variance");
            for (size_t k = 0; k < p->n; k++)
                p->data[k] = positive ? 0.5f + rng_uniform(&r) : rng_normal(&r);
        }
}

static size_t layer_floats(const layer *l)
{
    size_t n = 0;
    for (int j = 0; j < l->n_params; j++) n += l->params[j].n;
    return n;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) ? -1 : (long)st.st_size;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

static unsigned char *slurp(const char *path, size_t *n)
{
    fer_err e;
    return (unsigned char *)read_file(path, n, &e);
}

static int write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return (fclose(f) != 0 || w != n) ? -1 : 0;
}

/* Loads path into a fresh network from text and expects failure with a
 * message containing every one of the NULL-terminated substrings. */
static void expect_load_error(const char *what, const char *text, const char *path, int upto, ...)
{
    network *net = build("expect.cfg", text);
    if (!net) return;
    fer_err e;
    e.msg[0] = 0;
    int rc = weights_load(net, path, upto, &e);
    printf("  %-22s -> %s\n", what, rc ? e.msg : "(accepted)");
    CHECK(rc == -1, "%s: weights_load accepted %s", what, path);
    va_list ap;
    va_start(ap, upto);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        CHECK(strstr(e.msg, s) != NULL, "%s: message '%s' lacks '%s'", what, e.msg, s);
    va_end(ap);
    net_free(net);
}

static void test_round_trip(void)
{
    fer_err e;
    const char *path = OUT "weights_roundtrip.weights";
    network *a = build("a.cfg", cfg_a), *b = build("a.cfg", cfg_a);
    if (!a || !b) { net_free(a); net_free(b); return; }
    randomize(a, 7);
    randomize(b, 99);
    a->seen = 123456789012ULL;
    CHECK(memcmp(a->params, b->params, a->n_param_floats * sizeof(float)) != 0, "two seeds gave the same weights");
    remove(path);
    CHECK(weights_save(a, path, -1, &e) == 0, "weights_save: %s", e.msg);
    CHECK(!exists(OUT "weights_roundtrip.weights.tmp"), "weights_save left %s.tmp behind", path);
    long expected = 20 + (long)(a->n_param_floats * sizeof(float));
    CHECK(file_size(path) == expected, "file is %ld bytes, expected 20 + 4 * %zu = %ld", file_size(path),
          a->n_param_floats, expected);
    size_t n;
    unsigned char *bytes = slurp(path, &n);
    if (bytes && n >= 20) {
        int32_t hdr[3];
        uint64_t seen;
        memcpy(hdr, bytes, 12);
        memcpy(&seen, bytes + 12, 8);
        CHECK(hdr[0] == 0 && hdr[1] == 2 && hdr[2] == 5, "header %d.%d.%d, expected 0.2.5", hdr[0], hdr[1], hdr[2]);
        CHECK(seen == 123456789012ULL, "seen %llu", (unsigned long long)seen);
        /* Darknet order: the first floats are layer 0's biases */
        CHECK(!memcmp(bytes + 20, a->layers[0].params[0].data, a->layers[0].params[0].n * sizeof(float)),
              "the file does not start with layer 0's %s", a->layers[0].params[0].name);
    }
    free(bytes);

    CHECK(weights_load(b, path, -1, &e) == 0, "weights_load: %s", e.msg);
    CHECK(memcmp(a->params, b->params, a->n_param_floats * sizeof(float)) == 0,
          "loaded parameters differ from the saved ones");
    CHECK(b->seen == 123456789012ULL, "seen %llu after load", (unsigned long long)b->seen);

    /* the same forward output, bit for bit, at inference */
    int batch = 3;
    if (net_set_batch(a, batch, 0, &e) || net_set_batch(b, batch, 0, &e)) {
        CHECK(0, "net_set_batch: %s", e.msg);
    } else {
        rng r;
        rng_seed(&r, 3);
        for (size_t i = 0; i < (size_t)batch * a->inputs; i++) a->input[i] = b->input[i] = rng_uniform(&r);
        a->train = b->train = 0;
        net_forward(a);
        net_forward(b);
        size_t no = (size_t)batch * a->classes;
        CHECK(memcmp(net_output(a), net_output(b), no * sizeof(float)) == 0,
              "forward outputs differ after a round trip");
        int any = 0;
        for (size_t i = 0; i < no; i++) any |= net_output(a)[i] != net_output(a)[0];
        CHECK(any, "forward output is constant; the round trip check is vacuous");
    }
    net_free(a);
    net_free(b);
}

static void test_partial(void)
{
    fer_err e;
    const char *full = OUT "weights_partial_full.weights", *part = OUT "weights_partial_2.weights";
    network *a = build("a.cfg", cfg_a), *b = build("a.cfg", cfg_a);
    if (!a || !b) { net_free(a); net_free(b); return; }
    randomize(a, 11);
    randomize(b, 12);
    CHECK(weights_save(a, full, -1, &e) == 0, "weights_save: %s", e.msg);
    CHECK(weights_save(a, part, 2, &e) == 0, "weights_save upto=2: %s", e.msg);
    size_t first2 = layer_floats(&a->layers[0]) + layer_floats(&a->layers[1]);
    CHECK(file_size(part) == (long)(20 + 4 * first2), "upto=2 file is %ld bytes, expected %zu", file_size(part),
          20 + 4 * first2);

    /* keep b's later layers to see that a partial load leaves them alone */
    size_t rest = b->n_param_floats - first2;
    float *b_rest = malloc(rest * sizeof *b_rest);
    if (b_rest) memcpy(b_rest, b->params + first2, rest * sizeof *b_rest);
    CHECK(weights_load(b, part, 2, &e) == 0, "weights_load upto=2: %s", e.msg);
    CHECK(memcmp(a->params, b->params, first2 * sizeof(float)) == 0, "upto=2 did not load layers 0 and 1");
    CHECK(b_rest && memcmp(b->params + first2, b_rest, rest * sizeof(float)) == 0,
          "upto=2 changed layers after layer 1");
    free(b_rest);

    /* a partial load from a full file reads only what it needs */
    network *c = build("a.cfg", cfg_a);
    if (c) {
        randomize(c, 13);
        CHECK(weights_load(c, full, 2, &e) == 0, "weights_load upto=2 from a full file: %s", e.msg);
        CHECK(memcmp(a->params, c->params, first2 * sizeof(float)) == 0, "upto=2 from a full file");
        net_free(c);
    }
    /* upto beyond the layer count means all layers */
    const char *big = OUT "weights_partial_big.weights";
    CHECK(weights_save(a, big, 1000, &e) == 0, "weights_save upto=1000: %s", e.msg);
    CHECK(file_size(big) == file_size(full), "upto=1000 wrote %ld bytes, a full save %ld", file_size(big),
          file_size(full));
    /* upto=0: the header only */
    const char *hdr = OUT "weights_partial_0.weights";
    CHECK(weights_save(a, hdr, 0, &e) == 0, "weights_save upto=0: %s", e.msg);
    CHECK(file_size(hdr) == 20, "upto=0 wrote %ld bytes", file_size(hdr));

    /* a full load of the partial file names the first missing layer (layer 2,
     * the maxpool, has no parameters) */
    char sz[32], need[32];
    snprintf(sz, sizeof sz, "has %ld bytes", file_size(part));
    snprintf(need, sizeof need, "expected %ld", file_size(full));
    expect_load_error("partial file, full load", cfg_a, part, -1, "truncated", "layer 3", sz, need, NULL);
    net_free(a);
    net_free(b);
}

/* Darknet before 0.2 wrote `seen` as 32 bits. */
static void test_old_header(void)
{
    fer_err e;
    const char *path = OUT "weights_v01.weights";
    network *a = build("a.cfg", cfg_a), *b = build("a.cfg", cfg_a);
    if (!a || !b) { net_free(a); net_free(b); return; }
    randomize(a, 21);
    size_t n = 16 + a->n_param_floats * sizeof(float);
    unsigned char *buf = malloc(n);
    if (buf) {
        int32_t hdr[3] = { 0, 1, 0 };
        uint32_t seen = 4242;
        memcpy(buf, hdr, 12);
        memcpy(buf + 12, &seen, 4);
        memcpy(buf + 16, a->params, a->n_param_floats * sizeof(float));
        CHECK(write_bytes(path, buf, n) == 0, "cannot write %s", path);
        CHECK(weights_load(b, path, -1, &e) == 0, "version 0.1 file: %s", e.msg);
        CHECK(b->seen == 4242, "seen %llu from a 32-bit counter", (unsigned long long)b->seen);
        CHECK(memcmp(a->params, b->params, a->n_param_floats * sizeof(float)) == 0, "version 0.1 parameters");
    }
    free(buf);
    net_free(a);
    net_free(b);
}

static void test_atomic(void)
{
    fer_err e;
    const char *path = OUT "weights_atomic.weights", *tmp = OUT "weights_atomic.weights.tmp";
    network *a = build("a.cfg", cfg_a);
    if (!a) return;
    randomize(a, 31);
    rmdir(tmp);
    remove(tmp);
    CHECK(write_bytes(path, "old contents", 12) == 0, "cannot write %s", path);
    CHECK(weights_save(a, path, -1, &e) == 0, "weights_save over an existing file: %s", e.msg);
    CHECK(file_size(path) == (long)(20 + 4 * a->n_param_floats), "the existing file was not replaced (%ld bytes)",
          file_size(path));
    CHECK(!exists(tmp), "%s left behind", tmp);

    /* a save that cannot write its temporary fails and keeps the old file */
    CHECK(write_bytes(path, "old contents", 12) == 0, "cannot write %s", path);
    CHECK(mkdir(tmp, 0755) == 0, "mkdir %s: %s", tmp, strerror(errno));
    e.msg[0] = 0;
    CHECK(weights_save(a, path, -1, &e) == -1, "weights_save succeeded although %s is a directory", tmp);
    CHECK(strstr(e.msg, "weights_atomic.weights") != NULL, "message '%s' does not name the file", e.msg);
    size_t n;
    unsigned char *old = slurp(path, &n);
    CHECK(old && n == 12 && !memcmp(old, "old contents", 12), "a failed save changed %s", path);
    free(old);
    rmdir(tmp);

    /* a directory that does not exist */
    e.msg[0] = 0;
    CHECK(weights_save(a, OUT "no/such/dir/w.weights", -1, &e) == -1, "weights_save into a missing directory");
    CHECK(strstr(e.msg, "no/such/dir") != NULL, "message '%s' does not name the path", e.msg);
    net_free(a);
}

static void test_rejections(void)
{
    fer_err e;
    const char *good = OUT "weights_good.weights";
    network *a = build("a.cfg", cfg_a);
    if (!a) return;
    randomize(a, 41);
    CHECK(weights_save(a, good, -1, &e) == 0, "weights_save: %s", e.msg);
    size_t n;
    unsigned char *bytes = slurp(good, &n);
    if (!bytes) { CHECK(0, "cannot read %s", good); net_free(a); return; }
    char buf[64], buf2[64];

    /* truncated inside layer 3 (connected): names the layer and the byte counts */
    size_t off3 = 20;
    for (int i = 0; i < 3; i++) off3 += 4 * layer_floats(&a->layers[i]);
    size_t cut = off3 + 10;
    const char *p = OUT "weights_truncated.weights";
    write_bytes(p, bytes, cut);
    snprintf(buf, sizeof buf, "has %zu bytes", cut);
    snprintf(buf2, sizeof buf2, "expected %zu", n);
    expect_load_error("truncated", cfg_a, p, -1, "truncated", "layer 3", "connected", buf, buf2, NULL);

    /* truncated inside the last float */
    p = OUT "weights_truncated_end.weights";
    write_bytes(p, bytes, n - 1);
    snprintf(buf, sizeof buf, "layer %d", a->n - 2);
    expect_load_error("one byte short", cfg_a, p, -1, "truncated", buf, NULL);

    /* extra bytes */
    p = OUT "weights_extra.weights";
    {
        unsigned char *longer = malloc(n + 8);
        if (longer) {
            memcpy(longer, bytes, n);
            memset(longer + n, 0, 8);
            write_bytes(p, longer, n + 8);
            free(longer);
        }
    }
    snprintf(buf, sizeof buf, "%zu bytes", n + 8);
    snprintf(buf2, sizeof buf2, "exactly %zu", n);
    expect_load_error("8 extra bytes", cfg_a, p, -1, buf, buf2, "8 extra", NULL);

    /* a file for another cfg: more parameters (truncated), fewer (extra).
     * The message must be about the size, not about whichever value the
     * misaligned read happens to trip over first. */
    expect_load_error("cfg with more filters", cfg_wider, good, -1, "truncated", "expected", NULL);
    expect_load_error("cfg with fewer outputs", cfg_narrower, good, -1, "extra", "another cfg", NULL);

    /* empty and tiny files */
    p = OUT "weights_empty.weights";
    write_bytes(p, "", 0);
    expect_load_error("empty file", cfg_a, p, -1, "0 bytes", "too short", NULL);
    p = OUT "weights_5.weights";
    write_bytes(p, "\1\2\3\4\5", 5);
    expect_load_error("5-byte file", cfg_a, p, -1, "5 bytes", "too short", NULL);
    p = OUT "weights_header_only.weights";
    write_bytes(p, bytes, 12);
    expect_load_error("no seen counter", cfg_a, p, -1, "seen", NULL);

    /* absurd versions: huge, negative, and a byte-swapped 0.2.5 */
    p = OUT "weights_version.weights";
    {
        unsigned char *bad = malloc(n);
        if (bad) {
            int32_t versions[][3] = { { 0x7fffffff, 2, 5 }, { -1, 2, 5 }, { 0, 0x02000000, 0x05000000 } };
            for (int v = 0; v < 3; v++) {
                memcpy(bad, bytes, n);
                memcpy(bad, versions[v], 12);
                write_bytes(p, bad, n);
                expect_load_error("absurd version", cfg_a, p, -1, "version", NULL);
            }
            /* NaN, Inf and a negative rolling variance in layer 3 */
            float nan = NAN, inf = INFINITY, neg = -1.0f;
            size_t at = off3 + 4 * 2;   /* layer 3's third bias */
            const float *vals[] = { &nan, &inf };
            for (int v = 0; v < 2; v++) {
                memcpy(bad, bytes, n);
                memcpy(bad + at, vals[v], 4);
                write_bytes(p, bad, n);
                snprintf(buf, sizeof buf, "byte %zu", at);
                expect_load_error(v ? "Inf in a weight" : "NaN in a weight", cfg_a, p, -1, "layer 3", "not a finite",
                                  buf, NULL);
            }
            /* layer 0: biases, scales, rolling_mean, rolling_variance, weights */
            memcpy(bad, bytes, n);
            size_t var0 = 20 + 4 * (3 * a->layers[0].params[0].n);
            memcpy(bad + var0, &neg, 4);
            write_bytes(p, bad, n);
            expect_load_error("negative variance", cfg_a, p, -1, "rolling_variance", "negative", NULL);
            free(bad);
        }
    }

    /* a missing file, and a directory */
    expect_load_error("missing file", cfg_a, OUT "no_such.weights", -1, "no_such.weights", NULL);
    network *d = build("a.cfg", cfg_a);
    if (d) {
        e.msg[0] = 0;
        int rc = weights_load(d, OUT, -1, &e);
        printf("  %-22s -> %s\n", "a directory", rc ? e.msg : "(accepted)");
        CHECK(rc == -1, "weights_load accepted a directory");
        CHECK(strstr(e.msg, "tests/out/") && !strstr(e.msg, "9223372036854775807"),
              "a directory: message '%s' should name it and not claim a size", e.msg);
        net_free(d);
    }
    free(bytes);
    net_free(a);
}

/* binary16 against its definition: every half widens to the float it
 * denotes and narrows back to itself; rounding cases computed by hand. */
static void test_half_conversion(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
        float v = half_to_float((uint16_t)h);
        if (e == 31 && m) {
            bad += !isnan(v) || (half_from_float(v) & 0x7c00) != 0x7c00 || !(half_from_float(v) & 0x3ff);
            continue;
        }
        double want = e == 31 ? INFINITY : e == 0 ? ldexp(m, -24) : ldexp(1024 + m, (int)e - 25);
        if (h & 0x8000) want = -want;
        if ((double)v != want || half_from_float(v) != h) {
            if (bad++ < 5) CHECK(0, "half 0x%04x -> %g (want %g) -> 0x%04x", h, v, want, half_from_float(v));
        }
    }
    CHECK(bad == 0, "%d of 65536 halves do not round-trip", bad);
    static const struct {
        float v;
        uint16_t h;
    } cases[] = {
        { 1.0f, 0x3c00 },         { -2.0f, 0xc000 },          { 1.0f / 3, 0x3555 },
        { 65504.0f, 0x7bff },     { 65519.99f, 0x7bff },      { 65520.0f, 0x7c00 },
        { 1.0f + 0x1p-11f, 0x3c00 },                          /* a tie: to the even 1.0 */
        { 1.0f + 0x3p-11f, 0x3c02 },                          /* a tie: to the even 1+2^-9 */
        { 1.0f + 0x1p-11f + 0x1p-20f, 0x3c01 },               /* just above the tie */
        { 0x1p-14f, 0x0400 },     { 0x1p-24f, 0x0001 },       { 0x1p-25f, 0x0000 },   /* a tie: to 0 */
        { 0x3p-25f, 0x0002 },     { 0x1.8p-24f, 0x0002 },     { 0x1p-25f + 0x1p-40f, 0x0001 },
        { 0x1.ffcp-15f, 0x0400 }, /* rounds up out of the subnormals */
        { 1e-30f, 0x0000 },       { -1e-30f, 0x8000 },        { 0x1p-140f, 0x0000 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(half_from_float(cases[i].v) == cases[i].h, "half_from_float(%a) = 0x%04x, want 0x%04x", cases[i].v,
              half_from_float(cases[i].v), cases[i].h);
    printf("  half conversion: 65536 halves round-trip, %zu rounding cases\n", sizeof cases / sizeof cases[0]);
}

static void test_half_files(void)
{
    network *a = build("a.cfg", cfg_a), *b = build("b.cfg", cfg_a);
    if (!a || !b) return;
    randomize(a, 5);
    a->seen = 777;
    fer_err e;
    const char *path = OUT "weights_half.weights";
    CHECK(weights_save_as(a, path, -1, 1, &e) == 0, "weights_save_as half: %s", e.msg);
    CHECK(file_size(path) == (long)(20 + 2 * a->n_param_floats), "half file is %ld bytes, expected 20 + 2 * %zu",
          file_size(path), a->n_param_floats);
    size_t n;
    unsigned char *bytes = slurp(path, &n);
    if (bytes && n >= 22) {
        CHECK(!memcmp(bytes + 8, "f16", 4), "the revision field is not \"f16\\0\"");
        uint16_t h0;
        memcpy(&h0, bytes + 20, 2);
        CHECK(h0 == half_from_float(a->layers[0].params[0].data[0]), "first value 0x%04x", h0);
    }
    free(bytes);
    CHECK(weights_load(b, path, -1, &e) == 0, "weights_load half: %s", e.msg);
    CHECK(b->seen == 777, "seen %llu", (unsigned long long)b->seen);
    int exact = 1;
    double worst = 0;
    for (size_t k = 0; k < a->n_param_floats; k++) {
        float want = half_to_float(half_from_float(a->params[k]));
        exact &= b->params[k] == want;
        double rel = fabs((double)b->params[k] - a->params[k]) / fmax(fabs(a->params[k]), 0x1p-14);
        if (rel > worst) worst = rel;
    }
    CHECK(exact, "a loaded half file differs from the rounded values");
    CHECK(worst <= 0x1p-11 * 1.0001, "relative rounding error %g > 2^-11", worst);
    /* saved again as float, then as half: the same bytes (rounding is idempotent) */
    const char *again = OUT "weights_half2.weights";
    CHECK(weights_save_as(b, again, -1, 1, &e) == 0, "weights_save_as half again: %s", e.msg);
    size_t n2;
    unsigned char *b1 = slurp(path, &n), *b2 = slurp(again, &n2);
    CHECK(b1 && b2 && n == n2 && !memcmp(b1, b2, n), "half -> load -> half is not byte-identical");
    free(b1);
    free(b2);
    /* a partial half file (fer partial of a half model) loads its layers */
    const char *part = OUT "weights_half_part.weights";
    CHECK(weights_save_as(a, part, 2, 1, &e) == 0, "half upto=2: %s", e.msg);
    network *c = build("c.cfg", cfg_a);
    if (c) {
        CHECK(weights_load(c, part, 2, &e) == 0, "half upto=2 load: %s", e.msg);
        CHECK(!memcmp(c->params, b->params, (layer_floats(&a->layers[0]) + layer_floats(&a->layers[1])) * 4),
              "half upto=2 loaded other values");
        net_free(c);
    }
    /* truncated by one byte: the layer and the sizes are named */
    bytes = slurp(path, &n);
    if (bytes) {
        const char *cut = OUT "weights_half_cut.weights";
        write_bytes(cut, bytes, n - 1);
        expect_load_error("half truncated", cfg_a, cut, -1, cut, "truncated at layer", NULL);
        /* a float file that claims to be half: wrong size for the cfg */
        free(bytes);
    }
    /* a value a half cannot hold: refused, and no file written */
    const char *over = OUT "weights_half_over.weights";
    remove(over);
    a->layers[0].params[0].data[3] = 70000.0f;
    e.msg[0] = 0;
    CHECK(weights_save_as(a, over, -1, 1, &e) == -1, "a value of 70000 was saved as a half");
    CHECK(strstr(e.msg, "does not fit a half") != NULL, "message: %s", e.msg);
    CHECK(!exists(over), "a refused half save left %s", over);
    printf("  half files: 20 + 2 bytes per value, worst relative error %.3g, partial, truncation, overflow\n", worst);
    net_free(a);
    net_free(b);
}

/* A shapes-only network (fer net, darknet-check) has every layer's shapes,
 * parameter counts and FLOPs of the full build, and refuses to load weights
 * or to take a batch. On the cfgs here and on resnet50.cfg, whose full
 * build holds ~190 MB of parameters and gradients. */
static void test_shapes_only(void)
{
    const char *path = OUT "weights_shapes.cfg";
    CHECK(write_bytes(path, cfg_a, sizeof cfg_a - 1) == 0, "write %s", path);
    const char *cfgs[] = { path, "cfg/resnet50.cfg", "cfg/vgg_fer.cfg" };
    /* a valid file for the first cfg; the others refuse before reading it */
    const char *wpath = OUT "weights_shapes.weights";
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        fer_err e;
        network *full = NULL, *shape = NULL;
        CHECK(net_from_cfg(&full, cfgs[k], NULL, &e) == 0, "%s: %s", cfgs[k], e.msg);
        CHECK(net_shapes_from_cfg(&shape, cfgs[k], NULL, &e) == 0, "%s shapes: %s", cfgs[k], e.msg);
        if (!full || !shape) { net_free(full); net_free(shape); continue; }
        CHECK(shape->n == full->n && shape->classes == full->classes && shape->inputs == full->inputs,
              "%s: %d layers, %d classes vs %d, %d", cfgs[k], shape->n, shape->classes, full->n, full->classes);
        int same = 1;
        for (int i = 0; i < full->n && i < shape->n; i++) {
            const layer *a = &full->layers[i], *b = &shape->layers[i];
            if (a->type != b->type || a->w != b->w || a->h != b->h || a->c != b->c || a->out_w != b->out_w ||
                a->out_h != b->out_h || a->out_c != b->out_c || a->flops != b->flops || a->n_params != b->n_params)
                same = 0;
        }
        CHECK(same, "%s: some layer differs", cfgs[k]);
        CHECK(net_count_params(shape, 0) == net_count_params(full, 0) &&
              net_count_params(shape, 1) == net_count_params(full, 1) && net_flops(shape) == net_flops(full),
              "%s: %zu parameters vs %zu", cfgs[k], net_count_params(shape, 0), net_count_params(full, 0));
        CHECK(shape->params == NULL && shape->act_block == NULL, "%s: the shapes-only net holds memory", cfgs[k]);
        if (k == 0) CHECK(weights_save(full, wpath, -1, &e) == 0, "save: %s", e.msg);
        e.msg[0] = 0;
        CHECK(weights_load(shape, wpath, -1, &e) == -1 && strstr(e.msg, "shapes only"), "%s: load: %s", cfgs[k],
              e.msg);
        e.msg[0] = 0;
        CHECK(net_set_batch(shape, 1, 0, &e) == -1 && strstr(e.msg, "shapes only"), "%s: set_batch: %s", cfgs[k],
              e.msg);
        net_free(full);
        net_free(shape);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* keep FAIL lines (stderr) next to their context */
    mkdir("tests", 0755);
    mkdir("tests/out", 0755);
    test_round_trip();
    test_partial();
    test_old_header();
    test_atomic();
    test_rejections();
    test_half_conversion();
    test_half_files();
    test_shapes_only();
    return check_summary("test_weights");
}
