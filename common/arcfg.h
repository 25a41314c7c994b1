/*
 * arcfg.h - the AR System server's ar.cfg (ar.conf): read, query, change
 * one value, write back with every other byte as it was.
 *
 * ar.cfg is "Key: value" lines.  A line whose first byte is '#' is a
 * comment; a line with a ':' after a non-empty key is a setting, the key
 * being the bytes before the first ':' without surrounding blanks and the
 * value the rest without surrounding blanks (and without a '\r' before the
 * '\n').  Keys are compared case-sensitively, as the AR System server
 * does.  Every other line is kept as it is.  When a key is given more than
 * once, arcfg_get() returns the last one, and arcfg_set() changes all of
 * them, so that no earlier copy keeps the old value.
 *
 *     struct arcfg c = ARCFG_INIT;
 *     struct stat st;
 *     if (arcfg_read_at(dfd, "ar.cfg", &c, &st) < 0) ...errno
 *     const char *v; size_t vn;
 *     if (arcfg_get(&c, "Operating-Mode", &v, &vn) >= 0 && !(vn == 1 && *v == '0'))
 *             arcfg_set(&c, "Operating-Mode", "0");
 *     if (arcfg_write_at(dfd, "ar.cfg", &c, &st) < 0) ...errno
 *     arcfg_release(&c);
 *
 * arcfg_set() replaces only the bytes of the value: the key, the blanks
 * around the ':', trailing blanks and the line end (LF or CRLF) stay; a
 * missing key is appended as "Key: value" with the file's line end (CRLF
 * when its first line ends so).  arcfg_write_at() replaces the file
 * atomically: a temporary file next to it (O_EXCL, registered for removal
 * on exit, see atomic.h) with the old file's owner, mode and extended
 * attributes, fsynced, renamed over it after checking that the file is
 * still the one that was read (else -1 with errno EAGAIN), then the folder
 * fsynced.
 */
#ifndef ZDT_ARCFG_H
#define ZDT_ARCFG_H

#include <stddef.h>
#include <sys/stat.h>

#include "util.h"

struct arcfg_line {
	size_t off, len;	/* the line in text, without its line end */
	size_t eol;		/* bytes of the line end: 0 (last line), 1 or 2 */
	int kv;			/* a setting */
	size_t koff, klen;	/* its key */
	size_t voff, vlen;	/* its value */
};

struct arcfg {
	struct sbuf text;
	struct arcfg_line *v;
	size_t n, cap;
	int crlf;		/* the first line ends with CRLF */
};
#define ARCFG_INIT { SBUF_INIT, NULL, 0, 0, 0 }

/* copies text[0..n) and splits it into lines; never fails */
void arcfg_parse(struct arcfg *c, const char *text, size_t n);
/* the index of the last line setting key, -1 when none; *val is not
 * NUL-terminated */
long arcfg_get(const struct arcfg *c, const char *key, const char **val, size_t *vlen);
/* sets every line of key to val, or appends one; the number of lines
 * changed (0: they already held val) */
int arcfg_set(struct arcfg *c, const char *key, const char *val);
void arcfg_release(struct arcfg *c);

/* reads NAME in folder dfd (not following a symlink, at most 4 MiB):
 * 0, or -1 with errno (EFBIG: too large, EINVAL: a NUL byte) */
int arcfg_read_at(int dfd, const char *name, struct arcfg *c, struct stat *st);
/* see above; st: what arcfg_read_at() returned */
int arcfg_write_at(int dfd, const char *name, const struct arcfg *c, const struct stat *st);

#endif
