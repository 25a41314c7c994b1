/*
 * snapshot.c - zdt backup: snapshot a component's install folder.
 *
 * Two walks of the tree in canonical order (fsops.h): the first counts and
 * estimates the archive for the free-space check; the second writes the pax
 * archive and the manifest side by side, hashing each file's bytes as they
 * go into the archive, so the manifest describes exactly what was stored.
 * Everything is written below ID.partial, fsynced, and published by one
 * rename (store.h); on any failure or signal the partial folder is removed.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "../common/archive_io.h"
#include "../common/atomic.h"
#include "../common/component.h"
#include "../common/fsops.h"
#include "../common/json.h"
#include "../common/manifest.h"
#include "../common/progress.h"
#include "../common/ring.h"
#include "../common/sign.h"
#include "../common/space.h"
#include "../common/store.h"
#include "../common/xattr.h"
#include "../zdt.h"

const char backup_usage[] =
	"usage: zdt backup -c COMPONENT [--compress none|gzip[:LEVEL]] [--exclude GLOB]...\n"
	"                  [--reserve SIZE] [--key-file FILE] [--dry-run] [INSTALL_DIR]\n"
	"\n"
	"Snapshots INSTALL_DIR (default: the component's path in the config file)\n"
	"into the backup folder: a pax archive, a manifest with the XXH3-128 of every\n"
	"file, published only once it is complete and on disk.\n"
	"\n"
	"  -c, --component NAME   AR (arsystem), AtriumCore (cmdb), AtriumIntegrator (ai)\n"
	"      --compress HOW     none (default) or gzip[:LEVEL] (1-9, default 6)\n"
	"      --exclude GLOB     leave out matching paths (repeatable); recorded so\n"
	"                         that rollback leaves them alone\n"
	"      --reserve SIZE     free space to keep (default 1% of the file system,\n"
	"                         at least 64M)\n"
	"      --key-file FILE    sign the manifest with an HMAC-SHA256 keyed by FILE\n"
	"                         (kept outside the backup folder, mode 0600 or 0400)\n"
	"  -n, --dry-run          report what would be stored and the space check\n";

#define RBUF (1u << 20)

struct hl {
	dev_t dev;
	ino_t ino;
	char *path;
	XXH128_hash_t hash;
	uint64_t size, data_est;	/* first walk: what its data counted */
};

/* hardlink groups by (dev, ino): open addressing, never O(files) */
struct hltab {
	struct hl *v;
	size_t n, cap;
};

/* what the first walk counts (one per walking thread, then summed) */
struct count {
	uint64_t est, total, nfiles, ndirs, nlinks, nspecial, nsockets;
	struct hltab hl;
};

struct backup {
	struct zdt *z;
	int comp;
	char *src;
	int srcfd;
	char **excl;
	int nexcl;
	int level;
	int dry;
	uint64_t reserve;
	/* first walk */
	struct count cnt;
	/* second walk */
	struct asink sink;
	struct archive *a;
	struct archive_entry *ae;
	struct mwriter mw;
	struct mentry me;
	char *buf;
	char *zeros;
	XXH3_state_t *xs;	/* the content hash of the file being archived */
	struct hltab hl;
	struct prefetch *pf;
	struct progress prog;
	uint64_t files, bytes, changed;
	struct sbuf tmp;
};

static int excluded(struct backup *b, const char *rel, const char *name)
{
	return path_excluded(b->excl, b->nexcl, rel, name);
}

static struct hl *hl_find(struct hltab *t, dev_t dev, ino_t ino);
static struct hl *hl_add(struct hltab *t, dev_t dev, ino_t ino, const char *path, XXH128_hash_t h);
static void hl_clear(struct hltab *t);

/* ---- first walk: count and estimate ----------------------------------- */

/*
 * Two threads walk the tree: each hands a folder it meets to the other
 * whenever that one has nothing to do, so both stay busy to the end without
 * either holding more than its own walk's state.  Each thread counts for
 * itself; a hardlink group met by both is counted once afterwards.
 */
struct share {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int nthreads, idle, stop, failed;
	int fd;			/* a folder handed over, -1 if none */
	char *rel;		/* its path from the install folder */
};

struct cwalk {
	struct backup *b;
	struct share *sh;
	struct count c;
	int handed;		/* walking a folder handed over */
	int main;		/* the main thread: checks for signals */
};

static int count_cb(void *arg, struct walk_ent *e)
{
	struct cwalk *w = arg;
	struct backup *b = w->b;
	struct count *c = &w->c;
	const struct stat *st = &e->st;
	const char *rel = e->rel;

	if (w->main)
		check_signal();
	else if (__atomic_load_n(&w->sh->stop, __ATOMIC_ACQUIRE))
		return -1;
	if (w->handed && e->parent < 0)
		return 0;	/* the handed-over folder: counted by the giver */
	if (e->parent >= 0 && excluded(b, rel, e->name))
		return WALK_SKIP;
	if (S_ISSOCK(st->st_mode)) {
		c->nsockets++;
		return 0;
	}
	size_t plen = strlen(rel);
	if (S_ISREG(st->st_mode)) {
		c->nfiles++;
		uint64_t est = space_estimate(st, plen);
		if (st->st_nlink > 1) {	/* a hardlink group's data counts once */
			struct hl *h = hl_find(&c->hl, st->st_dev, st->st_ino);
			if (h && h->path) {
				c->est += space_estimate(&(struct stat){ .st_mode = S_IFDIR }, plen);
				return 0;
			}
			h = hl_add(&c->hl, st->st_dev, st->st_ino, "", (XXH128_hash_t){ 0, 0 });
			h->size = (uint64_t)st->st_size;
			h->data_est = est - space_estimate(&(struct stat){ .st_mode = S_IFDIR }, plen);
		}
		c->est += est;
		c->total += (uint64_t)st->st_size;
		return 0;
	}
	c->est += space_estimate(st, plen);
	if (S_ISDIR(st->st_mode)) {
		c->ndirs++;
		struct share *sh = w->sh;
		if (e->parent >= 0 && __atomic_load_n(&sh->idle, __ATOMIC_ACQUIRE) &&
		    __atomic_load_n(&sh->fd, __ATOMIC_ACQUIRE) < 0) {
			int fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
			if (fd >= 0) {
				pthread_mutex_lock(&sh->mu);
				if (sh->idle && sh->fd < 0 && !sh->stop) {
					__atomic_store_n(&sh->fd, fd, __ATOMIC_RELEASE);
					sh->rel = xstrdup(rel);
					fd = -1;
					pthread_cond_broadcast(&sh->cv);
				}
				pthread_mutex_unlock(&sh->mu);
				if (fd < 0)
					return WALK_SKIP;	/* the other thread walks it */
				close(fd);
			}
		}
	} else if (S_ISLNK(st->st_mode)) {
		c->nlinks++;
	} else {
		c->nspecial++;
	}
	return 0;
}

