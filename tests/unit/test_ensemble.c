/* test_ensemble.c - the rules of soft voting (src/analysis/ensemble.c):
 *   - -w parsing: exactly one finite, non-negative weight per model, a
 *     positive sum, normalized to sum 1; everything else an error that says
 *     what was wrong;
 *   - combining: one model with weight 1 gives exactly its probabilities;
 *     weights w give sum_j w_j p_j; a zero weight drops a model;
 *   - fitting: a useless member gets (almost) no weight, a good one almost
 *     all; the NLL fit is no worse than equal weights in likelihood, the
 *     accuracy fit no worse in accuracy; cross-fitting combines each fold
 *     with the weights fitted on the other folds only;
 *   - every member sees the split at its own input size (48x48 and 40x40
 *     networks over the same image folder), labels agree, the tail option
 *     takes the last images;
 *   - the CSV has a header of index,true,pred,m<j>_<label>...,ens_<label>...
 *     and one row per image.
 * Uses ../shared/data/fer2013-sample (skips those parts when absent). */
#include "analysis/analysis.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_weights(void)
{
    float w[4];
    fer_err e;
    CHECK(ensemble_parse_weights("1,3", 2, w, &e) == 0, "1,3: %s", e.msg);
    CHECK(w[0] == 0.25f && w[1] == 0.75f, "1,3 normalizes to 0.25,0.75: %g %g", w[0], w[1]);
    CHECK(ensemble_parse_weights("0.2, 0.2,0.6", 3, w, &e) == 0 && fabsf(w[2] - 0.6f) < 1e-7f, "spaces and fractions");
    CHECK(ensemble_parse_weights("5", 1, w, &e) == 0 && w[0] == 1, "one model: weight 1");
    CHECK(ensemble_parse_weights("0,2", 2, w, &e) == 0 && w[0] == 0 && w[1] == 1, "a zero weight is allowed");
    CHECK(ensemble_parse_weights("1,2,3", 2, w, &e) != 0 && strstr(e.msg, "3 weights for 2 models"), "too many: %s", e.msg);
    CHECK(ensemble_parse_weights("1", 2, w, &e) != 0 && strstr(e.msg, "1 weights for 2 models"), "too few: %s", e.msg);
    CHECK(ensemble_parse_weights("-1,2", 2, w, &e) != 0 && strstr(e.msg, ">= 0"), "negative: %s", e.msg);
    CHECK(ensemble_parse_weights("0,0", 2, w, &e) != 0 && strstr(e.msg, "sum to 0"), "zero sum: %s", e.msg);
    CHECK(ensemble_parse_weights("nan,1", 2, w, &e) != 0, "nan");
    CHECK(ensemble_parse_weights("inf,1", 2, w, &e) != 0, "inf");
    CHECK(ensemble_parse_weights("1,,2", 3, w, &e) != 0, "empty field");
    CHECK(ensemble_parse_weights("1;2", 2, w, &e) != 0 && strstr(e.msg, "';'"), "bad separator: %s", e.msg);
    CHECK(ensemble_parse_weights("", 1, w, &e) != 0, "empty");
    CHECK(ensemble_parse_weights("1,2,", 2, w, &e) != 0, "trailing comma");
    float v[3] = { 2, 6, 0 };
    CHECK(ensemble_normalize(v, 3, &e) == 0 && v[0] == 0.25f && v[1] == 0.75f && v[2] == 0, "normalize");
}

/* Synthetic members over n images of C classes: `good` puts 0.7 on the
 * true class, `noise` is uniform random, `bad` favors a wrong class. */
enum { N = 400, C = 4 };

