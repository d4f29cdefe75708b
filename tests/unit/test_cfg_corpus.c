/* test_cfg_corpus.c - the cfg parser against a corpus of malformed and
 * valid files (argv[1], default tests/corpus), plus files generated here
 * that cannot live in the corpus (empty, binary, NUL bytes, 64 KB lines).
 *
 * bad_*.cfg: the first line is `# expect: TEXT`; net_from_cfg must fail,
 * return a NULL network, and give a message containing TEXT. When the second
 * line is `# line: N` the message must also contain `PATH:N:` (the file and
 * the offending line).
 * ok_*.cfg: `# expect: ok`; the file must build, and run forward and backward
 * at batch 2 with finite outputs. An optional `# types: a b c` line lists the
 * layer types the sections must resolve to (aliases included).
 * Other files in the directory are ignored. Last, warnings reach the
 * context's log hook. */
#include "check.h"
#include "engine/engine.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GEN "tests/out/corpus_gen/"
#define MIN_BAD_FILES 40

/* The value of a `# key: value` header line among the first lines of text,
 * copied into out; 0 when absent. */
static int header(const char *text, const char *key, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof pat, "# %s:", key);
    const char *p = text;
    for (int line = 0; line < 3 && *p; line++) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (!strncmp(p, pat, strlen(pat))) {
            const char *v = p + strlen(pat);
            while (*v == ' ') v++;
            size_t n = len - (size_t)(v - p);
            while (n && (v[n - 1] == '\r' || v[n - 1] == ' ')) n--;
            if (n >= cap) n = cap - 1;
            memcpy(out, v, n);
            out[n] = 0;
            return 1;
        }
        if (!eol) break;
        p = eol + 1;
    }
    return 0;
}

/* net_from_cfg must fail with `expect` in the message and, when line > 0,
 * with PATH:line: in it too. */
static void expect_failure(const char *path, const char *expect, int line)
{
    fer_err e;
    memset(&e, 0, sizeof e);
    static char sentinel;
    network *net = (network *)&sentinel;   /* must be reset to NULL on failure */
    int rc = net_from_cfg(&net, path, NULL, &e);
    CHECK(rc == -1, "%s: accepted (expected an error containing '%s')", path, expect);
    if (rc == 0) {
        net_free(net);
        return;
    }
    CHECK(net == NULL, "%s: the network pointer was not reset on failure", path);
    CHECK(strstr(e.msg, expect) != NULL, "%s: message '%s' lacks '%s'", path, e.msg, expect);
    CHECK(strlen(e.msg) < sizeof e.msg - 1, "%s: the message fills fer_err (%zu bytes) and was cut off", path,
          sizeof e.msg);
    if (line > 0) {
        char where[1100];
        snprintf(where, sizeof where, "%s:%d:", path, line);
        CHECK(strstr(e.msg, where) != NULL, "%s: message '%s' lacks '%s'", path, e.msg, where);
    }
    printf("  %-60s %s\n", path, e.msg);
}

