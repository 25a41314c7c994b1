/* member.c - an archive member against its manifest entry; see member.h. */
#include "member.h"

#include <archive.h>
#include <archive_entry.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "../common/atomic.h"
#include "../common/xattr.h"

void member_path(struct sbuf *sb, struct archive_entry *e)
{
	const char *p = archive_entry_pathname(e);

	sbuf_reset(sb);
	sbuf_adds(sb, p ? p : "");
	while (sb->len > 1 && sb->buf[sb->len - 1] == '/')
		sb->buf[--sb->len] = '\0';
}

char member_type(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return M_HARDLINK;
	switch (archive_entry_filetype(e)) {
	case AE_IFREG: return M_FILE;
	case AE_IFDIR: return M_DIR;
	case AE_IFLNK: return M_SYMLINK;
	case AE_IFIFO: return M_FIFO;
	case AE_IFCHR: return M_CHR;
	case AE_IFBLK: return M_BLK;
	}
	return '?';
}

/* hashes the member's data, holes as zeros (a trailing hole of a sparse
 * member too: libarchive gives no block for it); -1 when the archive failed */
static int hash_data(struct archive *a, struct archive_entry *e, const char *zeros,
		     struct progress *p, XXH128_hash_t *h, uint64_t *len)
{
	XXH3_state_t *xs = XXH3_createState();
	const void *buf;
	size_t n;
	la_int64_t off;
	uint64_t pos = 0;
	int r;

	if (!xs)
		die(ZDT_EFAIL, "out of memory");
	XXH3_128bits_reset(xs);
	while ((r = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK) {
		while (pos < (uint64_t)off) {
			size_t k = (uint64_t)off - pos < MEMBER_ZBUF ? (size_t)((uint64_t)off - pos) : MEMBER_ZBUF;
			XXH3_128bits_update(xs, zeros, k);
			pos += k;
		}
		XXH3_128bits_update(xs, buf, n);
		pos += n;
		if (p)
			progress_add(p, n);
		check_signal();
	}
	if (r == ARCHIVE_EOF && archive_entry_sparse_count(e) > 0) {
		uint64_t end = (uint64_t)archive_entry_size(e);
		while (pos < end) {
			size_t k = end - pos < MEMBER_ZBUF ? (size_t)(end - pos) : MEMBER_ZBUF;
			XXH3_128bits_update(xs, zeros, k);
			pos += k;
		}
	}
	*len = pos;
	*h = XXH3_128bits_digest(xs);
	XXH3_freeState(xs);
	return r == ARCHIVE_EOF ? 0 : -1;
}

int member_check_head(struct archive_entry *e, const struct mentry *m, member_bad_fn bad, void *arg)
{
	char why[256];
	char t = member_type(e);

	if (t != m->type) {
		snprintf(why, sizeof(why), "type is '%c' in the archive, '%c' in the manifest", t, m->type);
		bad(arg, m, -1, why);
		return -1;
	}
	/* as stat shows it: with an ACL mask, the group bits are the mask's */
	unsigned mode = xattr_stat_mode(e);
	if (mode != m->mode) {
		snprintf(why, sizeof(why), "mode %04o in the archive, %04o in the manifest", mode, m->mode);
		bad(arg, m, -1, why);
	}
	if ((uint64_t)archive_entry_uid(e) != m->uid || (uint64_t)archive_entry_gid(e) != m->gid)
		bad(arg, m, -1, "owner differs");
	if (archive_entry_mtime(e) != m->mtime_sec || archive_entry_mtime_nsec(e) != (long)m->mtime_nsec)
		bad(arg, m, -1, "mtime differs");
	int has;
	uint64_t xd = xattr_digest(e, &has);
	if (has != m->has_xattr || (has && xd != m->xattr))
		bad(arg, m, -1, "extended attributes or ACLs differ");
	if (t == M_SYMLINK) {
		const char *s = archive_entry_symlink(e);
		if (!s || strcmp(s, m->target.buf))
			bad(arg, m, -1, "symlink target differs");
	} else if (t == M_HARDLINK) {
		struct sbuf hl = SBUF_INIT;
		sbuf_adds(&hl, archive_entry_hardlink(e));
		if (strcmp(hl.buf, m->target.buf))
			bad(arg, m, -1, "hardlink target differs");
		sbuf_free(&hl);
	} else if (t == M_CHR || t == M_BLK) {
		dev_t d = archive_entry_rdev(e);
		if (major(d) != m->rdev_major || minor(d) != m->rdev_minor)
			bad(arg, m, -1, "device number differs");
	} else if (t == M_FILE && (uint64_t)archive_entry_size(e) != m->size) {
		snprintf(why, sizeof(why), "size %" PRId64 " in the archive, %" PRIu64 " in the manifest",
			 (int64_t)archive_entry_size(e), m->size);
		bad(arg, m, m->offset, why);
	}
	return 0;
}

int member_check(struct archive *a, struct archive_entry *e, const struct mentry *m,
		 const char *zeros, struct progress *p, member_bad_fn bad, void *arg)
{
	if (member_check_head(e, m, bad, arg) < 0 || m->type != M_FILE)
		return 0;

	XXH128_hash_t h;
	uint64_t len;
	if (hash_data(a, e, zeros, p, &h, &len) < 0)
		return -1;
	if (len != m->size) {
		char why[256];
		snprintf(why, sizeof(why), "archive holds %" PRIu64 " bytes, the manifest %" PRIu64, len, m->size);
		bad(arg, m, m->offset, why);
	} else if (!XXH128_isEqual(h, m->hash)) {
		bad(arg, m, m->offset, "content differs");
	}
	return 0;
}

void member_bad_line(struct sbuf *sb, const char *name, const struct mentry *m, int64_t off, const char *why)
{
	struct sbuf p = SBUF_INIT;

	esc_path(&p, m->path.buf);
	sbuf_addf(sb, "damaged snapshot %s: '%s': %s", name, p.buf, why);
	if (off >= 0)
		sbuf_addf(sb, " (its data starts at archive byte %" PRId64 ")", off);
	sbuf_free(&p);
}
