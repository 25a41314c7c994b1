/* arcfg.c - ar.cfg read, changed and written back; see arcfg.h. */
#include "arcfg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "atomic.h"

#define ARCFG_MAX (4u << 20)

static int blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* l: a line of the text t (c->text, "" while it has no buffer) */
static void parse_line(const char *t, struct arcfg_line *l)
{
	const char *s = t + l->off;
	const char *colon = memchr(s, ':', l->len);
	size_t k0 = 0, k1, v0, v1 = l->len;

	l->kv = 0;
	if (!l->len || s[0] == '#' || !colon)
		return;
	k1 = (size_t)(colon - s);
	while (k0 < k1 && blank(s[k0]))
		k0++;
	while (k1 > k0 && blank(s[k1 - 1]))
		k1--;
	if (k0 == k1)
		return;
	v0 = (size_t)(colon - s) + 1;
	while (v0 < v1 && blank(s[v0]))
		v0++;
	while (v1 > v0 && (blank(s[v1 - 1]) || s[v1 - 1] == '\r'))
		v1--;
	l->kv = 1;
	l->koff = l->off + k0;
	l->klen = k1 - k0;
	l->voff = l->off + v0;
	l->vlen = v1 - v0;
}

static void split(struct arcfg *c)
{
	size_t pos = 0, len = c->text.len;
	const char *t = c->text.buf ? c->text.buf : "";

	c->n = 0;
	while (pos < len) {
		const char *nl = memchr(t + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - t) : len;
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 64;
			c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
		}
		struct arcfg_line *l = &c->v[c->n++];
		memset(l, 0, sizeof(*l));
		l->off = pos;
		l->len = end - pos;
		l->eol = nl ? 1 : 0;
		if (nl && l->len && t[end - 1] == '\r') {
			l->len--;
			l->eol = 2;
		}
		parse_line(t, l);
		pos = nl ? end + 1 : len;
	}
	c->crlf = c->n && c->v[0].eol == 2;
}

void arcfg_parse(struct arcfg *c, const char *text, size_t n)
{
	sbuf_reset(&c->text);
	sbuf_add(&c->text, text, n);
	split(c);
}

static int key_is(const struct arcfg *c, const struct arcfg_line *l, const char *key)
{
	size_t n = strlen(key);

	return l->kv && l->klen == n && !memcmp(c->text.buf + l->koff, key, n);
}

long arcfg_get(const struct arcfg *c, const char *key, const char **val, size_t *vlen)
{
	for (size_t i = c->n; i-- > 0;) {
		if (key_is(c, &c->v[i], key)) {
			*val = c->text.buf + c->v[i].voff;
			*vlen = c->v[i].vlen;
			return (long)i;
		}
	}
	return -1;
}

int arcfg_set(struct arcfg *c, const char *key, const char *val)
{
	struct sbuf out = SBUF_INIT;
	size_t vn = strlen(val), pos = 0;
	int changed = 0, found = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct arcfg_line *l = &c->v[i];
		if (!key_is(c, l, key))
			continue;
		found = 1;
		if (l->vlen == vn && !memcmp(c->text.buf + l->voff, val, vn))
			continue;
		sbuf_add(&out, c->text.buf + pos, l->voff - pos);
		if (!l->vlen && c->text.buf[l->voff - 1] == ':')
			sbuf_addc(&out, ' ');
		sbuf_add(&out, val, vn);
		pos = l->voff + l->vlen;
		changed++;
	}
	if (!found) {
		sbuf_add(&out, c->text.buf ? c->text.buf : "", c->text.len);
		if (c->n && !c->v[c->n - 1].eol)
			sbuf_adds(&out, c->crlf ? "\r\n" : "\n");
		sbuf_addf(&out, "%s: %s%s", key, val, c->crlf ? "\r\n" : "\n");
		changed = 1;
	} else if (changed) {
		sbuf_add(&out, c->text.buf + pos, c->text.len - pos);
	}
	if (changed) {
		sbuf_free(&c->text);
		c->text = out;
		split(c);
	} else {
		sbuf_free(&out);
	}
	return changed;
}

