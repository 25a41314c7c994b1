/*
 * plan.c - compare a live install folder with a snapshot and, in RB_APPLY
 * mode, make it equal; see plan.h.
 *
 * merge_dir() walks one live folder (names sorted bytewise) against the
 * manifest entries that are its children, recursing into folders: the
 * manifest's canonical order is exactly that walk.  Every live-tree change
 * is made relative to a folder descriptor opened with O_NOFOLLOW: files by
 * writing a temporary file in the same folder, verifying its XXH3-128
 * against the manifest, then renaming it over the name; a symlink where the
 * snapshot has a folder is unlinked, never followed.  Folder metadata is
 * set when the walk leaves the folder, after its children changed it.
 *
 * Into an empty install folder (fused), the files (big ones in pieces,
 * written with O_DIRECT) and the metadata of the new folders go to worker
 * threads (common/wpool.h), so that this thread never waits for the
 * device: each new folder gets a queue, its files and then its metadata
 * go there in order, so a folder's mtime is set after its last file was
 * created.  This thread still reads, checks and hashes every member
 * before handing it over (the data of a plain file of 64 KiB or more of
 * an uncompressed snapshot straight into the worker's buffer, at the
 * manifest's offset: use_raw()), except the files over 1 MiB of an
 * uncompressed snapshot: it creates them, in order, and the pool's copy
 * queues read, check and write their data meanwhile.  Before a
 * hardlink it waits for its target's job alone, if a queue still has it;
 * it waits for the queues to drain before the metadata of a folder it
 * sets itself, and at the end.  A differential apply renames the files
 * it replaces into a trash folder of the install folder, and the workers
 * unlink them there (replace_name()); the trash is emptied and removed
 * before the install folder's own metadata is set.
 */
#include "plan.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../common/archive_io.h"
#include "../common/atomic.h"
#include "../common/component.h"
#include "../common/fsops.h"
#include "../common/wpool.h"
#include "../common/xattr.h"
#include "../zdt.h"
#include "ahead.h"
#include "member.h"

#define RB_BUF (1u << 20)
#define TMP_PREFIX ".zdt-rb."
#define CKPT_EVERY 64	/* members between two checkpoints (rbctx.ckpt) */

enum { SC_OUT, SC_ANCESTOR, SC_IN };


static int bit(const unsigned char *v, uint64_t i) { return v[i >> 3] >> (i & 7) & 1; }
static void setbit(unsigned char *v, uint64_t i) { v[i >> 3] |= (unsigned char)(1u << (i & 7)); }

static const char *snapname(struct rbctx *r)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s %s", component_name(r->comp), r->si.id);
	return buf;
}

/* ---- manifest cursor --------------------------------------------------- */

/*
 * Every pass after rb_open checks the hardlinks as it reads them: the first
 * path of the group (the target) must be a file met earlier.  Only the
 * targets are remembered (rb_open collects them), so memory follows the
 * number of hardlink groups, not of files.
 */
static void m_next(struct rbctx *r)
{
	int rc = mreader_next(&r->mr, &r->m);

	if (rc < 0)
		die(ZDT_EINTEGRITY, "damaged manifest of %s: %s", snapname(r), r->mr.err);
	r->mstate = rc;
	if (rc <= 0)
		return;
	r->ord++;
	if (!r->hl_targets.n)
		return;
	if (r->m.type == M_FILE) {
		uint64_t h = path_hash(r->m.path.buf);
		if (hset_has(&r->hl_targets, h))
			hset_add(&r->hl_seen, h);
	} else if (r->m.type == M_HARDLINK && !hset_has(&r->hl_seen, path_hash(r->m.target.buf))) {
		die(ZDT_EINTEGRITY, "manifest of %s: hardlink '%s' to '%s', which is not a file met before it",
		    snapname(r), escp(r->m.path.buf), escp(r->m.target.buf));
	}
}

static int starts_dir(const char *p, const char *dir, size_t n)
{
	return !strncmp(p, dir, n) && p[n] == '/';
}

/* current manifest entry, when it is a direct child of folder rel */
static const char *m_child(struct rbctx *r, const char *rel, size_t n)
{
	const char *p, *child;

	if (r->mstate <= 0)
		return NULL;
	p = r->m.path.buf;
	if (!strcmp(rel, "."))
		child = p;
	else if (starts_dir(p, rel, n))
		child = p + n + 1;
	else
		return NULL;
	if (strchr(child, '/'))
		die(ZDT_EINTEGRITY, "manifest of %s: entry without its folder: '%s'", snapname(r), escp(p));
	return child;
}

static void m_skip_subtree(struct rbctx *r)
{
	struct sbuf x = SBUF_INIT;

	sbuf_adds(&x, r->m.path.buf);
	m_next(r);
	while (r->mstate > 0 && starts_dir(r->m.path.buf, x.buf, x.len))
		m_next(r);
	sbuf_free(&x);
}

/* ---- archive cursor ---------------------------------------------------- */

struct vbad {
	struct rbctx *r;
	unsigned long n;
};

static void need_bad(void *arg, const struct mentry *m, int64_t off, const char *why);

static void a_close(struct rbctx *r)
{
	if (r->a)
		archive_read_free(r->a);
	r->a = NULL;
}

/* from the start; libarchive is opened by the first a_entry() (it reads a
 * block at once), so a pass that needs no member reads nothing */
static void a_open(struct rbctx *r)
{
	a_close(r);
	if (lseek(r->afd, 0, SEEK_SET) < 0)
		die_errno(ZDT_EFAIL, "cannot read the archive of %s", snapname(r));
	r->aord = 0;
}

/* the archive member of the current manifest entry */
static struct archive_entry *a_entry(struct rbctx *r)
{
	struct sbuf p = SBUF_INIT;

	if (r->aord > r->ord + 1)
		BUG("archive cursor past entry %" PRIu64, r->ord);
	uint64_t c = r->ord / CKPT_EVERY;
	if (r->ckpt && !r->fused && c * CKPT_EVERY > r->aord) {
		/* far ahead in an uncompressed archive: start reading at the
		 * header rb_verify_needed found there, not through every
		 * header in between */
		a_close(r);
		if (lseek(r->afd, (off_t)r->ckpt[c], SEEK_SET) < 0)
			die_errno(ZDT_EFAIL, "cannot read the archive of %s", snapname(r));
		r->aord = c * CKPT_EVERY;
	}
	if (!r->a)
		r->a = areader_open(r->afd);
	while (r->aord <= r->ord) {
		int rc = archive_read_next_header(r->a, &r->ae);
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
			die(ZDT_EINTEGRITY, "damaged archive of %s: %s", snapname(r),
			    rc == ARCHIVE_EOF ? "ends early" : archive_error_string(r->a));
		r->aord++;
	}
	member_path(&p, r->ae);
	if (strcmp(p.buf, r->m.path.buf))
		die(ZDT_EINTEGRITY, "archive of %s: member '%s' where the manifest has '%s'",
		    snapname(r), escp(p.buf), escp(r->m.path.buf));
	sbuf_free(&p);
	if (r->fused) {
		/* not checked before: what is used is checked here (the data
		 * of files as write_file hashes it) */
		struct vbad v = { r, 0 };
		member_check_head(r->ae, &r->m, need_bad, &v);
		if (v.n)
			die(ZDT_EINTEGRITY, "snapshot %s is damaged (%lu problem%s)", snapname(r), v.n,
			    v.n > 1 ? "s" : "");
	}
	return r->ae;
}

/* exit 4 unless the archive ends with the manifest's last entry (the
 * members not read yet are skipped) */
static void a_expect_end(struct rbctx *r, const char *hint)
{
	int rc = ARCHIVE_OK;

	while (r->aord < r->entries && ((rc = archive_read_next_header(r->a, &r->ae)) == ARCHIVE_OK ||
					rc == ARCHIVE_WARN))
		r->aord++;
	if (r->aord == r->entries)
		rc = archive_read_next_header(r->a, &r->ae);
	if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) {
		struct sbuf p = SBUF_INIT;
		member_path(&p, r->ae);
		die_hint(ZDT_EINTEGRITY, hint, "archive of %s: member '%s' is not in the manifest", snapname(r),
			 escp(p.buf));
	}
	if (rc != ARCHIVE_EOF)
		die_hint(ZDT_EINTEGRITY, hint, "damaged archive of %s after its last entry: %s", snapname(r),
			 archive_error_string(r->a));
}

/* ---- open and check ---------------------------------------------------- */

static void open_manifest(struct rbctx *r)
{
	if (lseek(r->mfd, 0, SEEK_SET) < 0)
		die_errno(ZDT_EFAIL, "cannot read the manifest of %s", snapname(r));
	mreader_release(&r->mr);
	if (mreader_open(&r->mr, r->mfd) < 0)
		die(ZDT_EINTEGRITY, "damaged manifest of %s: %s", snapname(r), r->mr.err);
	r->ord = (uint64_t)-1;
	r->mstate = 1;
	hset_free(&r->hl_seen);
}

