/* cli.c - option parsing and set-up helpers for the fer subcommands. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void args_init(args *a, int argc, char **argv)
{
    a->argc = argc;
    a->argv = argv;
    a->bad = 0;
    a->err.msg[0] = 0;
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
        if (!a->bad) fer_fail(&a->err, "option %s needs a value", name);
        a->bad = 1;
        take(a, i, 1);
        return def;
    }
    const char *v = a->argv[i + 1];
    take(a, i, 2);
    return v;
}

int args_int(args *a, const char *name, int def)
{
    const char *v = args_str(a, name, NULL);
    if (!v) return def;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < INT_MIN || x > INT_MAX) {
        if (!a->bad) fer_fail(&a->err, "option %s %s: expected an integer", name, v);
        a->bad = 1;
        return def;
    }
    return (int)x;
}

float args_float(args *a, const char *name, float def)
{
    const char *v = args_str(a, name, NULL);
    if (!v) return def;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno) {
        if (!a->bad) fer_fail(&a->err, "option %s %s: expected a number", name, v);
        a->bad = 1;
        return def;
    }
    return (float)x;
}

int args_done(args *a)
{
    if (a->bad) return -1;
    for (int i = 1; i < a->argc; i++)
        if (a->argv[i][0] == '-' && a->argv[i][1] && strcmp(a->argv[i], "-")) {
            fer_fail(&a->err, "unknown option %s", a->argv[i]);
            return -1;
        }
    return 0;
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

int cli_ctx_one_thread(fer_ctx **ctx, fer_err *e)
{
    if (fer_ctx_new(ctx, 1, NULL, e)) return -1;
    set_log(*ctx);
    return 0;
}

int cli_ctx(args *a, fer_ctx **ctx)
{
    int threads = args_int(a, "-threads", 0);
    const char *isa = args_str(a, "-isa", NULL);
    const char *precision = args_flag(a, "-bf16") ? "bf16" : getenv("FER_PRECISION");
    if (a->bad) return -1;
    if (fer_ctx_new(ctx, threads, isa, &a->err)) return -1;
    set_log(*ctx);
    if (precision && *precision && fer_ctx_set_precision(*ctx, precision, &a->err)) {
        fer_ctx_free(*ctx);
        *ctx = NULL;
        return -1;
    }
    return 0;
}

int cli_data(args *a, data_cfg *d, fer_err *e)
{
    memset(d, 0, sizeof *d);
    if (a->argc > 1 && str_ends_with(a->argv[1], ".data")) {
        const char *path = a->argv[1];
        take(a, 1, 1);
        return data_cfg_read(d, path, &cli_log, e);
    }
    if (access(FER_DEFAULT_DATA, R_OK) != 0) return 0;
    return data_cfg_read(d, FER_DEFAULT_DATA, &cli_log, e);
}

int cli_data_required(args *a, data_cfg *d, fer_err *e)
{
    if (cli_data(a, d, e)) return -1;
    if (!d->names)
        return fer_fail(e, "%s: not found (run from the fer folder, or give a .data file)", FER_DEFAULT_DATA);
    return 0;
}

int cli_fail(const fer_err *e)
{
    fprintf(stderr, "fer: %s\n", e->msg);
    return 1;
}
