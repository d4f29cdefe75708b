/* cli.h - what the fer subcommands share: the subcommand table entry,
 * option parsing that removes the options it reads from argv, and the
 * common set-up steps (context, optional .data argument, network). */
#ifndef FER_CLI_H
#define FER_CLI_H

#include "data/datacfg.h"
#include "engine/engine.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);    /* argv[0] is the subcommand; returns an exit code */
    const char *usage;
} command;

typedef struct args {
    int argc;
    char **argv;          /* positional arguments left after options are taken */
    fer_err err;
    int bad;              /* an option was malformed; err says which */
} args;

void args_init(args *a, int argc, char **argv);
int args_flag(args *a, const char *name);
int args_int(args *a, const char *name, int def);
float args_float(args *a, const char *name, float def);
const char *args_str(args *a, const char *name, const char *def);
/* Fails when an option was malformed or an unknown "-x" remains. */
int args_done(args *a);

/* -threads N, -isa NAME and -bf16 (or FER_PRECISION=bf16|fp32), shared by
 * every command that runs a network. The precision is read here, not in
 * libfer, so library users and the C tests get fp32 unless they ask. The
 * context's log hook writes what the library reports to stderr. */
int cli_ctx(args *a, fer_ctx **ctx);
/* A one-thread context with the same log hook, for commands that only
 * build a network (the context a network makes for itself has none). */
int cli_ctx_one_thread(fer_ctx **ctx, fer_err *e);
/* Takes a leading positional that ends in ".data" and reads it; without one
 * reads the default, or leaves d->names NULL when the default is absent.
 * The file's warnings go to stderr. */
int cli_data(args *a, data_cfg *d, fer_err *e);
/* The same, but a missing default is an error. */
int cli_data_required(args *a, data_cfg *d, fer_err *e);
/* Prints "fer: <message>" to stderr and returns 1. */
int cli_fail(const fer_err *e);

#endif