void rb_open(struct rbctx *r, int bkfd)
{
	struct hset targets = { 0 };

	r->snapfd = store_open_snap(bkfd, &r->si);
	if (r->snapfd < 0)
		die_errno(ZDT_ENOSNAP, "cannot open the snapshot %s", snapname(r));
	r->mfd = openat(r->snapfd, SNAP_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (r->mfd < 0)
		die_errno(ZDT_EINTEGRITY, "cannot open the manifest of %s", snapname(r));
	r->afd = openat(r->snapfd, r->si.archive ? r->si.archive : SNAP_ARCHIVE_NONE,
			O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (r->afd < 0)
		die_errno(ZDT_EINTEGRITY, "cannot open the archive of %s", snapname(r));

	/* the whole manifest first: checksum, order, every entry's folder
	 * (mreader_next), and the first paths of the hardlink groups */
	open_manifest(r);
	mentry_init(&r->m);
	for (m_next(r); r->mstate > 0; m_next(r))
		if (r->m.type == M_HARDLINK)
			hset_add(&targets, path_hash(r->m.target.buf));
	r->hl_targets = targets;	/* checked by every later pass (m_next) */
	r->entries = r->ord + 1;
	r->h = r->mr.h;		/* keep the header (excludes, source) */
	memset(&r->mr.h, 0, sizeof(r->mr.h));
	if (r->si.meta_ok && r->entries != r->si.entries)
		die(ZDT_EINTEGRITY, "snapshot %s: meta counts %" PRIu64 " entries, the manifest %" PRIu64,
		    snapname(r), r->si.entries, r->entries);
	r->root = xstrdup(r->h.source);
	r->need = xcalloc((size_t)(r->entries / 8 + 1), 1);
	r->differs = xcalloc((size_t)(r->entries / 8 + 1), 1);
	r->xdiff = xcalloc((size_t)(r->entries / 8 + 1), 1);
	r->dirty = xcalloc((size_t)(r->entries / 8 + 1), 1);
	r->sparse = xcalloc((size_t)(r->entries / 8 + 1), 1);
	r->buf = xmalloc(RB_BUF);
	r->zeros = xcalloc(1, MEMBER_ZBUF);
	r->dbuf = xalloc_dio(DIO_BUF);
	r->dio_ok = 1;
	r->scratch = archive_entry_new();
	r->is_root = geteuid() == 0;
	r->pid = getpid();
	r->rootfd = -1;
}

void rb_close(struct rbctx *r)
{
	ahead_stop(&r->ah);
	hcheck_release(&r->hc);
	a_close(r);
	mreader_release(&r->mr);
	mheader_release(&r->h);
	mentry_release(&r->m);
	if (r->scratch)
		archive_entry_free(r->scratch);
	free(r->need);
	free(r->differs);
	free(r->xdiff);
	free(r->dirty);
	free(r->sparse);
	free(r->ckpt);
	hset_free(&r->rewritten);
	hset_free(&r->hl_targets);
	hset_free(&r->hl_seen);
	free(r->dstack);
	free(r->buf);
	free(r->zeros);
	free(r->dbuf);
	free(r->root);
	if (r->rootfd >= 0)
		close(r->rootfd);
	if (r->mfd >= 0)
		close(r->mfd);
	if (r->afd >= 0)
		close(r->afd);
	if (r->snapfd >= 0)
		close(r->snapfd);
	snapinfo_release(&r->si);
}

/* ---- checking the members the plan needs -------------------------------- */

static void need_bad(void *arg, const struct mentry *m, int64_t off, const char *why)
{
	struct vbad *v = arg;
	struct sbuf l = SBUF_INIT;

	member_bad_line(&l, snapname(v->r), m, off, why);
	error("%s", l.buf);
	sbuf_free(&l);
	v->n++;
}

/* one pass through the archive (a gzip snapshot, or no header thread):
 * every header, and the data of the members the plan needs */
static void verify_stream(struct rbctx *r)
{
	struct vbad v = { r, 0 };
	struct sbuf p = SBUF_INIT;
	int rc;

	open_manifest(r);
	a_open(r);
	r->a = areader_open(r->afd);
	r->raw = r->h.compress && !strcmp(r->h.compress, "none");
	free(r->ckpt);
	r->ckpt = r->raw ? xcalloc((size_t)(r->entries / CKPT_EVERY + 1), sizeof(*r->ckpt)) : NULL;
	r->data_write = r->max_data = 0;
	progress_start(&r->prog, progress_enabled(r->z->progress), "check", r->bytes_write);
	for (m_next(r); r->mstate > 0; m_next(r)) {
		rc = archive_read_next_header(r->a, &r->ae);
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			progress_end(&r->prog);
			die_hint(ZDT_EINTEGRITY, "the live tree was not touched; 'zdt verify' names every damaged path",
				 "damaged archive of %s at entry '%s': %s", snapname(r), escp(r->m.path.buf),
				 rc == ARCHIVE_EOF ? "archive ends early" : archive_error_string(r->a));
		}
		if (r->ckpt && r->aord % CKPT_EVERY == 0)
			r->ckpt[r->aord / CKPT_EVERY] = (uint64_t)archive_read_header_position(r->a);
		r->aord++;
		member_path(&p, r->ae);
		if (strcmp(p.buf, r->m.path.buf)) {
			progress_end(&r->prog);
			die(ZDT_EINTEGRITY, "archive of %s: member '%s' where the manifest has '%s'; the live tree was not touched",
			    snapname(r), escp(p.buf), escp(r->m.path.buf));
		}
		int need = bit(r->need, r->ord);
		if (need && r->m.type == M_FILE) {
			/* what the file will take on disk: its data, not its holes */
			uint64_t data = r->m.size;
			int ns = archive_entry_sparse_reset(r->ae);
			if (ns > 0) {
				la_int64_t off, len;
				setbit(r->sparse, r->ord);
				data = 0;
				while (archive_entry_sparse_next(r->ae, &off, &len) == ARCHIVE_OK)
					data += (uint64_t)len;
			}
			r->data_write += data;
			if (data > r->max_data)
				r->max_data = data;
		}
		/* every member's header against its entry, whether the plan
		 * needs the member or not (a snapshot whose archive disagrees
		 * with its manifest is damaged); the data of those it needs */
		if (!need)
			member_check_head(r->ae, &r->m, need_bad, &v);
		else if (member_check(r->a, r->ae, &r->m, r->zeros, &r->prog, need_bad, &v) < 0) {
			progress_end(&r->prog);
			die(ZDT_EINTEGRITY, "damaged archive of %s in '%s': %s; the live tree was not touched",
			    snapname(r), escp(r->m.path.buf), archive_error_string(r->a));
		}
	}
	progress_end(&r->prog);
	a_expect_end(r, "the live tree was not touched; 'zdt verify' names every damaged path");
	sbuf_free(&p);
	a_close(r);
	if (v.n)
		die_hint(ZDT_EINTEGRITY, "the live tree was not touched; run 'zdt verify' for the full list",
			 "snapshot %s is damaged (%lu problem%s)", snapname(r), v.n, v.n > 1 ? "s" : "");
	/* every header and the members needed are checked: applying reads
	 * the plain files' data where the manifest says (hashed again as it
	 * is written), and the other members it needs from the nearest
	 * checkpoint, not the whole archive through libarchive once more */
}

/* up to RB_BUF bytes of a plain member's data from pos on, into r->buf,
 * read where the manifest says; 0 at the archive's end */
static size_t a_pread(struct rbctx *r, const struct mentry *m, uint64_t pos)
{
	size_t k = m->size - pos < RB_BUF ? (size_t)(m->size - pos) : RB_BUF;
	ssize_t n;

	do
		n = pread(r->afd, r->buf, k, (off_t)((uint64_t)m->offset + pos));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die_errno(ZDT_EFAIL, "cannot read the archive of %s", snapname(r));
	return (size_t)n;
}

/* the data of a plain member where the manifest says: 0 read whole and
 * hashed into *h, -1 the archive is shorter (*got: what it holds) */
static int hash_at(struct rbctx *r, const struct mentry *m, XXH128_hash_t *h, uint64_t *got)
{
	XXH3_state_t *xs = XXH3_createState();
	uint64_t pos = 0;

	if (!xs)
		die(ZDT_EFAIL, "out of memory");
	XXH3_128bits_reset(xs);
	while (pos < m->size) {
		size_t n = a_pread(r, m, pos);
		if (!n)
			break;
		XXH3_128bits_update(xs, r->buf, n);
		pos += (uint64_t)n;
		progress_add(&r->prog, (uint64_t)n);
		check_signal();
	}
	*h = XXH3_128bits_digest(xs);
	*got = pos;
	XXH3_freeState(xs);
	return pos == m->size ? 0 : -1;
}

/* the header thread's verdict (rb_check_start) */
static void check_headers(struct rbctx *r)
{
	struct hcheck *h = &r->hc;

	hcheck_join(h, 0);
	const char *l = h->bad.buf;	/* the thread's, now that it is done */
	while (l && *l) {
		const char *e = strchr(l, '\n');
		error("%.*s", (int)(e - l), l);
		l = e + 1;
	}
	if (h->nbad > HCHECK_MAX_LINES)
		error("damaged snapshot %s: %lu more problems not shown", snapname(r), h->nbad - HCHECK_MAX_LINES);
	if (h->fatal && h->fatal_hint.len)
		die_hint(ZDT_EINTEGRITY, h->fatal_hint.buf, "%s", h->fatal_msg.buf);
	if (h->fatal)
		die(ZDT_EINTEGRITY, "%s", h->fatal_msg.buf);
	if (!h->done)
		BUG("header check neither done nor failed");
	/* where members start, which are sparse: the thread's, now ours */
	free(r->ckpt);
	free(r->sparse);
	r->ckpt = h->ckpt;
	r->sparse = h->sparse;
	h->ckpt = NULL;
	h->sparse = NULL;
}

/*
 * Uncompressed, with the header thread: its verdict on every header, then
 * the data of each member the plan needs: a plain file's at the offset the
 * manifest records (where applying reads it), the others through the
 * archive from the nearest checkpoint.
 */
static void verify_raw(struct rbctx *r)
{
	struct vbad v = { r, 0 };

	check_headers(r);
	unsigned long nbad = r->hc.nbad;
	r->raw = 1;
	open_manifest(r);
	a_open(r);
	r->data_write = r->max_data = 0;
	progress_start(&r->prog, progress_enabled(r->z->progress), "check", r->bytes_write);
	for (m_next(r); r->mstate > 0; m_next(r)) {
		if (!bit(r->need, r->ord))
			continue;
		const struct mentry *m = &r->m;
		uint64_t data = m->size;
		if (m->type == M_FILE && !m->has_xattr && !bit(r->sparse, r->ord) && (m->offset >= 0 || !m->size)) {
			XXH128_hash_t h;
			uint64_t got;
			if (hash_at(r, m, &h, &got) < 0) {
				char why[128];
				snprintf(why, sizeof(why), "archive holds %" PRIu64 " bytes, the manifest %" PRIu64, got,
					 m->size);
				need_bad(&v, m, m->offset, why);
			} else if (!XXH128_isEqual(h, m->hash)) {
				need_bad(&v, m, m->offset, "content differs");
			}
		} else {
			struct archive_entry *e = a_entry(r);
			if (m->type == M_FILE && archive_entry_sparse_reset(e) > 0) {
				la_int64_t off, len;
				data = 0;
				while (archive_entry_sparse_next(e, &off, &len) == ARCHIVE_OK)
					data += (uint64_t)len;
			}
			if (member_check(r->a, e, m, r->zeros, &r->prog, need_bad, &v) < 0) {
				progress_end(&r->prog);
				die(ZDT_EINTEGRITY, "damaged archive of %s in '%s': %s; the live tree was not touched",
				    snapname(r), escp(m->path.buf), archive_error_string(r->a));
			}
		}
		if (m->type == M_FILE) {
			r->data_write += data;
			if (data > r->max_data)
				r->max_data = data;
		}
	}
	progress_end(&r->prog);
	a_close(r);
	nbad += v.n;
	if (nbad)
		die_hint(ZDT_EINTEGRITY, "the live tree was not touched; run 'zdt verify' for the full list",
			 "snapshot %s is damaged (%lu problem%s)", snapname(r), nbad, nbad > 1 ? "s" : "");
}

void rb_check_start(struct rbctx *r)
{
	if (!r->h.compress || strcmp(r->h.compress, "none") || r->hc.running)
		return;
	if (hcheck_start(&r->hc, r->snapfd, r->si.archive ? r->si.archive : SNAP_ARCHIVE_NONE, r->entries,
			 CKPT_EVERY, snapname(r)) < 0)
		verbose("%s: no header check beside the plan (%s): the members are checked after it",
			snapname(r), strerror(errno));
}

void rb_check_stop(struct rbctx *r)
{
	hcheck_release(&r->hc);
}

void rb_verify_needed(struct rbctx *r)
{
	if (r->hc.running)
		verify_raw(r);
	else
		verify_stream(r);
}

/* ---- comparing ---------------------------------------------------------- */

static char live_type(mode_t m)
{
	if (S_ISREG(m)) return M_FILE;
	if (S_ISDIR(m)) return M_DIR;
	if (S_ISLNK(m)) return M_SYMLINK;
	if (S_ISFIFO(m)) return M_FIFO;
	if (S_ISCHR(m)) return M_CHR;
	if (S_ISBLK(m)) return M_BLK;
	return 's';
}

static int mtime_eq(const struct stat *st, const struct mentry *m)
{
	return st->st_mtim.tv_sec == m->mtime_sec && st->st_mtim.tv_nsec == (long)m->mtime_nsec;
}

/* xattr digest of a live file through its folder, without opening it */
static int live_xattr(struct rbctx *r, int dfd, const char *name, int fd, uint64_t *d)
{
	int has;

	archive_entry_clear(r->scratch);
	if (fd >= 0)
		xattr_read_fd(fd, r->scratch);
	else
		xattr_read_at(dfd, name, r->scratch);
	*d = xattr_digest(r->scratch, &has);
	return has;
}

static unsigned meta_diff(struct rbctx *r, const struct mentry *m, const struct stat *st,
			  int dfd, const char *name, int fd)
{
	unsigned ch = 0;

	if (m->type != M_SYMLINK && (st->st_mode & 07777) != m->mode)
		ch |= CH_MODE;
	if (r->is_root && (st->st_uid != m->uid || st->st_gid != m->gid))
		ch |= CH_OWNER;
	if (!mtime_eq(st, m))
		ch |= CH_MTIME;
	if (m->type == M_FILE || m->type == M_DIR) {
		if (r->mode == RB_APPLY && m->type == M_FILE) {
			/* the plan read them a moment ago: one read per file */
			if (bit(r->xdiff, r->ord))
				ch |= CH_XATTR;
			return ch;
		}
		uint64_t d = 0;
		int has = live_xattr(r, dfd, name, fd, &d);
		if (has != m->has_xattr || (has && d != m->xattr)) {
			ch |= CH_XATTR;
			if (r->mode == RB_PLAN)
				setbit(r->xdiff, r->ord);
		}
	}
	return ch;
}

static int hash_live(struct rbctx *r, int dfd, const char *name, XXH128_hash_t *h)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	XXH3_state_t *xs;
	ssize_t n;

	if (fd < 0)
		return -1;
	xs = XXH3_createState();
	XXH3_128bits_reset(xs);
	while ((n = read(fd, r->buf, RB_BUF)) > 0) {
		XXH3_128bits_update(xs, r->buf, (size_t)n);
		check_signal();
	}
	*h = XXH3_128bits_digest(xs);
	XXH3_freeState(xs);
	close(fd);
	return n < 0 ? -1 : 0;
}