/* takes folders handed over until no thread has any left to give */
static void count_handed(struct cwalk *w)
{
	struct share *sh = w->sh;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		__atomic_store_n(&sh->idle, sh->idle + 1, __ATOMIC_RELEASE);
		while (sh->fd < 0 && !sh->stop && sh->idle < sh->nthreads) {
			if (w->main) {
				/* a signal is handled within 0.1 s */
				struct timespec ts;
				deadline_ms(&ts, CLOCK_REALTIME, 100);
				pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
				pthread_mutex_unlock(&sh->mu);
				check_signal();
				pthread_mutex_lock(&sh->mu);
			} else {
				pthread_cond_wait(&sh->cv, &sh->mu);
			}
		}
		if (sh->fd < 0) {	/* all idle, or a walk failed */
			sh->stop = 1;
			pthread_cond_broadcast(&sh->cv);
			break;
		}
		int fd = sh->fd;
		char *rel = sh->rel;
		sh->rel = NULL;
		__atomic_store_n(&sh->fd, -1, __ATOMIC_RELEASE);
		__atomic_store_n(&sh->idle, sh->idle - 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&sh->mu);
		w->handed = 1;
		int rc = walk_tree_at(fd, rel, 0, count_cb, w);
		close(fd);
		free(rel);
		pthread_mutex_lock(&sh->mu);
		if (rc < 0) {
			sh->failed |= !sh->stop;	/* the walk said what failed */
			sh->stop = 1;
			pthread_cond_broadcast(&sh->cv);
			break;
		}
	}
	pthread_mutex_unlock(&sh->mu);
}

static void *count_thread(void *arg)
{
	count_handed(arg);
	return NULL;
}

/* the first walk, into b->cnt; -1 when it failed (and said why) */
static int count_tree(struct backup *b)
{
	struct share sh = { .nthreads = 2, .fd = -1 };
	struct cwalk w[2];
	pthread_t t;

	memset(w, 0, sizeof(w));
	for (int i = 0; i < 2; i++) {
		w[i].b = b;
		w[i].sh = &sh;
	}
	w[0].main = 1;
	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.cv, NULL);
	int threads = sysconf(_SC_NPROCESSORS_ONLN) > 1 && thread_start(&t, count_thread, &w[1]) == 0;
	if (!threads)
		sh.nthreads = 1;

	int rc = walk_tree(b->srcfd, 0, count_cb, &w[0]);
	if (rc < 0) {
		pthread_mutex_lock(&sh.mu);
		sh.failed = 1;
		sh.stop = 1;
		pthread_cond_broadcast(&sh.cv);
		pthread_mutex_unlock(&sh.mu);
	}
	count_handed(&w[0]);
	if (threads)
		pthread_join(t, NULL);
	if (sh.fd >= 0)
		close(sh.fd);
	free(sh.rel);
	pthread_mutex_destroy(&sh.mu);
	pthread_cond_destroy(&sh.cv);

	/* the sums; a hardlink group both threads met counted its data twice */
	struct count *c = &b->cnt, *o = &w[1].c;
	*c = w[0].c;
	c->est += o->est;
	c->total += o->total;
	c->nfiles += o->nfiles;
	c->ndirs += o->ndirs;
	c->nlinks += o->nlinks;
	c->nspecial += o->nspecial;
	c->nsockets += o->nsockets;
	for (size_t i = 0; i < o->hl.cap; i++) {
		struct hl *h = &o->hl.v[i];
		struct hl *m = h->path ? hl_find(&c->hl, h->dev, h->ino) : NULL;
		if (m && m->path) {
			c->est -= h->data_est;
			c->total -= h->size;
		}
	}
	hl_clear(&o->hl);
	hl_clear(&c->hl);
	return sh.failed ? -1 : 0;
}

static void hl_clear(struct hltab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->v[i].path);
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

/* ---- second walk: archive and manifest -------------------------------- */

_Noreturn static void sink_fail(struct backup *b)
{
	errno = b->sink.err ? b->sink.err : archive_errno(b->a) > 0 ? archive_errno(b->a) : EIO;
	if (errno == ENOSPC || errno == EDQUOT)
		die_hint(ZDT_EFAIL, "free space in the backup folder or pick another with -b; the partial snapshot was removed",
			 "cannot write the archive: '%s/%s': %s", escp(zdt_bkdir(b->z)),
			 component_name(b->comp), strerror(errno));
	die_errno(ZDT_EFAIL, "cannot write the archive: '%s/%s'", escp(zdt_bkdir(b->z)), component_name(b->comp));
}

static struct hl *hl_find(struct hltab *t, dev_t dev, ino_t ino)
{
	if (!t->cap)
		return NULL;
	size_t i = (size_t)((ino * 0x9e3779b97f4a7c15ull) ^ dev) & (t->cap - 1);
	for (; t->v[i].path; i = (i + 1) & (t->cap - 1))
		if (t->v[i].dev == dev && t->v[i].ino == ino)
			return &t->v[i];
	return &t->v[i];	/* the empty slot */
}

static struct hl *hl_add(struct hltab *t, dev_t dev, ino_t ino, const char *path, XXH128_hash_t h)
{
	if ((t->n + 1) * 2 > t->cap) {
		struct hl *old = t->v;
		size_t oldcap = t->cap;
		t->cap = oldcap ? oldcap * 2 : 64;
		t->v = xcalloc(t->cap, sizeof(*t->v));
		for (size_t i = 0; i < oldcap; i++) {
			if (old[i].path)
				*hl_find(t, old[i].dev, old[i].ino) = old[i];
		}
		free(old);
	}
	struct hl *s = hl_find(t, dev, ino);
	s->dev = dev;
	s->ino = ino;
	s->path = xstrdup(path);
	s->hash = h;
	t->n++;
	return s;
}

static void put_header(struct backup *b)
{
	/* ARCHIVE_WARN: a name that is not UTF-8 went in as raw bytes
	 * (hdrcharset=BINARY for that entry), which is what we want */
	int r = archive_write_header(b->a, b->ae);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		if (b->sink.err)
			sink_fail(b);
		die(ZDT_EFAIL, "cannot write the archive header of '%s': %s",
		    escp(archive_entry_pathname(b->ae)), archive_error_string(b->a));
	}
}

