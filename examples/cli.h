/* cli.h - what the fer commands share: the command table entry, option
 * parsing that removes the options it reads from argv, and the session of
 * one command (its arguments, context, .data file, networks and error, with
 * one clean-up path).
 *
 * A command's life: cli_run finds it in a table (and answers -h/--help with
 * its usage), the command takes its own options from c->a, cli_start takes
 * the shared ones (-threads, -isa, -bf16), rejects unknown ones, sets up what
 * the table entry says the command needs and checks the count of positional
 * arguments; the command does its work; cli_run frees the session. */
#ifndef FER_CLI_H
#define FER_CLI_H

#include "data/datacfg.h"
#include "engine/engine.h"

/* ---- options ---------------------------------------------------------------- */

typedef struct args {
    int argc;
    char **argv;          /* argv[0], then the positional arguments left after options are taken */
    fer_err err;
    int bad;              /* an option was malformed; err says which (the first one) */
} args;

void args_init(args *a, int argc, char **argv);
int args_flag(args *a, const char *name);
int args_int(args *a, const char *name, int def);
float args_float(args *a, const char *name, float def);
const char *args_str(args *a, const char *name, const char *def);
/* The value of an option without taking it (NULL when absent). */
const char *args_peek(args *a, const char *name);
/* An integer option that must lie in [lo, hi] when given. */
int args_int_range(args *a, const char *name, int def, int lo, int hi);
/* A finite number in (lo, hi] when given; else "NAME VALUE: why" is the error. */
float args_float_range(args *a, const char *name, float def, float lo, float hi, const char *why);
/* Records a malformed command line (the first message wins); returns -1. */
int args_fail(args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails when an option was malformed or an unknown "-x" remains. */
int args_done(args *a);

/* ---- commands --------------------------------------------------------------- */

/* What cli_start sets up for a command (table entry's needs). */
enum {
    CLI_CTX = 1,            /* -threads N, -isa NAME, -bf16: c->ctx */
    CLI_DATA = 2,           /* a leading DATA argument ending in .data, or the default when present: c->d */
    CLI_DATA_REQUIRED = 4,  /* the same, and a missing default is an error */
};

typedef struct cli cli;

typedef struct command {
    const char *name;             /* the word after fer (or after its group's word) */
    int (*run)(cli *c);           /* the command; returns the exit code. NULL for a group */
    int needs;                    /* CLI_* */
    const char *usage;            /* "usage: fer ...": printed by -h and for a malformed command line */
    const char *summary;          /* one line for fer -h */
    const struct command *sub;    /* a group's commands, up to an entry without a name */
} command;

/* The session of one command. */
struct cli {
    const command *cmd;
    args a;                  /* the command line; options are taken out as they are read */
    fer_ctx *ctx;            /* CLI_CTX: threads, kernels, precision */
    data_cfg d;              /* CLI_DATA*: the .data file; d.names is NULL when none was read */
    network *net;            /* the command's network, when it loads one (cli_load_net) */
    network **nets;          /* an ensemble's networks [nnets] (cli_load_ensemble) */
    float *w;                /* [nnets] their weights, normalized to sum 1 */
    int nnets;
    fer_err e;               /* the failed step's message */
};

/* Runs a command or a group (argv[0] is its name): -h, --help or -help prints
 * the usage to stdout; a group picks its command by argv[1]. */
int cli_run(const command *cmd, int argc, char **argv);
/* The usage of a command or group, with the shared options when it runs a network. */
void cli_usage(const command *cmd, FILE *out);
/* Takes the shared options, rejects unknown ones, sets up what c->cmd needs
 * and checks that there are min..max positional arguments (max -1: no
 * limit). Returns 0, or the exit code after printing why: 2 for a malformed
 * command line (with the usage), 1 when a set-up step failed. */
int cli_start(cli *c, int min, int max);
/* fer_net_load into c->net. */
int cli_load_net(cli *c, const char *cfg, const char *weights);
/* The ensemble of the CFG WEIGHTS pairs into c->nets, and c->w: equal
 * weights, or "w1,w2,..." (-w) when wspec is not NULL. */
int cli_load_ensemble(cli *c, char **pairs, int n, const char *wspec);
/* Prints "fer: <c->e>" to stderr and returns 1. */
int cli_error(cli *c);
/* Prints the usage to stderr and returns 2. */
int cli_bad_usage(cli *c);

#endif
