/* main.c - the fer command line: the table of commands, one file each
 * (cmd_<name>.c, which holds the command's table entry with its usage);
 * `fer -h` is generated from the table. */
#include "cli.h"
#include "train/dist.h"

#include <string.h>

extern const command cmd_net, cmd_darknet_check, cmd_classifier, cmd_data, cmd_bench, cmd_partial, cmd_convert, cmd_average, cmd_demo,
    cmd_ensemble, cmd_visualize, cmd_report;

static const command *const commands[] = {
    &cmd_net, &cmd_darknet_check, &cmd_classifier, &cmd_data, &cmd_bench, &cmd_partial, &cmd_convert,
    &cmd_average, &cmd_demo, &cmd_ensemble, &cmd_visualize, &cmd_report,
};

static void usage_line(FILE *out, const char *group, const command *c)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s%s", group ? group : "", group ? " " : "", c->name);
    fprintf(out, "  %-20s %s\n", name, c->summary);
}

static void usage(FILE *out)
{
    fprintf(out, "fer - facial expression recognition engine (Darknet-style cfg networks)\n\n"
                 "usage: fer <command> [args] [-threads N] [-isa auto|scalar|avx2|avx512|neon] [-bf16]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const command *c = commands[i];
        if (!c->sub) usage_line(out, NULL, c);
        for (const command *s = c->sub; s && s->name; s++) usage_line(out, c->name, s);
    }
    fprintf(out, "\nfer <command> -h prints the usage of a command. DATA defaults to %s. Sections: ", FER_DEFAULT_DATA);
    layer_type_list(out);
}

int main(int argc, char **argv)
{
    fer_err launch;
    if (dist_check_launch(&launch)) {
        fprintf(stderr, "fer: %s\n", launch.msg);
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-help") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-version")) {
        printf("fer %s\n", fer_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i]->name)) return cli_run(commands[i], argc - 1, argv + 1);
    fprintf(stderr, "fer: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
