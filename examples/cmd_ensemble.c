/* cmd_ensemble.c - `fer ensemble`: soft voting over several models (a
 * weighted sum of their softmax probabilities). Members may have different
 * input sizes: each sees the split at its own size. Weights are equal, given
 * with -w, or fitted with -fit on a different split than the one reported. */
#include "analysis/analysis.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* The Usage filter, for messages: only a CSV split has one. */
static const char *usage_text(const char *path, const char *usage)
{
    return str_ends_with(path, ".csv") ? usage : "";
}

typedef struct ensemble_opts {
    const char *split;        /* the split reported */
    int tta;
    const char *wspec;        /* -w w1,w2,... or NULL */
    int fit;                  /* -fit: fitted weights */
    const char *fit_split;    /* NULL or "cv": cross-fitting; else the split fitted on */
    const char *objective;    /* nll | acc */
    int folds;
    float fit_tail;           /* the fraction of 'train' fitted on */
    const char *out;          /* -o probs.csv or NULL */
    int limit;
} ensemble_opts;

static int check_opts(const ensemble_opts *o, fer_err *e)
{
    if (o->wspec && o->fit) return fer_fail(e, "-w and -fit exclude each other: give weights or fit them");
    if (!o->fit && (o->fit_split || strcmp(o->objective, "nll") || o->folds != 5))
        return fer_fail(e, "-fit-split, -fit-folds and -fit-objective need -fit");
    if (o->folds < 2) return fer_fail(e, "-fit-folds %d: expected K >= 2", o->folds);
    if (strcmp(o->objective, "nll") && strcmp(o->objective, "acc"))
        return fer_fail(e, "-fit-objective %s: expected nll or acc", o->objective);
    if (!(o->fit_tail > 0 && o->fit_tail <= 1))
        return fer_fail(e, "-fit-tail %g: expected a fraction in (0, 1]", o->fit_tail);
    if (o->limit < 0) return fer_fail(e, "-limit %d: expected N >= 0", o->limit);
    return 0;
}

static const char *objective_name(fit_objective obj)
{
    return obj == FIT_NLL ? "maximum likelihood" : "best accuracy";
}

/* The ensemble's loss and accuracy on fp with weights w[m]. */
static int score_weights(const split_probs *fp, const float *w, int m, double *nll, double *acc, fer_err *e)
{
    float *mix = malloc((size_t)fp->n * fp->classes * sizeof *mix);
    if (!mix) return fer_fail(e, "out of memory");
    ensemble_combine(fp->probs, w, m, fp->n, fp->classes, mix);
    probs_score(mix, fp->labels, fp->n, fp->classes, nll, acc);
    free(mix);
    return 0;
}

/* -fit-split train|valid|test: c->w fitted on another split than the
 * reported one (path, usage); note says how it went there. */
static int fit_on_split(cli *c, const ensemble_opts *o, fit_objective obj, const char *path, const char *usage,
                        char *note, size_t cap)
{
    fer_err *e = &c->e;
    int m = c->nnets;
    const char *fpath, *fusage;
    if (data_split(&c->d, o->fit_split, &fpath, &fusage, e)) return -1;
    if (!strcmp(fpath, path) && (!str_ends_with(path, ".csv") || !strcmp(fusage, usage)))
        return fer_fail(e, "-fit-split %s holds the same images as the reported split '%s': weights fitted on the images "
                           "they are scored on overstate the accuracy (use -fit-split cv)", o->fit_split, o->split);
    int is_train = !strcmp(o->fit_split, "train");
    split_probs fp = { 0 };
    float *eq = malloc((size_t)m * sizeof *eq);
    double nll_fit, acc_fit, nll_eq, acc_eq;
    int rc = eq ? 0 : fer_fail(e, "out of memory");
    for (int j = 0; j < m && eq; j++) eq[j] = 1.0f / m;
    if (!rc)
        rc = ensemble_split_probs(c->nets, m, &c->d, fpath, fusage, o->tta, is_train ? o->fit_tail : 0, 0, &fp, e) ||
             ensemble_fit(fp.probs, fp.labels, m, fp.n, fp.classes, obj, c->w, e) ||
             score_weights(&fp, c->w, m, &nll_fit, &acc_fit, e) || score_weights(&fp, eq, m, &nll_eq, &acc_eq, e);
    if (!rc) {
        const char *fu = usage_text(fpath, fusage);
        snprintf(note, cap,
                 "weights fitted (%s) on split '%s'%s%s%s, images %d..%d of %d; there: accuracy %.4f (equal weights %.4f), "
                 "loss %.4f (equal %.4f).\nThe metrics below are on split '%s', which the fit did not see.",
                 objective_name(obj), o->fit_split, *fu ? " Usage=" : "", fu, is_train ? " (its tail)" : "", fp.first,
                 fp.first + fp.n - 1, fp.total, acc_fit, acc_eq, nll_fit, nll_eq, o->split);
        if (is_train)
            fprintf(stderr, "fer: note: the members were trained on the training split, so weights fitted on its tail favor "
                            "the members that fit it best, not those that generalize best\n");
    }
    free(eq);
    split_probs_free(&fp);
    return rc ? -1 : 0;
}