static void make_members(float *good, float *noise, float *bad, int *labels)
{
    rng r;
    rng_seed(&r, 77);
    for (int i = 0; i < N; i++) {
        labels[i] = rng_int(&r, C);
        double s = 0;
        for (int k = 0; k < C; k++) {
            good[i * C + k] = k == labels[i] ? 0.7f : 0.1f;
            noise[i * C + k] = 0.05f + rng_uniform(&r) + (i % 4 == 0 && k == labels[i] ? 1.5f : 0);
            s += noise[i * C + k];
            bad[i * C + k] = k == (labels[i] + 1) % C ? 0.85f : 0.05f;
        }
        for (int k = 0; k < C; k++) noise[i * C + k] = (float)(noise[i * C + k] / s);
        /* good is wrong on every 4th image */
        if (i % 4 == 0) {
            good[i * C + labels[i]] = 0.1f;
            good[i * C + (labels[i] + 2) % C] = 0.7f;
        }
    }
}

static void test_combine_and_fit(void)
{
    static float good[N * C], noise[N * C], bad[N * C], out[N * C];
    int labels[N];
    make_members(good, noise, bad, labels);
    float *probs[3] = { good, noise, bad };
    float w1[1] = { 1 };
    ensemble_combine(probs, w1, 1, N, C, out);
    CHECK(!memcmp(out, good, sizeof out), "one model with weight 1 gives exactly its probabilities");
    float w3[3] = { 0.5f, 0.25f, 0.25f };
    ensemble_combine(probs, w3, 3, N, C, out);
    double err = 0;
    for (int i = 0; i < N * C; i++) {
        double want = 0.5 * good[i] + 0.25 * noise[i] + 0.25 * bad[i];
        if (fabs(out[i] - want) > err) err = fabs(out[i] - want);
    }
    CHECK(err < 1e-7, "weighted sum, max error %g", err);
    float w0[3] = { 0, 1, 0 };
    ensemble_combine(probs, w0, 3, N, C, out);
    CHECK(!memcmp(out, noise, sizeof out), "weights 0,1,0 give the second model exactly");

    double nll_good, acc_good;
    probs_score(good, labels, N, C, &nll_good, &acc_good);
    CHECK_CLOSE(acc_good, 0.75, 1e-12, 0, "the good member's accuracy");
    CHECK_CLOSE(nll_good, -(0.75 * log(0.7) + 0.25 * log(0.1)), 1e-6, 0, "the good member's NLL");

    fer_err e;
    float w[3];
    CHECK(ensemble_fit(probs, labels, 3, N, C, FIT_NLL, w, &e) == 0, "fit nll: %s", e.msg);
    printf("NLL fit: good %.4f noise %.4f bad %.4f\n", w[0], w[1], w[2]);
    CHECK(w[0] > 0.5f && w[1] > 0.05f && w[2] < 0.02f, "NLL fit: the good member leads, the helper counts, the bad one is dropped");
    CHECK_CLOSE(w[0] + w[1] + w[2], 1, 1e-6, 0, "fitted weights sum to 1");
    double nll_fit, acc_fit, nll_eq, acc_eq;
    ensemble_combine(probs, w, 3, N, C, out);
    probs_score(out, labels, N, C, &nll_fit, &acc_fit);
    float eq[3] = { 1 / 3.0f, 1 / 3.0f, 1 / 3.0f };
    ensemble_combine(probs, eq, 3, N, C, out);
    probs_score(out, labels, N, C, &nll_eq, &acc_eq);
    CHECK(nll_fit <= nll_eq + 1e-9, "NLL fit %g is no worse than equal weights %g", nll_fit, nll_eq);
    CHECK(nll_fit <= nll_good + 1e-6, "NLL fit %g is no worse than the best single member %g", nll_fit, nll_good);
    /* likelihood is concave in w: a small step away from the optimum does not help */
    for (int j = 0; j < 3; j++) {
        float t[3] = { w[0], w[1], w[2] };
        t[j] += 0.02f;
        ensemble_normalize(t, 3, &e);
        double nll_t, acc_t;
        ensemble_combine(probs, t, 3, N, C, out);
        probs_score(out, labels, N, C, &nll_t, &acc_t);
        CHECK(nll_t >= nll_fit - 1e-7, "moving weight %d off the NLL optimum does not improve it (%g < %g)", j, nll_t, nll_fit);
    }
    float wa[3];
    CHECK(ensemble_fit(probs, labels, 3, N, C, FIT_ACCURACY, wa, &e) == 0, "fit acc");
    double nll_a, acc_a;
    ensemble_combine(probs, wa, 3, N, C, out);
    probs_score(out, labels, N, C, &nll_a, &acc_a);
    printf("accuracy fit: %.4f %.4f %.4f -> accuracy %.4f (NLL fit %.4f, equal %.4f)\n", wa[0], wa[1], wa[2], acc_a, acc_fit,
           acc_eq);
    CHECK(acc_a >= acc_fit - 1e-12 && acc_a >= acc_eq - 1e-12, "the accuracy fit is no worse in accuracy");
    CHECK(acc_a > acc_fit + 0.05, "here it is clearly better: the helper must outvote the good member on its images");

    /* cross-fitting: fold f combined with weights fitted without fold f */
    int folds = 4;
    float fold_w[4 * 3];
    CHECK(ensemble_crossfit(probs, labels, 3, N, C, FIT_NLL, folds, fold_w, out, &e) == 0, "crossfit: %s", e.msg);
    static float sg[N * C], sn[N * C], sb[N * C];
    int sl[N];
    for (int f = 0; f < folds; f++) {
        int k = 0;
        for (int i = 0; i < N; i++) {
            if (i % folds == f) continue;
            memcpy(sg + k * C, good + i * C, C * sizeof(float));
            memcpy(sn + k * C, noise + i * C, C * sizeof(float));
            memcpy(sb + k * C, bad + i * C, C * sizeof(float));
            sl[k++] = labels[i];
        }
        float *sub[3] = { sg, sn, sb }, wf[3];
        ensemble_fit(sub, sl, 3, k, C, FIT_NLL, wf, &e);
        CHECK(!memcmp(wf, fold_w + 3 * f, sizeof wf), "fold %d: weights fitted on the other folds", f);
        double ferr = 0;
        for (int i = f; i < N; i += folds)
            for (int c = 0; c < C; c++) {
                double want = wf[0] * good[i * C + c] + wf[1] * noise[i * C + c] + wf[2] * bad[i * C + c];
                if (fabs(out[i * C + c] - want) > ferr) ferr = fabs(out[i * C + c] - want);
            }
        CHECK(ferr < 1e-6, "fold %d combined with its weights (error %g)", f, ferr);
    }
    CHECK(ensemble_crossfit(probs, labels, 3, N, C, FIT_NLL, 1, fold_w, out, &e) != 0, "1 fold is an error");
    CHECK(ensemble_fit(probs, labels, 3, 0, C, FIT_NLL, w, &e) != 0, "fitting on 0 images is an error");
}

