/* xattr.c - extended attributes and ACLs; see xattr.h. */
#include "xattr.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include "xxh.h"

#include "util.h"

#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"

static int acl_tag(unsigned t)
{
	switch (t) {
	case 0x01: return ARCHIVE_ENTRY_ACL_USER_OBJ;
	case 0x02: return ARCHIVE_ENTRY_ACL_USER;
	case 0x04: return ARCHIVE_ENTRY_ACL_GROUP_OBJ;
	case 0x08: return ARCHIVE_ENTRY_ACL_GROUP;
	case 0x10: return ARCHIVE_ENTRY_ACL_MASK;
	case 0x20: return ARCHIVE_ENTRY_ACL_OTHER;
	}
	return -1;
}

/* Linux xattr ACL format: le32 version 2, then { le16 tag, le16 perm, le32 id } */
static int decode_acl(struct archive_entry *entry, int type, const unsigned char *v, size_t n)
{
	if (n < 4 || (n - 4) % 8 || v[0] != 2 || v[1] || v[2] || v[3])
		return -1;
	for (size_t i = 4; i < n; i += 8) {
		unsigned tag = v[i] | v[i + 1] << 8;
		unsigned perm = v[i + 2] | v[i + 3] << 8;
		unsigned id = v[i + 4] | v[i + 5] << 8 | v[i + 6] << 16 | (unsigned)v[i + 7] << 24;
		int t = acl_tag(tag);
		if (t < 0)
			return -1;
		if (t != ARCHIVE_ENTRY_ACL_USER && t != ARCHIVE_ENTRY_ACL_GROUP)
			id = (unsigned)-1;
		if (archive_entry_acl_add_entry(entry, type, (int)(perm & 7), t, (int)id, NULL) != ARCHIVE_OK)
			return -1;
	}
	return 0;
}

/* the attribute calls on an open file, or on a path without following
 * its last component (lgetxattr on /proc/self/fd/N/NAME) */
struct xsrc {
	int fd;
	const char *path;
};

static ssize_t x_list(const struct xsrc *x, char *buf, size_t n)
{
	return x->path ? llistxattr(x->path, buf, n) : flistxattr(x->fd, buf, n);
}

static ssize_t x_get(const struct xsrc *x, const char *name, void *buf, size_t n)
{
	return x->path ? lgetxattr(x->path, name, buf, n) : fgetxattr(x->fd, name, buf, n);
}

/* each attribute read goes to add(ctx, name, value, size) */
typedef void (*xadd_fn)(void *ctx, const char *name, const unsigned char *v, size_t n);
static int read_xattrs(const struct xsrc *x, xadd_fn add, void *ctx);

/* into an archive entry: the ACLs decoded, the others as they are */
static void add_entry(void *ctx, const char *name, const unsigned char *v, size_t n)
{
	struct archive_entry *entry = ctx;

	if (!strcmp(name, ACL_ACCESS) || !strcmp(name, ACL_DEFAULT)) {
		int type = !strcmp(name, ACL_ACCESS) ? ARCHIVE_ENTRY_ACL_TYPE_ACCESS : ARCHIVE_ENTRY_ACL_TYPE_DEFAULT;
		if (decode_acl(entry, type, v, n) == 0)
			return;
		warning("cannot decode the ACL '%s'; stored as a raw attribute", name);
	}
	archive_entry_xattr_add_entry(entry, name, v, n);
}

/* into a blob: { u32 name size with its NUL, u32 value size, name, value }... */
static void add_blob(void *ctx, const char *name, const unsigned char *v, size_t n)
{
	struct sbuf *b = ctx;
	uint32_t h[2] = { (uint32_t)strlen(name) + 1, (uint32_t)n };

	sbuf_add(b, h, sizeof(h));
	sbuf_add(b, name, h[0]);
	sbuf_add(b, v, n);
}

int xattr_read_blob(int fd, struct sbuf *blob)
{
	struct xsrc x = { fd, NULL };

	return read_xattrs(&x, add_blob, blob);
}

int xattr_from_blob(struct archive_entry *entry, const void *blob, size_t n)
{
	const unsigned char *p = blob, *end = p + n;
	uint32_t h[2];

	while (p < end) {
		if ((size_t)(end - p) < sizeof(h))
			return -1;
		memcpy(h, p, sizeof(h));
		p += sizeof(h);
		if (!h[0] || (size_t)(end - p) < (size_t)h[0] + h[1] || p[h[0] - 1])
			return -1;
		add_entry(entry, (const char *)p, p + h[0], h[1]);
		p += (size_t)h[0] + h[1];
	}
	return 0;
}

