/* test_train.c - unit tests of the training pieces: dataset sources agree,
 * malformed CSV rows are rejected with file:line, augmentation identities,
 * optimizer steps against hand-computed values, learning-rate policies. */
#include "check.h"
#include "train/train.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *dir = "tests/out/train_unit";

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static data_cfg labels7(void)
{
    data_cfg d;
    fer_err e;
    char path[256];
    snprintf(path, sizeof path, "%s/seven.data", dir);
    char labels[256];
    snprintf(labels, sizeof labels, "%s/seven.labels", dir);
    write_text(labels, "angry\ndisgust\nfear\nhappy\nsad\nsurprise\nneutral\n");
    char text[512];
    snprintf(text, sizeof text, "classes=7\nlabels=%s\n", labels);
    write_text(path, text);
    if (data_cfg_read(&d, path, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    return d;
}

/* A CSV of 3 images, and the same images as PGM files in a folder tree and a list. */
static void test_sources_agree(void)
{
    data_cfg d = labels7();
    fer_err e;
    char csv[256], list[256], root[256];
    snprintf(csv, sizeof csv, "%s/small.csv", dir);
    snprintf(root, sizeof root, "%s/folder", dir);
    snprintf(list, sizeof list, "%s/list.txt", dir);
    mkdir(root, 0777);
    FILE *f = fopen(csv, "w"), *lf = fopen(list, "w");
    fprintf(f, "emotion,pixels,Usage\n");
    int labels[3] = { 3, 0, 6 };
    for (int i = 0; i < 3; i++) {
        fprintf(f, "%d,", labels[i]);
        char sub[512], img[600];
        snprintf(sub, sizeof sub, "%s/%s", root, d.names[labels[i]]);
        mkdir(sub, 0777);
        snprintf(img, sizeof img, "%s/img%d.pgm", sub, i);
        FILE *p = fopen(img, "wb");
        fprintf(p, "P5\n48 48\n255\n");
        for (int k = 0; k < 48 * 48; k++) {
            int v = (k * 7 + i * 31 + (k / 48) * 3) % 256;
            fprintf(f, "%s%d", k ? " " : "", v);
            fputc(v, p);
        }
        fclose(p);
        fprintf(f, ",Training\n");
        fprintf(lf, "%s\n", img);
    }
    fprintf(f, "5,");
    for (int k = 0; k < 48 * 48; k++) fprintf(f, "%s1", k ? " " : "");
    fprintf(f, ",PublicTest\n");
    fclose(f);
    fclose(lf);
    dataset a, b, c;
    CHECK(dataset_load(&a, csv, "Training", &d, 48, 48, 1, &e) == 0, "%s", e.msg);
    CHECK(dataset_load(&b, root, NULL, &d, 48, 48, 1, &e) == 0, "%s", e.msg);
    CHECK(dataset_load(&c, list, NULL, &d, 48, 48, 1, &e) == 0, "%s", e.msg);
    CHECK(a.n == 3 && b.n == 3 && c.n == 3, "counts %d %d %d", a.n, b.n, c.n);
    /* the folder loader orders by class; match images by label */
    for (int i = 0; i < 3 && a.n == 3 && b.n == 3 && c.n == 3; i++) {
        int j = -1;
        for (int k = 0; k < 3; k++) if (b.labels[k] == a.labels[i]) j = k;
        CHECK(j >= 0 && !memcmp(a.pixels + (size_t)i * 2304, b.pixels + (size_t)j * 2304, 2304), "csv vs folder image %d", i);
        CHECK(c.labels[i] == a.labels[i] && !memcmp(a.pixels + (size_t)i * 2304, c.pixels + (size_t)i * 2304, 2304),
              "csv vs list image %d", i);
    }
    dataset p;
    CHECK(dataset_load(&p, csv, "PublicTest", &d, 48, 48, 1, &e) == 0 && p.n == 1 && p.labels[0] == 5, "PublicTest row");
    dataset_free(&p);
    dataset_free(&a);
    dataset_free(&b);
    dataset_free(&c);
    /* a list entry whose label would only match as a substring is rejected */
    char bad[256];
    snprintf(bad, sizeof bad, "%s/badlist.txt", dir);
    write_text(bad, "tests/out/train_unit/folder/happyish/x.pgm\n");
    CHECK(dataset_load(&p, bad, NULL, &d, 48, 48, 1, &e) != 0 && strstr(e.msg, "badlist.txt:1:"), "%s", e.msg);
    /* a missing image: the list's file and line, and the image's path */
    write_text(bad, "# comment\n\ntests/out/train_unit/folder/happy/no_such.pgm\n");
    CHECK(dataset_load(&p, bad, NULL, &d, 48, 48, 1, &e) != 0 && strstr(e.msg, "badlist.txt:3:") &&
              strstr(e.msg, "no_such.pgm"), "missing image: %s", e.msg);
    data_cfg_free(&d);
}

static void expect_csv_error(const char *body, const char *needle)
{
    data_cfg d = labels7();
    fer_err e = { "" };
    char csv[256];
    snprintf(csv, sizeof csv, "%s/bad.csv", dir);
    write_text(csv, body);
    dataset ds;
    int rc = dataset_load(&ds, csv, "Training", &d, 48, 48, 1, &e);
    CHECK(rc != 0 && strstr(e.msg, needle), "expected '%s', got '%s'", needle, e.msg);
    if (!rc) dataset_free(&ds);
    data_cfg_free(&d);
}

static void test_csv_errors(void)
{
    char row[8192];
    char *p = row;
    p += sprintf(p, "emotion,pixels,Usage\n3,");
    for (int k = 0; k < 2303; k++) p += sprintf(p, "%s5", k ? " " : "");
    sprintf(p, ",Training\n");
    expect_csv_error(row, "bad.csv:2: 2303 pixels");
    expect_csv_error("emotion,pixels,Usage\n9,1 2 3,Training\n", "bad.csv:2: label");
    expect_csv_error("emotion,pixels,Usage\nx,1 2 3,Training\n", "bad.csv:2:");
    expect_csv_error("emotion,pixels,Usage\n3,1 2 300,Training\n", "bad.csv:2: pixel 3");
    expect_csv_error("emotion,pixels,Usage\n3,1 2 3\n", "bad.csv:2: expected 3 fields");
    expect_csv_error("name,data\n", "bad.csv:1:");
    /* a malformed Usage is an error even on a row of another split */
    expect_csv_error("emotion,pixels,Usage\n3,1 2 3,PublicTest,extra\n", "bad.csv:2: the Usage field");
    expect_csv_error("emotion,pixels,Usage\n3,1 2 3,\n", "bad.csv:2: the Usage field");
    expect_csv_error("emotion,pixels,Usage\n3,1 2 3,\"Training\"\n", "bad.csv:2: the Usage field");
    data_cfg d = labels7();
    fer_err e;
    dataset ds;
    CHECK(dataset_load(&ds, "tests/out/train_unit/missing.csv", "Training", &d, 48, 48, 1, &e) != 0 &&
              strstr(e.msg, "missing.csv"), "%s", e.msg);
    data_cfg_free(&d);
}

static void test_augment(void)
{
    dataset ds = { 0 };
    ds.n = 1; ds.w = 12; ds.h = 10; ds.c = 1; ds.classes = 7;
    ds.pixels = malloc(120);
    ds.labels = calloc(1, sizeof(int));
    for (int i = 0; i < 120; i++) ds.pixels[i] = (uint8_t)(i * 37 % 251);
    net_options o;
    memset(&o, 0, sizeof o);
    rng r;
    rng_seed(&r, 3);
    float a[120], b[120], c[120];
    /* test view without crop = identity */
    augment_sample(&ds, 0, &o, 0, 0, &r, a, 12, 10);
    int same = 1;
    for (int i = 0; i < 120; i++) same &= fabsf(a[i] - ds.pixels[i] / 255.0f) < 1e-6f;
    CHECK(same, "test-time view is the image");
    /* training with all ranges 0 is the identity too (rotate 0, scale 0, translate 0) */
    augment_sample(&ds, 0, &o, 1, 0, &r, b, 12, 10);
    CHECK(!memcmp(a, b, sizeof a), "zero augmentation = identity");
    /* flip: mirrored, and flipping twice restores */
    augment_sample(&ds, 0, &o, 0, 1, &r, b, 12, 10);
    int mirrored = 1;
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 12; x++) mirrored &= fabsf(b[y * 12 + x] - a[y * 12 + 11 - x]) < 1e-6f;
    CHECK(mirrored, "flip mirrors");
    dataset ds2 = ds;
    uint8_t flipped[120];
    for (int i = 0; i < 120; i++) flipped[i] = (uint8_t)(b[i] * 255.0f + 0.5f);
    ds2.pixels = flipped;
    augment_sample(&ds2, 0, &o, 0, 1, &r, c, 12, 10);
    CHECK(!memcmp(a, c, sizeof a), "flip twice = identity");
    /* fixed seed = fixed output with every augmentation on */
    o.flip = 0.5f; o.angle = 15; o.scale = 0.2f; o.translate = 0.1f; o.erase = 0.5f; o.brightness = 0.1f; o.contrast = 0.2f;
    rng r1, r2;
    rng_seed(&r1, 77);
    rng_seed(&r2, 77);
    augment_sample(&ds, 0, &o, 1, 0, &r1, b, 12, 10);
    augment_sample(&ds, 0, &o, 1, 0, &r2, c, 12, 10);
    CHECK(!memcmp(b, c, sizeof b), "same seed, same augmentation");
    int differs = 0;
    for (int k = 0; k < 5; k++) {
        augment_sample(&ds, 0, &o, 1, 0, &r1, c, 12, 10);
        differs |= memcmp(b, c, sizeof b) != 0;
    }
    CHECK(differs, "augmentation changes the image");
    for (int i = 0; i < 120; i++) CHECK(c[i] >= 0 && c[i] <= 1, "pixel %d = %g out of [0,1]", i, c[i]);
    /* crop: the test view is the center */
    memset(&o, 0, sizeof o);
    o.crop = 8;
    augment_sample(&ds, 0, &o, 0, 0, &r, b, 8, 8);
    CHECK(fabsf(b[0] - ds.pixels[1 * 12 + 2] / 255.0f) < 1e-6f, "center crop origin (2,1)");
    free(ds.pixels);
    free(ds.labels);
}

/* mixup and CutMix (augment_mix): nothing is drawn when both are off; a
 * mixed image is exactly keep * its own + (1 - keep) * the other's (mixup)
 * or the other's inside one box whose area is 1 - keep (CutMix, which wins
 * when both are on); Darknet's ratios without alpha (1/2; box sides 30-80%),
 * Beta(alpha, alpha) with it (mean 1/2, variance 1/(4(2 alpha + 1)));
 * mix_prob is how often an image is mixed. Images are constant planes of
 * distinct values, so each pixel tells which image it came from. */
static void mix_case(const dataset *ds, const net_options *o, rng *r, float *keep, int *other, int *pasted,
                    int *box_w, int *box_h, int *exact)
{
    float out[6 * 5], scratch[6 * 5];
    augment_sample(ds, 0, o, 1, 0, r, out, 6, 5);
    *keep = augment_mix(ds, o, r, out, scratch, 6, 5, other);
    float own = ds->pixels[0] / 255.0f, them = *other >= 0 ? ds->pixels[(size_t)*other * 30] / 255.0f : own;
    int x0 = 6, y0 = 5, x1 = -1, y1 = -1;
    *pasted = 0;
    *exact = 1;
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 6; x++) {
            float v = out[y * 6 + x];
            if (!o->cutmix) {
                *exact &= fabsf(v - (*keep * own + (1 - *keep) * them)) < 1e-6f;
                continue;
            }
            if (fabsf(v - own) < 1e-6f) continue;
            *exact &= fabsf(v - them) < 1e-6f;
            (*pasted)++;
            if (x < x0) x0 = x;
            if (y < y0) y0 = y;
            if (x > x1) x1 = x;
            if (y > y1) y1 = y;
        }
    *box_w = *pasted ? x1 - x0 + 1 : 0;
    *box_h = *pasted ? y1 - y0 + 1 : 0;
    if (*pasted) *exact &= *pasted == *box_w * *box_h;   /* one rectangle */
}