/* Says how cross-fitting went: the per-fold weights, in note. */
static void crossfit_note(const ensemble_opts *o, fit_objective obj, const float *fold_w, int m, double acc_eq,
                          char *note, size_t cap)
{
    int k = snprintf(note, cap,
                     "weights fitted (%s) by %d-fold cross-fitting on split '%s': image i is combined with the weights "
                     "fitted on the folds that do not hold it (folds: i mod %d), so no image is scored with weights "
                     "fitted on it. Equal weights give accuracy %.4f here.\nper-fold weights:",
                     objective_name(obj), o->folds, o->split, o->folds, acc_eq);
    for (int f = 0; f < o->folds && k < (int)cap - 64; f++) {
        k += snprintf(note + k, cap - (size_t)k, " [");
        for (int j = 0; j < m && k < (int)cap - 16; j++)
            k += snprintf(note + k, cap - (size_t)k, "%s%.3f", j ? " " : "", fold_w[(size_t)f * m + j]);
        k += snprintf(note + k, cap - (size_t)k, "]");
    }
    if (k < (int)cap - 80)
        snprintf(note + k, cap - (size_t)k, "\nthe 'weight' column above: fitted on all of split '%s' (for use on other data)",
                 o->split);
}

/* -fit (cv): every image of r combined with weights fitted on the other
 * folds; r's weights become those fitted on all of it. */
static int fit_by_folds(cli *c, const ensemble_opts *o, fit_objective obj, ensemble_result *r, char *note, size_t cap)
{
    fer_err *e = &c->e;
    int m = c->nnets;
    float *fold_w = malloc((size_t)o->folds * m * sizeof *fold_w);
    if (!fold_w) return fer_fail(e, "out of memory");
    double nll_eq, acc_eq;
    probs_score(r->probs, r->sp.labels, r->sp.n, r->sp.classes, &nll_eq, &acc_eq);
    const split_probs *sp = &r->sp;
    int rc = ensemble_crossfit(sp->probs, sp->labels, m, sp->n, sp->classes, obj, o->folds, fold_w, r->probs, e) ||
             ensemble_fit(sp->probs, sp->labels, m, sp->n, sp->classes, obj, r->w, e);
    if (!rc) {
        metrics_free(&r->m);
        rc = metrics_compute(&r->m, r->probs, sp->labels, sp->n, sp->classes, e);
    }
    if (!rc) crossfit_note(o, obj, fold_w, m, acc_eq, note, cap);
    free(fold_w);
    return rc ? -1 : 0;
}

