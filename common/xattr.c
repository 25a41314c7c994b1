/* xattr.c - extended attributes and ACLs; see xattr.h. */
#include "xattr.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <xxhash.h>

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

int xattr_read_fd(int fd, struct archive_entry *entry)
{
	char small[1024], *names = small;
	ssize_t n = flistxattr(fd, small, sizeof(small));

	if (n < 0 && errno == ERANGE) {
		n = flistxattr(fd, NULL, 0);
		if (n > 0) {
			names = xmalloc((size_t)n);
			n = flistxattr(fd, names, (size_t)n);
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
		ssize_t vn = fgetxattr(fd, p, vbuf, sizeof(vbuf));
		if (vn < 0 && errno == ERANGE) {
			vn = fgetxattr(fd, p, NULL, 0);
			if (vn >= 0) {
				val = xmalloc((size_t)vn + 1);
				vn = fgetxattr(fd, p, val, (size_t)vn);
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
		if (!strcmp(p, ACL_ACCESS) || !strcmp(p, ACL_DEFAULT)) {
			int type = !strcmp(p, ACL_ACCESS) ? ARCHIVE_ENTRY_ACL_TYPE_ACCESS : ARCHIVE_ENTRY_ACL_TYPE_DEFAULT;
			if (decode_acl(entry, type, val, (size_t)vn) < 0)
				warning("cannot decode the ACL '%s'; stored as a raw attribute", p);
			else
				goto next;
		}
		archive_entry_xattr_add_entry(entry, p, val, (size_t)vn);
next:
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
