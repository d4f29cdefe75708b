/* cmd_ensemble.c - `fer ensemble`: soft voting over several models (a
 * weighted sum of their softmax probabilities). Members may have different
 * input sizes: each sees the split at its own size. Weights are equal, given
 * with -w, or fitted with -fit on a different split than the one reported. */
#include "analysis/analysis.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char ensemble_usage[] =
    "usage: fer ensemble [DATA] CFG1 WEIGHTS1 CFG2 WEIGHTS2 ... [-split valid|test|train] [-tta]\n"
    "                    [-w w1,w2,...] [-fit [-fit-split cv|train|valid|test] [-fit-folds K] [-fit-objective nll|acc]\n"
    "                    [-fit-tail F]] [-out probs.csv] [-limit N] [-threads N]\n"
    "  soft voting: p = sum_j w_j p_j with the weights normalized to sum 1 (default equal).\n"
    "  -fit chooses the weights so that no reported image is scored with weights fitted on it:\n"
    "    cv (default): K-fold cross-fitting on the reported split (-fit-folds, default 5): each\n"
    "      fold is combined with weights fitted on the other folds;\n"
    "    train|valid|test: fitted on that split (it must differ from the reported one); 'train'\n"
    "      uses its last -fit-tail fraction (default 0.1).\n"
    "  -fit-objective: nll (maximum likelihood, default) or acc (best accuracy).\n"
    "  -out writes every image's per-model and ensemble probabilities as CSV.\n";

/* The Usage filter, for messages: only a CSV split has one. */
static const char *usage_text(const char *path, const char *usage)
{
    return str_ends_with(path, ".csv") ? usage : "";
}