/* live stat of a hardlink group's first path, found without following links */
static int target_stat(struct rbctx *r, const char *target, struct stat *st)
{
	const char *base;
	int pfd = open_parent_nofollow(r->rootfd, target, &base), rc;

	if (pfd < 0)
		return -1;
	rc = fstatat(pfd, base, st, AT_SYMLINK_NOFOLLOW);
	close(pfd);
	return rc;
}

/* what differs for a path present on both sides, same type or not */
static unsigned compare(struct rbctx *r, int dfd, const char *name, const struct stat *st)
{
	const struct mentry *m = &r->m;
	char lt = live_type(st->st_mode);
	char mt = m->type == M_HARDLINK ? M_FILE : m->type;
	unsigned ch = 0;

	if (lt != mt)
		return CH_TYPE;
	switch (m->type) {
	case M_HARDLINK: {
		struct stat ts;
		/* not linked to its first path, or linked now but that path
		 * gets a new inode */
		if (target_stat(r, m->target.buf, &ts) < 0 || ts.st_dev != st->st_dev || ts.st_ino != st->st_ino ||
		    (r->mode == RB_PLAN && hset_has(&r->rewritten, path_hash(m->target.buf))))
			ch |= CH_LINK;
		return ch;
	}
	case M_FILE:
		/* the first and the last branch both find the content changed, by
		 * different tests (not a copy-paste slip): one condition would hide
		 * the --checksum case between them */
		/* NOLINTNEXTLINE(bugprone-branch-clone) */
		if (r->full || (uint64_t)st->st_size != m->size) {
			ch |= CH_CONTENT;
		} else if (r->checksum) {
			if (r->mode == RB_PLAN) {
				XXH128_hash_t h;
				int ok = ahead_get(&r->ah, r->ord, st, &h) || hash_live(r, dfd, name, &h) == 0;
				if (!ok || !XXH128_isEqual(h, m->hash))
					setbit(r->differs, r->ord);
			}
			if (bit(r->differs, r->ord))
				ch |= CH_CONTENT;
		} else if (!mtime_eq(st, m)) {
			ch |= CH_CONTENT;
		}
		if (!(ch & CH_CONTENT))
			ch |= meta_diff(r, m, st, dfd, name, -1);
		return ch;
	case M_SYMLINK: {
		char t[4096];
		ssize_t n = readlinkat(dfd, name, t, sizeof(t) - 1);
		if (n < 0 || (size_t)n != m->target.len || memcmp(t, m->target.buf, (size_t)n))
			return CH_TARGET;
		return meta_diff(r, m, st, dfd, name, -1);
	}
	case M_CHR:
	case M_BLK:
		if (major(st->st_rdev) != m->rdev_major || minor(st->st_rdev) != m->rdev_minor)
			return CH_TYPE;
		return meta_diff(r, m, st, dfd, name, -1);
	case M_FIFO:
		return meta_diff(r, m, st, dfd, name, -1);
	}
	return 0;
}

