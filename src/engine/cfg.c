/* cfg.c - reads Darknet's cfg dialect: [section] headers, key=value lines,
 * full-line and trailing comments starting with '#' or ';'. Keeps each key's
 * line for messages and marks keys as used so unused ones can be reported. */
#include "engine.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static void trim(const char **b, const char **end)
{
    while (*b < *end && isspace((unsigned char)**b)) (*b)++;
    while (*end > *b && isspace((unsigned char)(*end)[-1])) (*end)--;
}

void cfg_free(cfg_file *cfg)
{
    if (!cfg) return;
    for (int i = 0; i < cfg->n_sections; i++) {
        cfg_section *s = &cfg->sections[i];
        for (int j = 0; j < s->n_options; j++) {
            free(s->options[j].key);
            free(s->options[j].value);
        }
        free(s->options);
        free(s->name);
    }
    free(cfg->sections);
    free(cfg->path);
    memset(cfg, 0, sizeof *cfg);
}

static int grow(void **p, int n, int *cap, size_t elem)
{
    if (n < *cap) return 0;
    int nc = *cap ? *cap * 2 : 8;
    void *q = realloc(*p, (size_t)nc * elem);
    if (!q) return -1;
    memset((char *)q + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *p = q;
    *cap = nc;
    return 0;
}

static int parse_text(cfg_file *out, const char *path, const char *text, int flat, fer_err *e)
{
    memset(out, 0, sizeof *out);
    out->path = dup_range(path, strlen(path));
    if (!out->path) return fer_fail(e, "%s: out of memory", path);
    int cap_sections = 0, cap_opts = 0;
    if (flat) {
        if (grow((void **)&out->sections, 0, &cap_sections, sizeof(cfg_section))) goto oom;
        out->n_sections = 1;
        out->sections[0].name = dup_range("data", 4);
        if (!out->sections[0].name) goto oom;
    }
    int line = 0;
    const char *p = text;
    while (*p) {
        line++;
        const char *eol = strchr(p, '\n');
        if (!eol) eol = p + strlen(p);
        const char *b = p, *end = eol;
        p = *eol ? eol + 1 : eol;
        trim(&b, &end);
        if (b == end || *b == '#' || *b == ';') continue;
        for (const char *q = b; q < end; q++) {
            if ((unsigned char)*q < 32 && *q != '\t') {
                cfg_free(out);
                return fer_fail(e, "%s:%d: control character (byte 0x%02x) in the text; is this a cfg file?",
                                path, line, (unsigned char)*q);
            }
        }
        if (*b == '[' && !flat) {
            const char *close = memchr(b, ']', (size_t)(end - b));
            if (!close || close + 1 != end || close == b + 1) {
                cfg_free(out);
                return fer_fail(e, "%s:%d: malformed section header (expected [name])", path, line);
            }
            if (grow((void **)&out->sections, out->n_sections, &cap_sections, sizeof(cfg_section))) goto oom;
            cfg_section *s = &out->sections[out->n_sections++];
            s->name = dup_range(b + 1, (size_t)(close - b - 1));
            if (!s->name) goto oom;
            for (char *c = s->name; *c; c++) *c = (char)tolower((unsigned char)*c);
            s->line = line;
            cap_opts = 0;
            continue;
        }
        if (out->n_sections == 0) {
            cfg_free(out);
            return fer_fail(e, "%s:%d: key before the first [section]", path, line);
        }
        const char *eq = memchr(b, '=', (size_t)(end - b));
        if (!eq) {
            cfg_free(out);
            return fer_fail(e, "%s:%d: expected key=value or [section]", path, line);
        }
        const char *kb = b, *ke = eq, *vb = eq + 1, *ve = end;
        for (const char *q = vb; q < ve; q++)
            if (*q == '#' || *q == ';') { ve = q; break; }
        trim(&kb, &ke);
        trim(&vb, &ve);
        if (kb == ke) {
            cfg_free(out);
            return fer_fail(e, "%s:%d: empty key", path, line);
        }
        if (vb == ve) {
            cfg_free(out);
            return fer_fail(e, "%s:%d: key '%.*s' has no value", path, line, (int)(ke - kb), kb);
        }
        cfg_section *s = &out->sections[out->n_sections - 1];
        for (int j = 0; j < s->n_options; j++) {
            if (strlen(s->options[j].key) == (size_t)(ke - kb) && !strncmp(s->options[j].key, kb, (size_t)(ke - kb))) {
                if (out->n_repeats < CFG_MAX_REPEATS) {
                    cfg_repeat *r = &out->repeats[out->n_repeats];
                    r->line = line;
                    r->first = s->options[j].line;
                    snprintf(r->key, sizeof r->key, "%.*s", (int)(ke - kb), kb);
                }
                out->n_repeats++;
                kb = NULL;   /* Darknet's rule: the first value stands */
                break;
            }
        }
        if (!kb) continue;
        if (grow((void **)&s->options, s->n_options, &cap_opts, sizeof(cfg_option))) goto oom;
        cfg_option *o = &s->options[s->n_options++];
        o->key = dup_range(kb, (size_t)(ke - kb));
        o->value = dup_range(vb, (size_t)(ve - vb));
        o->line = line;
        if (!o->key || !o->value) goto oom;
    }
    return 0;
oom:
    cfg_free(out);
    return fer_fail(e, "%s: out of memory", path);
}

int cfg_parse_text(cfg_file *out, const char *path, const char *text, fer_err *e)
{
    return parse_text(out, path, text, 0, e);
}

int cfg_read_flat(cfg_file *out, const char *path, fer_err *e)
{
    size_t len;
    char *text = read_file(path, &len, e);
    memset(out, 0, sizeof *out);
    if (!text) return -1;
    int rc = strlen(text) != len ? fer_fail(e, "%s: contains a NUL byte; not a text file", path)
                                 : parse_text(out, path, text, 1, e);
    free(text);
    return rc;
}

int cfg_read(cfg_file *out, const char *path, fer_err *e)
{
    size_t len;
    char *text = read_file(path, &len, e);
    if (!text) return -1;
    if (strlen(text) != len) {
        free(text);
        memset(out, 0, sizeof *out);
        return fer_fail(e, "%s: contains a NUL byte; not a text cfg", path);
    }
    int rc = cfg_parse_text(out, path, text, e);
    free(text);
    return rc;
}

static cfg_option *find(cfg_section *s, const char *key)
{
    for (int i = 0; i < s->n_options; i++)
        if (!strcmp(s->options[i].key, key)) {
            s->options[i].used = 1;
            return &s->options[i];
        }
    return NULL;
}

int cfg_has(cfg_section *s, const char *key)
{
    for (int i = 0; i < s->n_options; i++)
        if (!strcmp(s->options[i].key, key)) return 1;
    return 0;
}

int cfg_line(cfg_section *s, const char *key)
{
    for (int i = 0; i < s->n_options; i++)
        if (!strcmp(s->options[i].key, key)) return s->options[i].line;
    return s->line;
}

static int parse_int(const char *v, int *out)
{
    errno = 0;
    char *end;
    long x = strtol(v, &end, 10);
    while (isspace((unsigned char)*end)) end++;
    if (end == v || *end || errno || x < INT_MIN || x > INT_MAX) return -1;
    *out = (int)x;
    return 0;
}

static int parse_float(const char *v, float *out)
{
    errno = 0;
    char *end;
    double x = strtod(v, &end);
    while (isspace((unsigned char)*end)) end++;
    if (end == v || *end || errno || !isfinite(x) || fabs(x) > 3.0e38) return -1;
    *out = (float)x;
    return 0;
}

int cfg_int(const cfg_file *f, cfg_section *s, const char *key, int def, int *out, fer_err *e)
{
    cfg_option *o = find(s, key);
    if (!o) { *out = def; return 0; }
    if (parse_int(o->value, out))
        return fer_fail(e, "%s:%d: [%s] %s=%.64s: expected an integer", f->path, o->line, s->name, key, o->value);
    return 0;
}

int cfg_int_req(const cfg_file *f, cfg_section *s, const char *key, int *out, fer_err *e)
{
    if (!cfg_has(s, key))
        return fer_fail(e, "%s:%d: [%s] needs the key '%s'", f->path, s->line, s->name, key);
    return cfg_int(f, s, key, 0, out, e);
}

int cfg_float(const cfg_file *f, cfg_section *s, const char *key, float def, float *out, fer_err *e)
{
    cfg_option *o = find(s, key);
    if (!o) { *out = def; return 0; }
    if (parse_float(o->value, out))
        return fer_fail(e, "%s:%d: [%s] %s=%.64s: expected a number", f->path, o->line, s->name, key, o->value);
    return 0;
}

const char *cfg_str(cfg_section *s, const char *key, const char *def)
{
    cfg_option *o = find(s, key);
    return o ? o->value : def;
}

static int list_generic(const cfg_file *f, cfg_section *s, const char *key, void *out, int is_int,
                        int max, int *n, fer_err *e)
{
    *n = 0;
    cfg_option *o = find(s, key);
    if (!o) return 0;
    const char *p = o->value;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (len >= sizeof item || *n >= max)
            return fer_fail(e, "%s:%d: [%s] %s: too many or too long items (at most %d)",
                            f->path, o->line, s->name, key, max);
        memcpy(item, p, len);
        item[len] = 0;
        int bad = is_int ? parse_int(item, (int *)out + *n) : parse_float(item, (float *)out + *n);
        if (bad)
            return fer_fail(e, "%s:%d: [%s] %s=%.64s: item %d '%s' is not %s", f->path, o->line, s->name,
                            key, o->value, *n + 1, item, is_int ? "an integer" : "a number");
        (*n)++;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

int cfg_int_list(const cfg_file *f, cfg_section *s, const char *key, int *out, int max, int *n, fer_err *e)
{
    return list_generic(f, s, key, out, 1, max, n, e);
}

int cfg_float_list(const cfg_file *f, cfg_section *s, const char *key, float *out, int max, int *n, fer_err *e)
{
    return list_generic(f, s, key, out, 0, max, n, e);
}

int cfg_check_keys(const cfg_file *f, cfg_section *s, const char *const *known, const log_hook *log, fer_err *e)
{
    for (int i = 0; i < s->n_options; i++) {
        cfg_option *o = &s->options[i];
        if (o->used) continue;
        int is_known = 0;
        for (const char *const *k = known; k && *k; k++)
            if (!strcmp(*k, o->key)) { is_known = 1; break; }
        if (!is_known)
            return fer_fail(e, "%s:%d: [%s] unknown key '%.64s'", f->path, o->line, s->name, o->key);
        fer_log(log, FER_LOG_WARN, "%s:%d: warning: [%s] key '%s' is not used here", f->path, o->line, s->name,
                o->key);
    }
    return 0;
}

void cfg_report_repeats(const cfg_file *f, const log_hook *log)
{
    for (int i = 0; i < f->n_repeats && i < CFG_MAX_REPEATS; i++)
        fer_log(log, FER_LOG_WARN, "%s:%d: warning: key '%s' repeated (first at line %d): the first value is used, as "
                                   "in Darknet", f->path, f->repeats[i].line, f->repeats[i].key, f->repeats[i].first);
    if (f->n_repeats > CFG_MAX_REPEATS)
        fer_log(log, FER_LOG_WARN, "%s: warning: %d more repeated keys", f->path, f->n_repeats - CFG_MAX_REPEATS);
}

void cfg_warn(const cfg_file *f, const log_hook *log, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fer_log(log, FER_LOG_WARN, "%s:%d: warning: %s", f->path, line, msg);
}