static void test_mix(void)
{
    dataset ds = { 0 };
    ds.n = 4; ds.w = 6; ds.h = 5; ds.c = 1; ds.classes = 7;
    ds.pixels = malloc(4 * 30);
    ds.labels = calloc(4, sizeof(int));
    for (int i = 0; i < 4; i++) memset(ds.pixels + i * 30, 40 + 60 * i, 30);
    net_options o;
    memset(&o, 0, sizeof o);
    o.mix_prob = 1;
    rng r, before;
    rng_seed(&r, 5);
    before = r;
    float out[30], scratch[30], keep;
    int other, pasted, bw, bh, exact;
    keep = augment_mix(&ds, &o, &r, out, scratch, 6, 5, &other);
    CHECK(keep == 1 && other == -1 && !memcmp(&r, &before, sizeof r), "off: keep %g, other %d, rng moved", keep,
          other);
    /* Darknet's mixup: half and half */
    o.mixup = 1;
    int mixed = 0, exact_all = 1;
    for (int k = 0; k < 200; k++) {
        mix_case(&ds, &o, &r, &keep, &other, &pasted, &bw, &bh, &exact);
        mixed += other >= 0;
        exact_all &= exact && keep == 0.5f && other < 4;
    }
    CHECK(mixed == 200 && exact_all, "mixup, mix_prob 1: %d of 200 mixed, every one 1/2 own + 1/2 other: %d", mixed,
          exact_all);
    /* Beta(alpha, alpha), alpha 0.4 and a tiny 0.02 */
    float alphas[2] = { 0.4f, 0.02f };
    for (int a = 0; a < 2; a++) {
        o.mixup_alpha = alphas[a];
        double sum = 0, sq = 0;
        int n = 4000, in_range = 1;
        exact_all = 1;
        for (int k = 0; k < n; k++) {
            mix_case(&ds, &o, &r, &keep, &other, &pasted, &bw, &bh, &exact);
            in_range &= keep >= 0 && keep <= 1;
            exact_all &= exact;
            sum += keep;
            sq += (double)keep * keep;
        }
        double mean = sum / n, var = sq / n - mean * mean, want = 1 / (4 * (2 * alphas[a] + 1.0));
        CHECK(in_range && exact_all, "mixup_alpha %g: ratios in [0,1] (%d), images blended by them (%d)", alphas[a],
              in_range, exact_all);
        CHECK(fabs(mean - 0.5) < 0.03, "mixup_alpha %g: mean ratio %g, expected 1/2", alphas[a], mean);
        CHECK(fabs(var - want) < 0.1 * want, "mixup_alpha %g: variance %g, expected %g", alphas[a], var, want);
    }
    /* Darknet's CutMix (and CutMix wins over mixup) */
    o.cutmix = 1;
    int sides_ok = 1, area_ok = 1;
    exact_all = 1;
    for (int k = 0; k < 500; k++) {
        mix_case(&ds, &o, &r, &keep, &other, &pasted, &bw, &bh, &exact);
        exact_all &= exact;
        if (other == 0) continue;   /* pasted onto itself: nothing to see */
        area_ok &= fabsf(keep - (1 - pasted / 30.0f)) < 1e-6f;
        sides_ok &= bw >= 1 && bw <= 4 && bh >= 1 && bh <= 4;   /* 30-80% of 6 and of 5 */
    }
    CHECK(exact_all && area_ok && sides_ok, "cutmix: one box of the other image (%d), keep = 1 - its area (%d), "
          "Darknet's sides (%d)", exact_all, area_ok, sides_ok);
    /* CutMix with alpha: the mean kept area is over 1/2 (boxes clipped at the borders) */
    o.cutmix_alpha = 1;
    double sum = 0;
    area_ok = 1;
    exact_all = 1;
    int n = 0;
    for (int k = 0; k < 2000; k++) {
        mix_case(&ds, &o, &r, &keep, &other, &pasted, &bw, &bh, &exact);
        exact_all &= exact;
        if (other == 0) continue;
        area_ok &= fabsf(keep - (1 - pasted / 30.0f)) < 1e-6f;
        sum += keep;
        n++;
    }
    CHECK(exact_all && area_ok && sum / n > 0.5 && sum / n < 0.9, "cutmix_alpha 1: boxes %d, areas %d, mean keep %g",
          exact_all, area_ok, sum / n);
    /* mix_prob: how often */
    o.mix_prob = 0.3f;
    mixed = 0;
    for (int k = 0; k < 4000; k++) {
        mix_case(&ds, &o, &r, &keep, &other, &pasted, &bw, &bh, &exact);
        mixed += other >= 0;
    }
    CHECK(fabs(mixed / 4000.0 - 0.3) < 0.03, "mix_prob 0.3: %d of 4000 mixed", mixed);
    /* a fixed seed gives a fixed mix */
    o.mix_prob = 1;
    rng r1, r2;
    rng_seed(&r1, 9);
    rng_seed(&r2, 9);
    float a1[30], a2[30];
    int o1, o2;
    augment_sample(&ds, 1, &o, 1, 0, &r1, a1, 6, 5);
    augment_sample(&ds, 1, &o, 1, 0, &r2, a2, 6, 5);
    float k1 = augment_mix(&ds, &o, &r1, a1, scratch, 6, 5, &o1), k2 = augment_mix(&ds, &o, &r2, a2, scratch, 6, 5, &o2);
    CHECK(k1 == k2 && o1 == o2 && !memcmp(a1, a2, sizeof a1), "same seed, same mix");
    free(ds.pixels);
    free(ds.labels);
}