int xattr_read_fd(int fd, struct archive_entry *entry)
{
	struct xsrc x = { fd, NULL };

	return read_xattrs(&x, add_entry, entry);
}

/*
 * listxattrat(2) (Linux 6.13) lists NAME's attributes relative to its folder
 * in one call; most files have none, and the path through /proc/self/fd
 * costs several times a stat (a third of a diff's time on a tree of small
 * files).  Used only to find that there are none; anything else, or a
 * kernel or sandbox without it, takes the /proc path.
 */
#if defined(SYS_listxattrat)
#define NR_LISTXATTRAT SYS_listxattrat
#elif defined(__x86_64__) || defined(__aarch64__)
#define NR_LISTXATTRAT 465
#endif

#ifdef NR_LISTXATTRAT
static int no_listxattrat;

/* 1: NAME has no attributes; 0: it may have some (or the call is missing) */
static int has_none_at(int dfd, const char *name)
{
	char small[256];

	if (__atomic_load_n(&no_listxattrat, __ATOMIC_RELAXED))
		return 0;
#ifdef ZDT_TESTING
	/* valgrind 3.19 has no listxattrat and says so on the standard
	 * error, which the tests read: tests/run.sh --valgrind sets this */
	if (getenv("ZDT_TEST_NO_LISTXATTRAT")) {
		__atomic_store_n(&no_listxattrat, 1, __ATOMIC_RELAXED);
		return 0;
	}
#endif
	long n = syscall(NR_LISTXATTRAT, dfd, name, AT_SYMLINK_NOFOLLOW, small, sizeof(small));
	if (n < 0 && (errno == ENOSYS || errno == EPERM || errno == EINVAL))
		__atomic_store_n(&no_listxattrat, 1, __ATOMIC_RELAXED);
	return n == 0;
}
#else
static int has_none_at(int dfd, const char *name)
{
	(void)dfd;
	(void)name;
	return 0;
}
#endif

int xattr_read_at(int dfd, const char *name, struct archive_entry *entry)
{
	char path[64 + NAME_MAX];
	struct xsrc x = { -1, path };

	if (!name) {
		errno = EINVAL;
		return -1;
	}
	if (has_none_at(dfd, name))
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, name);
	int rc = read_xattrs(&x, add_entry, entry);
	if (rc < 0 && errno == ENOENT && access("/proc/self/fd", F_OK) < 0) {
		/* no /proc: open the file instead */
		int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		rc = xattr_read_fd(fd, entry);
		close(fd);
	}
	return rc;
}

static int read_xattrs(const struct xsrc *x, xadd_fn add, void *ctx)
{
	char small[1024], *names = small;
	ssize_t n = x_list(x, small, sizeof(small));

	if (n < 0 && errno == ERANGE) {
		n = x_list(x, NULL, 0);
		if (n > 0) {
			names = xmalloc((size_t)n);
			n = x_list(x, names, (size_t)n);
		}
	}
	if (n < 0) {
		if (errno == ENOTSUP || errno == ENOSYS)
			return 0;
		return -1;
	}
	/* sorted order is the digest's business; libarchive keeps ours */
	unsigned char vbuf[4096];
	int rc = 0;
	for (char *p = names; p < names + n; p += strlen(p) + 1) {
		unsigned char *val = vbuf;
		ssize_t vn = x_get(x, p, vbuf, sizeof(vbuf));
		if (vn < 0 && errno == ERANGE) {
			vn = x_get(x, p, NULL, 0);
			if (vn >= 0) {
				val = xmalloc((size_t)vn + 1);
				vn = x_get(x, p, val, (size_t)vn);
			}
		}
		if (vn < 0) {
			if (val != vbuf)
				free(val);
			if (errno == ENODATA)
				continue;
			rc = -1;
			break;
		}
		add(ctx, p, val, (size_t)vn);
		if (val != vbuf)
			free(val);
	}
	if (names != small)
		free(names);
	return rc;
}

struct xa {
	const char *name;
	const void *value;
	size_t size;
};

static int xa_cmp(const void *a, const void *b)
{
	return strcmp(((const struct xa *)a)->name, ((const struct xa *)b)->name);
}

static int acl_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 4 * sizeof(int32_t));
}

