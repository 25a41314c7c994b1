/* manifest.c - manifest writer and streaming reader; see manifest.h. */
#include "manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WBUF (256u << 10)
#define RBUF (256u << 10)
#define MAX_LINE (64u << 10)

uint64_t path_hash(const char *p)
{
	uint64_t h = XXH3_64bits(p, strlen(p));

	return h ? h : 1;	/* 0 marks an empty slot */
}

int hset_has(const struct hset *s, uint64_t h)
{
	if (!s->cap)
		return 0;
	for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->v[i])
			return 0;
		if (s->v[i] == h)
			return 1;
	}
}

void hset_add(struct hset *s, uint64_t h)
{
	if ((s->n + 1) * 2 > s->cap) {
		uint64_t *old = s->v;
		size_t oldcap = s->cap;
		s->cap = oldcap ? oldcap * 2 : 64;
		s->v = xcalloc(s->cap, sizeof(uint64_t));
		s->n = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				hset_add(s, old[i]);
		free(old);
	}
	if (hset_has(s, h))
		return;
	size_t i = h & (s->cap - 1);
	while (s->v[i])
		i = (i + 1) & (s->cap - 1);
	s->v[i] = h;
	s->n++;
}

void hset_free(struct hset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void mentry_init(struct mentry *e)
{
	memset(e, 0, sizeof(*e));
	e->offset = -1;
}

void mentry_release(struct mentry *e)
{
	sbuf_free(&e->path);
	sbuf_free(&e->target);
}

void mentry_copy(struct mentry *dst, const struct mentry *src)
{
	struct sbuf p = dst->path, t = dst->target;

	*dst = *src;
	dst->path = p;
	dst->target = t;
	sbuf_reset(&dst->path);
	sbuf_reset(&dst->target);
	if (src->path.len)
		sbuf_add(&dst->path, src->path.buf, src->path.len);
	if (src->target.len)
		sbuf_add(&dst->target, src->target.buf, src->target.len);
}

int path_cmp(const char *a, const char *b)
{
	int ra = !strcmp(a, "."), rb = !strcmp(b, ".");

	if (ra || rb)
		return rb - ra;
	/* bytewise, except that '/' sorts below every byte a name may hold,
	 * so that a folder's subtree comes right after it */
	for (;; a++, b++) {
		unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
		if (ca == cb) {
			if (!ca)
				return 0;
			continue;
		}
		if (!ca || !cb)
			return !ca ? -1 : 1;
		if (ca == '/' || cb == '/')
			return ca == '/' ? -1 : 1;
		return ca < cb ? -1 : 1;
	}
}

int path_is_safe(const char *p)
{
	if (!strcmp(p, "."))
		return 1;
	if (!*p || *p == '/')
		return 0;
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		if (!e)
			break;
		s = e + 1;
		if (!*s)
			return 0;	/* trailing slash */
	}
	return 1;
}

void hash_to_hex(XXH128_hash_t h, char out[33])
{
	XXH128_canonical_t c;
	static const char hex[] = "0123456789abcdef";

	XXH128_canonicalFromHash(&c, h);
	for (size_t i = 0; i < 16; i++) {
		out[2 * i] = hex[c.digest[i] >> 4];
		out[2 * i + 1] = hex[c.digest[i] & 15];
	}
	out[32] = '\0';
}