static const char opt_cfg[] =
    "[net]\nwidth=1\nheight=1\nchannels=2\nlearning_rate=0.1\nmomentum=0.9\ndecay=0.01\n%s\n"
    "[connected]\noutput=1\nactivation=linear\n";

static void test_optimizers(void)
{
    const char *extra[] = { "", "nesterov=1", "optimizer=adam", "optimizer=adamw" };
    for (int v = 0; v < 4; v++) {
        char text[512];
        snprintf(text, sizeof text, opt_cfg, extra[v]);
        network *net;
        fer_err e;
        if (net_from_text(&net, "opt.cfg", text, NULL, &e)) {
            CHECK(0, "%s", e.msg);
            continue;
        }
        optimizer opt;
        optimizer_init(&opt, net, &e);
        param *b = &net->layers[0].params[0], *w = &net->layers[0].params[1];
        b->data[0] = 0.5f; w->data[0] = 1.0f; w->data[1] = -2.0f;
        /* two steps with gradients g1 then g2, checked against hand computation */
        float g1[3] = { 0.2f, 0.4f, -0.6f }, g2[3] = { -0.1f, 0.3f, 0.5f };
        double x[3] = { 0.5, 1.0, -2.0 }, m[3] = { 0 }, s[3] = { 0 };
        for (int step = 0; step < 2; step++) {
            const float *g = step ? g2 : g1;
            b->grad[0] = g[0]; w->grad[0] = g[1]; w->grad[1] = g[2];
            optimizer_step(&opt, net, 0.1f, 1.0f);
            for (int k = 0; k < 3; k++) {
                double wd = k ? 0.01 : 0.0;   /* decay applies to weights only */
                if (v < 2) {
                    double gk = g[k] + wd * x[k];
                    m[k] = 0.9 * m[k] + gk;
                    x[k] -= 0.1 * (v == 1 ? gk + 0.9 * m[k] : m[k]);
                } else {
                    double gk = g[k] + (v == 2 ? wd * x[k] : 0);
                    m[k] = 0.9 * m[k] + 0.1 * gk;
                    s[k] = 0.999 * s[k] + 0.001 * gk * gk;
                    double mh = m[k] / (1 - pow(0.9, step + 1)), sh = s[k] / (1 - pow(0.999, step + 1));
                    if (v == 3) x[k] -= 0.1 * wd * x[k];
                    x[k] -= 0.1 * mh / (sqrt(sh) + 1e-8);
                }
            }
        }
        CHECK_CLOSE(b->data[0], x[0], 1e-6, 1e-5, "%s bias", extra[v]);
        CHECK_CLOSE(w->data[0], x[1], 1e-6, 1e-5, "%s w0", extra[v]);
        CHECK_CLOSE(w->data[1], x[2], 1e-6, 1e-5, "%s w1", extra[v]);
        optimizer_free(&opt);
        net_free(net);
    }
}

