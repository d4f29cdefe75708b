/* cmd_report.c - `fer report`: one self-contained HTML file about a model or
 * an ensemble on one split: the members, accuracy and per-class metrics,
 * the confusion matrix, the training history (from the log CSV beside each
 * weights file, or -log), the class distribution and the Grad-CAM grid.
 * PNGs are embedded as base64 data URIs and charts as inline SVG, so the
 * file needs nothing else to display. */
#include "analysis/analysis.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char style[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#222;"
    "background:#fafafa;padding:0 16px}"
    "h1{font-size:28px;margin-bottom:4px}h2{font-size:21px;margin-top:36px;border-bottom:2px solid #ddd;padding-bottom:4px}"
    "table{border-collapse:collapse;margin:8px 0;background:#fff}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
    "th{background:#eef2f7}td.l,th.l{text-align:left}.big{font-size:34px;font-weight:bold;color:#08306b}"
    ".note{color:#666;font-size:14px}img,svg{max-width:100%;height:auto;background:#fff;border:1px solid #ddd}"
    ".kpi{display:inline-block;margin-right:36px}";


/* The model's whole training when <weights folder>/<weights name>.history
 * lists its logs (the shipped models'), else <weights folder>/<cfg
 * name>.log.csv, where training writes its log. */
static void default_log(const char *cfg, const char *weights, char *out, size_t cap)
{
    char name[256];
    const char *slash = strrchr(weights, '/');
    int dl = slash ? (int)(slash - weights) + 1 : 0;
    path_stem(weights, name, sizeof name);
    snprintf(out, cap, "%.*s%s.history", dl, weights, name);
    if (!access(out, R_OK)) return;
    path_stem(cfg, name, sizeof name);
    snprintf(out, cap, "%.*s%s.log.csv", dl, weights, name);
}

static void td(strbuf *b, const char *cls, const char *text)
{
    sb_printf(b, "<td%s>", cls);
    sb_escape(b, text);
    sb_printf(b, "</td>");
}

static void metrics_table(strbuf *b, const metrics *m, char **names)
{
    int C = m->classes;
    sb_printf(b, "<table><tr><th class=\"l\">class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
                 "<th>predicted</th></tr>\n");
    double macro = 0;
    for (int k = 0; k < C; k++) {
        long tp = m->confusion[(size_t)k * C + k], row = 0, col = 0;
        for (int j = 0; j < C; j++) {
            row += m->confusion[(size_t)k * C + j];
            col += m->confusion[(size_t)j * C + k];
        }
        double p = col ? (double)tp / col : 0, r = row ? (double)tp / row : 0, f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
        macro += f1 / C;
        sb_printf(b, "<tr>");
        td(b, " class=\"l\"", names[k]);
        sb_printf(b, "<td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%ld</td><td>%ld</td></tr>\n", p, r, f1, row, col);
    }
    sb_printf(b, "<tr><th class=\"l\">macro average</th><td></td><td></td><td>%.4f</td><td>%d</td><td></td></tr></table>\n",
              macro, m->n);
}

/* What the sections of the report are written from. */
typedef struct report {
    cli *c;                  /* the members: c->nets, c->nnets; the data: c->d */
    const char *split, *path, *usage;   /* the split evaluated */
    int tta;
    const char *wspec;       /* -w or NULL */
    const char *log;         /* -log or NULL */
    int per;                 /* -n: Grad-CAM examples per group */
    ensemble_result r;
    char name[256];          /* the first cfg's stem */
    strbuf b;                /* the HTML */
} report;