static void put_data(struct backup *b, const void *p, size_t n)
{
	if (archive_write_data(b->a, p, n) != (la_ssize_t)n)
		sink_fail(b);
}

static void fill_common(struct backup *b, const char *rel, const struct stat *st)
{
	archive_entry_clear(b->ae);
	archive_entry_copy_pathname(b->ae, rel);
	archive_entry_set_mode(b->ae, st->st_mode);
	archive_entry_set_uid(b->ae, st->st_uid);
	archive_entry_set_gid(b->ae, st->st_gid);
	archive_entry_set_mtime(b->ae, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);

	struct mentry *m = &b->me;
	sbuf_reset(&m->path);
	sbuf_adds(&m->path, rel);
	sbuf_reset(&m->target);
	m->mode = st->st_mode & 07777;
	m->uid = st->st_uid;
	m->gid = st->st_gid;
	m->size = 0;
	m->mtime_sec = st->st_mtim.tv_sec;
	m->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	m->has_hash = 0;
	m->offset = -1;
	m->has_xattr = 0;
	m->rdev_major = m->rdev_minor = 0;
}

static void read_xattrs(struct backup *b, int fd, const char *rel)
{
	if (fd < 0)
		return;
	if (xattr_read_fd(fd, b->ae) < 0)
		warning_errno("cannot read extended attributes: '%s'", escp(rel));
	b->me.xattr = xattr_digest(b->ae, &b->me.has_xattr);
}

static void add_manifest(struct backup *b)
{
	if (mwriter_add(&b->mw, &b->me) < 0)
		die_errno(ZDT_EFAIL, "cannot write the manifest: '%s/%s'",
			  escp(zdt_bkdir(b->z)), component_name(b->comp));
}

struct region {
	off_t off, len;
};

/* data regions of a sparse file; NULL when it has no hole after all */
static struct region *find_regions(int fd, off_t size, size_t *n)
{
	struct region *v = NULL;
	size_t cap = 0;
	off_t pos = 0;

	*n = 0;
	while (pos < size) {
		off_t d = lseek(fd, pos, SEEK_DATA);
		if (d < 0)
			break;	/* ENXIO: only a hole is left */
		off_t h = lseek(fd, d, SEEK_HOLE);
		if (h < 0 || h > size)
			h = size;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[*n].off = d;
		v[*n].len = h - d;
		(*n)++;
		pos = h;
	}
	if (*n == 1 && v[0].off == 0 && v[0].len == size) {
		free(v);
		*n = 0;
		return NULL;
	}
	if (!v)
		v = xmalloc(sizeof(*v));
	return v;
}

/* copies [off, off+len) of fd into the archive and the hash; returns bytes
 * that could not be read (the file shrank) and were stored as zeros */
static uint64_t copy_range(struct backup *b, int fd, const char *rel, off_t off, uint64_t len,
			   XXH3_state_t *xs)
{
	uint64_t missing = 0;

	while (len) {
		size_t want = len < RBUF ? (size_t)len : RBUF;
		ssize_t n = pread(fd, b->buf, want, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_errno(ZDT_EFAIL, "cannot read: '%s/%s'", escp(b->src), escp(rel));
		}
		if (n == 0) {	/* shorter than when it was stat'ed */
			memset(b->buf, 0, want);
			n = (ssize_t)want;
			missing += want;
		}
		XXH3_128bits_update(xs, b->buf, (size_t)n);
		put_data(b, b->buf, (size_t)n);
		off += n;
		len -= (uint64_t)n;
		progress_add(&b->prog, (uint64_t)n);
		check_signal();
	}
	return missing;
}

static void put_zeros(struct backup *b, uint64_t len, XXH3_state_t *xs)
{
	while (len) {
		size_t k = len < RBUF ? (size_t)len : RBUF;
		XXH3_128bits_update(xs, b->zeros, k);
		put_data(b, b->zeros, k);
		len -= k;
		progress_add(&b->prog, k);
	}
}

/* ---- second walk: a reader thread a step ahead ------------------------- */

/*
 * A second thread walks the tree in the same order, ahead of the archiving
 * walk, and reads its plain files (regular, one link, no holes): their
 * stat, attributes and bytes go through a ring to the main thread, which
 * archives them without a system call of its own.  Each record names its
 * path.  The main thread takes a record only for the very path it is at
 * and reads anything else itself (files the reader leaves out, or a tree
 * that changed between the two walks), so the snapshot is what the main
 * walk met either way, with the same checks.
 *
 * When the reader falls behind (many small files: it makes most of the
 * system calls), the main thread reads the file it is at itself instead of
 * waiting, and when the reader has that very file in hand, the main thread
 * waits for it and takes the next PF_GAP entries.  Both walks number their
 * entries alike; each file is claimed first (claimed: the highest number
 * either thread took), and the reader leaves out what the main thread
 * claimed.  The numbers only share out the work: a tree that changes
 * between the walks costs a read twice at most, since the paths decide
 * what is used.
 */
#define PF_RING (4u << 20)
#define PF_GAP 32	/* entries main takes when it caught up with the reader */

struct pf_head {
	uint32_t rel_len, xattr_len;	/* bytes of the path and of the blob */
	struct stat st;			/* fstat before reading */
};

struct pf_tail {
	uint64_t missing;	/* bytes past a shrunk end, sent as zeros */
	int changed;		/* fstat after reading differed */
	int err;		/* errno of a failed read (zeros sent), or 0 */
};

struct prefetch {
	struct backup *b;
	struct ring *ring;
	int rootfd;
	pthread_t t;
	struct sbuf xa;		/* the reader's */
	/* the main thread's: the next record's head, path and blob */
	struct pf_head h;
	struct sbuf rel, blob;
	int have, ended;
	uint64_t rseq, mseq;	/* entries the reader's, the main walk's met */
	uint64_t claimed;	/* shared: the highest entry number taken */
	uint64_t skip_to;	/* the reader's: entries below are main's */
};

