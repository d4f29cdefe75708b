/* cli.c - option parsing, command dispatch and the command session of the
 * fer command line. */
#include "cli.h"
#include "data/paths.h"
#include "analysis/analysis.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- options ---------------------------------------------------------------- */

void args_init(args *a, int argc, char **argv)
{
    a->argc = argc;
    a->argv = argv;
    a->bad = 0;
    a->err.msg[0] = 0;
}

int args_fail(args *a, const char *fmt, ...)
{
    if (!a->bad) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->err.msg, sizeof a->err.msg, fmt, ap);
        va_end(ap);
    }
    a->bad = 1;
    return -1;
}

static void take(args *a, int i, int n)
{
    for (int j = i; j + n < a->argc; j++) a->argv[j] = a->argv[j + n];
    a->argc -= n;
}

static int find(args *a, const char *name)
{
    for (int i = 1; i < a->argc; i++)
        if (!strcmp(a->argv[i], name)) return i;
    return -1;
}

int args_flag(args *a, const char *name)
{
    int i = find(a, name);
    if (i < 0) return 0;
    take(a, i, 1);
    return 1;
}

const char *args_str(args *a, const char *name, const char *def)
{
    int i = find(a, name);
    if (i < 0) return def;
    if (i + 1 >= a->argc) {
        args_fail(a, "option %s needs a value", name);
        take(a, i, 1);
        return def;
    }
    const char *v = a->argv[i + 1];
    take(a, i, 2);
    return v;
}

const char *args_peek(args *a, const char *name)
{
    int i = find(a, name);
    return i >= 0 && i + 1 < a->argc ? a->argv[i + 1] : NULL;
}

/* strtol over the whole string, within int. */
static int parse_int(const char *v, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < INT_MIN || x > INT_MAX) return -1;
    *out = (int)x;
    return 0;
}

int args_int(args *a, const char *name, int def)
{
    const char *v = args_str(a, name, NULL);
    int x;
    if (!v) return def;
    if (parse_int(v, &x)) {
        args_fail(a, "option %s %s: expected an integer", name, v);
        return def;
    }
    return x;
}

int args_int_range(args *a, const char *name, int def, int lo, int hi)
{
    const char *v = args_str(a, name, NULL);
    int x;
    if (!v) return def;
    if (parse_int(v, &x) || x < lo || x > hi) {
        if (hi == INT_MAX) args_fail(a, "option %s %s: expected an integer >= %d", name, v, lo);
        else args_fail(a, "option %s %s: expected an integer in %d..%d", name, v, lo, hi);
        return def;
    }
    return x;
}

/* strtod over the whole string. */
static int parse_float(const char *v, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    return end == v || *end || errno ? -1 : 0;
}

float args_float(args *a, const char *name, float def)
{
    const char *v = args_str(a, name, NULL);
    double x;
    if (!v) return def;
    if (parse_float(v, &x)) {
        args_fail(a, "option %s %s: expected a number", name, v);
        return def;
    }
    return (float)x;
}

float args_float_range(args *a, const char *name, float def, float lo, float hi, const char *why)
{
    const char *v = args_str(a, name, NULL);
    if (!v) return def;
    char *end;
    float x = strtof(v, &end);
    if (end == v || *end || !isfinite(x) || !(x > lo && x <= hi)) {
        args_fail(a, "%s %s: %s", name, v, why);
        return def;
    }
    return x;
}

int args_done(args *a)
{
    if (a->bad) return -1;
    for (int i = 1; i < a->argc; i++)
        if (a->argv[i][0] == '-' && a->argv[i][1] && strcmp(a->argv[i], "-"))
            return args_fail(a, "unknown option %s", a->argv[i]);
    return 0;
}

/* ---- usage and dispatch --------------------------------------------------------- */

static const char ctx_usage[] =
    "  every command that runs a network: -threads N (1..256; default: one per core), -isa auto|scalar|avx2|avx512|neon,\n"
    "  -bf16 (bf16 GEMM where the CPU has AVX512_BF16; also FER_PRECISION=bf16)\n";

void cli_usage(const command *cmd, FILE *out)
{
    int needs = cmd->needs;
    if (cmd->usage) fputs(cmd->usage, out);
    for (const command *s = cmd->sub; s && s->name; s++) {
        fputs(s->usage, out);
        needs |= s->needs;
    }
    if (needs & CLI_CTX) fputs(ctx_usage, out);
}

static int wants_help(const char *word)
{
    return !strcmp(word, "-h") || !strcmp(word, "--help") || !strcmp(word, "-help");
}

static int run_group(const command *group, int argc, char **argv)
{
    if (argc >= 2)
        for (const command *s = group->sub; s->name; s++)
            if (!strcmp(argv[1], s->name)) return cli_run(s, argc - 1, argv + 1);
    if (argc >= 2 && wants_help(argv[1])) {
        cli_usage(group, stdout);
        return 0;
    }
    if (argc >= 2) {
        fprintf(stderr, "fer: unknown command '%s %s' (%s commands:", group->name, argv[1], group->name);
        for (const command *s = group->sub; s->name; s++) fprintf(stderr, " %s", s->name);
        fprintf(stderr, ")\n");
    }
    cli_usage(group, stderr);
    return 2;
}

