/* datacfg.c - Darknet-style .data files (key=value) and label-name files.
 * Keys: classes, labels (or names), train, valid, test, train_usage,
 * valid_usage, test_usage, backup. Relative paths are relative to the
 * current directory, as in Darknet. */
#include "datacfg.h"
#include "paths.h"

#include <stdlib.h>
#include <string.h>

static const char *const data_keys[] = {
    "classes", "labels", "names", "train", "valid", "test", "train_usage", "valid_usage",
    "test_usage", "backup", "top", "eval", NULL,
};

static int copy_key(const cfg_file *f, cfg_section *s, const char *key, const char *def, char *dst,
                    size_t cap, fer_err *e)
{
    const char *v = cfg_str(s, key, def);
    if (strlen(v) >= cap)
        return fer_fail(e, "%s:%d: %s is longer than %zu characters", f->path, cfg_line(s, key), key, cap - 1);
    strcpy(dst, v);
    return 0;
}

static int read_names(data_cfg *d, fer_err *e)
{
    size_t len;
    char *text = read_file(d->labels_path, &len, e);
    if (!text) return -1;
    d->names = calloc((size_t)d->classes, sizeof *d->names);
    if (!d->names) { free(text); return fer_fail(e, "out of memory"); }
    int n = 0, line = 0;
    char *p = text;
    while (*p) {
        line++;
        char *eol = strchr(p, '\n');
        if (eol) *eol = 0;
        char *b = p, *end = p + strlen(p);
        while (*b == ' ' || *b == '\t' || *b == '\r') b++;
        while (end > b && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) end--;
        *end = 0;
        if (*b) {
            if (n >= d->classes) {
                free(text);
                return fer_fail(e, "%s:%d: more names than classes=%d in %s", d->labels_path, line, d->classes, d->path);
            }
            for (int i = 0; i < n; i++)
                if (!strcmp(d->names[i], b)) {
                    free(text);
                    return fer_fail(e, "%s:%d: label '%s' appears twice", d->labels_path, line, b);
                }
            d->names[n] = strdup(b);
            if (!d->names[n]) { free(text); return fer_fail(e, "out of memory"); }
            n++;
        }
        if (!eol) break;
        p = eol + 1;
    }
    free(text);
    if (n != d->classes)
        return fer_fail(e, "%s: has %d names but %s says classes=%d", d->labels_path, n, d->path, d->classes);
    return 0;
}

int data_cfg_read(data_cfg *d, const char *path, const log_hook *log, fer_err *e)
{
    memset(d, 0, sizeof *d);
    if (strlen(path) >= sizeof d->path) return fer_fail(e, "%s: path too long", path);
    strcpy(d->path, path);
    cfg_file f;
    if (cfg_read_flat(&f, path, e)) return -1;
    cfg_report_repeats(&f, log);
    cfg_section *s = &f.sections[0];
    int rc = cfg_int_req(&f, s, "classes", &d->classes, e);
    if (!rc && (d->classes < 1 || d->classes > FER_MAX_CLASSES))
        rc = fer_fail(e, "%s:%d: classes=%d must be in 1..%d", path, cfg_line(s, "classes"), d->classes, FER_MAX_CLASSES);
    const char *labels_key = cfg_has(s, "labels") ? "labels" : "names";
    if (!rc && !cfg_has(s, labels_key))
        rc = fer_fail(e, "%s: needs 'labels=' (a file with one label name per line)", path);
    if (!rc) rc = copy_key(&f, s, labels_key, "", d->labels_path, sizeof d->labels_path, e);
    if (!rc) rc = copy_key(&f, s, "train", "", d->train, sizeof d->train, e);
    if (!rc) rc = copy_key(&f, s, "valid", "", d->valid, sizeof d->valid, e);
    if (!rc) rc = copy_key(&f, s, "test", "", d->test, sizeof d->test, e);
    if (!rc) rc = copy_key(&f, s, "train_usage", "Training", d->train_usage, sizeof d->train_usage, e);
    if (!rc) rc = copy_key(&f, s, "valid_usage", "PublicTest", d->valid_usage, sizeof d->valid_usage, e);
    if (!rc) rc = copy_key(&f, s, "test_usage", "PrivateTest", d->test_usage, sizeof d->test_usage, e);
    if (!rc) rc = copy_key(&f, s, "backup", "backup", d->backup, sizeof d->backup, e);
    if (!rc) rc = cfg_check_keys(&f, s, data_keys, log, e);
    cfg_free(&f);
    /* relative paths: from the current folder as in Darknet, else from the
     * .data file's folder (and the other places path_locate searches) */
    char *paths[] = { d->labels_path, d->train, d->valid, d->test };
    for (size_t i = 0; !rc && i < sizeof paths / sizeof paths[0]; i++) {
        char found[sizeof d->train];
        if (paths[i][0] && !path_locate(paths[i], path, found, sizeof found) && strlen(found) < sizeof d->train)
            strcpy(paths[i], found);
    }
    if (!rc) rc = read_names(d, e);
    if (rc) data_cfg_free(d);
    return rc;
}

int data_cfg_from_labels(data_cfg *d, const char *labels_path, int classes, fer_err *e)
{
    memset(d, 0, sizeof *d);
    if (strlen(labels_path) >= sizeof d->labels_path) return fer_fail(e, "%s: path too long", labels_path);
    strcpy(d->labels_path, labels_path);
    snprintf(d->path, sizeof d->path, "%s", labels_path);
    d->classes = classes;
    if (read_names(d, e)) {
        data_cfg_free(d);
        return -1;
    }
    return 0;
}

int data_cfg_default_names(data_cfg *d, int classes, fer_err *e)
{
    memset(d, 0, sizeof *d);
    d->classes = classes;
    d->names = calloc((size_t)classes, sizeof *d->names);
    if (!d->names) return fer_fail(e, "out of memory");
    for (int i = 0; i < classes; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", i);
        d->names[i] = strdup(buf);
        if (!d->names[i]) { data_cfg_free(d); return fer_fail(e, "out of memory"); }
    }
    return 0;
}

void data_cfg_free(data_cfg *d)
{
    if (d->names)
        for (int i = 0; i < d->classes; i++) free(d->names[i]);
    free(d->names);
    d->names = NULL;
}

int data_split(const data_cfg *d, const char *split, const char **path, const char **usage, fer_err *e)
{
    if (!strcmp(split, "valid")) { *path = d->valid; *usage = d->valid_usage; }
    else if (!strcmp(split, "test")) { *path = d->test; *usage = d->test_usage; }
    else if (!strcmp(split, "train")) { *path = d->train; *usage = d->train_usage; }
    else return fer_fail(e, "split '%s': expected valid, test or train", split);
    if (!(*path)[0]) return fer_fail(e, "%s: no '%s' path for split '%s'", d->path, split, split);
    return 0;
}