static const char *const sample = "../shared/data/fer2013-sample/train";

static void test_split_probs(void)
{
    if (access(sample, R_OK) || access("data/fer2013.labels", R_OK)) {
        printf("SKIP part: %s or data/fer2013.labels absent\n", sample);
        return;
    }
#ifndef FER_STB
    printf("SKIP part: the sample faces in %s are JPEG and this build has no stb (apt-get install libstb-dev)\n",
           sample);
    return;
#endif
    fer_err e;
    data_cfg d;
    memset(&d, 0, sizeof d);
    /* a .data pointing every split at the sample folder */
    FILE *f = fopen("tests/out/ensemble_sample.data", "w");
    fprintf(f, "classes=7\nlabels=data/fer2013.labels\ntrain=%s\nvalid=%s\ntest=%s\n", sample, sample, sample);
    fclose(f);
    CHECK(data_cfg_read(&d, "tests/out/ensemble_sample.data", NULL, &e) == 0, "data: %s", e.msg);
    static const char small_cfg[] =
        "[net]\nwidth=40\nheight=40\nchannels=1\n[convolutional]\nfilters=4\nsize=3\nstride=2\npad=1\nactivation=relu\n"
        "[maxpool]\nsize=2\nstride=2\n[connected]\noutput=7\nactivation=linear\n[softmax]\n";
    network *nets[3];
    CHECK(net_from_cfg(&nets[0], "tests/cfg/tiny.cfg", NULL, &e) == 0, "tiny");
    CHECK(net_from_text(&nets[1], "small40.cfg", small_cfg, NULL, &e) == 0, "small40: %s", e.msg);
    CHECK(net_from_cfg(&nets[2], "tests/cfg/tiny.cfg", NULL, &e) == 0, "tiny 2");
    net_init_weights(nets[0], 1);
    net_init_weights(nets[1], 2);
    net_init_weights(nets[2], 3);
    split_probs sp;
    CHECK(ensemble_split_probs(nets, 3, &d, sample, "", 0, 0, 0, &sp, &e) == 0, "split probs: %s", e.msg);
    CHECK(sp.n == 56 && sp.total == 56 && sp.first == 0 && sp.members == 3, "56 images, 3 members (n=%d)", sp.n);
    if (sp.n != 56) return;   /* nothing below can run */
    /* each member against its own evaluation at its own size */
    for (int j = 0; j < 3; j++) {
        dataset ds;
        if (dataset_load(&ds, sample, "", &d, nets[j]->opt.width, nets[j]->opt.height, 1, &e)) {
            CHECK(0, "load: %s", e.msg);
            continue;
        }
        float *p = malloc((size_t)ds.n * 7 * sizeof *p);
        evaluate_probs(nets[j], &ds, 0, p, &e);
        CHECK(!memcmp(p, sp.probs[j], (size_t)ds.n * 7 * sizeof *p), "member %d: probabilities at its own size %dx%d", j,
              nets[j]->opt.width, nets[j]->opt.height);
        CHECK(!memcmp(ds.labels, sp.labels, (size_t)ds.n * sizeof(int)), "labels agree");
        free(p);
        dataset_free(&ds);
    }
    split_probs tail;
    CHECK(ensemble_split_probs(nets, 2, &d, sample, "", 0, 0.25, 0, &tail, &e) == 0, "tail: %s", e.msg);
    CHECK(tail.n == 14 && tail.first == 42 && tail.total == 56, "the last quarter: images 42..55 (n=%d first=%d)", tail.n, tail.first);
    CHECK(!memcmp(tail.probs[1], sp.probs[1] + 42 * 7, 14 * 7 * sizeof(float)), "tail probabilities are those of images 42..55");
    CHECK(!memcmp(tail.labels, sp.labels + 42, 14 * sizeof(int)), "tail labels");
    split_probs_free(&tail);

    float ens[56 * 7];
    float w[3] = { 0.5f, 0.3f, 0.2f };
    ensemble_combine(sp.probs, w, 3, sp.n, 7, ens);
    CHECK(ensemble_write_csv("tests/out/ensemble_probs.csv", &sp, ens, d.names, &e) == 0, "csv: %s", e.msg);
    size_t len;
    char *text = read_file("tests/out/ensemble_probs.csv", &len, &e);
    CHECK(text != NULL, "csv readable");
    if (text) {
        int lines = 0, commas = 0;
        for (char *p = text; *p && *p != '\n'; p++) commas += *p == ',';
        for (char *p = text; *p; p++) lines += *p == '\n';
        CHECK(lines == 57, "header + 56 rows: %d lines", lines);
        CHECK(commas + 1 == 3 + 7 * 4, "3 + 7 x (3 members + ensemble) columns: %d", commas + 1);
        CHECK(!strncmp(text, "index,true,pred,m1_angry,", 25), "header starts index,true,pred,m1_angry");
        CHECK(strstr(text, ",m3_neutral,ens_angry,") && strstr(text, "ens_neutral\n"), "header has m3_neutral, ens_angry..ens_neutral");
        /* row 1: the values parse back to the member and ensemble probabilities */
        char *row = strchr(text, '\n') + 1;
        int idx, tru, pred;
        CHECK(sscanf(row, "%d,%d,%d", &idx, &tru, &pred) == 3 && idx == 0 && tru == sp.labels[0], "first row: index 0, its label");
        char *q = row;
        for (int k = 0; k < 3; k++) q = strchr(q, ',') + 1;
        double maxerr = 0;
        for (int j = 0; j <= 3; j++)
            for (int k = 0; k < 7; k++) {
                double v = strtod(q, &q);
                q++;
                double want = j < 3 ? sp.probs[j][k] : ens[k];
                if (fabs(v - want) > maxerr) maxerr = fabs(v - want);
            }
        CHECK(maxerr < 1e-7, "row 0's probabilities round-trip (%g)", maxerr);
        free(text);
    }
    split_probs_free(&sp);
    /* a member with other classes is refused */
    network *odd;
    CHECK(net_from_text(&odd, "five.cfg", "[net]\nwidth=8\nheight=8\nchannels=1\n[connected]\noutput=5\n[softmax]\n", NULL, &e) == 0, "five");
    network *pair[2] = { nets[0], odd };
    CHECK(ensemble_split_probs(pair, 2, &d, sample, "", 0, 0, 0, &sp, &e) != 0 && strstr(e.msg, "5 classes"),
          "5-class member refused: %s", e.msg);
    net_free(odd);
    const char *path, *usage;
    CHECK(data_split(&d, "bogus", &path, &usage, &e) != 0 && strstr(e.msg, "valid, test or train"), "bad split name: %s", e.msg);
    for (int j = 0; j < 3; j++) net_free(nets[j]);
    data_cfg_free(&d);
}