static void cli_free(cli *c)
{
    net_free(c->net);
    ensemble_free(c->nets, c->nnets);
    free(c->w);
    data_cfg_free(&c->d);
    fer_ctx_free(c->ctx);
}

int cli_run(const command *cmd, int argc, char **argv)
{
    if (cmd->sub) return run_group(cmd, argc, argv);
    for (int i = 1; i < argc; i++)
        if (wants_help(argv[i])) {
            cli_usage(cmd, stdout);
            return 0;
        }
    cli c;
    memset(&c, 0, sizeof c);
    c.cmd = cmd;
    args_init(&c.a, argc, argv);
    int status = cmd->run(&c);
    cli_free(&c);
    return status;
}

/* ---- the session ------------------------------------------------------------- */

int cli_error(cli *c)
{
    fprintf(stderr, "fer: %s\n", c->e.msg);
    return 1;
}

int cli_bad_usage(cli *c)
{
    cli_usage(c->cmd, stderr);
    return 2;
}
/* The CLI's log hooks: what the library reports goes to stderr, a line
 * each; on a terminal (log_live) a progress line instead redraws in place
 * until an empty one ends it with a newline. The three spaces after a
 * progress line blank the tail of a longer previous one. */
static void log_lines(void *user, int level, const char *msg)
{
    (void)user;
    fprintf(stderr, level == FER_LOG_PROGRESS ? "%s   \n" : "%s\n", msg);
}

static void log_live(void *user, int level, const char *msg)
{
    if (level != FER_LOG_PROGRESS) log_lines(user, level, msg);
    else if (*msg) fprintf(stderr, "\r%s   ", msg);
    else fputc('\n', stderr);
}

static const log_hook cli_log = { log_lines, NULL, 0 };

static void set_log(fer_ctx *ctx)
{
    int live = isatty(2);
    fer_ctx_set_log(ctx, live ? log_live : log_lines, NULL, live);
}


/* The context from -threads, -isa and -bf16 (or FER_PRECISION=bf16|fp32).
 * The precision is read here, not in libfer, so library users and the C
 * tests get fp32 unless they ask. */
static int make_ctx(cli *c, int threads, const char *isa, const char *precision)
{
    if (fer_ctx_new(&c->ctx, threads, isa, &c->e)) return -1;
    set_log(c->ctx);
    if (precision && *precision && fer_ctx_set_precision(c->ctx, precision, &c->e)) return -1;
    return 0;
}

/* Takes a leading positional that ends in ".data" and reads it; without one
 * reads the default, or leaves d->names NULL when the default is absent
 * (an error when required). */
static int read_data(cli *c, int required)
{
    args *a = &c->a;
    if (a->argc > 1 && str_ends_with(a->argv[1], ".data")) {
        const char *path = a->argv[1];
        take(a, 1, 1);
        return data_cfg_read(&c->d, path, &cli_log, &c->e);
    }
    char path[4096];   /* from here, or beside fer, or where it is installed */
    if (!path_locate(FER_DEFAULT_DATA, NULL, path, sizeof path)) return data_cfg_read(&c->d, path, &cli_log, &c->e);
    if (required)
        return fer_fail(&c->e, "%s: not found here, beside fer or in %s (give a .data file)", FER_DEFAULT_DATA,
                        path_share_dir());
    return 0;
}

int cli_start(cli *c, int min, int max)
{
    args *a = &c->a;
    int needs = c->cmd->needs, threads = 0;
    const char *isa = NULL, *precision = NULL;
    if (needs & CLI_CTX) {
        threads = args_int_range(a, "-threads", 0, 1, 256);
        isa = args_str(a, "-isa", NULL);
        precision = args_flag(a, "-bf16") ? "bf16" : getenv("FER_PRECISION");
    }
    if (args_done(a)) {
        fprintf(stderr, "fer: %s\n", a->err.msg);
        return cli_bad_usage(c);
    }
    if ((needs & CLI_CTX) && make_ctx(c, threads, isa, precision)) return cli_error(c);
    if ((needs & (CLI_DATA | CLI_DATA_REQUIRED)) && read_data(c, needs & CLI_DATA_REQUIRED)) return cli_error(c);
    int n = a->argc - 1;
    if (n < min || (max >= 0 && n > max)) return cli_bad_usage(c);
    return 0;
}

int cli_load_net(cli *c, const char *cfg, const char *weights)
{
    if (net_from_cfg(&c->net, cfg, c->ctx, &c->e)) return -1;
    return weights ? weights_load_explained(c->net, weights, -1, &c->e) : 0;
}

int cli_load_ensemble(cli *c, char **pairs, int n, const char *wspec)
{
    if (ensemble_load(&c->nets, &c->nnets, pairs, n, c->ctx, &c->e)) return -1;
    c->w = malloc((size_t)c->nnets * sizeof *c->w);
    if (!c->w) return fer_fail(&c->e, "out of memory");
    for (int j = 0; j < c->nnets; j++) c->w[j] = 1;
    return wspec ? ensemble_parse_weights(wspec, c->nnets, c->w, &c->e) : 0;
}