int cmd_ensemble(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    const char *split = args_str(&a, "-split", "valid");
    int tta = args_flag(&a, "-tta");
    const char *wspec = args_str(&a, "-w", NULL);
    int fit = args_flag(&a, "-fit");
    const char *fit_split = args_str(&a, "-fit-split", NULL);
    const char *objective = args_str(&a, "-fit-objective", "nll");
    int folds = args_int(&a, "-fit-folds", 5);
    float fit_tail = args_float(&a, "-fit-tail", 0.1f);
    const char *out = args_str(&a, "-out", NULL);
    int limit = args_int(&a, "-limit", 0);
    fer_ctx *ctx = NULL;
    if (cli_ctx(&a, &ctx) || args_done(&a)) {
        fer_ctx_free(ctx);
        fputs(ensemble_usage, stderr);
        return cli_fail(&a.err);
    }
    fer_err e;
    data_cfg d;
    if (cli_data_required(&a, &d, &e)) {
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    network **nets = NULL;
    int m = 0, status = 1;
    float *w = NULL;
    ensemble_result r = { 0 };
    split_probs fp = { 0 };
    const char *path, *usage;
    if (a.argc < 3) {
        fputs(ensemble_usage, stderr);
        status = 2;
        goto out;
    }
    if (data_split(&d, split, &path, &usage, &e)) goto fail;
    if (wspec && fit) { fer_fail(&e, "-w and -fit exclude each other: give weights or fit them"); goto fail; }
    if (!fit && (fit_split || strcmp(objective, "nll") || folds != 5))
        { fer_fail(&e, "-fit-split, -fit-folds and -fit-objective need -fit"); goto fail; }
    if (folds < 2) { fer_fail(&e, "-fit-folds %d: expected K >= 2", folds); goto fail; }
    if (strcmp(objective, "nll") && strcmp(objective, "acc"))
        { fer_fail(&e, "-fit-objective %s: expected nll or acc", objective); goto fail; }
    if (!(fit_tail > 0 && fit_tail <= 1)) { fer_fail(&e, "-fit-tail %g: expected a fraction in (0, 1]", fit_tail); goto fail; }
    if (limit < 0) { fer_fail(&e, "-limit %d: expected N >= 0", limit); goto fail; }
    if (ensemble_load(&nets, &m, a.argv + 1, a.argc - 1, ctx, &e)) goto fail;
    if (nets[0]->classes != d.classes) {
        fer_fail(&e, "%s outputs %d values but %s has %d classes", a.argv[1], nets[0]->classes, d.path, d.classes);
        goto fail;
    }
    w = malloc((size_t)m * sizeof *w);
    if (!w) { fer_fail(&e, "out of memory"); goto fail; }
    for (int j = 0; j < m; j++) w[j] = 1;
    if (wspec && ensemble_parse_weights(wspec, m, w, &e)) goto fail;

    char fit_note[1024] = "";
    fit_objective obj = strcmp(objective, "acc") ? FIT_NLL : FIT_ACCURACY;
    const char *objname = obj == FIT_NLL ? "maximum likelihood" : "best accuracy";
    int crossfit = fit && (!fit_split || !strcmp(fit_split, "cv"));
    if (fit && !crossfit) {
        const char *fpath, *fusage;
        if (data_split(&d, fit_split, &fpath, &fusage, &e)) goto fail;
        if (!strcmp(fpath, path) && (!str_ends_with(path, ".csv") || !strcmp(fusage, usage))) {
            fer_fail(&e, "-fit-split %s holds the same images as the reported split '%s': weights fitted on the images "
                         "they are scored on overstate the accuracy (use -fit-split cv)", fit_split, split);
            goto fail;
        }
        int is_train = !strcmp(fit_split, "train");
        if (ensemble_split_probs(nets, m, &d, fpath, fusage, tta, is_train ? fit_tail : 0, 0, &fp, &e)) goto fail;
        if (ensemble_fit(fp.probs, fp.labels, m, fp.n, fp.classes, obj, w, &e)) goto fail;
        float *mix = malloc((size_t)fp.n * fp.classes * sizeof *mix);
        float *eq = malloc((size_t)m * sizeof *eq);
        if (!mix || !eq) { free(mix); free(eq); fer_fail(&e, "out of memory"); goto fail; }
        double nll_fit, acc_fit, nll_eq, acc_eq;
        ensemble_combine(fp.probs, w, m, fp.n, fp.classes, mix);
        probs_score(mix, fp.labels, fp.n, fp.classes, &nll_fit, &acc_fit);
        for (int j = 0; j < m; j++) eq[j] = 1.0f / m;
        ensemble_combine(fp.probs, eq, m, fp.n, fp.classes, mix);
        probs_score(mix, fp.labels, fp.n, fp.classes, &nll_eq, &acc_eq);
        free(mix);
        free(eq);
        const char *fu = usage_text(fpath, fusage);
        snprintf(fit_note, sizeof fit_note,
                 "weights fitted (%s) on split '%s'%s%s%s, images %d..%d of %d; there: accuracy %.4f (equal weights %.4f), "
                 "loss %.4f (equal %.4f).\nThe metrics below are on split '%s', which the fit did not see.",
                 objname, fit_split, *fu ? " Usage=" : "", fu, is_train ? " (its tail)" : "", fp.first,
                 fp.first + fp.n - 1, fp.total, acc_fit, acc_eq, nll_fit, nll_eq, split);
        if (is_train)
            fprintf(stderr, "fer: note: the members were trained on the training split, so weights fitted on its tail favor "
                            "the members that fit it best, not those that generalize best\n");
    }
    if (ensemble_evaluate(nets, m, &d, split, tta, w, limit, &r, &e)) goto fail;
    if (crossfit) {
        /* every image combined with weights fitted on the other folds */
        float *fold_w = malloc((size_t)folds * m * sizeof *fold_w);
        if (!fold_w) { fer_fail(&e, "out of memory"); goto fail; }
        double nll_eq, acc_eq;
        probs_score(r.probs, r.sp.labels, r.sp.n, r.sp.classes, &nll_eq, &acc_eq);
        if (ensemble_crossfit(r.sp.probs, r.sp.labels, m, r.sp.n, r.sp.classes, obj, folds, fold_w, r.probs, &e) ||
            ensemble_fit(r.sp.probs, r.sp.labels, m, r.sp.n, r.sp.classes, obj, r.w, &e)) {
            free(fold_w);
            goto fail;
        }
        metrics_free(&r.m);
        if (metrics_compute(&r.m, r.probs, r.sp.labels, r.sp.n, r.sp.classes, &e)) { free(fold_w); goto fail; }
        int k = snprintf(fit_note, sizeof fit_note,
                         "weights fitted (%s) by %d-fold cross-fitting on split '%s': image i is combined with the weights "
                         "fitted on the folds that do not hold it (folds: i mod %d), so no image is scored with weights "
                         "fitted on it. Equal weights give accuracy %.4f here.\nper-fold weights:",
                         objname, folds, split, folds, acc_eq);
        for (int f = 0; f < folds && k < (int)sizeof fit_note - 64; f++) {
            k += snprintf(fit_note + k, sizeof fit_note - (size_t)k, " [");
            for (int j = 0; j < m && k < (int)sizeof fit_note - 16; j++)
                k += snprintf(fit_note + k, sizeof fit_note - (size_t)k, "%s%.3f", j ? " " : "", fold_w[(size_t)f * m + j]);
            k += snprintf(fit_note + k, sizeof fit_note - (size_t)k, "]");
        }
        if (k < (int)sizeof fit_note - 80)
            snprintf(fit_note + k, sizeof fit_note - (size_t)k,
                     "\nthe 'weight' column above: fitted on all of split '%s' (for use on other data)", split);
        free(fold_w);
    }

    const char *u = usage_text(path, usage);
    printf("ensemble of %d model%s on %s split '%s'%s%s, %d images, %s\n", m, m == 1 ? "" : "s", path, split,
           *u ? " Usage=" : "", u, r.sp.n, tta ? "with test-time augmentation" : "no test-time augmentation");
    for (int j = 0; j < m; j++) {
        double nll, acc;
        probs_score(r.sp.probs[j], r.sp.labels, r.sp.n, r.sp.classes, &nll, &acc);
        int iw, ih, ic;
        fer_net_input_shape(nets[j], &iw, &ih, &ic);
        printf("model %d: %s %s (%dx%dx%d): weight %.4f, accuracy %.4f, loss %.4f\n", j + 1, a.argv[1 + 2 * j],
               a.argv[2 + 2 * j], iw, ih, ic, r.w[j], acc, nll);
    }
    if (fit) printf("%s\n", fit_note);
    else if (wspec) printf("weights given with -w, normalized to sum 1\n");
    else printf("equal weights\n");
    printf("\n");
    metrics_print(&r.m, d.names, stdout);
    if (out) {
        if (ensemble_write_csv(out, &r.sp, r.probs, d.names, &e)) goto fail;
        printf("\nwrote %s (%d rows: index,true,pred, m<j>_<label> per model, ens_<label>)\n", out, r.sp.n);
    }
    printf("accuracy: %.4f\n", r.m.accuracy);
    status = 0;
    goto out;
fail:
    cli_fail(&e);
out:
    ensemble_result_free(&r);
    split_probs_free(&fp);
    free(w);
    ensemble_free(nets, m);
    data_cfg_free(&d);
    fer_ctx_free(ctx);
    return status;
}