/* A network from cfg text, at batch `batch` with gradients when batch > 0;
 * NULL (and a failed check) when it does not build. */
static network *test_net(const char *name, const char *text, int batch)
{
    network *net;
    fer_err e;
    if (net_from_text(&net, name, text, NULL, &e)) {
        CHECK(0, "%s: %s", name, e.msg);
        return NULL;
    }
    if (batch > 0 && net_set_batch(net, batch, 1, &e)) {
        CHECK(0, "%s: net_set_batch: %s", name, e.msg);
        net_free(net);
        return NULL;
    }
    return net;
}

/* clip: the gradient's L2 norm (after the subdivision scale) is returned and,
 * above the threshold, the gradient is rescaled to it before the update */
static void test_clip(void)
{
    const char *cfg = "[net]\nwidth=1\nheight=1\nchannels=2\nlearning_rate=0.1\nmomentum=0\ndecay=0\nclip=0.5\n"
                      "[connected]\noutput=1\nactivation=linear\n";
    network *net = test_net("clip.cfg", cfg, 0);
    if (!net) return;
    fer_err e;
    optimizer opt;
    optimizer_init(&opt, net, &e);
    param *b = &net->layers[0].params[0], *w = &net->layers[0].params[1];
    b->data[0] = 0; w->data[0] = 0; w->data[1] = 0;
    /* (0.6, 0.8, 2.4) at scale 0.5: norm 1.3 > 0.5, so the step is 0.1 * g/2 * 0.5/1.3 */
    b->grad[0] = 0.6f; w->grad[0] = 0.8f; w->grad[1] = 2.4f;
    double norm = optimizer_step(&opt, net, 0.1f, 0.5f);
    CHECK_CLOSE(norm, 1.3, 1e-6, 1e-6, "clip: the scaled gradient's norm");
    double f = 0.1 * 0.5 * 0.5 / 1.3;
    CHECK_CLOSE(b->data[0], -0.6 * f, 1e-7, 1e-5, "clipped bias step");
    CHECK_CLOSE(w->data[0], -0.8 * f, 1e-7, 1e-5, "clipped w0 step");
    CHECK_CLOSE(w->data[1], -2.4 * f, 1e-7, 1e-5, "clipped w1 step");
    /* below the threshold: untouched */
    b->data[0] = 0; w->data[0] = 0; w->data[1] = 0;
    b->grad[0] = 0.1f; w->grad[0] = 0.2f; w->grad[1] = 0.2f;
    norm = optimizer_step(&opt, net, 0.1f, 1.0f);
    CHECK_CLOSE(norm, 0.3, 1e-6, 1e-6, "small gradient's norm");
    CHECK_CLOSE(w->data[1], -0.02, 1e-7, 1e-5, "unclipped step");
    optimizer_free(&opt);
    net_free(net);
}

/* the loss of one forward pass of net over x (batch rows) with truth classes y */
static double loss_and_grads(network *net, const float *x, const int *y)
{
    memcpy(net->input, x, (size_t)net->batch * net->inputs * sizeof(float));
    memset(net->truth, 0, (size_t)net->batch * net->classes * sizeof(float));
    for (int b = 0; b < net->batch; b++) net->truth[(size_t)b * net->classes + y[b]] = 1;
    net->train = 1;
    net->has_truth = 1;
    net_zero_grads(net);
    net_forward(net);
    net_backward(net);
    return net->loss;
}

/* class_balance (dataset_balanced_order): class k is drawn with probability
 * count_k^(1-p) / sum_j count_j^(1-p), an empty class never, the images of a
 * class uniformly; the same seed gives the same draw. Counts 600/300/90/10/0
 * of 1,000 images, 20 epochs (20,000 draws) per power. */