static void section_head(report *rp)
{
    strbuf *b = &rp->b;
    int m = rp->c->nnets;
    sb_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>fer report: ");
    sb_escape(b, m == 1 ? rp->name : "ensemble");
    sb_printf(b, "</title>\n<style>%s</style></head><body>\n", style);
    sb_printf(b, "<h1>fer report: ");
    if (m == 1) sb_escape(b, rp->name);
    else sb_printf(b, "ensemble of %d models", m);
    sb_printf(b, "</h1>\n<p class=\"note\">");
    sb_escape(b, rp->path);
    sb_printf(b, ", split '");
    sb_escape(b, rp->split);
    int csv = str_ends_with(rp->path, ".csv") && *rp->usage;   /* only a CSV split has a Usage filter */
    sb_printf(b, "'%s", csv ? " (Usage=" : "");
    sb_escape(b, csv ? rp->usage : "");
    sb_printf(b, "%s, %d images, %s%s</p>\n", csv ? ")" : "", rp->r.sp.n,
              rp->tta ? "with test-time augmentation" : "no test-time augmentation",
              m > 1 ? (rp->wspec ? ", weights given with -w (normalized)" : ", equal weights") : "");
    sb_printf(b, "<div><span class=\"kpi\">accuracy<br><span class=\"big\">%.2f%%</span></span>"
                 "<span class=\"kpi\">top-2 accuracy<br><span class=\"big\">%.2f%%</span></span>"
                 "<span class=\"kpi\">loss<br><span class=\"big\">%.4f</span></span></div>\n",
              100 * rp->r.m.accuracy, 100 * rp->r.m.top2, rp->r.m.loss);
}

static void section_models(report *rp)
{
    strbuf *b = &rp->b;
    const ensemble_result *r = &rp->r;
    sb_printf(b, "<h2>Models</h2>\n<table><tr><th>#</th><th class=\"l\">cfg</th><th class=\"l\">weights</th><th>input</th>"
                 "<th>parameters</th><th>GFLOPs</th><th>weight</th><th>accuracy</th><th>loss</th></tr>\n");
    for (int j = 0; j < rp->c->nnets; j++) {
        network *net = rp->c->nets[j];
        double nll, acc;
        probs_score(r->sp.probs[j], r->sp.labels, r->sp.n, r->sp.classes, &nll, &acc);
        int iw, ih, ic;
        fer_net_input_shape(net, &iw, &ih, &ic);
        sb_printf(b, "<tr><td>%d</td>", j + 1);
        td(b, " class=\"l\"", rp->c->a.argv[1 + 2 * j]);
        td(b, " class=\"l\"", rp->c->a.argv[2 + 2 * j]);
        sb_printf(b, "<td>%dx%dx%d</td><td>%zu</td><td>%.3f</td><td>%.3f</td><td>%.4f</td><td>%.4f</td></tr>\n", iw, ih, ic,
                  net_count_params(net, 1), net_flops(net) / 1e9, r->w[j], acc, nll);
    }
    sb_printf(b, "</table>\n");
    sb_printf(b, "<h2>Per-class metrics</h2>\n");
    metrics_table(b, &r->m, rp->c->d.names);
}

/* Appends the canvas as an <img> with a PNG data URI. */
static int put_png(strbuf *b, const canvas *cv, const char *alt, fer_err *e)
{
    sb_printf(b, "<img alt=\"%s\" width=\"%d\" src=\"", alt, cv->w);
    if (sb_png_data_uri(b, cv, e)) return -1;
    sb_printf(b, "\">\n");
    return 0;
}

static int section_confusion(report *rp, fer_err *e)
{
    sb_printf(&rp->b, "<h2>Confusion matrix</h2>\n");
    char title[512];
    snprintf(title, sizeof title, "%s on '%s' (%d images)", rp->c->nnets == 1 ? rp->name : "ensemble", rp->split,
             rp->r.sp.n);
    canvas cv = { 0 };
    int rc = confusion_canvas(&cv, rp->r.m.confusion, rp->r.m.classes, rp->c->d.names, title, e) ||
             put_png(&rp->b, &cv, "confusion matrix", e);
    canvas_free(&cv);
    return rc ? -1 : 0;
}

