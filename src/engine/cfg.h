/* cfg.h - the cfg parser: [section]s of key=value options, typed reads
 * with file:line errors, and the unused-key check. */
#ifndef FER_ENGINE_CFG_H
#define FER_ENGINE_CFG_H

#include "util.h"

/* ---- cfg ----------------------------------------------------------------- */

typedef struct cfg_option {
    char *key, *value;
    int line;
    int used;
} cfg_option;

typedef struct cfg_section {
    char *name;           /* without brackets, e.g. "convolutional" */
    int line;
    int n_options;
    cfg_option *options;
} cfg_section;

/* A key given twice in one section: Darknet takes the first value, and so
 * does fer, with a warning (cfg_report_repeats). */
typedef struct cfg_repeat { int line, first; char key[48]; } cfg_repeat;
#define CFG_MAX_REPEATS 16

typedef struct cfg_file {
    char *path;
    int n_sections;
    cfg_section *sections;
    cfg_repeat repeats[CFG_MAX_REPEATS];   /* the first ones seen */
    int n_repeats;                         /* all of them */
} cfg_file;

int cfg_read(cfg_file *out, const char *path, fer_err *e);
int cfg_parse_text(cfg_file *out, const char *path, const char *text, fer_err *e);
/* A file of key=value lines with no sections (.data files): one section. */
int cfg_read_flat(cfg_file *out, const char *path, fer_err *e);
void cfg_free(cfg_file *cfg);

/* Typed getters. A missing key yields the default (the *_req variants fail
 * instead); a malformed value is an error naming file:line and the key. */
int cfg_int(const cfg_file *f, cfg_section *s, const char *key, int def, int *out, fer_err *e);
int cfg_int_req(const cfg_file *f, cfg_section *s, const char *key, int *out, fer_err *e);
int cfg_float(const cfg_file *f, cfg_section *s, const char *key, float def, float *out, fer_err *e);
const char *cfg_str(cfg_section *s, const char *key, const char *def);
int cfg_has(cfg_section *s, const char *key);
/* Comma-separated lists; *n receives the count (at most max). */
int cfg_int_list(const cfg_file *f, cfg_section *s, const char *key, int *out, int max, int *n, fer_err *e);
int cfg_float_list(const cfg_file *f, cfg_section *s, const char *key, float *out, int max, int *n, fer_err *e);
/* Line of a key (or of the section when absent), for messages. */
int cfg_line(cfg_section *s, const char *key);
/* After a section was made: a key outside `known` (NULL-terminated) is an
 * error; a known key that this configuration did not read is a warning,
 * sent to log (may be NULL). */
int cfg_check_keys(const cfg_file *f, cfg_section *s, const char *const *known, const log_hook *log, fer_err *e);
/* Warns (to log) about each repeated key: the first value was used. */
void cfg_report_repeats(const cfg_file *f, const log_hook *log);
/* A warning about the cfg at f's line `line`, sent to log like the
 * unused-key warning: "PATH:LINE: warning: MESSAGE". */
void cfg_warn(const cfg_file *f, const log_hook *log, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