/* evaluate_probs' test-time augmentation against explicit views: on images
 * larger than the input, -tta is the mean over the center crop, the four
 * corner crops and the mirrors of all five (ten views); on images of the
 * input's size, over the image and its mirror; without -tta the center crop.
 * Each view is scored here by cutting it out into a dataset of its own. */
static void score_view(network *net, const dataset *big, int ox, int oy, int flip, int iw, int ih, float *out)
{
    dataset v = *big;
    v.w = iw;
    v.h = ih;
    v.pixels = malloc((size_t)big->n * iw * ih);
    for (int i = 0; i < big->n; i++)
        for (int y = 0; y < ih; y++)
            for (int x = 0; x < iw; x++)
                v.pixels[((size_t)i * ih + y) * iw + x] =
                    big->pixels[((size_t)i * big->h + oy + y) * big->w + ox + (flip ? iw - 1 - x : x)];
    fer_err e;
    CHECK(evaluate_probs(net, &v, 0, out, &e) == 0, "view: %s", e.msg);
    free(v.pixels);
}

static void test_tta_views(void)
{
    const char *cfg = "[net]\nwidth=4\nheight=4\nchannels=1\nbatch=3\n"
                      "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=leaky\n"
                      "[connected]\noutput=3\nactivation=linear\n[softmax]\n";
    network *net = NULL;
    fer_err e;
    if (net_from_text(&net, "tta.cfg", cfg, NULL, &e)) {
        CHECK(0, "tta.cfg: %s", e.msg);
        return;
    }
    net_init_weights(net, 5);
    enum { NI = 5, NC = 3 };   /* 5 images over batches of 3: a partial batch too */
    int labels[NI] = { 0, 1, 2, 0, 1 };
    dataset big = { NI, 6, 6, 1, malloc(NI * 36), labels, NC, "tta-6x6" };
    uint32_t x = 12345;
    for (int i = 0; i < NI * 36; i++) big.pixels[i] = (uint8_t)((x = x * 1664525u + 1013904223u) >> 24);
    float tta[NI * NC], plain[NI * NC], view[NI * NC], want[NI * NC] = { 0 };
    CHECK(evaluate_probs(net, &big, 1, tta, &e) == 0, "tta: %s", e.msg);
    CHECK(evaluate_probs(net, &big, 0, plain, &e) == 0, "plain: %s", e.msg);
    int at[5][2] = { { 1, 1 }, { 0, 0 }, { 2, 0 }, { 0, 2 }, { 2, 2 } };
    for (int k = 0; k < 5; k++)
        for (int f = 0; f < 2; f++) {
            score_view(net, &big, at[k][0], at[k][1], f, 4, 4, view);
            for (int j = 0; j < NI * NC; j++) want[j] += view[j] / 10;
            if (k == 0 && f == 0)
                for (int j = 0; j < NI * NC; j++)
                    CHECK(fabsf(plain[j] - view[j]) < 1e-6f, "no tta = the center crop [%d]: %g vs %g", j, plain[j], view[j]);
        }
    float spread = 0;
    for (int j = 0; j < NI * NC; j++) {
        CHECK(fabsf(tta[j] - want[j]) < 1e-6f, "ten-crop tta [%d]: %g, views' mean %g", j, tta[j], want[j]);
        spread += fabsf(tta[j] - plain[j]);
    }
    CHECK(spread > 1e-3f, "the views must differ for this test to mean anything (%g)", spread);
    /* same-size images: the image and its mirror */
    dataset same = { NI, 4, 4, 1, malloc(NI * 16), labels, NC, "tta-4x4" };
    memcpy(same.pixels, big.pixels, NI * 16);
    CHECK(evaluate_probs(net, &same, 1, tta, &e) == 0, "tta 4x4: %s", e.msg);
    memset(want, 0, sizeof want);
    for (int f = 0; f < 2; f++) {
        score_view(net, &same, 0, 0, f, 4, 4, view);
        for (int j = 0; j < NI * NC; j++) want[j] += view[j] / 2;
    }
    for (int j = 0; j < NI * NC; j++)
        CHECK(fabsf(tta[j] - want[j]) < 1e-6f, "mirror tta [%d]: %g, views' mean %g", j, tta[j], want[j]);
    free(same.pixels);
    free(big.pixels);
    net_free(net);
}

