/* test_train.c - unit tests of the training pieces: dataset sources agree,
 * malformed CSV rows are rejected with file:line, augmentation identities,
 * optimizer steps against hand-computed values, learning-rate policies. */
#include "check.h"
#include "train.h"

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
    if (data_cfg_read(&d, path, &e)) {
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
    o.plateau_patience = 1;
    schedule_epoch_end(&o, &s, 0.5f);
    schedule_epoch_end(&o, &s, 0.4f);
    CHECK_CLOSE(schedule_lr(&o, &s, 0, 1000, 0), 0.1, 1e-7, 0, "plateau within patience");
    schedule_epoch_end(&o, &s, 0.45f);
    CHECK_CLOSE(schedule_lr(&o, &s, 0, 1000, 0), 0.05, 1e-7, 0, "plateau cut");
    o.policy = POLICY_CONSTANT;
    o.burn_in = 100;
    o.burn_in_power = 4;
    CHECK_CLOSE(schedule_lr(&o, &s, 49, 1000, 0), 0.1 * pow(0.5, 4), 1e-8, 1e-5, "burn-in");
    CHECK_CLOSE(schedule_lr(&o, &s, 100, 1000, 0), 0.1, 1e-7, 0, "after burn-in");
}

int main(void)
{
    mkdir("tests/out", 0777);
    mkdir(dir, 0777);
    test_sources_agree();
    test_csv_errors();
    test_augment();
    test_optimizers();
    test_schedules();
    return check_summary("test_train");
}