static void expect_success(const char *path, const char *types)
{
    fer_err e;
    network *net;
    if (net_from_cfg(&net, path, NULL, &e)) {
        CHECK(0, "%s: rejected: %s", path, e.msg);
        return;
    }
    if (types) {
        char buf[1024], *save = NULL;
        snprintf(buf, sizeof buf, "%s", types);
        int i = 0;
        for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save), i++) {
            CHECK(i < net->n, "%s: %d layers, the types line lists more", path, net->n);
            if (i >= net->n) break;
            CHECK(!strcmp(net->layers[i].type->name, t), "%s: layer %d is [%s], expected [%s]", path, i,
                  net->layers[i].type->name, t);
        }
        CHECK(i == net->n, "%s: %d layers, the types line lists %d", path, net->n, i);
    }
    if (net_set_batch(net, 2, 1, &e)) {
        CHECK(0, "%s: net_set_batch: %s", path, e.msg);
        net_free(net);
        return;
    }
    rng r;
    rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)2 * net->inputs; i++) net->input[i] = rng_uniform(&r);
    for (size_t i = 0; i < (size_t)2 * net->classes; i++) net->truth[i] = i % (size_t)net->classes == 0;
    net->train = 1;
    net->has_truth = net->loss_layer >= 0;
    net_forward(net);
    net_zero_grads(net);
    net->want_dinput = 1;
    net_backward(net);
    int finite = 1;
    for (size_t i = 0; i < (size_t)2 * net->classes; i++) finite &= isfinite(net_output(net)[i]) != 0;
    for (size_t i = 0; i < net->n_param_floats; i++) finite &= isfinite(net->grads[i]) != 0;
    CHECK(finite, "%s: non-finite output or gradient", path);
    printf("  %-60s ok: %d layers, %d classes\n", path, net->n, net->classes);
    net_free(net);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static void run_corpus(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open the corpus directory %s", dir);
    if (!d) return;
    char *names[512];
    int n = 0;
    for (struct dirent *de; (de = readdir(d)) && n < 512;)
        if (ends_with(de->d_name, ".cfg") && (!strncmp(de->d_name, "bad_", 4) || !strncmp(de->d_name, "ok_", 3)))
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    int bad = 0, ok = 0;
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        fer_err e;
        size_t len;
        char *text = read_file(path, &len, &e);
        char expect[512], line[32], types[1024];
        if (!text || !header(text, "expect", expect, sizeof expect)) {
            CHECK(0, "%s: no '# expect:' first line", path);
        } else if (!strncmp(names[i], "ok_", 3)) {
            CHECK(!strcmp(expect, "ok"), "%s: an ok_ file must say '# expect: ok'", path);
            expect_success(path, header(text, "types", types, sizeof types) ? types : NULL);
            ok++;
        } else {
            int ln = header(text, "line", line, sizeof line) ? atoi(line) : 0;
            expect_failure(path, expect, ln);
            bad++;
        }
        free(text);
        free(names[i]);
    }
    printf("%s: %d bad and %d ok files\n", dir, bad, ok);
    CHECK(bad >= MIN_BAD_FILES, "only %d bad_*.cfg files in %s (at least %d expected)", bad, dir, MIN_BAD_FILES);
    CHECK(ok >= 1, "no ok_*.cfg files in %s", dir);
}

static const char *gen(const char *name, const void *data, size_t n)
{
    static char path[256];
    snprintf(path, sizeof path, GEN "%s", name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    if (f) {
        if (n) fwrite(data, 1, n, f);
        fclose(f);
    }
    return path;
}

/* Files that cannot carry a `# expect:` line or are too big to commit. */
static void run_generated(const char *self)
{
    mkdir("tests", 0755);
    mkdir("tests/out", 0755);
    mkdir(GEN, 0755);

    expect_failure(gen("empty.cfg", "", 0), "empty cfg (no sections)", 0);

    /* binary garbage with control characters (fixed bytes from an LCG) */
    unsigned char junk[600];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (unsigned char)(x >> 16);
        if (!junk[i]) junk[i] = 1;   /* NUL bytes get their own case */
    }
    expect_failure(gen("garbage_control.cfg", junk, sizeof junk), "control character", 0);
    /* high bytes only: no control characters, no newline */
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(0x80 | (junk[i] & 0x7f));
    expect_failure(gen("garbage_high.cfg", junk, sizeof junk), "key before the first [section]", 1);
    /* a valid start, then garbage on line 5 */
    char mixed[64] = "[net]\nwidth=5\nheight=5\nchannels=3\n\x01\x02\x03garbage\n";
    expect_failure(gen("garbage_line5.cfg", mixed, strlen(mixed)), "control character (byte 0x01)", 5);

    static const char nul[] = "[net]\nwidth=5\nheight=5\0\nchannels=3\n[connected]\noutput=2\n";
    expect_failure(gen("nul.cfg", nul, sizeof nul - 1), "NUL byte", 0);

    /* this test's own executable */
    expect_failure(self, self, 0);

    /* 64 KB lines: a key, a value, and a comment before an error */
    size_t big = 65536;
    char *text = malloc(big + 256);
    if (text) {
        int w = sprintf(text, "[net]\nwidth=5\nheight=5\nchannels=3\n[connected]\n");
        memset(text + w, 'k', big);
        strcpy(text + w + big, "=1\noutput=2\n");
        expect_failure(gen("long_key.cfg", text, strlen(text)), "unknown key 'kkkk", 6);

        w = sprintf(text, "[net]\nwidth=5\nheight=5\nchannels=3\n[connected]\noutput=");
        memset(text + w, '7', big);
        strcpy(text + w + big, "\n");
        expect_failure(gen("long_value.cfg", text, strlen(text)), "expected an integer", 6);

        w = sprintf(text, "[net]\nwidth=5\nheight=5\nchannels=3\n#");
        memset(text + w, 'c', big);
        strcpy(text + w + big, "\n[connected]\noutput=2\nbogus=1\n");
        expect_failure(gen("long_comment.cfg", text, strlen(text)), "unknown key 'bogus'", 8);

        w = sprintf(text, "[");
        memset(text + w, 's', big);
        strcpy(text + w + big, "]\n");
        expect_failure(gen("long_section.cfg", text, strlen(text)), "first section must be [net]", 1);
        free(text);
    }
    /* a file that does not exist, and a directory */
    expect_failure(GEN "no_such_file.cfg", "no_such_file.cfg", 0);
    expect_failure(GEN, GEN, 0);
}