uint64_t xattr_digest(struct archive_entry *entry, int *has)
{
	int nx = archive_entry_xattr_reset(entry);
	int na = archive_entry_acl_count(entry, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E);

	*has = 0;
	if (nx <= 0 && na <= 0)
		return 0;
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		die(ZDT_EFAIL, "out of memory");
	XXH3_64bits_reset(st);
	if (nx > 0) {
		struct xa *v = xmalloc(sizeof(*v) * (size_t)nx);
		int i = 0;
		while (i < nx && archive_entry_xattr_next(entry, &v[i].name, &v[i].value, &v[i].size) == ARCHIVE_OK)
			i++;
		qsort(v, (size_t)i, sizeof(*v), xa_cmp);
		for (int k = 0; k < i; k++) {
			/* the pax reader gives an attribute stored in both the
			 * LIBARCHIVE.xattr and SCHILY.xattr forms twice */
			if (k && !strcmp(v[k].name, v[k - 1].name))
				continue;
			uint64_t sz = v[k].size;
			XXH3_64bits_update(st, v[k].name, strlen(v[k].name) + 1);
			XXH3_64bits_update(st, &sz, sizeof(sz));
			XXH3_64bits_update(st, v[k].value, v[k].size);
		}
		free(v);
	}
	if (na > 0) {
		/* (type, tag, id, perms) of each entry, sorted: names and the
		 * order libarchive keeps them in do not matter */
		int32_t (*acl)[4] = xmalloc(sizeof(*acl) * (size_t)na);
		int k = 0, type, perm, tag, id;
		const char *name;
		archive_entry_acl_reset(entry, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E);
		while (k < na && archive_entry_acl_next(entry, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E, &type, &perm,
							&tag, &id, &name) == ARCHIVE_OK) {
			/* the owner, group and other entries of an access ACL are
			 * the mode bits, compared on their own */
			if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && (tag == ARCHIVE_ENTRY_ACL_USER_OBJ ||
			    tag == ARCHIVE_ENTRY_ACL_GROUP_OBJ || tag == ARCHIVE_ENTRY_ACL_OTHER))
				continue;
			if (tag != ARCHIVE_ENTRY_ACL_USER && tag != ARCHIVE_ENTRY_ACL_GROUP)
				id = -1;
			acl[k][0] = type;
			acl[k][1] = tag;
			acl[k][2] = id;
			acl[k][3] = perm;
			k++;
		}
		qsort(acl, (size_t)k, sizeof(*acl), acl_cmp);
		XXH3_64bits_update(st, "acl", 4);
		XXH3_64bits_update(st, acl, sizeof(*acl) * (size_t)k);
		free(acl);
	}
	uint64_t d = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	*has = 1;
	return d;
}

unsigned xattr_stat_mode(struct archive_entry *entry)
{
	unsigned mode = (unsigned)archive_entry_mode(entry) & 07777;
	int type, perm, tag, id;
	const char *name;

	if (archive_entry_acl_reset(entry, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) <= 0)
		return mode;
	while (archive_entry_acl_next(entry, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, &type, &perm, &tag, &id,
				      &name) == ARCHIVE_OK)
		if (tag == ARCHIVE_ENTRY_ACL_MASK)
			return (mode & ~070u) | ((unsigned)perm & 7) << 3;
	return mode;
}

static unsigned lx_tag(int t)
{
	switch (t) {
	case ARCHIVE_ENTRY_ACL_USER_OBJ: return 0x01;
	case ARCHIVE_ENTRY_ACL_USER: return 0x02;
	case ARCHIVE_ENTRY_ACL_GROUP_OBJ: return 0x04;
	case ARCHIVE_ENTRY_ACL_GROUP: return 0x08;
	case ARCHIVE_ENTRY_ACL_MASK: return 0x10;
	case ARCHIVE_ENTRY_ACL_OTHER: return 0x20;
	}
	return 0;
}