/* 1: entry k is the caller's to read (neither thread took it yet) */
static int claim(struct prefetch *p, uint64_t k)
{
	uint64_t c = __atomic_load_n(&p->claimed, __ATOMIC_SEQ_CST);

	while (c < k)
		if (__atomic_compare_exchange_n(&p->claimed, &c, k, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return 1;
	return 0;
}

static int changed_after(int fd, const struct stat *st, uint64_t missing)
{
	struct stat st2;

	return fstat(fd, &st2) == 0 &&
	       (missing || st2.st_size != st->st_size || st2.st_mtim.tv_sec != st->st_mtim.tv_sec ||
		st2.st_mtim.tv_nsec != st->st_mtim.tv_nsec || st2.st_ctim.tv_sec != st->st_ctim.tv_sec ||
		st2.st_ctim.tv_nsec != st->st_ctim.tv_nsec);
}

static int pf_cb(void *arg, struct walk_ent *e)
{
	struct prefetch *p = arg;
	struct pf_head h;
	struct pf_tail t;
	uint64_t k = ++p->rseq;

	if (e->parent >= 0 && excluded(p->b, e->rel, e->name))
		return WALK_SKIP;
	if (!S_ISREG(e->st.st_mode) || k < p->skip_to)
		return 0;
	if (!claim(p, k)) {
		/* the main thread took it, and maybe a stretch after it:
		 * have records ready where it comes out */
		p->skip_to = __atomic_load_n(&p->claimed, __ATOMIC_SEQ_CST) + 1;
		return 0;
	}
	int fd = openat(e->parent, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(e->parent, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0;	/* the main walk says why */
	memset(&h, 0, sizeof(h));
	sbuf_reset(&p->xa);
	if (fstat(fd, &h.st) < 0 || !S_ISREG(h.st.st_mode) || h.st.st_nlink > 1 ||
	    (uint64_t)h.st.st_blocks * 512 < (uint64_t)h.st.st_size || xattr_read_blob(fd, &p->xa) < 0) {
		close(fd);
		return 0;
	}
	h.rel_len = (uint32_t)strlen(e->rel);
	h.xattr_len = (uint32_t)p->xa.len;
	if (ring_put(p->ring, &h, sizeof(h)) < 0 || ring_put(p->ring, e->rel, h.rel_len) < 0 ||
	    ring_put(p->ring, p->xa.buf, p->xa.len) < 0)
		goto stopped;
	memset(&t, 0, sizeof(t));
	uint64_t left = (uint64_t)h.st.st_size;
	off_t off = 0;
	while (left) {
		size_t n;
		char *d = ring_wspan(p->ring, &n);
		if (!d)
			goto stopped;
		if (n > left)
			n = (size_t)left;
		ssize_t r = t.err ? 0 : pread(fd, d, n, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			t.err = errno;
			r = 0;
		}
		if (r == 0) {	/* shorter than when it was stat'ed, or failed */
			memset(d, 0, n);
			r = (ssize_t)n;
			if (!t.err)
				t.missing += n;
		}
		ring_wrote(p->ring, (size_t)r);
		off += r;
		left -= (uint64_t)r;
	}
	t.changed = changed_after(fd, &h.st, t.missing);
	close(fd);
	if (ring_put(p->ring, &t, sizeof(t)) < 0)
		return -1;
	/* whole: the main thread may be waiting for it while this thread
	 * walks on (a system call can take long) */
	ring_flush(p->ring);
	return 0;
stopped:
	close(fd);
	return -1;
}

static void *pf_thread(void *arg)
{
	struct prefetch *p = arg;

	walk_tree(p->rootfd, WALK_LAZY_REG | WALK_QUIET, pf_cb, p);
	ring_end(p->ring);
	return NULL;
}

static void pf_idle(void) { check_signal(); }

static void pf_start(struct backup *b)
{
	struct prefetch *p = xcalloc(1, sizeof(*p));

	p->b = b;
	/* its own open folder: the walks must not share a directory offset */
	const char *root = ".";
#ifdef ZDT_TESTING
	/* ZDT_TEST_READER=0: no reader thread; =DIR: the reader walks DIR, a
	 * tree that differs from the one archived (the walks diverge) */
	const char *e = getenv("ZDT_TEST_READER");
	if (e && !strcmp(e, "0")) {
		free(p);
		return;
	}
	if (e && *e)
		root = e;
#endif
	p->rootfd = openat(b->srcfd, root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->rootfd < 0) {
		free(p);
		return;		/* the main thread reads everything */
	}
	p->ring = ring_new(PF_RING, pf_idle);
	if (thread_start(&p->t, pf_thread, p)) {
		ring_free(p->ring);
		close(p->rootfd);
		free(p);
		return;
	}
	b->pf = p;
}

static void pf_finish(struct backup *b)
{
	struct prefetch *p = b->pf;

	if (!p)
		return;
	ring_stop(p->ring);
	pthread_join(p->t, NULL);
	ring_free(p->ring);
	close(p->rootfd);
	sbuf_free(&p->xa);
	sbuf_free(&p->rel);
	sbuf_free(&p->blob);
	free(p);
	b->pf = NULL;
}

static int pf_bytes(struct prefetch *p, struct sbuf *sb, size_t n)
{
	sbuf_reset(sb);
	sbuf_grow(sb, n + 1);
	if (ring_get(p->ring, sb->buf, n) < 0)
		return -1;
	sb->len = n;
	sb->buf[n] = '\0';
	return 0;
}

/* drops the data and tail of the record in hand */
static void pf_skip(struct prefetch *p)
{
	uint64_t left = (uint64_t)p->h.st.st_size + sizeof(struct pf_tail);

	while (left) {
		size_t n;
		if (!ring_rspan(p->ring, &n)) {
			p->ended = 1;
			break;
		}
		if (n > left)
			n = (size_t)left;
		ring_read(p->ring, n);
		left -= n;
	}
	p->have = 0;
}

/* 1: the reader's record for rel is in hand (p->h, p->blob), its data next
 * in the ring; 0: there is none, read the file here */
static int pf_take(struct prefetch *p, const char *rel)
{
	if (!p)
		return 0;
	for (;;) {
		if (!p->have) {
			if (p->ended)
				return 0;
			/* nothing in the ring: read the file here, unless the
			 * reader has it in hand; then wait for just that, and
			 * take the next stretch here (waiting file by file, in
			 * step with the reader, would cost a wake-up each) */
			if (!ring_ready(p->ring)) {
				if (claim(p, p->mseq))
					return 0;
				claim(p, p->mseq + PF_GAP);
			}
			if (ring_get(p->ring, &p->h, sizeof(p->h)) < 0 || pf_bytes(p, &p->rel, p->h.rel_len) < 0 ||
			    pf_bytes(p, &p->blob, p->h.xattr_len) < 0) {
				p->ended = 1;
				return 0;
			}
			p->have = 1;
		}
		int c = path_cmp(p->rel.buf, rel);
		if (c > 0)
			return 0;	/* ahead of the main walk: later */
		if (c == 0) {
			p->have = 0;
			return 1;
		}
		pf_skip(p);	/* a path the main walk did not meet */
		if (p->ended)
			return 0;
	}
}

/* archives the file whose record pf_take() gave */
static void do_prefetched(struct backup *b, struct walk_ent *e)
{
	struct prefetch *p = b->pf;
	const struct stat *st = &p->h.st;
	struct pf_tail t;

	e->st = *st;
	fill_common(b, e->rel, st);
	b->me.size = (uint64_t)st->st_size;
	b->files++;
	archive_entry_set_size(b->ae, st->st_size);
	if (xattr_from_blob(b->ae, p->blob.buf, p->blob.len) < 0)
		die(ZDT_EFAIL, "internal error: a bad attribute record for '%s'", escp(e->rel));
	b->me.xattr = xattr_digest(b->ae, &b->me.has_xattr);
	put_header(b);
	b->me.offset = (int64_t)b->sink.raw;

	XXH3_state_t *xs = b->xs;	/* one for the run, not one per file */
	XXH3_128bits_reset(xs);
	uint64_t left = (uint64_t)st->st_size;
	while (left) {
		size_t n;
		const void *d = ring_rspan(p->ring, &n);
		if (!d)
			die(ZDT_EFAIL, "internal error: the reader thread stopped within '%s'", escp(e->rel));
		if (n > left)
			n = (size_t)left;
		if (n > RBUF)
			n = RBUF;
		XXH3_128bits_update(xs, d, n);
		put_data(b, d, n);
		ring_read(p->ring, n);
		left -= n;
		progress_add(&b->prog, n);
		check_signal();
	}
	if (ring_get(p->ring, &t, sizeof(t)) < 0)
		die(ZDT_EFAIL, "internal error: the reader thread stopped within '%s'", escp(e->rel));
	if (t.err) {
		errno = t.err;
		die_errno(ZDT_EFAIL, "cannot read: '%s/%s'", escp(b->src), escp(e->rel));
	}
	b->me.type = M_FILE;
	b->me.has_hash = 1;
	b->me.hash = XXH3_128bits_digest(xs);
	b->bytes += (uint64_t)st->st_size;
	if (t.changed) {
		b->changed++;
		warning("file changed while it was read; stored as read: '%s'", escp(e->rel));
	}
	add_manifest(b);
}

static int do_file(struct backup *b, struct walk_ent *e)
{
	if (pf_take(b->pf, e->rel)) {
		do_prefetched(b, e);
		return 0;
	}
	int fd = openat(e->parent, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_NOATIME);
	struct stat st;

	if (fd < 0 && errno == EPERM)
		fd = openat(e->parent, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			warning("file vanished before it was read: '%s'", escp(e->rel));
			return 0;
		}
		if (errno == ELOOP)
			return 1;	/* replaced by a symlink meanwhile: stat again */
		die_errno(ZDT_EFAIL, "cannot open: '%s/%s'", escp(b->src), escp(e->rel));
	}
	if (fstat(fd, &st) < 0)
		die_errno(ZDT_EFAIL, "cannot stat: '%s/%s'", escp(b->src), escp(e->rel));
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 1;
	}
	e->st = st;
	fill_common(b, e->rel, &st);
	b->me.size = (uint64_t)st.st_size;
	b->files++;

	if (st.st_nlink > 1) {
		struct hl *h = hl_find(&b->hl, st.st_dev, st.st_ino);
		if (h && h->path) {
			archive_entry_set_filetype(b->ae, AE_IFREG);
			archive_entry_copy_hardlink(b->ae, h->path);
			archive_entry_set_size(b->ae, 0);
			read_xattrs(b, fd, e->rel);
			close(fd);
			put_header(b);
			b->me.type = M_HARDLINK;
			b->me.has_hash = 1;
			b->me.hash = h->hash;
			sbuf_adds(&b->me.target, h->path);
			add_manifest(b);
			progress_add(&b->prog, (uint64_t)st.st_size);
			return 0;
		}
	}

	archive_entry_set_size(b->ae, st.st_size);
	read_xattrs(b, fd, e->rel);
	struct region *rg = NULL;
	size_t nrg = 0;
	if ((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size) {
		rg = find_regions(fd, st.st_size, &nrg);
		if (rg) {
			for (size_t i = 0; i < nrg; i++)
				archive_entry_sparse_add_entry(b->ae, rg[i].off, rg[i].len);
			/* a trailing hole: an empty region at the end keeps the size */
			if (!nrg || rg[nrg - 1].off + rg[nrg - 1].len < st.st_size)
				archive_entry_sparse_add_entry(b->ae, st.st_size, 0);
		}
	}
	if (st.st_size > (16 << 20))
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	put_header(b);
	b->me.offset = (int64_t)b->sink.raw;

	XXH3_state_t *xs = b->xs;	/* one for the run, not one per file */
	XXH3_128bits_reset(xs);
	uint64_t missing = 0;
	if (rg) {
		off_t pos = 0;
		for (size_t i = 0; i < nrg; i++) {
			put_zeros(b, (uint64_t)(rg[i].off - pos), xs);
			missing += copy_range(b, fd, e->rel, rg[i].off, (uint64_t)rg[i].len, xs);
			pos = rg[i].off + rg[i].len;
		}
		put_zeros(b, (uint64_t)(st.st_size - pos), xs);
		free(rg);
	} else {
		missing = copy_range(b, fd, e->rel, 0, (uint64_t)st.st_size, xs);
	}
	b->me.type = M_FILE;
	b->me.has_hash = 1;
	b->me.hash = XXH3_128bits_digest(xs);
	b->bytes += (uint64_t)st.st_size;

	if (changed_after(fd, &st, missing)) {
		b->changed++;
		warning("file changed while it was read; stored as read: '%s'", escp(e->rel));
	}
	close(fd);
	if (st.st_nlink > 1)
		hl_add(&b->hl, st.st_dev, st.st_ino, e->rel, b->me.hash);
	add_manifest(b);
	return 0;
}

static int write_cb(void *arg, struct walk_ent *e)
{
	struct backup *b = arg;
	char target[PATH_MAX + 1];

	check_signal();
	if (b->pf)
		b->pf->mseq++;	/* numbered as pf_cb numbers them */
	if (e->parent >= 0 && excluded(b, e->rel, e->name))
		return WALK_SKIP;
	if (S_ISREG(e->st.st_mode)) {
		if (do_file(b, e) == 0)
			return 0;
		/* the entry changed type since the walk read its folder */
		if (fstatat(e->parent, e->name, &e->st, AT_SYMLINK_NOFOLLOW) < 0) {
			warning("file vanished before it was read: '%s'", escp(e->rel));
			return 0;
		}
		if (S_ISREG(e->st.st_mode) || S_ISDIR(e->st.st_mode)) {
			warning("file changed type while it was read; skipped: '%s'", escp(e->rel));
			return 0;
		}
	}
	const struct stat *st = &e->st;
	if (S_ISSOCK(st->st_mode)) {
		warning("socket skipped: '%s'", escp(e->rel));
		return 0;
	}
	fill_common(b, e->rel, st);
	if (S_ISDIR(st->st_mode)) {
		b->me.type = M_DIR;
		read_xattrs(b, e->fd, e->rel);
	} else if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(e->parent, e->name, target, sizeof(target) - 1);
		if (n < 0)
			die_errno(ZDT_EFAIL, "cannot read symbolic link: '%s/%s'", escp(b->src), escp(e->rel));
		target[n] = '\0';
		archive_entry_copy_symlink(b->ae, target);
		b->me.type = M_SYMLINK;
		b->me.size = (uint64_t)n;
		sbuf_adds(&b->me.target, target);
		if (!n)
			die(ZDT_EFAIL, "symbolic link with an empty target: '%s/%s'", escp(b->src), escp(e->rel));
	} else if (S_ISFIFO(st->st_mode)) {
		b->me.type = M_FIFO;
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		b->me.type = S_ISCHR(st->st_mode) ? M_CHR : M_BLK;
		archive_entry_set_rdev(b->ae, st->st_rdev);
		b->me.rdev_major = major(st->st_rdev);
		b->me.rdev_minor = minor(st->st_rdev);
	} else {
		warning("unknown file type skipped: '%s'", escp(e->rel));
		return 0;
	}
	put_header(b);
	add_manifest(b);	/* no data: offset stays '-' */
	return 0;
}

/* ---- the command ------------------------------------------------------ */

static void backup_release(struct backup *b)
{
	mwriter_release(&b->mw);
	asink_release(&b->sink);
	if (b->ae)
		archive_entry_free(b->ae);
	mentry_release(&b->me);
	hl_clear(&b->hl);
	free(b->buf);
	free(b->zeros);
	if (b->xs)
		XXH3_freeState(b->xs);
	for (int i = 0; i < b->nexcl; i++)
		free(b->excl[i]);
	free(b->excl);
	if (b->srcfd >= 0)
		close(b->srcfd);
	free(b->src);
	memset(b, 0, sizeof(*b));
	b->srcfd = -1;
}

static int parse_compress(const char *s)
{
	uint64_t lvl;

	if (!strcmp(s, "none"))
		return 0;
	if (!strcmp(s, "gzip"))
		return 6;
	if (!strncmp(s, "gzip:", 5) && !parse_u64(s + 5, 1, 9, &lvl))
		return (int)lvl;
	return -1;
}

static int inside(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/' || !strcmp(b, "/"));
}

static void human_summary(struct backup *b, const char *id, uint64_t archive_bytes, double el)
{
	char s1[16], s2[16];
	FILE *o = b->z->out;

	if (zdt_verbosity < 1)
		return;
	fprintf(o, "%s %s: %" PRIu64 " files, %s, archive %s, %.1f s\n",
		component_name(b->comp), id, b->files, fmt_size(s1, sizeof(s1), b->bytes),
		fmt_size(s2, sizeof(s2), archive_bytes), el);
}

static void space_refusal(struct backup *b, const struct space *sp)
{
	char n1[16], n2[16], n3[16];

	die_hint(ZDT_EREFUSED,
		 "free space there, use --compress gzip, choose another folder with -b, or lower --reserve",
		 "not enough free space in the backup folder: '%s': need %s plus a reserve of %s, %s available",
		 escp(zdt_bkdir(b->z)), fmt_size(n1, sizeof(n1), sp->needed), fmt_size(n2, sizeof(n2), sp->reserve),
		 fmt_size(n3, sizeof(n3), sp->avail));
}

int cmd_backup(struct zdt *z, int argc, char **argv)
{
	enum { O_COMPRESS = OPT_CMD, O_EXCLUDE, O_RESERVE, O_KEY };
	static const struct option lo[] = {
		{ "component", required_argument, NULL, 'c' },
		{ "compress", required_argument, NULL, O_COMPRESS },
		{ "exclude", required_argument, NULL, O_EXCLUDE },
		{ "reserve", required_argument, NULL, O_RESERVE },
		{ "key-file", required_argument, NULL, O_KEY },
		{ "dry-run", no_argument, NULL, 'n' },
		ZDT_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct backup b;
	const char *compress = NULL, *keyfile = NULL;
	int c, have_reserve = 0;
	struct signkey key;
	double t0 = now_mono();

	memset(&b, 0, sizeof(b));
	b.z = z;
	b.comp = -1;
	b.srcfd = -1;
	b.reserve = SPACE_DEFAULT_RESERVE;
	while ((c = zdt_getopt(z, argc, argv, "c:n", lo)) != -1) {
		switch (c) {
		case 'c':
			if (b.comp >= 0)
				zdt_usage_error(z, "backup takes one component (-c given twice)");
			b.comp = component_arg("-c", optarg);
			break;
		case O_COMPRESS:
			compress = optarg;
			break;
		case O_EXCLUDE: {
			const char *g = optarg;
			while (g[0] == '.' && g[1] == '/')
				g += 2;
			if (!*g)
				zdt_usage_error(z, "invalid --exclude '%s'", optarg);
			b.excl = xrealloc(b.excl, sizeof(char *) * (size_t)(b.nexcl + 1));
			b.excl[b.nexcl] = xstrdup(g);
			size_t n = strlen(b.excl[b.nexcl]);
			while (n > 1 && b.excl[b.nexcl][n - 1] == '/')
				b.excl[b.nexcl][--n] = '\0';
			b.nexcl++;
			break;
		}
		case O_KEY:
			keyfile = optarg;
			break;
		case O_RESERVE:
			b.reserve = parse_opt_size("--reserve", optarg);
			have_reserve = 1;
			break;
		case 'n':
			b.dry = 1;
			break;
		}
	}
	if (b.comp < 0)
		zdt_usage_error(z, "no component given (-c AR, AtriumCore or AtriumIntegrator)");
	if (argc - optind > 1)
		zdt_usage_error(z, "too many arguments: '%s'", argv[optind + 1]);
	zdt_setup(z);
	z->comps = 1u << b.comp;
	if (!compress)
		compress = z->cf.compress ? z->cf.compress : "none";
	b.level = parse_compress(compress);
	if (b.level < 0)
		zdt_usage_error(z, "invalid --compress '%s' (none, gzip or gzip:1..9)", compress);
	if (!have_reserve && z->cf.reserve)
		b.reserve = z->cf.reserve;
	for (int i = 0; i < z->cf.comp[b.comp].nexclude; i++) {
		b.excl = xrealloc(b.excl, sizeof(char *) * (size_t)(b.nexcl + 1));
		b.excl[b.nexcl++] = xstrdup(z->cf.comp[b.comp].exclude[i]);
	}

	const char *dir = optind < argc ? argv[optind] : z->cf.comp[b.comp].path;
	if (!dir)
		die_hint(ZDT_EUSAGE, "give INSTALL_DIR, or set path in the config file's section for the component",
			 "no install folder given for %s", component_name(b.comp));
	char real[PATH_MAX];
	if (!realpath(dir, real))
		die_errno(ZDT_EUSAGE, "cannot use the install folder: '%s'", escp(dir));
	b.src = xstrdup(real);
	b.srcfd = open(b.src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b.srcfd < 0)
		die_errno(ZDT_EUSAGE, "cannot open the install folder: '%s'", escp(b.src));
	if (!z->backup_dir)
		die_hint(ZDT_EUSAGE, "give -b DIR, set $ZDT_BACKUP_DIR, or set backup-dir in the config file",
			 "no backup folder given");

	/* refusals that need nothing written */
	{
		struct sbuf at = SBUF_INIT, to = SBUF_INIT;
		int fd = open_dir_nofollow(z->backup_dir, 0, &at, &to);
		if (fd >= 0)
			close(fd);
		else if (errno == ELOOP)
			zdt_open_store(z);	/* refuses, naming the link */
		sbuf_free(&at);
		sbuf_free(&to);
		char *bk = real_path_prefix(z->backup_dir);
		if (inside(bk, b.src) || inside(b.src, bk))
			die_hint(ZDT_EREFUSED, "keep the backup folder outside the install folder and the other way round",
				 "backup folder and install folder overlap: '%s' and '%s'", escp(bk), escp(b.src));
		free(bk);
	}
	zdt_load_key(z, keyfile, b.src, &key);

	if (!b.dry) {
		zdt_open_store(z);
		/* the exclusive lock says no run holds them: leftovers of
		 * interrupted backups of any component go now */
		for (int c2 = 0; c2 < COMP_N; c2++) {
			unsigned removed;
			if (store_remove_partials(z->bkfd, c2, &removed) < 0)
				die_errno(ZDT_EFAIL, "cannot remove an interrupted backup in '%s/%s'",
					  escp(z->backup_dir), component_name(c2));
			if (removed)
				note("removed %u interrupted backup%s of %s", removed, removed > 1 ? "s" : "",
				     component_name(c2));
		}
	}

	/* first walk: what will be stored, and does it fit */
	if (count_tree(&b) < 0)	/* the walk said what failed */
		die_reported(ZDT_EFAIL, "no snapshot was made; fix the cause and run the backup again");
	struct space sp;
	int fits;
	if (b.dry) {
		/* the folder may not exist yet: measure its nearest ancestor */
		char *p = real_path_prefix(z->backup_dir);
		int fd;
		while ((fd = open(*p ? p : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && *p) {
			char *slash = strrchr(p, '/');
			if (!slash)
				break;
			*slash = '\0';
		}
		fits = fd < 0 ? -1 : space_check(fd, b.cnt.est, b.reserve, &sp);
		if (fd >= 0)
			close(fd);
		free(p);
	} else {
		fits = space_check(z->bkfd, b.cnt.est, b.reserve, &sp);
	}
	if (fits < 0)
		warning_errno("cannot check the free space of the backup folder: '%s'", escp(zdt_bkdir(z)));
	if (b.dry) {
		char s1[16], s2[16], s3[16], s4[16];
		if (zdt_verbosity >= 1) {
			fprintf(z->out, "would back up %s from '%s': %" PRIu64 " files, %" PRIu64 " folders, %" PRIu64
				" symlinks, %" PRIu64 " other, %s\n", component_name(b.comp), b.src, b.cnt.nfiles, b.cnt.ndirs,
				b.cnt.nlinks, b.cnt.nspecial, fmt_size(s1, sizeof(s1), b.cnt.total));
			if (fits >= 0)
				fprintf(z->out, "space: need %s plus a reserve of %s, %s available: %s\n",
					fmt_size(s2, sizeof(s2), sp.needed), fmt_size(s3, sizeof(s3), sp.reserve),
					fmt_size(s4, sizeof(s4), sp.avail), fits ? "fits" : "does NOT fit");
		}
		if (z->json) {
			struct json j;
			json_init(&j, z->jf);
			json_obj(&j, NULL);
			json_str(&j, "command", "backup");
			json_bool(&j, "ok", fits != 0);
			json_bool(&j, "dry_run", 1);
			json_str(&j, "component", component_name(b.comp));
			json_str(&j, "source", b.src);
			json_u64(&j, "files", b.cnt.nfiles);
			json_u64(&j, "dirs", b.cnt.ndirs);
			json_u64(&j, "symlinks", b.cnt.nlinks);
			json_u64(&j, "other", b.cnt.nspecial);
			json_u64(&j, "bytes", b.cnt.total);
			json_u64(&j, "estimate_bytes", b.cnt.est);
			if (fits >= 0) {
				json_u64(&j, "available_bytes", sp.avail);
				json_u64(&j, "reserve_bytes", sp.reserve);
				json_bool(&j, "fits", fits);
			}
			json_end(&j);
		}
		backup_release(&b);
		signkey_release(&key);
		return fits == 0 ? ZDT_EREFUSED : 0;
	}
	if (fits == 0)
		space_refusal(&b, &sp);


	/* second walk: write ID.partial */
	int compfd = store_comp_dir(z->bkfd, b.comp, 0), hc = -1;
	if (compfd < 0 && errno == ENOENT) {
		/* ours, empty: a failed run takes it away again */
		compfd = store_comp_dir(z->bkfd, b.comp, 1);
		if (compfd >= 0)
			hc = cleanup_register(z->bkfd, component_name(b.comp));
	}
	if (compfd < 0)
		die_errno(ZDT_EFAIL, "cannot create '%s/%s'", escp(z->backup_dir), component_name(b.comp));
	time_t created = zdt_now();
	char id[SNAP_ID_MAX], partial[SNAP_ID_MAX + 16];
	if (store_new_id(compfd, created, id) < 0)
		die_errno(ZDT_EFAIL, "cannot choose a snapshot ID in '%s/%s'", escp(z->backup_dir), component_name(b.comp));
	snprintf(z->audit_snap, sizeof(z->audit_snap), "%s", id);
	snprintf(partial, sizeof(partial), "%s%s", id, PARTIAL_SUFFIX);
	if (mkdirat(compfd, partial, 0700) < 0)
		die_errno(ZDT_EFAIL, "cannot create '%s/%s/%s'", escp(z->backup_dir), component_name(b.comp), partial);
	int h = cleanup_register(compfd, partial);
	int snapfd = openat(compfd, partial, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (snapfd < 0)
		die_errno(ZDT_EFAIL, "cannot open '%s/%s/%s'", escp(z->backup_dir), component_name(b.comp), partial);
	const char *aname = b.level ? SNAP_ARCHIVE_GZIP : SNAP_ARCHIVE_NONE;
	int afd = openat(snapfd, aname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int mfd = openat(snapfd, SNAP_MANIFEST, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (afd < 0 || mfd < 0)
		die_errno(ZDT_EFAIL, "cannot create the snapshot files in '%s/%s/%s'", escp(z->backup_dir),
			  component_name(b.comp), partial);

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	asink_open(&b.sink, afd, b.level, ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu);
	b.a = asink_archive(&b.sink);
	b.ae = archive_entry_new();
	b.buf = xmalloc(RBUF);
	b.zeros = xcalloc(1, RBUF);
	b.xs = XXH3_createState();
	if (!b.xs)
		die(ZDT_EFAIL, "out of memory");
	mentry_init(&b.me);
	char cbuf[16];
	snprintf(cbuf, sizeof(cbuf), b.level ? "gzip:%d" : "none", b.level);
	struct mheader mh = {
		.component = (char *)component_name(b.comp), .snapshot = id, .created = created,
		.source = b.src, .compress = cbuf, .exclude = b.excl, .nexclude = b.nexcl,
	};
	if (mwriter_open(&b.mw, mfd, &mh) < 0)
		die_errno(ZDT_EFAIL, "cannot write the manifest");
	progress_start(&b.prog, progress_enabled(z->progress), "backup", b.cnt.total);
	pf_start(&b);
	if (walk_tree(b.srcfd, WALK_LAZY_REG, write_cb, &b) < 0)
		die_reported(ZDT_EFAIL, "no snapshot was made; fix the cause and run the backup again");
	pf_finish(&b);
	progress_end(&b.prog);
	if (asink_close(&b.sink) < 0)
		sink_fail(&b);
	char sum[33];
	b.mw.has_archive = 1;
	b.mw.archive_hash = b.sink.digest;
	b.mw.archive_size = b.sink.out;
	if (mwriter_finish(&b.mw, sum) < 0 || fsync(mfd) < 0)
		die_errno(ZDT_EFAIL, "cannot write the manifest: '%s/%s/%s/%s'", escp(z->backup_dir),
			  component_name(b.comp), partial, SNAP_MANIFEST);
	if (key.key) {
		/* the manifest as it is on disk, signed before it is published */
		int rfd = openat(snapfd, SNAP_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (rfd < 0 || sign_write(snapfd, rfd, &key) < 0)
			die_errno(ZDT_EFAIL, "cannot write the signature: '%s/%s/%s/%s'", escp(z->backup_dir),
				  component_name(b.comp), partial, SNAP_SIG);
		close(rfd);
	}
	check_signal();

	struct snapinfo si;
	memset(&si, 0, sizeof(si));
	si.comp = b.comp;
	snprintf(si.id, sizeof(si.id), "%s", id);
	si.created = created;
	si.entries = b.mw.entries;
	si.files = b.mw.files;
	si.bytes = b.mw.bytes;
	si.archive_bytes = b.sink.out;
	si.source = b.src;
	si.compress = cbuf;
	si.archive = (char *)aname;
	si.manifest_checksum = sum;
	struct sbuf ex = SBUF_INIT;
	for (int i = 0; i < b.nexcl; i++) {
		if (i)
			sbuf_addc(&ex, ' ');
		esc_path(&ex, b.excl[i]);
	}
	si.excludes = ex.buf;
	/* the backup folder it is made in: rollback refuses it elsewhere */
	struct stat bst;
	char *bkreal = realpath(z->backup_dir, NULL);
	if (bkreal && fstat(z->bkfd, &bst) == 0) {
		si.has_pin = 1;
		si.bk_path = bkreal;
		si.bk_dev = (uint64_t)bst.st_dev;
		si.bk_ino = (uint64_t)bst.st_ino;
	}
	if (store_meta_write(snapfd, &si) < 0 || close(afd) < 0 || close(mfd) < 0 || fsync(snapfd) < 0)
		die_errno(ZDT_EFAIL, "cannot complete the snapshot in '%s/%s/%s'", escp(z->backup_dir),
			  component_name(b.comp), partial);
	check_signal();
	/* publish: one rename, then make the rename durable */
	if (renameat(compfd, partial, compfd, id) < 0)
		die_errno(ZDT_EFAIL, "cannot publish the snapshot '%s/%s/%s'", escp(z->backup_dir),
			  component_name(b.comp), id);
	if (fsync(compfd) < 0) {
		/* the rename may not last: take it back, the exit hook removes it */
		int e = errno;
		renameat(compfd, id, compfd, partial);
		errno = e;
		die_errno(ZDT_EFAIL, "cannot make the snapshot durable: '%s/%s/%s'", escp(z->backup_dir),
			  component_name(b.comp), id);
	}
	cleanup_forget(h);
	cleanup_forget(hc);
	double el = now_mono() - t0;

	human_summary(&b, id, b.sink.out, el);
	if (b.changed)
		warning("%" PRIu64 " file%s changed while being read; the snapshot holds them as read",
			b.changed, b.changed > 1 ? "s" : "");
	if (z->json) {
		struct json j;
		json_init(&j, z->jf);
		json_obj(&j, NULL);
		json_str(&j, "command", "backup");
		json_bool(&j, "ok", 1);
		json_str(&j, "component", component_name(b.comp));
		json_str(&j, "id", id);
		json_time(&j, "created", created);
		json_str(&j, "source", b.src);
		json_str(&j, "compress", cbuf);
		json_u64(&j, "entries", b.mw.entries);
		json_u64(&j, "files", b.mw.files);
		json_u64(&j, "bytes", b.mw.bytes);
		json_u64(&j, "archive_bytes", b.sink.out);
		json_u64(&j, "changed_while_read", b.changed);
		json_bool(&j, "signed", key.key != NULL);
		json_u64(&j, "warnings", err_warnings());
		json_dbl(&j, "elapsed_s", el);
		json_end(&j);
	}

	sbuf_free(&ex);
	free(bkreal);
	signkey_release(&key);
	close(snapfd);
	close(compfd);
	backup_release(&b);
	return 0;
}