void rb_describe(struct sbuf *sb, unsigned ch, const struct mentry *m, const struct stat *st)
{
	static const struct { unsigned bit; const char *word; } w[] = {
		{ CH_CONTENT, "content" }, { CH_TARGET, "link target" }, { CH_LINK, "hardlink" },
		{ CH_MODE, "mode" }, { CH_OWNER, "owner" }, { CH_MTIME, "mtime" },
		{ CH_XATTR, "xattrs/ACLs" },
	};
	int n = 0;

	if (ch & CH_TYPE) {
		sbuf_addf(sb, "%c -> %c", st ? live_type(st->st_mode) : '?', m ? m->type : '?');
		return;
	}
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		if (!(ch & w[i].bit))
			continue;
		sbuf_addf(sb, "%s%s", n++ ? ", " : "", w[i].word);
		if (w[i].bit == CH_MODE && m && st)
			sbuf_addf(sb, " %04o -> %04o", (unsigned)st->st_mode & 07777, m->mode);
	}
}

/* ---- changing the live tree --------------------------------------------- */

_Noreturn static void apply_fail(struct rbctx *r, const char *what, const char *rel)
{
	int e = errno;
	struct sbuf p = SBUF_INIT;

	esc_path(&p, rel);
	errno = e;
	if (e == ENOSPC || e == EDQUOT)
		die_hint(ZDT_EFAIL, "free space in the install folder, then run the same rollback again to finish it",
			 "cannot %s: '%s/%s': %s", what, escp(r->root), p.buf, strerror(e));
	die_hint(ZDT_EFAIL, "fix the cause, then run the same rollback again to finish it",
		 "cannot %s: '%s/%s': %s", what, escp(r->root), p.buf, strerror(e));
}

/* ---- worker threads (fused) -------------------------------------------- */

static struct wpool *live_pool;	/* stopped at exit, before fresh_undo empties the folder */

static void pool_abort(void)
{
	wpool_stop(live_pool);
	live_pool = NULL;
}

static int pool_queues(void)
{
#ifdef ZDT_TESTING
	const char *e = getenv("ZDT_TEST_WRITERS");
	if (e) {
		char *end;
		long v = strtol(e, &end, 10);
		if (end == e || *end || v < 0 || v > 8)
			die(ZDT_EUSAGE, "invalid ZDT_TEST_WRITERS '%s' (0..8)", e);
		return (int)v;
	}
#endif
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n >= 2 ? 2 : 1;
}

static void pool_start(struct rbctx *r)
{
	static int hooked;
	int nq = pool_queues();

	if (nq < 1)
		return;
	if (!hooked) {
		err_on_exit(pool_abort);
		hooked = 1;
	}
	r->wp = live_pool = wpool_start(nq);
	r->wq = 0;
	r->n_pooled = r->n_trashed = r->n_copied = 0;
}

/* a worker failed: its error, as this thread's own */
_Noreturn static void pool_fail(struct rbctx *r)
{
	int e = EIO;
	const char *what = "write", *rel = "?";
	struct sbuf sb = SBUF_INIT;

	wpool_failed(r->wp, &e, &what, &rel);
	sbuf_adds(&sb, rel);
	errno = e;
	if (!strcmp(what, "check"))	/* wpool_copy() */
		die(ZDT_EINTEGRITY, "archive member of '%s' in %s does not match the manifest; nothing was written there",
		    escp(sb.buf), snapname(r));
	if (!strcmp(what, "read"))
		die_errno(ZDT_EFAIL, "cannot read the archive of %s", snapname(r));
	apply_fail(r, what, sb.buf);
}

/* every job done (exits with a worker's error) */
static void pool_drain(struct rbctx *r)
{
	if (r->wp && wpool_drain(r->wp) < 0)
		pool_fail(r);
	r->trash_bytes = 0;
}

/* the files the workers create are there (fused): before what depends on them */
static void pool_sync(struct rbctx *r)
{
	if (r->fused)
		pool_drain(r);
}

/* the trash emptied and removed: before the install folder's own metadata */
static void trash_end(struct rbctx *r, int rootdirfd)
{
	if (r->trashfd < 0)
		return;
	pool_drain(r);
	close(r->trashfd);
	r->trashfd = -1;
	if (unlinkat(rootdirfd, r->trash, AT_REMOVEDIR) < 0)
		apply_fail(r, "remove", r->trash);
}

static void pool_end(struct rbctx *r)
{
	if (!r->wp)
		return;
	pool_drain(r);
	if (r->fused)
		verbose("%s: %" PRIu64 " files written by %d writer thread%s", component_name(r->comp), r->n_pooled,
			wpool_queues(r->wp), wpool_queues(r->wp) > 1 ? "s" : "");
	if (r->n_copied)
		verbose("%s: %" PRIu64 " of them copied from the archive by %d copy thread%s", component_name(r->comp),
			r->n_copied, wpool_queues(r->wp), wpool_queues(r->wp) > 1 ? "s" : "");
	if (r->n_trashed)
		verbose("%s: %" PRIu64 " replaced files unlinked by %d writer thread%s", component_name(r->comp),
			r->n_trashed, wpool_queues(r->wp), wpool_queues(r->wp) > 1 ? "s" : "");
	wpool_stop(r->wp);
	r->wp = live_pool = NULL;
}

static void tmpname(struct rbctx *r, char *buf, size_t n)
{
	snprintf(buf, n, TMP_PREFIX "%ld.%u", (long)r->pid, r->tmpseq++);
}

static int set_times_fd(int fd, const struct mentry *m)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { m->mtime_sec, m->mtime_nsec } };

	return futimens(fd, ts);
}

static int set_times_at(int dfd, const char *name, const struct mentry *m)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { m->mtime_sec, m->mtime_nsec } };

	return utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* owner, attributes, mode, mtime of an open file or folder */
static int set_meta_fd(struct rbctx *r, int fd, const struct mentry *m, struct archive_entry *xe)
{
	if (r->is_root && fchown(fd, (uid_t)m->uid, (gid_t)m->gid) < 0)
		return -1;
	if (xe && xattr_apply_fd(fd, xe) < 0)
		return -1;
	if (fchmod(fd, m->mode) < 0)
		return -1;
	return set_times_fd(fd, m);
}