static void test_class_balance(void)
{
    enum { N = 1000, K = 5, EPOCHS = 20 };
    static int lab[N], order[N], again[N], scratch[N];
    const int count[K] = { 600, 300, 90, 10, 0 };
    for (int i = 0, k = 0, left = count[0]; i < N; i++) {
        while (!left) left = count[++k];
        lab[(i * 7) % N] = k;   /* classes interleaved, not in runs */
        left--;
    }
    dataset ds = { N, 1, 1, 1, NULL, lab, K, "balance" };
    const float powers[] = { 1, 0.5f, 0.25f };
    for (int pi = 0; pi < 3; pi++) {
        float p = powers[pi];
        double share[K], want[K], total = 0;
        for (int k = 0; k < K; k++) total += want[k] = count[k] ? pow(count[k], 1.0 - p) : 0;
        dataset_balance_shares(&ds, p, share);
        int shares_ok = 1;
        for (int k = 0; k < K; k++) shares_ok &= fabs(share[k] - want[k] / total) < 1e-12;
        CHECK(shares_ok, "power %g: shares count^(1-p) / sum (%.4f %.4f %.4f %.4f %.4f)", p, share[0], share[1],
              share[2], share[3], share[4]);
        long drawn[K] = { 0 }, per_image[N] = { 0 };
        int in_range = 1;
        for (int ep = 0; ep < EPOCHS; ep++) {
            rng r;
            rng_seed(&r, 100 + ep);
            dataset_balanced_order(&ds, p, &r, order, scratch);
            for (int j = 0; j < N; j++) {
                in_range &= order[j] >= 0 && order[j] < N;
                if (order[j] < 0 || order[j] >= N) break;
                drawn[lab[order[j]]]++;
                per_image[order[j]]++;
            }
        }
        CHECK(in_range, "power %g: every drawn index is an image", p);
        for (int k = 0; k < K; k++) {
            double s = want[k] / total, f = drawn[k] / (double)(N * EPOCHS);
            double tol = 4.5 * sqrt(s * (1 - s) / (N * EPOCHS)) + 1e-9;
            CHECK(fabs(f - s) <= tol, "power %g: class %d drawn %.4f of the time, expected %.4f +- %.4f", p, k, f, s,
                  tol);
        }
        /* the 10 images of class 3 share its draws evenly */
        double per = drawn[3] / 10.0, worst = 0;
        for (int i = 0; i < N; i++)
            if (lab[i] == 3) worst = fmax(worst, fabs(per_image[i] - per) / sqrt(per));
        CHECK(worst < 4.5, "power %g: class 3's images drawn evenly (worst %.2f sigma from %.0f)", p, worst, per);
    }
    rng a, b;
    rng_seed(&a, 7);
    rng_seed(&b, 7);
    dataset_balanced_order(&ds, 0.5f, &a, order, scratch);
    dataset_balanced_order(&ds, 0.5f, &b, again, scratch);
    CHECK(!memcmp(order, again, sizeof order), "the same seed draws the same order");
    rng_seed(&b, 8);
    dataset_balanced_order(&ds, 0.5f, &b, again, scratch);
    CHECK(memcmp(order, again, sizeof order) != 0, "another seed draws another order");
}

/* class weights: "auto" = n / (classes * count), a list is taken as given,
 * malformed lists are refused; the loss and its gradients are linear in the
 * weights (a sample counts w[its class] times) */
static void test_class_weights(void)
{
    const char *cfg = "[net]\nwidth=1\nheight=1\nchannels=3\nbatch=2\n"
                      "[connected]\noutput=3\nactivation=linear\n[softmax]\n";
    network *net = test_net("cw.cfg", cfg, 2);
    if (!net) return;
    fer_err e;
    net_init_weights(net, 9);
    int lab[4] = { 0, 0, 0, 1 };
    dataset ds = { 4, 1, 1, 1, NULL, lab, 3, "cw" };
    strcpy(net->opt.class_weights, "auto");
    CHECK(train_set_class_weights(net, &ds, &e) == 0, "auto: %s", e.msg);
    CHECK_CLOSE(net->class_weight[0], 4.0 / 9, 1e-7, 1e-6, "auto: 4 images / (3 classes * 3)");
    CHECK_CLOSE(net->class_weight[1], 4.0 / 3, 1e-7, 1e-6, "auto: 4 / (3 * 1)");
    CHECK(net->class_weight[2] == 0, "auto: an absent class weighs 0");
    strcpy(net->opt.class_weights, "1,2.5,0");
    CHECK(train_set_class_weights(net, &ds, &e) == 0 && net->class_weight[1] == 2.5f, "list: %s", e.msg);
    const char *bad[] = { "1,2", "1,2,3,4", "1,-1,2", "a,b,c", "1,2,3,", "1,2,nan" };
    for (int k = 0; k < 6; k++) {
        strcpy(net->opt.class_weights, bad[k]);
        CHECK(train_set_class_weights(net, &ds, &e) != 0 && strstr(e.msg, "class_weights"), "'%s' refused", bad[k]);
    }
    float x[6] = { 0.3f, -1.2f, 0.8f, 1.5f, 0.1f, -0.4f };
    int y[2] = { 0, 2 };
    param *w = &net->layers[0].params[1];
    size_t nw = (size_t)w->n;
    float *g1 = malloc(nw * sizeof *g1), *g2 = malloc(nw * sizeof *g2);
    free(net->class_weight);
    net->class_weight = NULL;
    double plain = loss_and_grads(net, x, y);
    net->class_weight = calloc(3, sizeof(float));
    net->class_weight[0] = 1;
    double l1 = loss_and_grads(net, x, y);
    memcpy(g1, w->grad, nw * sizeof *g1);
    net->class_weight[0] = 0;
    net->class_weight[2] = 1;
    double l2 = loss_and_grads(net, x, y);
    memcpy(g2, w->grad, nw * sizeof *g2);
    CHECK_CLOSE(l1 + l2, plain, 1e-6, 1e-5, "weights (1,*,1) = unweighted");
    CHECK(l1 > 0 && l2 > 0 && fabs(l1 - l2) > 1e-4, "the two samples' losses differ: %g %g", l1, l2);
    net->class_weight[0] = 2;
    net->class_weight[1] = 7;   /* no sample of class 1: no effect */
    net->class_weight[2] = 3;
    double l23 = loss_and_grads(net, x, y);
    CHECK_CLOSE(l23, 2 * l1 + 3 * l2, 1e-6, 1e-5, "loss with weights (2,7,3)");
    for (size_t i = 0; i < nw; i++)
        CHECK_CLOSE(w->grad[i], 2 * g1[i] + 3 * g2[i], 1e-6, 1e-5, "weight gradient %zu with weights (2,7,3)", i);
    free(g1);
    free(g2);
    net_free(net);
}