/* The members, the weights, the metrics, the CSV and the last line. */
static int print_result(cli *c, const ensemble_opts *o, const ensemble_result *r, const char *path, const char *usage,
                        const char *note)
{
    int m = c->nnets;
    const char *u = usage_text(path, usage);
    printf("ensemble of %d model%s on %s split '%s'%s%s, %d images, %s\n", m, m == 1 ? "" : "s", path, o->split,
           *u ? " Usage=" : "", u, r->sp.n, o->tta ? "with test-time augmentation" : "no test-time augmentation");
    for (int j = 0; j < m; j++) {
        double nll, acc;
        probs_score(r->sp.probs[j], r->sp.labels, r->sp.n, r->sp.classes, &nll, &acc);
        int iw, ih, ic;
        fer_net_input_shape(c->nets[j], &iw, &ih, &ic);
        printf("model %d: %s %s (%dx%dx%d): weight %.4f, accuracy %.4f, loss %.4f\n", j + 1, c->a.argv[1 + 2 * j],
               c->a.argv[2 + 2 * j], iw, ih, ic, r->w[j], acc, nll);
    }
    if (o->fit) printf("%s\n", note);
    else if (o->wspec) printf("weights given with -w, normalized to sum 1\n");
    else printf("equal weights\n");
    printf("\n");
    metrics_print(&r->m, c->d.names, stdout);
    if (o->out) {
        if (ensemble_write_csv(o->out, &r->sp, r->probs, c->d.names, &c->e)) return -1;
        printf("\nwrote %s (%d rows: index,true,pred, m<j>_<label> per model, ens_<label>)\n", o->out, r->sp.n);
    }
    printf("accuracy: %.4f\n", r->m.accuracy);
    return 0;
}

static int ensemble_run(cli *c)
{
    args *a = &c->a;
    ensemble_opts o;
    o.split = args_str(a, "-split", "valid");
    o.tta = args_flag(a, "-tta");
    o.wspec = args_str(a, "-w", NULL);
    o.fit = args_flag(a, "-fit");
    o.fit_split = args_str(a, "-fit-split", NULL);
    o.objective = args_str(a, "-fit-objective", "nll");
    o.folds = args_int(a, "-fit-folds", 5);
    o.fit_tail = args_float(a, "-fit-tail", 0.1f);
    o.out = args_str(a, "-out", NULL);   /* the old name of -o */
    o.out = args_str(a, "-o", o.out);
    o.limit = args_int(a, "-limit", 0);
    int rc = cli_start(c, 2, -1);
    if (rc) return rc;
    const char *path, *usage;
    if (data_split(&c->d, o.split, &path, &usage, &c->e) || check_opts(&o, &c->e) ||
        cli_load_ensemble(c, a->argv + 1, a->argc - 1, o.wspec))
        return cli_error(c);
    if (c->nets[0]->classes != c->d.classes) {
        fer_fail(&c->e, "%s outputs %d values but %s has %d classes", a->argv[1], c->nets[0]->classes, c->d.path,
                 c->d.classes);
        return cli_error(c);
    }
    char note[1024] = "";
    fit_objective obj = strcmp(o.objective, "acc") ? FIT_NLL : FIT_ACCURACY;
    int crossfit = o.fit && (!o.fit_split || !strcmp(o.fit_split, "cv"));
    ensemble_result r = { 0 };
    rc = (o.fit && !crossfit && fit_on_split(c, &o, obj, path, usage, note, sizeof note)) ||
         ensemble_evaluate(c->nets, c->nnets, &c->d, o.split, o.tta, c->w, o.limit, &r, &c->e) ||
         (crossfit && fit_by_folds(c, &o, obj, &r, note, sizeof note)) || print_result(c, &o, &r, path, usage, note);
    ensemble_result_free(&r);
    return rc ? cli_error(c) : 0;
}

const command cmd_ensemble = {
    "ensemble", ensemble_run, CLI_CTX | CLI_DATA_REQUIRED,
    "usage: fer ensemble [DATA] CFG1 WEIGHTS1 CFG2 WEIGHTS2 ... [-split valid|test|train] [-tta]\n"
    "                    [-w w1,w2,...] [-fit [-fit-split cv|train|valid|test] [-fit-folds K] [-fit-objective nll|acc]\n"
    "                    [-fit-tail F]] [-o probs.csv] [-limit N]\n"
    "  soft voting: p = sum_j w_j p_j with the weights normalized to sum 1 (default equal).\n"
    "  -fit chooses the weights so that no reported image is scored with weights fitted on it:\n"
    "    cv (default): K-fold cross-fitting on the reported split (-fit-folds, default 5): each\n"
    "      fold is combined with weights fitted on the other folds;\n"
    "    train|valid|test: fitted on that split (it must differ from the reported one); 'train'\n"
    "      uses its last -fit-tail fraction (default 0.1).\n"
    "  -fit-objective: nll (maximum likelihood, default) or acc (best accuracy).\n"
    "  -o writes every image's per-model and ensemble probabilities as CSV.\n",
    "soft voting over models; -fit fits the weights by cross-fitting or on another split", NULL,
};