/* Each member's training log as a chart, or a note why not; fails only on an unreadable -log. */
static int section_history(report *rp, fer_err *e)
{
    strbuf *b = &rp->b;
    char **argv = rp->c->a.argv;
    sb_printf(b, "<h2>Training history</h2>\n");
    for (int j = 0; j < rp->c->nnets; j++) {
        char lp[2048];
        if (j == 0 && rp->log) snprintf(lp, sizeof lp, "%s", rp->log);
        else default_log(argv[1 + 2 * j], argv[2 + 2 * j], lp, sizeof lp);
        history h;
        fer_err le;
        char mname[256];
        path_stem(argv[1 + 2 * j], mname, sizeof mname);
        if (access(lp, R_OK)) {
            sb_printf(b, "<p class=\"note\">model %d (", j + 1);
            sb_escape(b, mname);
            sb_printf(b, "): no training log at ");
            sb_escape(b, lp);
            sb_printf(b, " (give one with -log)</p>\n");
            continue;
        }
        if (history_read_all(&h, lp, &le)) {
            if (j == 0 && rp->log) {
                *e = le;
                return -1;
            }
            sb_printf(b, "<p class=\"note\">model %d: ", j + 1);
            sb_escape(b, le.msg);
            sb_printf(b, "</p>\n");
            continue;
        }
        char ht[3000];
        snprintf(ht, sizeof ht, "model %d: %s, %d epochs (%s)", j + 1, mname, h.n, lp);
        history_svg(b, &h, ht);
        history_free(&h);
    }
    return 0;
}

static void section_distribution(report *rp)
{
    strbuf *b = &rp->b;
    const data_cfg *d = &rp->c->d;
    sb_printf(b, "<h2>Class distribution</h2>\n");
    int *count = calloc((size_t)d->classes, sizeof *count);
    double *values[3] = { NULL, NULL, NULL };
    const char *splits[3] = { "train", "valid", "test" };
    uint32_t colors[3] = { RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44) };
    bar_chart bc;
    memset(&bc, 0, sizeof bc);
    char series[3][96];
    for (int s = 0; s < 3 && count; s++) {
        int total;
        fer_err se;
        if (split_class_counts(d, splits[s], count, &total, &se)) {
            sb_printf(b, "<p class=\"note\">split '%s' not counted: ", splits[s]);
            sb_escape(b, se.msg);
            sb_printf(b, "</p>\n");
            continue;
        }
        values[bc.n_series] = malloc((size_t)d->classes * sizeof(double));
        if (!values[bc.n_series]) break;
        for (int k = 0; k < d->classes; k++) values[bc.n_series][k] = count[k];
        snprintf(series[bc.n_series], sizeof series[0], "%s (%d)", splits[s], total);
        bc.values[bc.n_series] = values[bc.n_series];
        bc.series_names[bc.n_series] = series[bc.n_series];
        bc.colors[bc.n_series] = colors[s];
        bc.n_series++;
    }
    if (bc.n_series) {
        bc.title = "images per class and split";
        bc.ylabel = "images";
        bc.groups = d->classes;
        bc.group_names = d->names;
        bar_chart_svg(b, 1000, 420, &bc);
    }
    for (int s = 0; s < 3; s++) free(values[s]);
    free(count);
}

static int section_gradcam(report *rp, fer_err *e)
{
    strbuf *b = &rp->b;
    network *net = rp->c->nets[0];
    const data_cfg *d = &rp->c->d;
    sb_printf(b, "<h2>Grad-CAM: correct and misclassified examples (model 1)</h2>\n<p class=\"note\">Per class (row), "
                 "the %d most confident correct predictions (green frames) and the %d most confident mistakes (red "
                 "frames) on split '", rp->per, rp->per);
    sb_escape(b, rp->split);
    sb_printf(b, "', each with the Grad-CAM of the predicted class over the last spatial convolutional layer; "
                 "captions: the prediction, its probability and the image's index in the split.</p>\n");
    dataset ds;
    if (dataset_load(&ds, rp->path, rp->usage, d, net->opt.width, net->opt.height, net->opt.channels, e)) return -1;
    ds.n = rp->r.sp.n;
    canvas cv = { 0 };
    int rc = gradcam_grid(&cv, net, &ds, rp->r.sp.probs[0], d->names, rp->per, -1, NULL, e) ||
             put_png(b, &cv, "Grad-CAM grid", e);
    dataset_free(&ds);
    canvas_free(&cv);
    return rc ? -1 : 0;
}