/* What a log hook received. */
typedef struct captured {
    int n;
    int level[8];
    char msg[8][256];
} captured;

static void capture(void *user, int level, const char *msg)
{
    captured *c = user;
    if (c->n >= 8) return;
    c->level[c->n] = level;
    snprintf(c->msg[c->n], sizeof c->msg[0], "%s", msg);
    c->n++;
}

/* Warnings reach the context's log hook, one line each without a newline,
 * in the order of the sections; a context without a hook gets none. */
static void run_warnings(void)
{
    static const char text[] = "[net]\nwidth=4\nheight=4\nchannels=1\nhue=.1\n"
                               "[connected]\noutput=3\n[cost]\nscale=2\n[softmax]\n";
    fer_ctx *ctx;
    fer_err e;
    captured c = { 0 };
    CHECK(fer_ctx_new(&ctx, 1, NULL, &e) == 0, "fer_ctx_new: %s", e.msg);
    if (!ctx) return;
    fer_ctx_set_log(ctx, capture, &c, 0);
    network *net;
    CHECK(net_from_text(&net, "warn.cfg", text, ctx, &e) == 0, "warn.cfg: %s", e.msg);
    net_free(net);
    const char *want[] = {
        "warn.cfg:5: warning: [net] hue=.1: Darknet's training shifts each image's hue at random; training here will NOT",
        "warn.cfg:8: warning: [cost] is an identity in fer; the loss is the cross-entropy of the last [softmax]",
        "warn.cfg:9: warning: [cost] key 'scale' is not used here",
    };
    CHECK(c.n == 3, "%d warnings, expected 3", c.n);
    for (int i = 0; i < c.n && i < 3; i++) {
        CHECK(c.level[i] == FER_LOG_WARN, "warning %d: level %d", i, c.level[i]);
        CHECK(!strcmp(c.msg[i], want[i]), "warning %d: '%s', expected '%s'", i, c.msg[i], want[i]);
    }
    fer_ctx_set_log(ctx, NULL, NULL, 0);
    c.n = 0;
    CHECK(net_from_text(&net, "warn.cfg", text, ctx, &e) == 0, "warn.cfg without a hook: %s", e.msg);
    net_free(net);
    CHECK(c.n == 0, "a context without a hook still logged %d messages", c.n);
    fer_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* keep FAIL lines (stderr) next to their context */
    run_corpus(argc > 1 ? argv[1] : "tests/corpus");
    run_generated(argv[0]);
    run_warnings();
    return check_summary("test_cfg_corpus");
}