/* the Linux xattr form of entry's ACL of one type; 0 bytes when none */
static size_t encode_acl(struct archive_entry *entry, int want, unsigned char **out)
{
	int n = archive_entry_acl_reset(entry, want);
	int type, perm, tag, id;
	const char *name;
	size_t len = 4;

	*out = NULL;
	if (n <= 0)
		return 0;
	int32_t (*v)[3] = xmalloc(sizeof(*v) * (size_t)n);
	int k = 0;
	while (k < n && archive_entry_acl_next(entry, want, &type, &perm, &tag, &id, &name) == ARCHIVE_OK) {
		v[k][0] = (int32_t)lx_tag(tag);
		v[k][1] = (tag == ARCHIVE_ENTRY_ACL_USER || tag == ARCHIVE_ENTRY_ACL_GROUP) ? id : -1;
		v[k][2] = perm & 7;
		k++;
	}
	/* the kernel wants entries sorted by tag, then id */
	for (int i = 1; i < k; i++)
		for (int j = i; j > 0 && (v[j - 1][0] > v[j][0] ||
			(v[j - 1][0] == v[j][0] && (uint32_t)v[j - 1][1] > (uint32_t)v[j][1])); j--) {
			int32_t t[3];
			memcpy(t, v[j], sizeof(t));
			memcpy(v[j], v[j - 1], sizeof(t));
			memcpy(v[j - 1], t, sizeof(t));
		}
	unsigned char *b = xmalloc(4 + 8 * (size_t)k);
	b[0] = 2;
	b[1] = b[2] = b[3] = 0;
	for (int i = 0; i < k; i++) {
		unsigned char *e = b + 4 + 8 * (size_t)i;
		uint32_t id32 = (uint32_t)v[i][1];
		e[0] = (unsigned char)v[i][0];
		e[1] = 0;
		e[2] = (unsigned char)v[i][2];
		e[3] = 0;
		e[4] = (unsigned char)id32;
		e[5] = (unsigned char)(id32 >> 8);
		e[6] = (unsigned char)(id32 >> 16);
		e[7] = (unsigned char)(id32 >> 24);
		len += 8;
	}
	free(v);
	*out = b;
	return len;
}

static int want_name(struct archive_entry *entry, const char *name)
{
	const char *n;
	const void *v;
	size_t sz;

	if (!strcmp(name, ACL_ACCESS))
		return archive_entry_acl_count(entry, ARCHIVE_ENTRY_ACL_TYPE_ACCESS) > 0;
	if (!strcmp(name, ACL_DEFAULT))
		return archive_entry_acl_count(entry, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT) > 0;
	archive_entry_xattr_reset(entry);
	while (archive_entry_xattr_next(entry, &n, &v, &sz) == ARCHIVE_OK)
		if (!strcmp(n, name))
			return 1;
	return 0;
}

int xattr_apply_fd(int fd, struct archive_entry *entry)
{
	char small[1024], *names = small;
	ssize_t n = flistxattr(fd, small, sizeof(small));
	int rc = 0;

	if (n < 0 && errno == ERANGE) {
		n = flistxattr(fd, NULL, 0);
		if (n > 0) {
			names = xmalloc((size_t)n);
			n = flistxattr(fd, names, (size_t)n);
		}
	}
	if (n < 0 && errno != ENOTSUP && errno != ENOSYS)
		rc = -1;
	for (char *p = names; n > 0 && p < names + n; p += strlen(p) + 1)
		if (!want_name(entry, p) && fremovexattr(fd, p) < 0 && errno != ENODATA)
			rc = -1;
	if (names != small)
		free(names);

	const char *name;
	const void *val;
	size_t sz;
	archive_entry_xattr_reset(entry);
	while (archive_entry_xattr_next(entry, &name, &val, &sz) == ARCHIVE_OK)
		if (fsetxattr(fd, name, val, sz, 0) < 0)
			rc = -1;
	static const struct { int type; const char *name; } acls[] = {
		{ ARCHIVE_ENTRY_ACL_TYPE_ACCESS, ACL_ACCESS },
		{ ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, ACL_DEFAULT },
	};
	for (int i = 0; i < 2; i++) {
		unsigned char *b;
		size_t len = encode_acl(entry, acls[i].type, &b);
		if (len && fsetxattr(fd, acls[i].name, b, len, 0) < 0)
			rc = -1;
		free(b);
	}
	return rc;
}

int xattr_strip_at(int dfd, const char *name)
{
	char path[64 + NAME_MAX], names[4096];
	ssize_t n;
	int rc = 0;

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, name);
	n = llistxattr(path, names, sizeof(names));
	if (n < 0)
		return errno == ENOTSUP || errno == ENOSYS ? 0 : -1;
	for (char *p = names; p < names + n; p += strlen(p) + 1)
		if (lremovexattr(path, p) < 0 && errno != ENODATA)
			rc = -1;
	return rc;
}