/* subdivisions: a batch of 4 in two sub-batches of 2 (gradients accumulated,
 * the update scaled by 1/2, as the training loop does) updates the weights
 * as one batch of 4 does */
static void test_subdivisions(void)
{
    const char *fmt = "[net]\nwidth=4\nheight=4\nchannels=1\nbatch=4\nsubdivisions=%d\nlearning_rate=0.1\nmomentum=0.9\n"
                      "decay=0.001\n[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=leaky\n"
                      "[connected]\noutput=3\nactivation=linear\n[softmax]\n";
    network *net[2];
    fer_err e;
    optimizer opt[2];
    for (int k = 0; k < 2; k++) {
        char text[512];
        snprintf(text, sizeof text, fmt, k + 1);
        net[k] = test_net("sub.cfg", text, 4 / (k + 1));   /* batch / subdivisions */
        if (!net[k]) return;
        net_init_weights(net[k], 21);
        optimizer_init(&opt[k], net[k], &e);
    }
    CHECK(net[0]->batch == 4 && net[1]->batch == 2, "batch per pass: %d and %d", net[0]->batch, net[1]->batch);
    float x[4 * 16];
    int y[4] = { 0, 2, 1, 2 };
    uint32_t r = 77;
    for (int step = 0; step < 2; step++) {
        for (int i = 0; i < 64; i++) x[i] = (float)((r = r * 1664525u + 1013904223u) >> 8) / 16777216.0f;
        loss_and_grads(net[0], x, y);
        optimizer_step(&opt[0], net[0], 0.1f, 1.0f);
        net_zero_grads(net[1]);
        for (int s = 0; s < 2; s++) {
            memcpy(net[1]->input, x + s * 32, 32 * sizeof(float));
            memset(net[1]->truth, 0, 6 * sizeof(float));
            for (int b = 0; b < 2; b++) net[1]->truth[b * 3 + y[s * 2 + b]] = 1;
            net[1]->train = 1;
            net[1]->has_truth = 1;
            net_forward(net[1]);
            net_backward(net[1]);
        }
        optimizer_step(&opt[1], net[1], 0.1f, 0.5f);
    }
    double moved = 0;
    for (size_t i = 0; i < net[0]->n_param_floats; i++) {
        CHECK_CLOSE(net[1]->params[i], net[0]->params[i], 1e-6, 1e-5, "parameter %zu after 2 steps", i);
        moved += fabs(net[0]->params[i]);
    }
    CHECK(moved > 0, "the parameters are not all zero");
    for (int k = 0; k < 2; k++) {
        optimizer_free(&opt[k]);
        net_free(net[k]);
    }
}

static void test_schedules(void)
{
    net_options o;
    memset(&o, 0, sizeof o);
    schedule_state s = { 0, 0, 0 };
    o.learning_rate = 0.1f;
    o.policy = POLICY_CONSTANT;
    CHECK_CLOSE(schedule_lr(&o, &s, 500, 1000, 5), 0.1, 1e-7, 0, "constant");
    o.policy = POLICY_STEPS;
    o.n_steps = 2;
    o.steps[0] = 100; o.steps[1] = 200;
    o.scales[0] = 0.1f; o.scales[1] = 0.5f;
    CHECK_CLOSE(schedule_lr(&o, &s, 99, 1000, 0), 0.1, 1e-7, 0, "steps before");
    CHECK_CLOSE(schedule_lr(&o, &s, 100, 1000, 0), 0.01, 1e-7, 0, "steps first");
    CHECK_CLOSE(schedule_lr(&o, &s, 250, 1000, 0), 0.005, 1e-7, 0, "steps second");
    o.policy = POLICY_POLY;
    o.power = 2;
    CHECK_CLOSE(schedule_lr(&o, &s, 500, 1000, 0), 0.025, 1e-7, 0, "poly");
    o.policy = POLICY_EXP;
    o.gamma = 0.99f;
    CHECK_CLOSE(schedule_lr(&o, &s, 10, 1000, 0), 0.1 * pow(0.99, 10), 1e-7, 1e-5, "exp");
    o.policy = POLICY_COSINE;
    o.min_lr = 0.001f;
    CHECK_CLOSE(schedule_lr(&o, &s, 0, 1000, 0), 0.1, 1e-7, 0, "cosine start");
    CHECK_CLOSE(schedule_lr(&o, &s, 500, 1000, 0), 0.0505, 1e-6, 0, "cosine middle");
    CHECK_CLOSE(schedule_lr(&o, &s, 1000, 1000, 0), 0.001, 1e-7, 0, "cosine end");
    o.policy = POLICY_SGDR;
    o.sgdr_period = 10;
    o.sgdr_mult = 2;
    CHECK_CLOSE(schedule_lr(&o, &s, 0, 1000, 5.0), 0.0505, 1e-6, 0, "sgdr mid first period");
    CHECK_CLOSE(schedule_lr(&o, &s, 0, 1000, 10.0), 0.1, 1e-6, 0, "sgdr restart at 10");
    CHECK_CLOSE(schedule_lr(&o, &s, 0, 1000, 20.0), 0.0505, 1e-6, 0, "sgdr mid second period (20 epochs long)");
    o.policy = POLICY_PLATEAU;
    o.plateau_factor = 0.5f;
    o.plateau_patience = 2;   /* cut after 2 epochs without a better accuracy (Keras' meaning) */
    schedule_epoch_end(&o, &s, 0.5f);
    schedule_epoch_end(&o, &s, 0.4f);
    CHECK_CLOSE(schedule_lr(&o, &s, 0, 1000, 0), 0.1, 1e-7, 0, "plateau within patience");
    schedule_epoch_end(&o, &s, 0.45f);
    CHECK_CLOSE(schedule_lr(&o, &s, 0, 1000, 0), 0.05, 1e-7, 0, "plateau cut after 2 bad epochs");
    schedule_epoch_end(&o, &s, 0.55f);
    schedule_epoch_end(&o, &s, 0.5f);
    CHECK_CLOSE(schedule_lr(&o, &s, 0, 1000, 0), 0.05, 1e-7, 0, "an improvement restarts the count");
    for (int k = 0; k < 12; k++) schedule_epoch_end(&o, &s, 0.1f);
    CHECK_CLOSE(schedule_lr(&o, &s, 0, 1000, 0), 0.001, 1e-7, 0, "plateau cuts stop at min_lr");
    o.policy = POLICY_CONSTANT;
    o.burn_in = 100;
    o.burn_in_power = 4;
    CHECK_CLOSE(schedule_lr(&o, &s, 49, 1000, 0), 0.1 * pow(0.5, 4), 1e-8, 1e-5, "burn-in");
    CHECK_CLOSE(schedule_lr(&o, &s, 100, 1000, 0), 0.1, 1e-7, 0, "after burn-in");
}

