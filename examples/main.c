/* main.c - the fer command line: a table of subcommands, one file each. */
#include "cli.h"

#include <string.h>

int cmd_net(int argc, char **argv);
int cmd_classifier(int argc, char **argv);
int cmd_partial(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_average(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_ensemble(int argc, char **argv);
int cmd_visualize(int argc, char **argv);
int cmd_report(int argc, char **argv);

static const command commands[] = {
    { "net", cmd_net, "net CFG [WEIGHTS]           print the layers, parameters and FLOPs" },
    { "classifier", cmd_classifier,
      "classifier train [DATA] CFG [WEIGHTS] [-epochs N] [-seed N] [-clear] ...   train (resumes from _last.weights)\n"
      "  classifier valid [DATA] CFG WEIGHTS [-split valid|test|train] [-tta]    accuracy, per-class metrics, confusion\n"
      "  classifier predict [DATA] CFG WEIGHTS IMAGE... [-top K] [-json]          classify images" },
    { "data", cmd_data, "data stats [DATA] | holdout IN.csv OUT.csv   images per split and class; a validation split out of Training" },
    { "bench", cmd_bench, "bench CFG [-batch N] [-threads N] [-iters N]   training/inference speed, latency, memory" },
    { "partial", cmd_partial, "partial CFG WEIGHTS OUT N     write the first N layers' weights" },
    { "convert", cmd_convert,
      "convert CFG IN OUT [-half]    rewrite weights as Darknet float32, or half precision (fer's extension)" },
    { "average", cmd_average,
      "average [DATA] CFG OUT W1 W2 ... [-bn N]   mean of weight files (SWA), batch-norm statistics re-estimated" },
    { "demo", cmd_demo,
      "demo [DATA] [CFG WEIGHTS] [-c N | -i INPUT] [-o OUT] [-http PORT] [-json] ...   live faces and expressions (fer demo -h)" },
    { "ensemble", cmd_ensemble,
      "ensemble [DATA] CFG1 WEIGHTS1 CFG2 WEIGHTS2 ... [-split valid|test] [-tta] [-w w1,w2,...] [-fit] [-out probs.csv]\n"
      "                               soft voting; -fit fits the weights by cross-fitting or on another split" },
    { "visualize", cmd_visualize,
      "visualize confusion|saliency|gradcam|grid|history ...   pictures (PNG, and SVG for charts); see fer visualize" },
    { "report", cmd_report, "report [DATA] CFG WEIGHTS [CFG2 WEIGHTS2 ...] [-o report.html]   one self-contained HTML report" },
};

static void usage(FILE *out)
{
    fprintf(out, "fer - facial expression recognition engine (Darknet-style cfg networks)\n\n"
                 "usage: fer <command> [args] [-threads N] [-isa auto|scalar|avx2|avx512] [-bf16]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %s\n", commands[i].usage);
    fprintf(out, "\nDATA defaults to %s. Sections: ", FER_DEFAULT_DATA);
    layer_type_list(out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "fer: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