/* Evaluates the members and writes the report to out. */
static int write_report(report *rp, const char *out, int limit, fer_err *e)
{
    cli *c = rp->c;
    int m = c->nnets;
    fprintf(stderr, "evaluating %d model%s on split '%s'...\n", m, m == 1 ? "" : "s", rp->split);
    if (ensemble_evaluate(c->nets, m, &c->d, rp->split, rp->tta, c->w, limit, &rp->r, e)) return -1;
    path_stem(c->a.argv[1], rp->name, sizeof rp->name);
    section_head(rp);
    section_models(rp);
    if (section_confusion(rp, e) || section_history(rp, e)) return -1;
    section_distribution(rp);
    if (rp->per > 0 && section_gradcam(rp, e)) return -1;
    sb_printf(&rp->b, "<p class=\"note\">Written by fer. Soft voting: p = sum_j w_j p_j. Saliency and Grad-CAM are computed "
                      "from the pre-softmax class scores.</p>\n</body></html>\n");
    if (sb_save(&rp->b, out, e)) return -1;
    printf("wrote %s (%zu bytes)\n", out, rp->b.len);
    printf("accuracy: %.4f\n", rp->r.m.accuracy);
    return 0;
}

/* The options checked, the split chosen and the members loaded. */
static int report_setup(report *rp, const char *out, fer_err *e)
{
    cli *c = rp->c;
    if (!str_ends_with(out, ".html") && !str_ends_with(out, ".htm"))
        return fer_fail(e, "-o %s: expected an .html file name", out);
    if (rp->per < 0 || rp->per > 16)
        return fer_fail(e, "-n %d: expected 0..16 examples per group (0: no grid)", rp->per);
    if (rp->log && access(rp->log, R_OK)) return fer_fail(e, "-log %s: cannot read it", rp->log);
    if (data_split(&c->d, rp->split, &rp->path, &rp->usage, e) ||
        cli_load_ensemble(c, c->a.argv + 1, c->a.argc - 1, rp->wspec))
        return -1;
    if (c->nets[0]->classes != c->d.classes)
        return fer_fail(e, "%s outputs %d values but %s has %d classes", c->a.argv[1], c->nets[0]->classes, c->d.path,
                        c->d.classes);
    return 0;
}

static int report_run(cli *c)
{
    args *a = &c->a;
    report rp;
    memset(&rp, 0, sizeof rp);
    rp.c = c;
    const char *out = args_str(a, "-o", "report.html");
    rp.split = args_str(a, "-split", "valid");
    rp.tta = args_flag(a, "-tta");
    rp.wspec = args_str(a, "-w", NULL);
    rp.log = args_str(a, "-log", NULL);
    rp.per = args_int(a, "-n", 3);
    int limit = args_int(a, "-limit", 0);
    int rc = cli_start(c, 2, -1);
    if (rc) return rc;
    rc = report_setup(&rp, out, &c->e) || write_report(&rp, out, limit, &c->e);
    ensemble_result_free(&rp.r);
    sb_free(&rp.b);
    return rc ? cli_error(c) : 0;
}

const command cmd_report = {
    "report", report_run, CLI_CTX | CLI_DATA_REQUIRED,
    "usage: fer report [DATA] CFG WEIGHTS [CFG2 WEIGHTS2 ...] [-o report.html] [-split valid|test|train] [-tta]\n"
    "                  [-w w1,w2,...] [-log LOG.csv] [-n 3] [-limit N]\n"
    "  -log: the training log of the first model (default: <weights folder>/<cfg name>.log.csv per model)\n"
    "  -n: correct and misclassified examples per class in the Grad-CAM grid of the first model\n",
    "one self-contained HTML report", NULL,
};
