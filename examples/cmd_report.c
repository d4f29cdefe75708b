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

static const char report_usage[] =
    "usage: fer report [DATA] CFG WEIGHTS [CFG2 WEIGHTS2 ...] [-o report.html] [-split valid|test|train] [-tta]\n"
    "                  [-w w1,w2,...] [-log LOG.csv] [-n 3] [-limit N] [-threads N]\n"
    "  -log: the training log of the first model (default: <weights folder>/<cfg name>.log.csv per model)\n"
    "  -n: correct and misclassified examples per class in the Grad-CAM grid of the first model\n";

static const char style[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#222;"
    "background:#fafafa;padding:0 16px}"
    "h1{font-size:28px;margin-bottom:4px}h2{font-size:21px;margin-top:36px;border-bottom:2px solid #ddd;padding-bottom:4px}"
    "table{border-collapse:collapse;margin:8px 0;background:#fff}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
    "th{background:#eef2f7}td.l,th.l{text-align:left}.big{font-size:34px;font-weight:bold;color:#08306b}"
    ".note{color:#666;font-size:14px}img,svg{max-width:100%;height:auto;background:#fff;border:1px solid #ddd}"
    ".kpi{display:inline-block;margin-right:36px}";


/* <weights folder>/<cfg name>.log.csv, where training writes its log. */
static void default_log(const char *cfg, const char *weights, char *out, size_t cap)
{
    char name[256];
    path_stem(cfg, name, sizeof name);
    const char *slash = strrchr(weights, '/');
    if (slash) snprintf(out, cap, "%.*s/%s.log.csv", (int)(slash - weights), weights, name);
    else snprintf(out, cap, "%s.log.csv", name);
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

int cmd_report(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    const char *out = args_str(&a, "-o", "report.html");
    const char *split = args_str(&a, "-split", "valid");
    int tta = args_flag(&a, "-tta");
    const char *wspec = args_str(&a, "-w", NULL);
    const char *log_arg = args_str(&a, "-log", NULL);
    int per = args_int(&a, "-n", 3);
    int limit = args_int(&a, "-limit", 0);
    fer_ctx *ctx = NULL;
    if (cli_ctx(&a, &ctx) || args_done(&a)) {
        fer_ctx_free(ctx);
        fputs(report_usage, stderr);
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
    strbuf b = { 0 };
    canvas c = { 0 };
    int *count = NULL;
    double *values[3] = { NULL, NULL, NULL };
    if (a.argc < 3) {
        fputs(report_usage, stderr);
        status = 2;
        goto out;
    }
    if (!str_ends_with(out, ".html") && !str_ends_with(out, ".htm")) {
        fer_fail(&e, "-o %s: expected an .html file name", out);
        goto fail;
    }
    if (per < 0 || per > 16) { fer_fail(&e, "-n %d: expected 0..16 examples per group (0: no grid)", per); goto fail; }
    if (log_arg && access(log_arg, R_OK)) { fer_fail(&e, "-log %s: cannot read it", log_arg); goto fail; }
    const char *path, *usage;
    if (data_split(&d, split, &path, &usage, &e) || ensemble_load(&nets, &m, a.argv + 1, a.argc - 1, ctx, &e)) goto fail;
    if (nets[0]->classes != d.classes) {
        fer_fail(&e, "%s outputs %d values but %s has %d classes", a.argv[1], nets[0]->classes, d.path, d.classes);
        goto fail;
    }
    w = malloc((size_t)m * sizeof *w);
    if (!w) { fer_fail(&e, "out of memory"); goto fail; }
    for (int j = 0; j < m; j++) w[j] = 1;
    if (wspec && ensemble_parse_weights(wspec, m, w, &e)) goto fail;
    fprintf(stderr, "evaluating %d model%s on split '%s'...\n", m, m == 1 ? "" : "s", split);
    if (ensemble_evaluate(nets, m, &d, split, tta, w, limit, &r, &e)) goto fail;

    char name[256];
    path_stem(a.argv[1], name, sizeof name);
    sb_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>fer report: ");
    sb_escape(&b, m == 1 ? name : "ensemble");
    sb_printf(&b, "</title>\n<style>%s</style></head><body>\n", style);
    sb_printf(&b, "<h1>fer report: ");
    if (m == 1) sb_escape(&b, name);
    else sb_printf(&b, "ensemble of %d models", m);
    sb_printf(&b, "</h1>\n<p class=\"note\">");
    sb_escape(&b, path);
    sb_printf(&b, ", split '");
    sb_escape(&b, split);
    int csv = str_ends_with(path, ".csv") && *usage;   /* only a CSV split has a Usage filter */
    sb_printf(&b, "'%s", csv ? " (Usage=" : "");
    sb_escape(&b, csv ? usage : "");
    sb_printf(&b, "%s, %d images, %s%s</p>\n", csv ? ")" : "", r.sp.n,
              tta ? "with test-time augmentation" : "no test-time augmentation",
              m > 1 ? (wspec ? ", weights given with -w (normalized)" : ", equal weights") : "");
    sb_printf(&b, "<div><span class=\"kpi\">accuracy<br><span class=\"big\">%.2f%%</span></span>"
                  "<span class=\"kpi\">top-2 accuracy<br><span class=\"big\">%.2f%%</span></span>"
                  "<span class=\"kpi\">loss<br><span class=\"big\">%.4f</span></span></div>\n",
              100 * r.m.accuracy, 100 * r.m.top2, r.m.loss);

    sb_printf(&b, "<h2>Models</h2>\n<table><tr><th>#</th><th class=\"l\">cfg</th><th class=\"l\">weights</th><th>input</th>"
                  "<th>parameters</th><th>GFLOPs</th><th>weight</th><th>accuracy</th><th>loss</th></tr>\n");
    for (int j = 0; j < m; j++) {
        double nll, acc;
        probs_score(r.sp.probs[j], r.sp.labels, r.sp.n, r.sp.classes, &nll, &acc);
        int iw, ih, ic;
        fer_net_input_shape(nets[j], &iw, &ih, &ic);
        sb_printf(&b, "<tr><td>%d</td>", j + 1);
        td(&b, " class=\"l\"", a.argv[1 + 2 * j]);
        td(&b, " class=\"l\"", a.argv[2 + 2 * j]);
        sb_printf(&b, "<td>%dx%dx%d</td><td>%zu</td><td>%.3f</td><td>%.3f</td><td>%.4f</td><td>%.4f</td></tr>\n", iw, ih, ic,
                  net_count_params(nets[j], 1), net_flops(nets[j]) / 1e9, r.w[j], acc, nll);
    }
    sb_printf(&b, "</table>\n");

    sb_printf(&b, "<h2>Per-class metrics</h2>\n");
    metrics_table(&b, &r.m, d.names);

    sb_printf(&b, "<h2>Confusion matrix</h2>\n");
    char title[512];
    snprintf(title, sizeof title, "%s on '%s' (%d images)", m == 1 ? name : "ensemble", split, r.sp.n);
    if (confusion_canvas(&c, r.m.confusion, r.m.classes, d.names, title, &e)) goto fail;
    sb_printf(&b, "<img alt=\"confusion matrix\" width=\"%d\" src=\"", c.w);
    if (sb_png_data_uri(&b, &c, &e)) goto fail;
    sb_printf(&b, "\">\n");
    canvas_free(&c);

    sb_printf(&b, "<h2>Training history</h2>\n");
    for (int j = 0; j < m; j++) {
        char lp[2048];
        if (j == 0 && log_arg) snprintf(lp, sizeof lp, "%s", log_arg);
        else default_log(a.argv[1 + 2 * j], a.argv[2 + 2 * j], lp, sizeof lp);
        history h;
        fer_err le;
        char mname[256];
        path_stem(a.argv[1 + 2 * j], mname, sizeof mname);
        if (access(lp, R_OK)) {
            sb_printf(&b, "<p class=\"note\">model %d (", j + 1);
            sb_escape(&b, mname);
            sb_printf(&b, "): no training log at ");
            sb_escape(&b, lp);
            sb_printf(&b, " (give one with -log)</p>\n");
            continue;
        }
        if (history_read(&h, lp, &le)) {
            if (j == 0 && log_arg) { e = le; goto fail; }
            sb_printf(&b, "<p class=\"note\">model %d: ", j + 1);
            sb_escape(&b, le.msg);
            sb_printf(&b, "</p>\n");
            continue;
        }
        char ht[3000];
        snprintf(ht, sizeof ht, "model %d: %s, %d epochs (%s)", j + 1, mname, h.n, lp);
        history_svg(&b, &h, ht);
        history_free(&h);
    }

    sb_printf(&b, "<h2>Class distribution</h2>\n");
    count = calloc((size_t)d.classes, sizeof *count);
    const char *splits[3] = { "train", "valid", "test" };
    const char *labels[3] = { NULL, NULL, NULL };
    uint32_t colors[3] = { RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44) };
    bar_chart bc;
    memset(&bc, 0, sizeof bc);
    char series[3][96];
    for (int s = 0; s < 3 && count; s++) {
        int total;
        fer_err se;
        if (split_class_counts(&d, splits[s], count, &total, &se)) {
            sb_printf(&b, "<p class=\"note\">split '%s' not counted: ", splits[s]);
            sb_escape(&b, se.msg);
            sb_printf(&b, "</p>\n");
            continue;
        }
        values[bc.n_series] = malloc((size_t)d.classes * sizeof(double));
        if (!values[bc.n_series]) break;
        for (int k = 0; k < d.classes; k++) values[bc.n_series][k] = count[k];
        snprintf(series[bc.n_series], sizeof series[0], "%s (%d)", splits[s], total);
        labels[bc.n_series] = series[bc.n_series];
        bc.values[bc.n_series] = values[bc.n_series];
        bc.series_names[bc.n_series] = labels[bc.n_series];
        bc.colors[bc.n_series] = colors[s];
        bc.n_series++;
    }
    if (bc.n_series) {
        bc.title = "images per class and split";
        bc.ylabel = "images";
        bc.groups = d.classes;
        bc.group_names = d.names;
        bar_chart_svg(&b, 1000, 420, &bc);
    }

    if (per > 0) {
        sb_printf(&b, "<h2>Grad-CAM: correct and misclassified examples (model 1)</h2>\n<p class=\"note\">Per class (row), "
                      "the %d most confident correct predictions (green frames) and the %d most confident mistakes (red "
                      "frames) on split '", per, per);
        sb_escape(&b, split);
        sb_printf(&b, "', each with the Grad-CAM of the predicted class over the last spatial convolutional layer; "
                      "captions: the prediction, its probability and the image's index in the split.</p>\n");
        dataset ds;
        if (dataset_load(&ds, path, usage, &d, nets[0]->opt.width, nets[0]->opt.height, nets[0]->opt.channels, &e)) goto fail;
        ds.n = r.sp.n;
        int rc = gradcam_grid(&c, nets[0], &ds, r.sp.probs[0], d.names, per, -1, NULL, &e);
        dataset_free(&ds);
        if (rc) goto fail;
        sb_printf(&b, "<img alt=\"Grad-CAM grid\" width=\"%d\" src=\"", c.w);
        if (sb_png_data_uri(&b, &c, &e)) goto fail;
        sb_printf(&b, "\">\n");
        canvas_free(&c);
    }
    sb_printf(&b, "<p class=\"note\">Written by fer. Soft voting: p = sum_j w_j p_j. Saliency and Grad-CAM are computed "
                  "from the pre-softmax class scores.</p>\n</body></html>\n");
    if (sb_save(&b, out, &e)) goto fail;
    printf("wrote %s (%zu bytes)\n", out, b.len);
    printf("accuracy: %.4f\n", r.m.accuracy);
    status = 0;
    goto out;
fail:
    cli_fail(&e);
out:
    for (int s = 0; s < 3; s++) free(values[s]);
    free(count);
    canvas_free(&c);
    sb_free(&b);
    ensemble_result_free(&r);
    free(w);
    ensemble_free(nets, m);
    data_cfg_free(&d);
    fer_ctx_free(ctx);
    return status;
}