/* Darknet's step, sigmoid and random policies (network.c get_current_rate),
 * and how [net] spells them: under policy=step `scale` is the step's factor */
static void test_darknet_schedules(void)
{
    net_options o;
    memset(&o, 0, sizeof o);
    schedule_state s = { 0, 0, 0 };
    o.learning_rate = 0.1f;
    o.policy = POLICY_STEP;
    o.step = 100;
    o.step_scale = 0.5f;
    CHECK_CLOSE(schedule_lr(&o, &s, 99, 1000, 0), 0.1, 1e-7, 0, "step before the first step");
    CHECK_CLOSE(schedule_lr(&o, &s, 100, 1000, 0), 0.05, 1e-7, 0, "step: one step");
    CHECK_CLOSE(schedule_lr(&o, &s, 350, 1000, 0), 0.1 * pow(0.5, 3), 1e-8, 1e-6, "step: floor(350/100) = 3 steps");
    o.policy = POLICY_SIG;
    o.gamma = 0.05f;
    o.step = 200;
    CHECK_CLOSE(schedule_lr(&o, &s, 200, 1000, 0), 0.05, 1e-7, 0, "sigmoid at its midpoint");
    CHECK_CLOSE(schedule_lr(&o, &s, 100, 1000, 0), 0.1 / (1 + exp(0.05 * -100.0)), 1e-8, 1e-6, "sigmoid before");
    CHECK_CLOSE(schedule_lr(&o, &s, 300, 1000, 0), 0.1 / (1 + exp(0.05 * 100.0)), 1e-9, 1e-5, "sigmoid after");
    o.policy = POLICY_RANDOM;
    o.power = 2;
    double sum = 0, lo = 1, hi = 0;
    for (long it = 0; it < 4000; it++) {
        double lr = schedule_lr(&o, &s, it, 4000, 0), u = sqrt(lr / 0.1);   /* lr = 0.1 * u^2 */
        sum += u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    CHECK(fabs(sum / 4000 - 0.5) < 0.02 && lo >= 0 && lo < 0.01 && hi < 1 && hi > 0.99,
          "random: u = (lr/lr0)^(1/power) should be uniform in [0,1): mean %g, range [%g, %g]", sum / 4000, lo, hi);
    CHECK(schedule_lr(&o, &s, 17, 4000, 0) == schedule_lr(&o, &s, 17, 4000, 0), "random: reproducible per update");

    static const char cfg[] = "[net]\nwidth=4\nheight=4\nchannels=1\npolicy=step\nstep=30\nscale=0.25\n"
                              "B1=0.8\nB2=0.95\n[avgpool]\n";
    network *net;
    fer_err e;
    if (net_from_text(&net, "step.cfg", cfg, NULL, &e)) {
        CHECK(0, "policy=step cfg: %s", e.msg);
    } else {
        CHECK(net->opt.policy == POLICY_STEP && net->opt.step == 30 && net->opt.step_scale == 0.25f &&
                  net->opt.scale == 0, "policy=step: step %d, scale %g (zoom %g)", net->opt.step,
              net->opt.step_scale, net->opt.scale);
        CHECK(net->opt.beta1 == 0.8f && net->opt.beta2 == 0.95f, "B1/B2 are Adam's betas: %g %g", net->opt.beta1,
              net->opt.beta2);
        net_free(net);
    }
    static const char sig[] = "[net]\nwidth=4\nheight=4\nchannels=1\npolicy=sigmoid\nstep=10\n[avgpool]\n";
    if (net_from_text(&net, "sig.cfg", sig, NULL, &e)) {
        CHECK(0, "policy=sigmoid cfg: %s", e.msg);
    } else {
        CHECK(net->opt.policy == POLICY_SIG && net->opt.gamma == 1.0f && net->opt.step == 10,
              "policy=sigmoid: Darknet's default gamma is 1, got %g", net->opt.gamma);
        net_free(net);
    }
}

/* weights_average: the element-wise mean of every tensor (batch-norm
 * statistics too); one file is itself; a file for other layers is refused */
static void test_average(void)
{
    const char *cfg = "[net]\nwidth=4\nheight=4\nchannels=1\nbatch=4\n"
                      "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\nactivation=relu\n"
                      "[connected]\noutput=7\nactivation=linear\n[softmax]\n";
    network *a = test_net("avg.cfg", cfg, 0), *b = test_net("avg.cfg", cfg, 0), *c = test_net("avg.cfg", cfg, 0);
    network *other = test_net("other.cfg", "[net]\nwidth=4\nheight=4\nchannels=1\n[connected]\noutput=7\n", 0);
    if (!a || !b || !c || !other) return;
    fer_err e;
    for (size_t i = 0; i < a->n_param_floats; i++) {
        a->params[i] = sinf((float)i) + 1.5f;   /* positive: variances among them */
        b->params[i] = 2 * cosf((float)i) + 2.5f;
    }
    a->seen = 640;
    b->seen = 320;
    char pa[256], pb[256], po[256];
    snprintf(pa, sizeof pa, "%s/avg_a.weights", dir);
    snprintf(pb, sizeof pb, "%s/avg_b.weights", dir);
    snprintf(po, sizeof po, "%s/avg_other.weights", dir);
    CHECK(weights_save(a, pa, -1, &e) == 0 && weights_save(b, pb, -1, &e) == 0 && weights_save(other, po, -1, &e) == 0,
          "%s", e.msg);
    const char *two[2] = { pa, pb };
    CHECK(weights_average(c, two, 2, &e) == 0, "%s", e.msg);
    size_t bad = 0;
    for (size_t i = 0; i < c->n_param_floats; i++)
        if (fabsf(c->params[i] - 0.5f * (a->params[i] + b->params[i])) > 1e-6f) bad++;
    CHECK(bad == 0, "%zu of %zu averaged values are not the mean", bad, c->n_param_floats);
    CHECK(c->seen == 640, "seen %llu: expected the larger count", (unsigned long long)c->seen);
    CHECK(weights_average(c, two, 1, &e) == 0, "%s", e.msg);
    CHECK(!memcmp(c->params, a->params, a->n_param_floats * sizeof *a->params), "an average of one file changed it");
    const char *mixed[2] = { pa, po };
    CHECK(weights_average(c, mixed, 2, &e) != 0 && strstr(e.msg, "avg_other.weights"),
          "a file for another cfg: '%s'", e.msg);
    CHECK(weights_average(c, two, 0, &e) != 0, "no files accepted");
    net_free(a);
    net_free(b);
    net_free(c);
    net_free(other);
}

/* bn_recalibrate: rolling statistics = the mean over batches of the batch
 * statistics, whatever they held before. A [batchnorm] on the input sees
 * the pixels: images whose values are one multiset give every batch the
 * same mean and unbiased variance; images of different means give a mean
 * over equal batches that is the mean over all images. */
static void test_bn_recalibrate(void)
{
    const char *cfg = "[net]\nwidth=3\nheight=2\nchannels=1\nbatch=8\nsubdivisions=2\n"
                      "[batchnorm]\n[connected]\noutput=7\nactivation=linear\n[softmax]\n";
    network *net = test_net("bn.cfg", cfg, 0);
    if (!net) return;
    fer_err e;
    int n = 12;
    uint8_t pix[12 * 6];
    int labels[12] = { 0 };
    dataset ds = { .n = n, .w = 3, .h = 2, .c = 1, .pixels = pix, .labels = labels, .classes = 7 };
    snprintf(ds.source, sizeof ds.source, "bn-test");
    const uint8_t base[6] = { 10, 40, 90, 130, 200, 250 };
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 6; k++) pix[i * 6 + k] = base[(k + i) % 6];
    for (int k = 0; k < 6; k++) s += base[k] / 255.0;
    double m = s / 6;
    for (int k = 0; k < 6; k++) ss += (base[k] / 255.0 - m) * (base[k] / 255.0 - m);
    double var = ss * 4 / (4 * 6 - 1);   /* a batch: 4 images of the 6 values */
    float *rm = net->layers[0].params[2].data, *rv = net->layers[0].params[3].data;
    CHECK(!strcmp(net->layers[0].params[2].name, "rolling_mean") && !strcmp(net->layers[0].params[3].name,
          "rolling_variance"), "batchnorm parameter order");
    rm[0] = 5;
    rv[0] = 7;
    int batches = 0;
    CHECK(bn_recalibrate(net, &ds, 0, 3, 1, 1, &batches, &e) == 0, "%s", e.msg);
    CHECK(batches == 3 && net->batch == 4, "%d batches of %d: expected 3 of 4 (batch / subdivisions)", batches,
          net->batch);
    CHECK_CLOSE(rm[0], m, 1e-6, 1e-5, "rolling mean of a constant multiset");
    CHECK_CLOSE(rv[0], var, 1e-6, 1e-5, "rolling variance of a constant multiset");
    CHECK(net->train == 0 && net->no_dropout == 0, "training mode left on");
    /* image i: every pixel i * 20; 12 images in 3 batches of 4: the mean is over all */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 6; k++) pix[i * 6 + k] = (uint8_t)(i * 20);
    rm[0] = -3;
    CHECK(bn_recalibrate(net, &ds, 0, 9, 1, 1, &batches, &e) == 0, "%s", e.msg);
    CHECK_CLOSE(rm[0], 20.0 * 5.5 / 255.0, 1e-6, 1e-5, "rolling mean over batches of different means");
    /* -bn N: N / B batches; too few images for a batch of 2 is an error */
    CHECK(bn_recalibrate(net, &ds, 9, 9, 1, 1, &batches, &e) == 0 && batches == 2, "9 images: %d batches", batches);
    ds.n = 1;
    CHECK(bn_recalibrate(net, &ds, 0, 9, 1, 1, &batches, &e) != 0 && strstr(e.msg, "batch"), "1 image: '%s'", e.msg);
    net_free(net);
    /* dropout before the batch norm: off, the statistics are the pixels'
     * (constant multiset again); on, half the values are zeroed and the
     * rest doubled, which moves the variance */
    const char *dcfg = "[net]\nwidth=3\nheight=2\nchannels=1\nbatch=4\n[dropout]\nprobability=0.5\n"
                       "[batchnorm]\n[connected]\noutput=7\nactivation=linear\n[softmax]\n";
    net = test_net("bn_dropout.cfg", dcfg, 0);
    if (!net) return;
    ds.n = n;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 6; k++) pix[i * 6 + k] = base[(k + i) % 6];
    rv = net->layers[1].params[3].data;
    CHECK(bn_recalibrate(net, &ds, 0, 3, 1, 0, &batches, &e) == 0, "%s", e.msg);
    CHECK_CLOSE(rv[0], var, 1e-6, 1e-5, "dropout off: the pixels' variance");
    CHECK(bn_recalibrate(net, &ds, 0, 3, 1, 1, &batches, &e) == 0, "%s", e.msg);
    CHECK(fabs(rv[0] - var) > 1e-3, "dropout on: variance %g equals the dropout-free %g", rv[0], var);
    net_free(net);
}

int main(void)
{
    mkdir("tests/out", 0777);
    mkdir(dir, 0777);
    test_sources_agree();
    test_csv_errors();
    test_augment();
    test_mix();
    test_optimizers();
    test_schedules();
    test_darknet_schedules();
    test_clip();
    test_class_weights();
    test_class_balance();
    test_subdivisions();
    test_average();
    test_bn_recalibrate();
    return check_summary("test_train");
}