/* The same views through a leading [crop] layer (the image goes in whole,
 * the layer takes each window): on 7x7 images, an odd margin of 3, the ten
 * views must be the 4x4 network's ten crops, mirrored centre included. */
static void test_tta_crop_layer(void)
{
    const char *body = "[convolutional]\nfilters=3\nsize=3\npad=1\nactivation=leaky\n"
                       "[connected]\noutput=3\nactivation=linear\n[softmax]\n";
    char plain_cfg[512], crop_cfg[512];
    snprintf(plain_cfg, sizeof plain_cfg, "[net]\nwidth=4\nheight=4\nchannels=1\nbatch=3\n%s", body);
    snprintf(crop_cfg, sizeof crop_cfg,
             "[net]\nwidth=7\nheight=7\nchannels=1\nbatch=3\n[crop]\ncrop_height=4\ncrop_width=4\nnoadjust=1\n%s", body);
    network *net = NULL, *cnet = NULL;
    fer_err e;
    if (net_from_text(&net, "plain.cfg", plain_cfg, NULL, &e) || net_from_text(&cnet, "crop.cfg", crop_cfg, NULL, &e)) {
        CHECK(0, "cfgs: %s", e.msg);
        net_free(net);
        return;
    }
    net_init_weights(net, 7);
    CHECK(net->n_param_floats == cnet->n_param_floats, "the same parameters: %zu vs %zu", net->n_param_floats,
          cnet->n_param_floats);
    memcpy(cnet->params, net->params, net->n_param_floats * sizeof(float));
    cnet->weights_version++;
    enum { NI = 4, NC = 3 };
    int labels[NI] = { 0, 1, 2, 0 };
    dataset big = { NI, 7, 7, 1, malloc(NI * 49), labels, NC, "tta-7x7" };
    uint32_t x = 777;
    for (int i = 0; i < NI * 49; i++) big.pixels[i] = (uint8_t)((x = x * 1664525u + 1013904223u) >> 24);
    float got[NI * NC], view[NI * NC], want[NI * NC] = { 0 };
    int at[5][2] = { { 1, 1 }, { 0, 0 }, { 3, 0 }, { 0, 3 }, { 3, 3 } };
    for (int k = 0; k < 5; k++)
        for (int f = 0; f < 2; f++) {
            score_view(net, &big, at[k][0], at[k][1], f, 4, 4, view);
            for (int j = 0; j < NI * NC; j++) want[j] += view[j] / 10;
            if (k == 0 && f == 0) {
                CHECK(evaluate_probs(cnet, &big, 0, got, &e) == 0, "crop plain: %s", e.msg);
                for (int j = 0; j < NI * NC; j++)
                    CHECK(fabsf(got[j] - view[j]) < 1e-6f, "[crop] no tta = the centre [%d]: %g vs %g", j, got[j], view[j]);
            }
        }
    CHECK(evaluate_probs(cnet, &big, 1, got, &e) == 0, "crop tta: %s", e.msg);
    for (int j = 0; j < NI * NC; j++)
        CHECK(fabsf(got[j] - want[j]) < 1e-6f, "[crop] ten-crop tta [%d]: %g, views' mean %g", j, got[j], want[j]);
    CHECK(!cnet->crop_view_set, "evaluate_probs leaves no crop view set");
    free(big.pixels);
    net_free(cnet);
    net_free(net);
}