/* owner, mode, mtime of a non-file through its folder (symlinks: no mode) */
static int set_meta_at(struct rbctx *r, int dfd, const char *name, const struct mentry *m)
{
	if (r->is_root && fchownat(dfd, name, (uid_t)m->uid, (gid_t)m->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (m->type != M_SYMLINK && fchmodat(dfd, name, m->mode, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return set_times_at(dfd, name, m);
}

/*
 * tmp takes name's place atomically.  An exchange then an unlink rather
 * than a rename over name: ext4 flushes a file renamed over another one
 * (auto_da_alloc), which costs about a millisecond per file, and
 * durability here comes from the syncfs at the end, with the journal kept
 * until it is done.  The old file (tmp after the exchange) is renamed into
 * the trash folder, which the workers empty while this thread goes on: on
 * a file system mounted with discard, unlink() waits for the device to
 * trim the freed blocks.  Where the trash is not at hand (a file system
 * mounted inside the install folder: EXDEV), it is unlinked here.
 */
static int replace_name(struct rbctx *r, int dfd, const char *tmp, const char *name, uint64_t old_size)
{
	if (renameat2(dfd, tmp, dfd, name, RENAME_EXCHANGE) < 0) {
		if (errno != EINVAL && errno != ENOSYS && errno != ENOENT)
			return -1;
		return renameat(dfd, tmp, dfd, name);
	}
	if (!r->trash_seq) {
		/* the first replaced file: the workers and the trash, tried
		 * once.  The install folder's listing was read already: the
		 * walk does not meet the trash (a rerun removes a leftover one) */
		r->trash_seq = 1;
		if (!r->wp)
			pool_start(r);
		snprintf(r->trash, sizeof(r->trash), TMP_PREFIX "trash.%ld", (long)getpid());
		if (r->wp && mkdirat(r->rootfd, r->trash, 0700) == 0) {
			r->trashfd = openat(r->rootfd, r->trash, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (r->trashfd < 0)
				unlinkat(r->rootfd, r->trash, AT_REMOVEDIR);	/* unlinked here, then */
		}
	}
	if (r->trashfd >= 0) {
		char t[32];
		snprintf(t, sizeof(t), "%u", r->trash_seq++);
		if (renameat(dfd, tmp, r->trashfd, t) == 0) {
			if (wpool_unlink(r->wp, wpool_pick(r->wp), r->trashfd, t, r->trash) < 0)
				pool_fail(r);
			r->trash_bytes += old_size;
			r->n_trashed++;
			if (r->trash_bytes > TRASH_MAX)
				pool_drain(r);	/* the free space pre-flight counted on */
			return 0;
		}
	}
	return unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT ? -1 : 0;
}

/*
 * Big files are written with O_DIRECT: the data goes from an aligned buffer
 * to the device without filling the page cache, and the syncfs at the end
 * has only the small files left to write back.  The data arrives in pieces
 * of any size and alignment; whole aligned blocks go direct, the rest (a
 * tail, the edges of a hole) through the page cache.
 */
struct dio {
	int fd, on, used;
	char *buf;		/* DIO_BUF bytes, aligned to DIO_ALIGN */
	uint64_t base;		/* file offset of buf[0] */
	size_t len;
};

static int dio_start(struct dio *d)
{
	if (fd_direct(d->fd, 1) < 0)
		return -1;
	d->on = 1;
	return 0;
}

/* writes what is buffered: the aligned part direct, then (last, or an
 * unaligned piece) the rest through the page cache */
static int dio_flush(struct dio *d, int last)
{
	size_t whole = d->base % DIO_ALIGN ? 0 : d->len / DIO_ALIGN * DIO_ALIGN;

	if (whole) {
		if (pwrite_all(d->fd, d->buf, whole, d->base) < 0)
			return -1;
		d->used = 1;
	}
	if (whole < d->len) {
		if (!last && d->len == DIO_BUF)
			BUG("direct I/O buffer full and unaligned");
		if (fd_direct(d->fd, 0) < 0 || pwrite_all(d->fd, d->buf + whole, d->len - whole, d->base + whole) < 0)
			return -1;
		d->on = 0;	/* the rest of the file goes through the page cache */
	}
	d->base += d->len;
	d->len = 0;
	return 0;
}

static int dio_add(struct dio *d, const void *p, size_t n, uint64_t off)
{
	const char *c = p;

	if (off != d->base + d->len) {	/* a hole */
		if (dio_flush(d, 0) < 0)
			return -1;
		if (d->on && off % DIO_ALIGN) {
			if (fd_direct(d->fd, 0) < 0)
				return -1;
			d->on = 0;
		}
		if (!d->on)
			return pwrite_all(d->fd, p, n, off);
		d->base = off;
	}
	while (n) {
		size_t k = DIO_BUF - d->len < n ? DIO_BUF - d->len : n;
		memcpy(d->buf + d->len, c, k);
		d->len += k;
		c += k;
		n -= k;
		if (d->len == DIO_BUF && dio_flush(d, 0) < 0)
			return -1;
	}
	return 0;
}

/* writes the current entry's file from the archive as tmp (or name when
 * nothing is there), verifies it, sets its metadata */
static void write_file(struct rbctx *r, int dfd, const char *name, const char *rel, int replace,
		       uint64_t old_size)
{
	const struct mentry *m = &r->m;
	int raw = r->raw && (m->offset >= 0 || !m->size) && !m->has_xattr && !bit(r->sparse, r->ord);
	struct archive_entry *e = raw ? NULL : a_entry(r);
	char tmp[64];
	const char *out = name;
	const void *buf;
	size_t n;
	la_int64_t off;
	uint64_t pos = 0, last_end = 0;
	int rc, h = -1;

	if (replace) {
		tmpname(r, tmp, sizeof(tmp));
		out = tmp;
	}
	/* created with its final permission bits (the umask is 0 while
	 * applying): no fchmod unless setuid/setgid/sticky or an ACL needs it */
	int fd = openat(dfd, out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m->mode & 0777);
	if (fd < 0)
		apply_fail(r, "create", rel);
	h = cleanup_register(dfd, out);
	struct dio dio = { .fd = fd, .buf = r->dbuf };
	if (m->size >= DIO_MIN && r->dio_ok && dio_start(&dio) < 0)
		r->dio_ok = 0;	/* the file system has no direct I/O */
	XXH3_state_t *xs = XXH3_createState();
	XXH3_128bits_reset(xs);
	rc = ARCHIVE_EOF;
	while (raw && pos < m->size) {	/* plain data at the manifest's offset */
		size_t got = a_pread(r, m, pos);
		if (!got)
			break;	/* short: the hash below says so */
		XXH3_128bits_update(xs, r->buf, (size_t)got);
		if ((dio.on ? dio_add(&dio, r->buf, (size_t)got, pos) : pwrite_all(fd, r->buf, (size_t)got, pos)) < 0)
			apply_fail(r, "write", rel);
		pos += (uint64_t)got;
		last_end = pos;
		progress_add(&r->prog, (uint64_t)got);
		check_signal();
	}
	while (!raw && (rc = archive_read_data_block(r->a, &buf, &n, &off)) == ARCHIVE_OK) {
		while (pos < (uint64_t)off) {	/* a hole: stays a hole */
			size_t k = (uint64_t)off - pos < MEMBER_ZBUF ? (size_t)((uint64_t)off - pos) : MEMBER_ZBUF;
			XXH3_128bits_update(xs, r->zeros, k);
			pos += k;
		}
		XXH3_128bits_update(xs, buf, n);
		if ((dio.on ? dio_add(&dio, buf, n, (uint64_t)off) : pwrite_all(fd, buf, n, (uint64_t)off)) < 0)
			apply_fail(r, "write", rel);
		pos = (uint64_t)off + n;
		last_end = pos;
		progress_add(&r->prog, n);
		check_signal();
	}
	if (rc != ARCHIVE_EOF)
		die(ZDT_EINTEGRITY, "damaged archive of %s in '%s': %s", snapname(r), escp(rel),
		    archive_error_string(r->a));
	if (dio.on && dio_flush(&dio, 1) < 0)
		apply_fail(r, "write", rel);
	while (pos < m->size) {
		size_t k = m->size - pos < MEMBER_ZBUF ? (size_t)(m->size - pos) : MEMBER_ZBUF;
		XXH3_128bits_update(xs, r->zeros, k);
		pos += k;
	}
	XXH128_hash_t got = XXH3_128bits_digest(xs);
	XXH3_freeState(xs);
	if (pos != m->size || !XXH128_isEqual(got, m->hash)) {
		close(fd);
		unlinkat(dfd, out, 0);
		cleanup_forget(h);
		die(ZDT_EINTEGRITY, "archive member of '%s' in %s does not match the manifest; %s",
		    escp(rel), snapname(r), replace ? "the live file was left as it was" : "nothing was written there");
	}
	if (last_end < m->size && ftruncate(fd, (off_t)m->size) < 0)	/* a trailing hole */
		apply_fail(r, "write", rel);
	if (m->size >= SFR_MIN && !dio.used)	/* start write-back now; syncfs waits for it at the end */
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	int chown_needed = r->is_root && (m->uid != r->euid || m->gid != r->egid);
	int xattrs = m->has_xattr || r->parent_dacl;	/* e also strips inherited ACLs */
	if (xattrs && !e) {
		archive_entry_clear(r->scratch);	/* raw: no attributes, strips them */
		e = r->scratch;
	}
	if ((chown_needed && fchown(fd, (uid_t)m->uid, (gid_t)m->gid) < 0) ||
	    (xattrs && xattr_apply_fd(fd, e) < 0) ||
	    (((m->mode & 07000) || xattrs) && fchmod(fd, m->mode) < 0) ||
	    set_times_fd(fd, m) < 0)
		apply_fail(r, "set the metadata of", rel);
	if (close(fd) < 0)
		apply_fail(r, "write", rel);
	if (replace && replace_name(r, dfd, tmp, name, old_size) < 0)
		apply_fail(r, "replace", rel);
	cleanup_forget(h);
}

/* the current member's data, read through libarchive, to put(arg, p, n)
 * in order (p NULL: n zeros, where the archive has no block), up to the
 * manifest's size: 0, or -1 when its blocks do not fit that size (the
 * caller's hash check then fails) */
static int member_data(struct rbctx *r, const char *rel, void (*put)(void *, const void *, uint64_t), void *arg)
{
	uint64_t size = r->m.size, pos = 0;
	const void *buf;
	size_t n;
	la_int64_t off;
	int rc;

	while ((rc = archive_read_data_block(r->a, &buf, &n, &off)) == ARCHIVE_OK) {
		if (off < 0 || (uint64_t)off < pos || (uint64_t)off > size || n > size - (uint64_t)off)
			return -1;
		put(arg, NULL, (uint64_t)off - pos);	/* zeros where there is no block */
		put(arg, buf, n);
		pos = (uint64_t)off + n;
		progress_add(&r->prog, n);
		check_signal();
	}
	if (rc != ARCHIVE_EOF)
		die(ZDT_EINTEGRITY, "damaged archive of %s in '%s': %s", snapname(r), escp(rel),
		    archive_error_string(r->a));
	put(arg, NULL, size - pos);
	return 0;
}

/* the pieces of a big file on their way to a worker (wpool_part) */
struct parts {
	struct rbctx *r;
	int dfd;
	const char *name, *rel;
	const struct wmeta *wm;
	XXH3_state_t *xs;
	char *piece;		/* being filled, NULL if none */
	uint64_t base;		/* its offset in the file */
	size_t len, cap;
};

/* n bytes (zeros when p is NULL) into the pieces, hashed; each full piece
 * but the last goes to the worker */
static void parts_add(void *arg, const void *p, uint64_t n)
{
	struct parts *s = arg;
	struct rbctx *r = s->r;
	uint64_t size = r->m.size;
	const char *c = p;

	while (n) {
		if (!s->piece) {
			s->cap = size - s->base < WPOOL_PART ? (size_t)(size - s->base) : WPOOL_PART;
			s->len = 0;
			s->piece = wpool_part(r->wp, r->wq, s->dfd, s->name, s->rel, size, s->base, s->cap, s->wm);
			if (!s->piece)
				pool_fail(r);
		}
		size_t k = s->cap - s->len < n ? s->cap - s->len : (size_t)n;
		if (c) {
			memcpy(s->piece + s->len, c, k);
			c += k;
		} else {
			memset(s->piece + s->len, 0, k);
		}
		XXH3_128bits_update(s->xs, s->piece + s->len, k);
		s->len += k;
		n -= k;
		if (s->len == s->cap && s->base + s->cap < size) {
			wpool_submit(r->wp, r->wq);
			s->base += s->cap;
			s->piece = NULL;
		}
	}
}

/*
 * A plain member of an uncompressed archive, at least RAW_MIN bytes, is
 * read at the manifest's offset straight into the workers' buffer (one
 * copy, not two: libarchive skips its data); a smaller one comes with the
 * headers around it anyway.  0 when the archive holds all n bytes from
 * pos, -1 when it ends first.
 */
#define RAW_MIN (64u << 10)

static int use_raw(const struct rbctx *r)
{
	const struct mentry *m = &r->m;

	return r->h.compress && !strcmp(r->h.compress, "none") && m->offset >= 0 && m->size >= RAW_MIN &&
	       (uint64_t)m->offset <= INT64_MAX - m->size;
}

static int raw_read(struct rbctx *r, char *dst, uint64_t pos, size_t n)
{
	while (n) {
		ssize_t k = pread(r->afd, dst, n, (off_t)((uint64_t)r->m.offset + pos));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die_errno(ZDT_EFAIL, "cannot read the archive of %s", snapname(r));
		if (!k)
			return -1;
		dst += k;
		pos += (uint64_t)k;
		n -= (size_t)k;
		progress_add(&r->prog, (uint64_t)k);
	}
	check_signal();
	return 0;
}

/* a big file through a worker, in pieces: the last goes only once the
 * whole file matched the manifest (else the worker removes the file) */
static void write_parts(struct rbctx *r, int dfd, const char *name, const char *rel, const struct wmeta *wm)
{
	struct parts s = { .r = r, .dfd = dfd, .name = name, .rel = rel, .wm = wm };

	s.xs = XXH3_createState();
	if (!s.xs)
		die(ZDT_EFAIL, "out of memory");
	XXH3_128bits_reset(s.xs);
	int ok = member_data(r, rel, parts_add, &s) == 0 &&
		 XXH128_isEqual(XXH3_128bits_digest(s.xs), r->m.hash);
	XXH3_freeState(s.xs);
	if (!ok)
		die(ZDT_EINTEGRITY, "archive member of '%s' in %s does not match the manifest; nothing was written there",
		    escp(rel), snapname(r));
	wpool_submit(r->wp, r->wq);	/* the last piece: metadata, close */
}

/* member_data() into a buffer */
struct fill {
	char *data;
	uint64_t pos;
};

static void fill_put(void *arg, const void *p, uint64_t n)
{
	struct fill *f = arg;

	if (p)
		memcpy(f->data + f->pos, p, (size_t)n);
	else
		memset(f->data + f->pos, 0, (size_t)n);
	f->pos += n;
}

/* write_file() through a worker: a file without holes, attributes or an
 * inherited ACL, into a folder created by this rollback; its data is read
 * and checked here, written there (a big one in pieces).  0: not for the
 * pool. */
static int write_file_pool(struct rbctx *r, int dfd, const char *name, const char *rel)
{
	const struct mentry *m = &r->m;

	if (!r->wp || !r->fused || m->has_xattr || r->parent_dacl || strlen(rel) > 65536)
		return 0;
	struct archive_entry *e = a_entry(r);
	if (archive_entry_sparse_count(e) > 0)
		return 0;
	struct wmeta wm = { .mode = m->mode, .uid = (uid_t)m->uid, .gid = (gid_t)m->gid,
			    .mtime = { m->mtime_sec, m->mtime_nsec } };
	if (r->is_root && (m->uid != r->euid || m->gid != r->egid))
		wm.flags |= WM_CHOWN;
	if (m->mode & 07000)
		wm.flags |= WM_CHMOD;
	if (m->size >= SFR_MIN)
		wm.flags |= WM_SFR;
	if (m->size > WPOOL_FILE_MAX && use_raw(r)) {	/* read, checked, written by a copy queue */
		int rc = wpool_copy(r->wp, dfd, name, rel, r->afd, (uint64_t)m->offset, m->size, m->hash, &wm);
		if (rc == -2)
			pool_fail(r);
		if (rc < 0)
			apply_fail(r, "create", rel);
		progress_add(&r->prog, m->size);
		r->n_pooled++;
		r->n_copied++;
		return 1;
	}
	if (m->size > WPOOL_FILE_MAX) {
		write_parts(r, dfd, name, rel, &wm);
		r->n_pooled++;
		return 1;
	}
	char *data = wpool_file(r->wp, r->wq, dfd, name, rel, (size_t)m->size, &wm);
	if (!data)
		pool_fail(r);
	struct fill f = { data, 0 };
	int got = use_raw(r) ? raw_read(r, data, 0, (size_t)m->size) : member_data(r, rel, fill_put, &f);
	if (got < 0 || !XXH128_isEqual(XXH3_128bits(data, (size_t)m->size), m->hash))
		die(ZDT_EINTEGRITY, "archive member of '%s' in %s does not match the manifest; nothing was written there",
		    escp(rel), snapname(r));
	wpool_submit(r->wp, r->wq);
	r->n_pooled++;
	return 1;
}

/* creates the current entry (not a folder) as tmp, then renames it */
static void create_other(struct rbctx *r, int dfd, const char *name, const char *rel)
{
	const struct mentry *m = &r->m;
	char tmp[64];
	int rc = 0;

	tmpname(r, tmp, sizeof(tmp));
	switch (m->type) {
	case M_SYMLINK:
		rc = symlinkat(m->target.buf, dfd, tmp);
		break;
	case M_FIFO:
		rc = mkfifoat(dfd, tmp, 0600);
		break;
	case M_CHR:
	case M_BLK:
		rc = mknodat(dfd, tmp, (m->type == M_CHR ? S_IFCHR : S_IFBLK) | 0600,
			     makedev(m->rdev_major, m->rdev_minor));
		break;
	case M_HARDLINK: {
		const char *base;
		if (r->fused && r->wp && wpool_wait_file(r->wp, m->target.buf) < 0)
			pool_fail(r);	/* its target may be in a queue */
		int pfd = open_parent_nofollow(r->rootfd, m->target.buf, &base);
		rc = pfd < 0 ? -1 : linkat(pfd, base, dfd, tmp, 0);
		if (pfd >= 0)
			close(pfd);
		break;
	}
	default:
		BUG("create_other of type %c", m->type);
	}
	if (rc < 0)
		apply_fail(r, "create", rel);
	int h = cleanup_register(dfd, tmp);
	if ((m->type == M_FIFO || m->type == M_CHR || m->type == M_BLK) && r->parent_dacl &&
	    xattr_strip_at(dfd, tmp) < 0)	/* an ACL inherited from the folder */
		apply_fail(r, "set the metadata of", rel);
	if (m->type != M_HARDLINK && set_meta_at(r, dfd, tmp, m) < 0)
		apply_fail(r, "set the metadata of", rel);
	if (renameat(dfd, tmp, dfd, name) < 0)
		apply_fail(r, "replace", rel);
	unlinkat(dfd, tmp, 0);	/* rename of a link onto the same inode leaves it */
	cleanup_forget(h);
}

static void remove_live(struct rbctx *r, int dfd, const char *name, struct sbuf *rel)
{
	int rc = rm_tree_spare(dfd, name, rel, r->h.exclude, r->h.nexclude);

	if (rc < 0)
		apply_fail(r, "remove", rel->buf);
	if (rc > 0) {
		errno = ENOTEMPTY;
		apply_fail(r, "replace (it holds paths excluded from the snapshot)", rel->buf);
	}
}

/* ---- the merge ---------------------------------------------------------- */

static int scope(struct rbctx *r, const char *rel)
{
	size_t n = strlen(rel);

	if (!r->npaths)
		return SC_IN;
	if (!strcmp(rel, "."))
		return SC_ANCESTOR;
	int anc = 0;
	for (int i = 0; i < r->npaths; i++) {
		const char *p = r->paths[i];
		size_t k = strlen(p);
		if (!strcmp(rel, p) || (n > k && starts_dir(rel, p, k)))
			return SC_IN;
		if (k > n && starts_dir(p, rel, n))
			anc = 1;
	}
	return anc ? SC_ANCESTOR : SC_OUT;
}

static void note_change(struct rbctx *r, unsigned ch, const char *rel, const struct mentry *m,
			const struct stat *st)
{
	if (!ch)
		return;
	if (r->mode == RB_PLAN) {
		/* applying walks the folders above a change and looks again
		 * at the changed paths alone: the others are skipped whole */
		for (size_t k = r->ndstack; k-- > 0 && !bit(r->dirty, r->dstack[k]);)
			setbit(r->dirty, r->dstack[k]);
		if (m)
			setbit(r->dirty, r->ord);
	}
	r->n_changes++;
	if (ch & CH_ADDED)
		r->n_remove++;
	else if (ch & CH_REMOVED)
		r->n_create++;
	else if (ch & (CH_TYPE | CH_CONTENT | CH_TARGET | CH_LINK))
		r->n_rewrite++;
	else
		r->n_meta++;
	if (r->mode == RB_PLAN && m) {
		int writes = m->type == M_FILE && (ch & (CH_REMOVED | CH_TYPE | CH_CONTENT));
		if (writes) {
			uint64_t h = path_hash(m->path.buf);
			if (hset_has(&r->hl_targets, h))	/* its hardlinks must follow it */
				hset_add(&r->rewritten, h);
			r->bytes_write += m->size;
			if (m->size > r->max_file)
				r->max_file = m->size;
		}
		if (writes || (m->has_xattr && (ch & (CH_REMOVED | CH_TYPE | CH_XATTR)))) {
			setbit(r->need, r->ord);
			r->n_need++;
		}
	}
	if (r->mode == RB_PLAN && st && S_ISREG(st->st_mode) && (ch & (CH_ADDED | CH_TYPE | CH_CONTENT)))
		r->bytes_freed += (uint64_t)st->st_size;
	if (r->report)
		r->report(r, ch, rel, m, st);
}

static void merge_dir(struct rbctx *r, int dfd, struct sbuf *rel);

/* the current entry is a folder: enter it (dfd < 0: it does not exist live
 * and, when planning, is not created), recurse, fix its metadata on leave */
static void enter_dir(struct rbctx *r, int dfd, const char *name, struct sbuf *rel, int sc,
		      int exists, const struct stat *st)
{
	struct mentry dm;
	struct archive_entry *xe = NULL;
	int fd = -1, created = 0, wq = r->wq;

	mentry_init(&dm);
	mentry_copy(&dm, &r->m);
	if (r->mode == RB_APPLY && sc == SC_IN && dm.has_xattr)
		xe = archive_entry_clone(a_entry(r));
	if (exists && dfd >= 0) {
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && r->mode == RB_APPLY)
			apply_fail(r, "open the folder", rel->buf);
		if (fd < 0)
			die_errno(ZDT_EFAIL, "cannot open the folder: '%s/%s'", escp(r->root), escp(rel->buf));
	} else if (r->mode == RB_APPLY) {
		if (mkdirat(dfd, name, 0700) < 0)
			apply_fail(r, "create the folder", rel->buf);
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			apply_fail(r, "open the folder", rel->buf);
		created = 1;
	}
	if (r->ndstack == r->capdstack) {
		r->capdstack = r->capdstack ? r->capdstack * 2 : 64;
		r->dstack = xrealloc(r->dstack, r->capdstack * sizeof(*r->dstack));
	}
	r->dstack[r->ndstack++] = r->ord;
	m_next(r);
	if (created && r->wp && r->fused) {
		r->wq = wpool_pick(r->wp);
		r->new_dir = 1;
	}
	merge_dir(r, fd, rel);
	r->ndstack--;
	if (r->mode == RB_APPLY && !r->ndstack)
		trash_end(r, fd);	/* the install folder itself: its mtime is set below */
	if (r->wp && r->fused && created && !xe && !r->parent_dacl) {
		/* owner, mode, mtime after its files, in their queue */
		struct wmeta wm = { .mode = dm.mode, .uid = (uid_t)dm.uid, .gid = (gid_t)dm.gid,
				    .mtime = { dm.mtime_sec, dm.mtime_nsec } };
		if (r->is_root)
			wm.flags |= WM_CHOWN;
		int q = r->wq;
		r->wq = wq;
		if (wpool_dir(r->wp, q, fd, rel->buf, &wm) < 0)
			pool_fail(r);
		mentry_release(&dm);
		return;
	}
	r->wq = wq;
	pool_sync(r);	/* what the queues do here is done first */
	if (r->mode == RB_APPLY) {
		struct stat now;
		if (fstat(fd, &now) < 0)
			apply_fail(r, "stat the folder", rel->buf);
		if (sc == SC_ANCESTOR && !created) {
			/* outside --path: only undo what our changes did to its mtime */
			if (st && !mtime_eq(&now, &dm)) {
				struct timespec ts[2] = { { 0, UTIME_OMIT }, st->st_mtim };
				futimens(fd, ts);
			}
		} else {
			uint64_t d = 0;
			int has = live_xattr(r, -1, NULL, fd, &d);
			int xdiff = has != dm.has_xattr || (has && d != dm.xattr);
			struct archive_entry *use = NULL;
			if (xdiff) {
				/* no attributes in the snapshot: an empty entry strips them */
				archive_entry_clear(r->scratch);
				use = xe ? xe : r->scratch;
			}
			if (created || xdiff || (now.st_mode & 07777) != dm.mode || !mtime_eq(&now, &dm) ||
			    (r->is_root && (now.st_uid != dm.uid || now.st_gid != dm.gid)))
				if (set_meta_fd(r, fd, &dm, use) < 0)
					apply_fail(r, "set the metadata of", rel->buf);
		}
	}
	if (xe)
		archive_entry_free(xe);
	if (fd >= 0)
		close(fd);
	mentry_release(&dm);
}

/* a path only in the snapshot: create it (and its subtree) */
static void snap_only(struct rbctx *r, int dfd, const char *name, struct sbuf *rel, int sc)
{
	note_change(r, CH_REMOVED, rel->buf, &r->m, NULL);
	if (r->mode == RB_APPLY && r->fused && r->m.type != M_FILE)
		(void)a_entry(r);	/* every member's header, as rb_verify_needed does */
	if (r->m.type == M_DIR) {
		enter_dir(r, dfd, name, rel, sc == SC_ANCESTOR ? SC_IN : sc, 0, NULL);
		return;
	}
	if (r->mode == RB_APPLY) {
		if (r->m.type == M_FILE) {
			if (!write_file_pool(r, dfd, name, rel->buf))
				write_file(r, dfd, name, rel->buf, 0, 0);
		}
		else
			create_other(r, dfd, name, rel->buf);
	}
	m_next(r);
}

static void both(struct rbctx *r, int dfd, const char *name, struct sbuf *rel, int sc)
{
	struct stat st;

	if (r->mode == RB_APPLY && !bit(r->dirty, r->ord)) {
		/* the plan found nothing to do here: not even a stat */
		if (r->m.type == M_DIR)
			m_skip_subtree(r);
		else
			m_next(r);
		return;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			die_errno(ZDT_EFAIL, "cannot stat: '%s/%s'", escp(r->root), escp(rel->buf));
		snap_only(r, dfd, name, rel, sc);
		return;
	}
	if (sc == SC_ANCESTOR && r->m.type != M_DIR) {
		m_skip_subtree(r);	/* --path below a non-folder: not in the snapshot */
		return;
	}
	unsigned ch = compare(r, dfd, name, &st);
	if (r->m.type == M_DIR && !(ch & CH_TYPE)) {
		if (sc == SC_IN) {
			unsigned md = meta_diff(r, &r->m, &st, dfd, name, -1);
			note_change(r, md, rel->buf, &r->m, &st);
		}
		enter_dir(r, dfd, name, rel, sc, 1, &st);
		return;
	}
	note_change(r, ch, rel->buf, &r->m, &st);
	if (ch & CH_TYPE) {
		if (r->mode == RB_APPLY)
			remove_live(r, dfd, name, rel);
		if (r->m.type == M_DIR) {
			/* planning: the subtree is all to be created */
			enter_dir(r, r->mode == RB_APPLY ? dfd : -1, name, rel, SC_IN, 0, NULL);
			return;
		}
		if (r->mode == RB_APPLY) {
			if (r->m.type == M_FILE)
				write_file(r, dfd, name, rel->buf, 0, 0);
			else
				create_other(r, dfd, name, rel->buf);
		}
	} else if (r->mode == RB_APPLY && ch) {
		if (ch & CH_CONTENT) {
			write_file(r, dfd, name, rel->buf, 1, (uint64_t)st.st_size);
		} else if (ch & (CH_TARGET | CH_LINK)) {
			create_other(r, dfd, name, rel->buf);
		} else if (r->m.type == M_FILE) {
			int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			if (fd < 0 || set_meta_fd(r, fd, &r->m, (ch & CH_XATTR) ? a_entry(r) : NULL) < 0)
				apply_fail(r, "set the metadata of", rel->buf);
			close(fd);
		} else if (set_meta_at(r, dfd, name, &r->m) < 0) {
			apply_fail(r, "set the metadata of", rel->buf);
		}
	}
	m_next(r);
}

static void live_only(struct rbctx *r, int dfd, const char *name, struct sbuf *rel)
{
	struct stat st;
	int leftover = !strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX));

	if (!leftover && path_excluded(r->h.exclude, r->h.nexclude, rel->buf, name)) {
		if (r->mode == RB_PLAN && r->excluded)
			r->excluded(r, dfd, name, rel->buf);
		return;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	note_change(r, leftover ? CH_ADDED | CH_LEFTOVER : CH_ADDED, rel->buf, NULL, &st);
	if (r->mode == RB_APPLY) {
		int rc = rm_tree_spare(dfd, name, rel, r->h.exclude, r->h.nexclude);
		if (rc < 0)
			apply_fail(r, "remove", rel->buf);
		if (rc > 0)	/* what remains is excluded: left alone, as promised */
			note("kept the folder '%s': it holds paths excluded from the snapshot", escp(rel->buf));
	}
}

static void merge_dir(struct rbctx *r, int dfd, struct sbuf *rel)
{
	struct dirlist dl;
	size_t i = 0, base = rel->len;
	char *dirpath = xstrdup(rel->buf);

	int saved_dacl = r->parent_dacl, new_dir = r->new_dir;
	r->new_dir = 0;
	/* new files here inherit this ACL; a folder just created into an
	 * empty install folder holds nothing and has its parent's */
	if (r->mode == RB_APPLY && dfd >= 0 && !new_dir)
		r->parent_dacl = fgetxattr(dfd, "system.posix_acl_default", NULL, 0) >= 0;
	memset(&dl, 0, sizeof(dl));
	if (dfd >= 0 && !new_dir && dirlist_read(dfd, &dl) < 0) {
		if (r->mode == RB_APPLY)
			apply_fail(r, "read the folder", rel->buf);
		die_errno(ZDT_EFAIL, "cannot read the folder: '%s/%s'", escp(r->root), escp(rel->buf));
	}
	for (;;) {
		const char *mname = m_child(r, dirpath, base);
		const char *lname = i < dl.n ? dirlist_name(&dl, i) : NULL;
		if (!mname && !lname)
			break;
		int c = !mname ? -1 : !lname ? 1 : strcmp(lname, mname);
		const char *name = c <= 0 ? lname : mname;
		char *nm = xstrdup(name);
		rel->len = base;
		if (strcmp(dirpath, ".")) {
			sbuf_addc(rel, '/');
			sbuf_adds(rel, nm);
		} else {
			sbuf_reset(rel);
			sbuf_adds(rel, nm);
		}
		int sc = scope(r, rel->buf);
		check_signal();
		r->cur_dfd = dfd;	/* again after each recursion */
		if (c < 0) {
			i++;
			if (sc == SC_IN)
				live_only(r, dfd, nm, rel);
		} else if (sc == SC_OUT) {
			if (c == 0)
				i++;
			m_skip_subtree(r);
		} else if (c > 0) {
			snap_only(r, dfd, nm, rel, sc);
		} else {
			i++;
			both(r, dfd, nm, rel, sc);
		}
		free(nm);
	}
	rel->len = base;
	if (rel->buf)
		rel->buf[base] = '\0';
	free(dirpath);
	dirlist_release(&dl);
	r->parent_dacl = saved_dacl;
	r->cur_dfd = -1;
}

void rb_merge(struct rbctx *r, int mode)
{
	struct sbuf rel = SBUF_INIT;
	struct sbuf at = SBUF_INIT, to = SBUF_INIT;

	r->mode = mode;
	r->n_changes = r->n_rewrite = r->n_create = r->n_remove = r->n_meta = 0;
	if (mode == RB_PLAN)
		r->bytes_write = r->bytes_freed = r->max_file = r->n_need = 0;
	if (r->rootfd < 0) {
		r->rootfd = open_dir_nofollow(r->root, mode == RB_APPLY, &at, &to);
		if (r->rootfd < 0 && errno == ELOOP)
			die_hint(ZDT_EREFUSED, "zdt never writes through a symbolic link; restore the folder's real path first",
				 "install folder path goes through a symbolic link: '%s' -> '%s'", escp(at.buf), escp(to.buf));
		if (r->rootfd < 0 && (errno != ENOENT || mode == RB_APPLY))
			die_errno(ZDT_EFAIL, "cannot open the install folder: '%s'", escp(r->root));
	}
	sbuf_free(&at);
	sbuf_free(&to);
	open_manifest(r);
	mode_t old_umask = 0;
	if (mode == RB_APPLY) {
		old_umask = umask(0);
		r->euid = geteuid();
		r->egid = getegid();
		a_open(r);
		progress_start(&r->prog, progress_enabled(r->z->progress), "rollback", r->bytes_write);
		r->trashfd = -1;
		if (r->fused)
			pool_start(r);	/* a differential apply: at its first replaced file */
	}
	if (mode == RB_PLAN && r->checksum && !r->full && r->rootfd >= 0 && ahead_start(&r->ah, r->snapfd, r->rootfd) < 0)
		verbose("%s: no thread to hash files ahead (%s): the plan hashes them alone", snapname(r),
			strerror(errno));
	m_next(r);	/* "." */
	if (mode == RB_APPLY && r->fused && r->mstate > 0)
		(void)a_entry(r);
	sbuf_adds(&rel, ".");
	r->cur_dfd = -1;
	int sc = scope(r, ".");
	struct stat st;
	int exists = r->rootfd >= 0 && fstat(r->rootfd, &st) == 0;
	if (exists && sc == SC_IN) {
		unsigned md = meta_diff(r, &r->m, &st, r->rootfd, ".", r->rootfd);
		note_change(r, md, ".", &r->m, &st);
	} else if (!exists) {
		note_change(r, CH_REMOVED, ".", &r->m, NULL);
	}
	/* the root: enter_dir on "." relative to itself */
	if (r->rootfd >= 0)
		enter_dir(r, r->rootfd, ".", &rel, sc, 1, exists ? &st : NULL);
	else
		enter_dir(r, -1, ".", &rel, sc, 0, NULL);
	if (r->mstate > 0)
		die(ZDT_EINTEGRITY, "manifest of %s: entry outside the tree: '%s'", snapname(r), escp(r->m.path.buf));
	pool_end(r);
	if (r->ah.running) {
		verbose("%s: %" PRIu64 " files hashed ahead by a thread", snapname(r), r->ah.used);
		ahead_stop(&r->ah);
	}
	if (mode == RB_APPLY && r->fused)
		a_expect_end(r, NULL);	/* as rb_verify_needed */
	if (mode == RB_APPLY) {
		progress_end(&r->prog);
		a_close(r);
		umask(old_umask);
	}
	sbuf_free(&rel);
}