void arcfg_release(struct arcfg *c)
{
	sbuf_free(&c->text);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

int arcfg_read_at(int dfd, const char *name, struct arcfg *c, struct stat *st)
{
	struct sbuf sb = SBUF_INIT;
	char buf[8192];
	ssize_t n;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0)
		goto fail;
	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (memchr(buf, '\0', (size_t)n)) {
			errno = EINVAL;
			goto fail;
		}
		sbuf_add(&sb, buf, (size_t)n);
		if (sb.len > ARCFG_MAX) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	arcfg_parse(c, sb.buf ? sb.buf : "", sb.len);
	sbuf_free(&sb);
	return 0;
fail:;
	int e = errno;
	close(fd);
	sbuf_free(&sb);
	errno = e;
	return -1;
}

/* the extended attributes of NAME in dfd onto fd; best effort for those
 * only root may set (security.*, trusted.*) */
static int copy_xattrs(int dfd, const char *name, int fd)
{
	char *list = NULL, *val = NULL;
	int src = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	ssize_t ln;
	int rc = 0;

	if (src < 0)
		return -1;
	ln = flistxattr(src, NULL, 0);
	if (ln <= 0)
		goto out;	/* none, or not supported */
	list = xmalloc((size_t)ln);
	ln = flistxattr(src, list, (size_t)ln);
	for (ssize_t i = 0; i < ln; i += (ssize_t)strlen(list + i) + 1) {
		const char *k = list + i;
		ssize_t vn = fgetxattr(src, k, NULL, 0);
		if (vn < 0)
			continue;
		val = xrealloc(val, vn ? (size_t)vn : 1);
		vn = fgetxattr(src, k, val, (size_t)vn);
		if (vn < 0)
			continue;
		if (fsetxattr(fd, k, val, (size_t)vn, 0) < 0 &&
		    !((errno == EPERM || errno == ENOTSUP) &&
		      (!strncmp(k, "security.", 9) || !strncmp(k, "trusted.", 8)))) {
			rc = -1;
			break;
		}
	}
out:;
	int e = errno;
	free(list);
	free(val);
	close(src);
	errno = e;
	return rc;
}

int arcfg_write_at(int dfd, const char *name, const struct arcfg *c, const struct stat *st)
{
	char tmp[512];
	const char *p = c->text.buf ? c->text.buf : "";
	size_t n = c->text.len;
	struct stat now;
	int fd, h, e;

	snprintf(tmp, sizeof(tmp), ".%s.zdt-tmp%ld", name, (long)getpid());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	h = cleanup_register(dfd, tmp);
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		n -= (size_t)w;
	}
	/* owner first: fchown may clear setuid bits, fchmod sets them again */
	if ((st->st_uid != geteuid() || st->st_gid != getegid()) && fchown(fd, st->st_uid, st->st_gid) < 0)
		goto fail;
	if (fchmod(fd, st->st_mode & 07777) < 0 || copy_xattrs(dfd, name, fd) < 0)
		goto fail;
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	/* someone else's edit since it was read is not overwritten */
	if (fstatat(dfd, name, &now, AT_SYMLINK_NOFOLLOW) < 0)
		goto fail;
	if (now.st_dev != st->st_dev || now.st_ino != st->st_ino || now.st_size != st->st_size ||
	    now.st_mtim.tv_sec != st->st_mtim.tv_sec || now.st_mtim.tv_nsec != st->st_mtim.tv_nsec) {
		errno = EAGAIN;
		goto fail;
	}
	if (renameat(dfd, tmp, dfd, name) < 0)
		goto fail;
	cleanup_forget(h);
	return fsync(dfd);
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, tmp, 0);
	cleanup_forget(h);
	errno = e;
	return -1;
}