/* metrics on 4 hand-scored images of 3 classes:
 *   true 0, p (.7 .2 .1): right;             true 1, p (.5 .3 .2): wrong, 2nd;
 *   true 0, p (.1 .3 .6): wrong, not top-2;  true 1, p (.2 .5 .3): right. */
static void test_metrics(void)
{
    float p[12] = { .7f, .2f, .1f, .5f, .3f, .2f, .1f, .3f, .6f, .2f, .5f, .3f };
    int y[4] = { 0, 1, 0, 1 };
    metrics m;
    fer_err e;
    CHECK(metrics_compute(&m, p, y, 4, 3, &e) == 0, "metrics: %s", e.msg);
    CHECK(m.accuracy == 0.5, "accuracy %g", m.accuracy);
    CHECK(m.top2 == 0.75, "top-2 %g", m.top2);
    double loss = -(log(.7) + log(.3) + log(.1) + log(.5)) / 4;
    CHECK(fabs(m.loss - loss) < 1e-6, "loss %g, want %g", m.loss, loss);
    long want[9] = { 1, 0, 1, 1, 1, 0, 0, 0, 0 };
    for (int k = 0; k < 9; k++) CHECK(m.confusion[k] == want[k], "confusion[%d][%d] = %ld, want %ld", k / 3, k % 3, m.confusion[k], want[k]);
    /* class a: tp 1 of 2 predicted, 2 true -> .5 .5 .5; b: 1 of 1, 2 true -> 1 .5 .6667;
     * c: none predicted right, none true -> 0 0 0; macro F1 (.5 + .6667 + 0) / 3 */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    char a[] = "a", b[] = "b", c[] = "c";
    char *names[3] = { a, b, c };
    metrics_print(&m, names, f);
    fclose(f);
    /* compared with runs of spaces collapsed to one */
    size_t o = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' || !o || text[o - 1] != ' ') text[o++] = text[i];
    text[o] = 0;
    const char *lines[] = { "\na 0.5000 0.5000 0.5000 2\n", "\nb 1.0000 0.5000 0.6667 2\n",
                            "\nc 0.0000 0.0000 0.0000 0\n", "\nmacro f1 0.3889\n",
                            "\ntop-2 accuracy: 0.7500\n",   "\na 1 0 1\nb 1 1 0\nc 0 0 0\n",
                            "\na 0.500 0.000 0.500\nb 0.500 0.500 0.000\n" };
    for (size_t k = 0; k < sizeof lines / sizeof *lines; k++)
        CHECK(strstr(text, lines[k]) != NULL, "metrics_print lacks '%s' in:\n%s", lines[k], text);
    free(text);
    metrics_free(&m);
}

int main(void)
{
    test_metrics();
    test_tta_views();
    test_tta_crop_layer();
    test_weights();
    test_combine_and_fit();
    test_split_probs();
    return check_summary("test_ensemble");
}