/* hex digit value + 1; 0 for anything else (lower case only) */
static const unsigned char hexv[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

int hex_to_hash(const char *s, size_t n, XXH128_hash_t *h)
{
	XXH128_canonical_t c;

	if (n != 32)
		return -1;
	for (size_t i = 0; i < 16; i++) {
		unsigned hi = hexv[(unsigned char)s[2 * i]], lo = hexv[(unsigned char)s[2 * i + 1]];
		if (!hi || !lo)
			return -1;
		c.digest[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	*h = XXH128_hashFromCanonical(&c);
	return 0;
}

void mentry_format(struct sbuf *sb, const struct mentry *e)
{
	char hex[33];

	sbuf_addf(sb, "%c %04o %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 ".%09u ",
		  e->type, e->mode & 07777, e->uid, e->gid, e->size,
		  e->mtime_sec, e->mtime_nsec);
	if (e->type == M_CHR || e->type == M_BLK) {
		sbuf_addf(sb, "%u,%u", e->rdev_major, e->rdev_minor);
	} else if (e->has_hash) {
		hash_to_hex(e->hash, hex);
		sbuf_add(sb, hex, 32);
	} else {
		sbuf_addc(sb, '-');
	}
	if (e->offset >= 0)
		sbuf_addf(sb, " %" PRId64, e->offset);
	else
		sbuf_adds(sb, " -");
	if (e->has_xattr)
		sbuf_addf(sb, " %016" PRIx64 " ", e->xattr);
	else
		sbuf_adds(sb, " - ");
	esc_path(sb, e->path.buf ? e->path.buf : "");
	if (e->type == M_SYMLINK || e->type == M_HARDLINK) {
		sbuf_adds(sb, " -> ");
		esc_path(sb, e->target.buf ? e->target.buf : "");
	}
}

/* ---- writer ---------------------------------------------------------- */

static int wflush(struct mwriter *w)
{
	size_t off = 0;

	while (off < w->buf.len) {
		ssize_t n = write(w->fd, w->buf.buf + off, w->buf.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	sbuf_reset(&w->buf);
	return 0;
}

/* appends a finished line to the buffer and the checksum */
static int wline(struct mwriter *w, size_t start)
{
	sbuf_addc(&w->buf, '\n');
	XXH3_128bits_update(w->xs, w->buf.buf + start, w->buf.len - start);
	return w->buf.len >= WBUF ? wflush(w) : 0;
}

static int wkv(struct mwriter *w, const char *key, const char *val)
{
	size_t start = w->buf.len;

	sbuf_addf(&w->buf, "%s ", key);
	esc_path(&w->buf, val);
	return wline(w, start);
}

int mwriter_open(struct mwriter *w, int fd, const struct mheader *h)
{
	char t[32];
	size_t start;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->xs = XXH3_createState();
	if (!w->xs)
		die(ZDT_EFAIL, "out of memory");
	XXH3_128bits_reset(w->xs);
	start = w->buf.len;
	sbuf_addf(&w->buf, "zdt-manifest %d", MANIFEST_VERSION);
	wline(w, start);
	wkv(w, "component", h->component);
	wkv(w, "snapshot", h->snapshot);
	start = w->buf.len;
	sbuf_addf(&w->buf, "created %s", fmt_time(t, sizeof(t), h->created));
	wline(w, start);
	wkv(w, "source", h->source);
	wkv(w, "compress", h->compress);
	for (int i = 0; i < h->nexclude; i++)
		wkv(w, "exclude", h->exclude[i]);
	start = w->buf.len;
	sbuf_adds(&w->buf, "# type mode uid gid size mtime xxh128 offset xattrs path [-> target]");
	return wline(w, start);
}

int mwriter_add(struct mwriter *w, const struct mentry *e)
{
	size_t start = w->buf.len;

	if (w->entries && path_cmp(w->last.buf, e->path.buf) >= 0)
		BUG("manifest entries out of order: '%s' after '%s'", escp(e->path.buf), escp(w->last.buf));
	sbuf_reset(&w->last);
	sbuf_adds(&w->last, e->path.buf);
	mentry_format(&w->buf, e);
	w->entries++;
	if (e->type == M_FILE || e->type == M_HARDLINK)
		w->files++;
	if (e->type == M_FILE)
		w->bytes += e->size;
	return wline(w, start);
}

int mwriter_finish(struct mwriter *w, char checksum[33])
{
	size_t start = w->buf.len;

	sbuf_addf(&w->buf, "end entries=%" PRIu64 " files=%" PRIu64 " bytes=%" PRIu64,
		  w->entries, w->files, w->bytes);
	wline(w, start);
	if (w->has_archive) {
		char hex[33];
		start = w->buf.len;
		hash_to_hex(w->archive_hash, hex);
		sbuf_addf(&w->buf, "archive xxh3-128 %s %" PRIu64, hex, w->archive_size);
		wline(w, start);
	}
	hash_to_hex(XXH3_128bits_digest(w->xs), checksum);
	sbuf_addf(&w->buf, "checksum xxh3-128 %s\n", checksum);
	return wflush(w);
}

void mwriter_release(struct mwriter *w)
{
	sbuf_free(&w->buf);
	sbuf_free(&w->last);
	if (w->xs)
		XXH3_freeState(w->xs);
	w->xs = NULL;
}

/* ---- reader ---------------------------------------------------------- */

static int rfail(struct mreader *r, const char *fmt, ...) ZDT_PRINTF(2, 3);
static int rfail(struct mreader *r, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, sizeof(r->err), "line %u: ", r->lineno);

	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* next line into r->line without its newline; 1, 0 at EOF, -1 error */
static int rline(struct mreader *r)
{
	sbuf_reset(&r->line);
	for (;;) {
		if (r->rpos == r->rlen) {
			if (r->eof)
				return r->line.len ? rfail(r, "last line has no newline (truncated manifest)") : 0;
			ssize_t n = read(r->fd, r->rbuf, RBUF);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return rfail(r, "read error: %s", strerror(errno));
			}
			r->rpos = 0;
			r->rlen = (size_t)n;
			if (n == 0) {
				r->eof = 1;
				continue;
			}
		}
		char *s = r->rbuf + r->rpos;
		char *nl = memchr(s, '\n', r->rlen - r->rpos);
		size_t n = nl ? (size_t)(nl - s) : r->rlen - r->rpos;
		sbuf_add(&r->line, s, n);
		r->rpos += n + (nl ? 1 : 0);
		if (r->line.len > MAX_LINE)
			return rfail(r, "line too long");
		if (nl) {
			r->lineno++;
			if (memchr(r->line.buf, '\0', r->line.len))
				return rfail(r, "NUL byte in manifest");
			return 1;
		}
	}
}

static void rhash_line(struct mreader *r)
{
	XXH3_128bits_update(r->xs, r->line.buf, r->line.len);
	XXH3_128bits_update(r->xs, "\n", 1);
}

/* splits the line in place at single spaces; returns the field count */
static int split(char *s, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = s;
		s = strchr(s, ' ');
		if (!s)
			break;
		*s++ = '\0';
	}
	if (s)	/* more fields than max: glue the rest back onto the last */
		s[-1] = ' ';
	return n;
}

static int num(const char *s, uint64_t *v)
{
	return parse_u64(s, 0, UINT64_MAX, v);
}

/* the entry's folder is the innermost folder entry still open (in the
 * canonical order a folder's subtree comes right after it): pops the
 * folders the walk has left */
static int in_folder(struct mreader *r, const char *p)
{
	const char *slash = strrchr(p, '/');
	size_t plen = slash ? (size_t)(slash - p) : 1;
	const char *parent = slash ? p : ".";

	while (r->ntops) {
		const char *top = r->dirs.buf + r->tops[r->ntops - 1];
		if (strlen(top) == plen && !memcmp(top, parent, plen))
			return 1;
		r->dirs.len = r->tops[--r->ntops];
	}
	return 0;
}

static void push_folder(struct mreader *r, const char *p)
{
	if (r->ntops == r->captops) {
		r->captops = r->captops ? r->captops * 2 : 32;
		r->tops = xrealloc(r->tops, r->captops * sizeof(*r->tops));
	}
	r->tops[r->ntops++] = r->dirs.len;
	sbuf_add(&r->dirs, p, strlen(p) + 1);
}

static int parse_entry(struct mreader *r, struct mentry *e, char *line)
{
	char *f[10];
	uint64_t v;
	int n = split(line, f, 10);

	if (n != 10)
		return rfail(r, "expected 10 fields, found %d", n);
	if (strlen(f[0]) != 1 || !strchr("fdlhpcb", f[0][0]))
		return rfail(r, "unknown entry type '%s'", escp(f[0]));
	e->type = f[0][0];
	if (strlen(f[1]) != 4 || strspn(f[1], "01234567") != 4)
		return rfail(r, "bad mode '%s'", escp(f[1]));
	e->mode = (unsigned)strtoul(f[1], NULL, 8);
	if (num(f[2], &e->uid) || e->uid > UINT32_MAX || num(f[3], &e->gid) || e->gid > UINT32_MAX)
		return rfail(r, "bad owner '%s %s'", escp(f[2]), escp(f[3]));
	if (num(f[4], &e->size) || e->size > INT64_MAX)
		return rfail(r, "bad size '%s'", escp(f[4]));
	{
		char *dot = strchr(f[5], '.');
		char *p = f[5];
		int neg = 0;
		if (!dot || strlen(dot + 1) != 9 || strspn(dot + 1, "0123456789") != 9)
			return rfail(r, "bad mtime '%s'", escp(f[5]));
		*dot = '\0';
		if (*p == '-') {
			neg = 1;
			p++;
		}
		if (num(p, &v) || v > INT64_MAX)
			return rfail(r, "bad mtime '%s'", escp(f[5]));
		e->mtime_sec = neg ? -(int64_t)v : (int64_t)v;
		e->mtime_nsec = (uint32_t)strtoul(dot + 1, NULL, 10);
	}
	e->has_hash = 0;
	e->rdev_major = e->rdev_minor = 0;
	if (e->type == M_CHR || e->type == M_BLK) {
		/* MAJOR,MINOR: decimal, no sign, each at most 32 bits */
		char *comma = strchr(f[6], ',');
		uint64_t a, b;
		if (comma)
			*comma = '\0';
		if (!comma || parse_u64(f[6], 0, UINT32_MAX, &a) || parse_u64(comma + 1, 0, UINT32_MAX, &b)) {
			if (comma)
				*comma = ',';
			return rfail(r, "bad device number '%s'", escp(f[6]));
		}
		e->rdev_major = (unsigned)a;
		e->rdev_minor = (unsigned)b;
	} else if (strcmp(f[6], "-")) {
		if (hex_to_hash(f[6], strlen(f[6]), &e->hash))
			return rfail(r, "bad hash '%s'", escp(f[6]));
		e->has_hash = 1;
	}
	if ((e->type == M_FILE || e->type == M_HARDLINK) && !e->has_hash)
		return rfail(r, "file entry without hash");
	if (!strcmp(f[7], "-")) {
		e->offset = -1;
	} else {
		if (num(f[7], &v) || v > INT64_MAX)
			return rfail(r, "bad offset '%s'", escp(f[7]));
		e->offset = (int64_t)v;
	}
	e->has_xattr = 0;
	if (strcmp(f[8], "-")) {
		char *end;
		if (strlen(f[8]) != 16 || strspn(f[8], "0123456789abcdef") != 16)
			return rfail(r, "bad xattr digest '%s'", escp(f[8]));
		e->xattr = strtoull(f[8], &end, 16);
		e->has_xattr = 1;
	}
	/* path, then " -> target" for links */
	char *path = f[9], *arrow = strstr(path, " -> ");
	int islink = e->type == M_SYMLINK || e->type == M_HARDLINK;
	if (islink != (arrow != NULL))
		return rfail(r, islink ? "link entry without target" : "unexpected link target");
	size_t plen = arrow ? (size_t)(arrow - path) : strlen(path);
	if (unesc_path(&e->path, path, plen))
		return rfail(r, "bad path escape");
	sbuf_reset(&e->target);
	if (arrow && unesc_path(&e->target, arrow + 4, strlen(arrow + 4)))
		return rfail(r, "bad link target escape");
	if (!e->path.len || !path_is_safe(e->path.buf))
		return rfail(r, "unsafe path '%s'", escp(e->path.buf));
	if (e->type == M_HARDLINK && !path_is_safe(e->target.buf))
		return rfail(r, "unsafe hardlink target '%s'", escp(e->target.buf));
	if (e->type == M_HARDLINK && path_cmp(e->target.buf, e->path.buf) >= 0)
		return rfail(r, "hardlink to a later path '%s'", escp(e->target.buf));
	if (e->type == M_SYMLINK && !e->target.len)
		return rfail(r, "empty symlink target");
	if (r->seen_entries == 0 && strcmp(e->path.buf, "."))
		return rfail(r, "first entry is not the root '.'");
	if (r->seen_entries && path_cmp(r->last.buf, e->path.buf) >= 0)
		return rfail(r, "entries out of order: '%s' after '%s'", escp(e->path.buf), escp(r->last.buf));
	if (!strcmp(e->path.buf, ".") && e->type != M_DIR)
		return rfail(r, "root entry is not a directory");
	if (r->seen_entries && !in_folder(r, e->path.buf))
		return rfail(r, "entry without its folder: '%s'", escp(e->path.buf));
	if (e->type == M_DIR)
		push_folder(r, e->path.buf);
	sbuf_reset(&r->last);
	sbuf_add(&r->last, e->path.buf, e->path.len);
	r->seen_entries++;
	return 1;
}

static int header_kv(struct mreader *r, const char *key, char **dst)
{
	size_t k = strlen(key);

	if (strncmp(r->line.buf, key, k) || r->line.buf[k] != ' ')
		return 0;
	if (unesc_path(&r->tmp, r->line.buf + k + 1, r->line.len - k - 1))
		return rfail(r, "bad escape in '%s'", key);
	free(*dst);
	*dst = xstrdup(r->tmp.buf);
	return 1;
}

int mreader_open(struct mreader *r, int fd)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->rbuf = xmalloc(RBUF);
	r->xs = XXH3_createState();
	if (!r->xs)
		die(ZDT_EFAIL, "out of memory");
	XXH3_128bits_reset(r->xs);
	if ((rc = rline(r)) <= 0)
		return rc < 0 ? -1 : rfail(r, "empty manifest");
	char want[32];
	snprintf(want, sizeof(want), "zdt-manifest %d", MANIFEST_VERSION);
	if (strcmp(r->line.buf, want))
		return rfail(r, "not a zdt manifest (expected '%s')", want);
	rhash_line(r);
	for (;;) {
		if ((rc = rline(r)) <= 0)
			return rc < 0 ? -1 : rfail(r, "manifest ends in its header");
		if (r->line.buf[0] == '#') {
			rhash_line(r);
			continue;
		}
		if (r->line.len > 1 && r->line.buf[1] == ' ' && strchr("fdlhpcb", r->line.buf[0])) {
			r->pending = 1;
			break;
		}
		if (!strncmp(r->line.buf, "end ", 4)) {
			r->pending = 1;
			break;
		}
		rhash_line(r);
		char *val = NULL;
		if ((rc = header_kv(r, "component", &r->h.component)) ||
		    (rc = header_kv(r, "snapshot", &r->h.snapshot)) ||
		    (rc = header_kv(r, "source", &r->h.source)) ||
		    (rc = header_kv(r, "compress", &r->h.compress))) {
			if (rc < 0)
				return -1;
			continue;
		}
		if ((rc = header_kv(r, "created", &val))) {
			if (rc < 0)
				return -1;
			rc = parse_time(val, &r->h.created);
			free(val);
			if (rc)
				return rfail(r, "bad creation time");
			continue;
		}
		if ((rc = header_kv(r, "exclude", &val))) {
			if (rc < 0)
				return -1;
			r->h.exclude = xrealloc(r->h.exclude, sizeof(char *) * (size_t)(r->h.nexclude + 1));
			r->h.exclude[r->h.nexclude++] = val;
			continue;
		}
		return rfail(r, "unknown header line");
	}
	if (!r->h.component || !r->h.snapshot || !r->h.source || !r->h.compress || !r->h.created)
		return rfail(r, "incomplete header");
	return 0;
}

static int parse_end(struct mreader *r)
{
	char *f[4];

	/* "end entries=N files=N bytes=N", each N decimal without a sign
	 * (split in a copy: the line itself goes into the checksum) */
	sbuf_reset(&r->tmp);
	sbuf_add(&r->tmp, r->line.buf, r->line.len);
	if (split(r->tmp.buf, f, 4) != 4 || strcmp(f[0], "end") ||
	    strncmp(f[1], "entries=", 8) || num(f[1] + 8, &r->entries) ||
	    strncmp(f[2], "files=", 6) || num(f[2] + 6, &r->files) ||
	    strncmp(f[3], "bytes=", 6) || num(f[3] + 6, &r->bytes))
		return rfail(r, "malformed end line");
	if (r->entries != r->seen_entries)
		return rfail(r, "end line counts %" PRIu64 " entries, found %" PRIu64,
			     r->entries, r->seen_entries);
	rhash_line(r);
	if (rline(r) != 1)
		return rfail(r, "missing checksum line (truncated manifest)");
	if (!strncmp(r->line.buf, "archive xxh3-128 ", 17)) {
		char *sp = strchr(r->line.buf + 17, ' ');
		if (!sp || hex_to_hash(r->line.buf + 17, (size_t)(sp - r->line.buf - 17), &r->archive_hash) ||
		    parse_u64(sp + 1, 0, INT64_MAX, &r->archive_size))
			return rfail(r, "malformed archive line");
		r->has_archive = 1;
		rhash_line(r);
		if (rline(r) != 1)
			return rfail(r, "missing checksum line (truncated manifest)");
	}
	if (strncmp(r->line.buf, "checksum xxh3-128 ", 18))
		return rfail(r, "missing checksum line (truncated manifest)");
	XXH128_hash_t want, got = XXH3_128bits_digest(r->xs);
	if (hex_to_hash(r->line.buf + 18, r->line.len - 18, &want))
		return rfail(r, "malformed checksum line");
	if (!XXH128_isEqual(want, got))
		return rfail(r, "checksum mismatch: the manifest is damaged");
	r->checksum = want;
	int rc = rline(r);
	if (rc != 0)
		return rc < 0 ? -1 : rfail(r, "data after the checksum line");
	r->done = 1;
	return 0;
}

int mreader_next(struct mreader *r, struct mentry *e)
{
	int rc;

	if (r->done)
		return 0;
	if (r->pending) {
		r->pending = 0;
	} else if ((rc = rline(r)) <= 0) {
		return rc < 0 ? -1 : rfail(r, "missing end line (truncated manifest)");
	}
	if (!strncmp(r->line.buf, "end ", 4))
		return parse_end(r);
	rhash_line(r);
	return parse_entry(r, e, r->line.buf);
}

void mheader_release(struct mheader *h)
{
	free(h->component);
	free(h->snapshot);
	free(h->source);
	free(h->compress);
	for (int i = 0; i < h->nexclude; i++)
		free(h->exclude[i]);
	free(h->exclude);
	memset(h, 0, sizeof(*h));
}

void mreader_release(struct mreader *r)
{
	mheader_release(&r->h);
	free(r->rbuf);
	sbuf_free(&r->line);
	sbuf_free(&r->last);
	sbuf_free(&r->tmp);
	sbuf_free(&r->dirs);
	free(r->tops);
	r->tops = NULL;
	if (r->xs)
		XXH3_freeState(r->xs);
	r->rbuf = NULL;
	r->xs = NULL;
}

int manifest_check(int fd, char *err, size_t n)
{
	int has;
	XXH128_hash_t h;
	uint64_t size;

	return manifest_check_archive(fd, err, n, &has, &h, &size, NULL);
}

int manifest_check_archive(int fd, char *err, size_t n, int *has, XXH128_hash_t *h, uint64_t *size,
			   struct hset *links)
{
	struct mreader r;
	struct mentry e;
	int rc;

	mentry_init(&e);
	rc = mreader_open(&r, fd);
	while (rc >= 0 && (rc = mreader_next(&r, &e)) > 0)
		if (links && e.type == M_HARDLINK)
			hset_add(links, path_hash(e.target.buf));
	*has = rc == 0 && r.has_archive;
	*h = r.archive_hash;
	*size = r.archive_size;
	if (rc < 0)
		snprintf(err, n, "%s", r.err);
	mreader_release(&r);
	mentry_release(&e);
	return rc < 0 ? -1 : 0;
}
