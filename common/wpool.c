/* wpool.c - file-creating worker threads; see wpool.h. */
#include "wpool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsops.h"
#include "util.h"
#include "xxh.h"

#define QJOBS 1024u	/* jobs a queue holds */
#define QDIRS 64u	/* folder descriptors a queue holds */
#define QCOPIES 16u	/* files a copy queue holds (two descriptors each: 64 in all with two) */
#define COPY_CHUNK (1u << 20)	/* the copy worker's reads and writes */
#define COPY_ARENA (256u << 10)	/* a copy queue's arena: names only */

enum { J_FILE, J_DIR, J_UNLINK, J_PART, J_COPY };

#define ALIGN 4096u	/* of piece data in the arena: direct I/O */

struct wjob {
	int kind;
	int fd;			/* J_FILE, J_UNLINK: its folder (the caller's); J_DIR: the folder (ours) */
	char *data;
	size_t size;
	uint64_t off, total;	/* J_PART: where its data goes, the file's size */
	char *rel;		/* in the arena, NUL-terminated */
	const char *name;	/* J_FILE, J_UNLINK: the name in fd, in the arena */
	size_t charge;		/* arena bytes, with what was skipped to wrap */
	struct wmeta m;
	int out, dir, src;	/* J_COPY: the new file, a copy of its folder's fd, the source */
	XXH128_hash_t hash;	/* J_COPY: of the total bytes at off of src */
};

struct wq {
	pthread_mutex_t mu;
	pthread_cond_t work;	/* the worker waits for jobs */
	pthread_cond_t room;	/* the caller waits for room, or for a drain */
	struct wjob *jobs;
	unsigned head, tail;	/* next slot to fill, first slot in use */
	unsigned pending;	/* submitted, not taken by the worker */
	unsigned inflight;	/* taken, not finished */
	unsigned ndirs;		/* J_DIR jobs not finished */
	char *arena;
	size_t asize, ahead, aused;
	int stop, reserved;
	int waiting;		/* the caller waits for room (read unlocked by the worker: a hint) */
	int failed, err;
	const char *what;
	char *rel;
	int bfd, bdirect;	/* the worker's: the file pieces go to (J_PART), */
	int bdir;		/* its folder */
	char *bname;		/* and its name there */
	pthread_t t;
	int started;
	unsigned cap;		/* jobs it holds at most */
	char *cbuf;		/* a copy queue's: a chunk of data */
	XXH3_state_t *xs;	/* and its hash */
	struct wpool *p;
};

/* q[0..nw) are the writer queues, q[nw..nq) as many copy queues */
struct wpool {
	int nq, nw, next, nextc;
	atomic_int failed;
	struct wq *q;
};

static int set_times(int fd, const struct wmeta *m)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, m->mtime };

	return futimens(fd, ts);
}

/* owner (WM_CHOWN), special mode bits (WM_CHMOD) and mtime of fd */
static int set_meta(int fd, const struct wmeta *m)
{
	if ((m->flags & WM_CHOWN) && fchown(fd, m->uid, m->gid) < 0)
		return -1;
	if ((m->flags & WM_CHMOD) && fchmod(fd, m->mode) < 0)
		return -1;
	return set_times(fd, m);
}

/* 0, or -1 with errno set and *what saying what failed */
static int run_file(struct wjob *j, const char **what)
{
	const struct wmeta *m = &j->m;

	*what = "create";
	int fd = openat(j->fd, j->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m->mode & 0777);
	if (fd < 0)
		return -1;
	*what = "write";
	if (pwrite_all(fd, j->data, j->size, 0) < 0)
		goto fail;
	if (m->flags & WM_SFR)	/* the final syncfs waits for it */
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	*what = "set the metadata of";
	if (set_meta(fd, m) < 0)
		goto fail;
	*what = "write";
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail: {
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(j->fd, j->name, 0);	/* no half-written file stays */
	errno = e;
	return -1;
	}
}

/* n bytes of buf into fd at off: whole blocks with O_DIRECT while *direct
 * (given up for good when refused or short), the rest through the page
 * cache, its write-back started when sfr */
static int write_at(int fd, int *direct, const char *buf, size_t n, uint64_t off, int sfr)
{
	size_t whole = *direct ? n / ALIGN * ALIGN : 0;

	if (whole) {
		ssize_t w = pwrite(fd, buf, whole, (off_t)off);
		if (w < 0 && errno == EINVAL) {	/* direct I/O refused after all */
			if (fd_direct(fd, 0) < 0)
				return -1;
			*direct = 0;
			whole = 0;
		} else if (w < 0 || (size_t)w != whole) {	/* short: the rest through the page cache */
			if (w < 0 || fd_direct(fd, 0) < 0)
				return -1;
			*direct = 0;
			whole = (size_t)w;
		}
	}
	if (whole < n) {
		if (*direct && fd_direct(fd, 0) < 0)
			return -1;
		*direct = 0;
		if (pwrite_all(fd, buf + whole, n - whole, off + whole) < 0)
			return -1;
		if (sfr)	/* the final syncfs waits for it */
			sync_file_range(fd, (off_t)(off + whole), (off_t)(n - whole), SYNC_FILE_RANGE_WRITE);
	}
	return 0;
}

/* a piece of a big file: the first creates it, the last sets its metadata
 * and closes it; whole blocks are written with O_DIRECT when the file
 * system takes it (nothing of it fills the page cache), the rest through
 * the page cache */
static int run_part(struct wq *q, struct wjob *j, const char **what)
{
	const struct wmeta *m = &j->m;

	if (!j->off) {
		*what = "create";
		q->bfd = openat(j->fd, j->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m->mode & 0777);
		if (q->bfd < 0)
			return -1;
		q->bdir = j->fd;
		q->bname = strdup(j->name);
		q->bdirect = fd_direct(q->bfd, 1) == 0;
	}
	*what = "write";
	if (write_at(q->bfd, &q->bdirect, j->data, j->size, j->off, m->flags & WM_SFR) < 0)
		return -1;
	if (j->off + j->size < j->total)
		return 0;
	*what = "set the metadata of";
	if (set_meta(q->bfd, m) < 0)
		return -1;
	*what = "write";
	int rc = close(q->bfd);
	q->bfd = -1;
	free(q->bname);
	q->bname = NULL;
	return rc;
}

/* the file a piece failed or was dropped in, or whose last piece never
 * came: closed and removed, so that no half-written file stays */
static void part_abandon(struct wq *q)
{
	if (q->bfd < 0)
		return;
	close(q->bfd);
	q->bfd = -1;
	if (q->bname)
		unlinkat(q->bdir, q->bname, 0);
	free(q->bname);
	q->bname = NULL;
}

/*
 * A J_COPY: the data read from the source in chunks, hashed, written
 * (whole blocks with O_DIRECT); once all of it matched, the metadata, and
 * the file closed.  0; -1 with errno and *what (EBADMSG, "check": the
 * source ended early or its hash differs); -2 when the pool stopped or
 * failed meanwhile.  Else the caller removes the file.
 */
static int run_copy(struct wq *q, struct wjob *j, const char **what)
{
	int direct = fd_direct(j->out, 1) == 0;

	XXH3_128bits_reset(q->xs);
	for (uint64_t pos = 0; pos < j->total;) {
		if (atomic_load(&q->p->failed) || __atomic_load_n(&q->stop, __ATOMIC_RELAXED))
			return -2;
		size_t n = j->total - pos < COPY_CHUNK ? (size_t)(j->total - pos) : COPY_CHUNK;
		*what = "read";
		for (size_t got = 0; got < n;) {
			ssize_t k = pread(j->src, q->cbuf + got, n - got, (off_t)(j->off + pos + got));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return -1;
			if (!k) {
				*what = "check";
				errno = EBADMSG;
				return -1;
			}
			got += (size_t)k;
		}
		XXH3_128bits_update(q->xs, q->cbuf, n);
		*what = "write";
		if (write_at(j->out, &direct, q->cbuf, n, pos, 0) < 0)
			return -1;
		pos += n;
	}
	if (!XXH128_isEqual(XXH3_128bits_digest(q->xs), j->hash)) {
		*what = "check";
		errno = EBADMSG;
		return -1;
	}
	*what = "set the metadata of";
	if (set_meta(j->out, &j->m) < 0)
		return -1;
	*what = "write";
	int rc = close(j->out);
	j->out = -1;
	return rc;
}

/* a J_COPY done (its file stays), or failed or dropped (it goes) */
static void copy_end(struct wjob *j, int keep)
{
	if (j->out >= 0)
		close(j->out);
	j->out = -1;
	if (!keep)
		unlinkat(j->dir, j->name, 0);
	close(j->dir);
	j->dir = -1;
}

static int run_dir(struct wjob *j, const char **what)
{
	const struct wmeta *m = &j->m;
	int rc = 0;

	*what = "set the metadata of";
	if (((m->flags & WM_CHOWN) && fchown(j->fd, m->uid, m->gid) < 0) || fchmod(j->fd, m->mode) < 0 ||
	    set_times(j->fd, m) < 0)
		rc = -1;
	int e = errno;
	close(j->fd);
	j->fd = -1;
	errno = e;
	return rc;
}

static void fail(struct wq *q, struct wjob *j, int e, const char *what)
{
	pthread_mutex_lock(&q->mu);
	if (!q->failed) {
		q->failed = 1;
		q->err = e;
		q->what = what;
		q->rel = strdup(j->rel);
	}
	pthread_mutex_unlock(&q->mu);
	atomic_store(&q->p->failed, 1);
}

/*
 * The worker hands back the slots and arena bytes of the jobs it has done
 * while it works through a batch: every RELEASE_STEP bytes, and at once
 * when the caller waits for room.  Handed back only at the end of a batch,
 * the caller refilled the arena while the worker sat idle, and the worker
 * wrote while the caller waited: one of them stood still all the time.
 */
#define RELEASE_STEP (256u << 10)

/* the done jobs from slot first are finished: their slots and arena
 * bytes are free again; q->mu held */
static void release(struct wq *q, unsigned first, unsigned done, size_t charge, unsigned dirs)
{
	q->tail = (first + done) % QJOBS;
	q->inflight -= done;
	q->aused -= charge;
	q->ndirs -= dirs;
	__atomic_store_n(&q->waiting, 0, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&q->room);
}

#ifdef ZDT_TESTING
void (*wpool_test_before_job)(int q, const char *rel);
#endif

static void *worker(void *arg)
{
	struct wq *q = arg;

	pthread_setname_np(pthread_self(), q->cbuf ? "zdt-copy" : "zdt-writer");	/* top -H, perf */
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->pending && !q->stop)
			pthread_cond_wait(&q->work, &q->mu);
		if (!q->pending)
			break;
		unsigned n = q->pending, first = q->tail;
		int drop = q->stop || q->failed;
		q->pending = 0;
		q->inflight = n;
		pthread_mutex_unlock(&q->mu);
		size_t charge = 0;
		unsigned dirs = 0, done = 0, from = first;
		for (unsigned k = 0; k < n; k++) {
			struct wjob *j = &q->jobs[(first + k) % QJOBS];
			if (done && (charge >= RELEASE_STEP || __atomic_load_n(&q->waiting, __ATOMIC_RELAXED))) {
				pthread_mutex_lock(&q->mu);
				release(q, from, done, charge, dirs);
				pthread_mutex_unlock(&q->mu);
				from = (from + done) % QJOBS;
				charge = 0;
				dirs = done = 0;
			}
			done++;
#ifdef ZDT_TESTING
			if (wpool_test_before_job)
				wpool_test_before_job((int)(q - q->p->q), j->rel);
#endif
			const char *what = NULL;
			int rc = 0;
			charge += j->charge;
			if (j->kind == J_DIR)
				dirs++;
			if (drop) {
				if (j->kind == J_DIR)
					close(j->fd);
				else if (j->kind == J_PART)
					part_abandon(q);
				else if (j->kind == J_COPY)
					copy_end(j, 0);
				continue;
			}
			if (j->kind == J_COPY) {
				rc = run_copy(q, j, &what);
				copy_end(j, rc == 0);
				if (rc == -2) {	/* stopped: no failure of its own */
					drop = 1;
					continue;
				}
			} else if (j->kind == J_UNLINK) {
				what = "remove";
				rc = unlinkat(j->fd, j->name, 0) < 0 && errno != ENOENT ? -1 : 0;
			} else if (j->kind == J_PART) {
				rc = run_part(q, j, &what);
			} else {
				rc = j->kind == J_FILE ? run_file(j, &what) : run_dir(j, &what);
			}
			if (rc < 0) {
				int e = errno;
				if (j->kind == J_PART)
					part_abandon(q);
				fail(q, j, e, what);
				drop = 1;
			}
		}
		pthread_mutex_lock(&q->mu);
		release(q, from, done, charge, dirs);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void q_release(struct wq *q)
{
	free(q->jobs);
	free(q->arena);
	free(q->rel);
	free(q->cbuf);
	if (q->xs)
		XXH3_freeState(q->xs);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->room);
	pthread_mutex_destroy(&q->mu);
}

struct wpool *wpool_start(int nq)
{
	struct wpool *p;

	if (nq < 1)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->q = xcalloc(2 * (size_t)nq, sizeof(*p->q));
	p->nw = nq;
	atomic_init(&p->failed, 0);
	for (int i = 0; i < 2 * nq; i++) {
		struct wq *q = &p->q[i];
		pthread_mutex_init(&q->mu, NULL);
		pthread_cond_init(&q->work, NULL);
		pthread_cond_init(&q->room, NULL);
		q->jobs = xcalloc(QJOBS, sizeof(*q->jobs));
		q->cap = QJOBS;
		q->asize = WPOOL_ARENA;
		if (i >= nq) {	/* a copy queue: names only in its arena */
			q->cap = QCOPIES;
			q->asize = COPY_ARENA;
			q->cbuf = xalloc_dio(COPY_CHUNK);
			q->xs = XXH3_createState();
			if (!q->xs)
				die(ZDT_EFAIL, "out of memory");
		}
		q->arena = q->cbuf ? xmalloc(q->asize) : xalloc_dio(q->asize);
		q->bfd = -1;
		q->p = p;
		p->nq = i + 1;
		if (thread_start(&q->t, worker, q) != 0) {
			wpool_stop(p);
			return NULL;
		}
		q->started = 1;
	}
	return p;
}

int wpool_queues(const struct wpool *p)
{
	return p ? p->nw : 0;
}

int wpool_pick(struct wpool *p)
{
	int q = p->next;

	p->next = (p->next + 1) % p->nw;
	return q;
}

/* a free job slot and arena bytes for need bytes (at an ALIGN boundary
 * when align), q->mu held: the job, or NULL once the pool failed */
static struct wjob *reserve(struct wq *q, size_t need, int dir, int align)
{
	for (;;) {
		if (atomic_load(&q->p->failed))
			return NULL;
		if (!q->aused)
			q->ahead = 0;
		size_t pos = align ? (q->ahead + ALIGN - 1) / ALIGN * ALIGN : q->ahead;
		size_t waste = pos - q->ahead;
		if (pos + need > q->asize) {
			waste = q->asize - q->ahead;
			pos = 0;
		}
		if (q->pending + q->inflight < q->cap && q->aused + waste + need <= q->asize &&
		    (!dir || q->ndirs < QDIRS)) {
			struct wjob *j = &q->jobs[q->head];
			memset(j, 0, sizeof(*j));
			j->fd = -1;
			j->data = q->arena + pos;
			j->charge = waste + need;
			q->ahead = pos + need;
			q->aused += j->charge;
			return j;
		}
		__atomic_store_n(&q->waiting, 1, __ATOMIC_RELAXED);
		pthread_cond_wait(&q->room, &q->mu);
	}
}

static void publish(struct wq *q)
{
	q->head = (q->head + 1) % QJOBS;
	q->pending++;
	if (q->pending == 1)
		pthread_cond_signal(&q->work);
}

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* a file job (J_FILE, J_PART) with size bytes of room, its rel and name
 * after them; checked by the caller */
static char *reserve_file(struct wq *w, int kind, int dfd, const char *name, const char *rel, size_t size,
			  const struct wmeta *m, uint64_t off, uint64_t total)
{
	size_t rl = strlen(rel), nl = strlen(name);

	pthread_mutex_lock(&w->mu);
	struct wjob *j = reserve(w, round16(size) + rl + 1, 0, kind == J_PART);
	if (j) {
		j->kind = kind;
		j->fd = dfd;
		j->size = size;
		j->off = off;
		j->total = total;
		j->rel = j->data + round16(size);
		memcpy(j->rel, rel, rl + 1);
		j->name = j->rel + rl - nl;
		j->m = *m;
		w->reserved = 1;
	}
	pthread_mutex_unlock(&w->mu);
	return j ? j->data : NULL;
}

/* name must be rel's last component */
static int bad_name(const char *name, const char *rel)
{
	size_t rl = strlen(rel), nl = strlen(name);

	return nl > rl || strcmp(rel + rl - nl, name) != 0;
}

char *wpool_file(struct wpool *p, int q, int dfd, const char *name, const char *rel, size_t size,
		 const struct wmeta *m)
{
	struct wq *w = &p->q[q];

	/* checked before the lock: BUG() exits through wpool_stop() */
	if (size > WPOOL_FILE_MAX || strlen(rel) > WPOOL_ARENA - WPOOL_FILE_MAX - 16 || bad_name(name, rel) ||
	    w->reserved)
		BUG("pool file '%s' of %zu bytes", name, size);
	return reserve_file(w, J_FILE, dfd, name, rel, size, m, 0, size);
}

char *wpool_part(struct wpool *p, int q, int dfd, const char *name, const char *rel, uint64_t total,
		 uint64_t off, size_t size, const struct wmeta *m)
{
	struct wq *w = &p->q[q];

	if (!size || size > WPOOL_PART || off % WPOOL_PART || off + size > total ||
	    (off + size < total && size != WPOOL_PART) || strlen(rel) > WPOOL_ARENA - 2 * WPOOL_PART - 16 ||
	    bad_name(name, rel) || w->reserved)
		BUG("pool piece of '%s' at %llu, %zu bytes", name, (unsigned long long)off, size);
	return reserve_file(w, J_PART, dfd, name, rel, size, m, off, total);
}

void wpool_submit(struct wpool *p, int q)
{
	struct wq *w = &p->q[q];

	if (!w->reserved)
		BUG("pool submit without a file");
	pthread_mutex_lock(&w->mu);
	w->reserved = 0;
	publish(w);
	pthread_mutex_unlock(&w->mu);
}

int wpool_dir(struct wpool *p, int q, int fd, const char *rel, const struct wmeta *m)
{
	struct wq *w = &p->q[q];
	size_t rl = strlen(rel);

	if (w->reserved || rl > WPOOL_ARENA - 16)
		BUG("pool folder '%s'", rel);
	pthread_mutex_lock(&w->mu);
	struct wjob *j = reserve(w, round16(rl + 1), 1, 0);
	if (j) {
		j->kind = J_DIR;
		j->fd = fd;
		j->rel = j->data;
		j->data = NULL;
		memcpy(j->rel, rel, rl + 1);
		j->m = *m;
		w->ndirs++;
		publish(w);
	}
	pthread_mutex_unlock(&w->mu);
	if (!j) {
		close(fd);
		return -1;
	}
	return 0;
}

int wpool_copy(struct wpool *p, int dfd, const char *name, const char *rel, int src, uint64_t off,
	       uint64_t size, XXH128_hash_t hash, const struct wmeta *m)
{
	struct wq *w = &p->q[p->nw + p->nextc];
	size_t rl = strlen(rel);

	if (w->reserved || rl > COPY_ARENA - 16 || bad_name(name, rel) || off > INT64_MAX - size)
		BUG("pool copy '%s'", rel);
	if (atomic_load(&p->failed))
		return -2;
	int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m->mode & 0777);
	if (out < 0)
		return -1;
	int dir = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	if (dir < 0) {
		int e = errno;
		close(out);
		unlinkat(dfd, name, 0);
		errno = e;
		return -1;
	}
	pthread_mutex_lock(&w->mu);
	struct wjob *j = reserve(w, round16(rl + 1), 0, 0);
	if (j) {
		j->kind = J_COPY;
		j->rel = j->data;
		j->data = NULL;
		memcpy(j->rel, rel, rl + 1);
		j->name = j->rel + rl - strlen(name);
		j->out = out;
		j->dir = dir;
		j->src = src;
		j->off = off;
		j->total = j->size = size;
		j->hash = hash;
		j->m = *m;
		publish(w);
	}
	pthread_mutex_unlock(&w->mu);
	p->nextc = (p->nextc + 1) % (p->nq - p->nw);	/* round robin */
	if (!j) {
		close(out);
		unlinkat(dir, name, 0);
		close(dir);
		return -2;
	}
	return 0;
}

int wpool_unlink(struct wpool *p, int q, int dfd, const char *name, const char *rel)
{
	struct wq *w = &p->q[q];
	size_t rl = strlen(rel), nl = strlen(name);

	if (w->reserved || rl + nl > WPOOL_ARENA - 32)
		BUG("pool unlink '%s'", rel);
	pthread_mutex_lock(&w->mu);
	struct wjob *j = reserve(w, round16(rl + 1) + round16(nl + 1), 0, 0);
	if (j) {
		j->kind = J_UNLINK;
		j->fd = dfd;
		j->rel = j->data;
		memcpy(j->rel, rel, rl + 1);
		char *nm = j->data + round16(rl + 1);
		memcpy(nm, name, nl + 1);
		j->name = nm;
		j->data = NULL;
		publish(w);
	}
	pthread_mutex_unlock(&w->mu);
	return j ? 0 : -1;
}

int wpool_wait_file(struct wpool *p, const char *rel)
{
	for (int i = 0; i < p->nq; i++) {
		struct wq *q = &p->q[i];
		/* checked before the lock: BUG() exits through wpool_stop() */
		if (q->reserved)
			BUG("wait for '%s' with a job reserved", rel);
		pthread_mutex_lock(&q->mu);
		/* its last job (the last piece of a big file), newest first */
		unsigned at = QJOBS;
		for (unsigned k = q->pending + q->inflight; k-- > 0;) {
			const struct wjob *j = &q->jobs[(q->tail + k) % QJOBS];
			if ((j->kind == J_FILE || j->kind == J_PART || j->kind == J_COPY) && !strcmp(j->rel, rel)) {
				at = (q->tail + k) % QJOBS;
				break;
			}
		}
		/* done once the worker handed its slot back (only this thread
		 * submits: the slot is not reused meanwhile) */
		while (at != QJOBS && !atomic_load(&p->failed) &&
		       (at + QJOBS - q->tail) % QJOBS < q->pending + q->inflight) {
			__atomic_store_n(&q->waiting, 1, __ATOMIC_RELAXED);
			pthread_cond_wait(&q->room, &q->mu);
		}
		pthread_mutex_unlock(&q->mu);
	}
	return atomic_load(&p->failed) ? -1 : 0;
}

int wpool_drain(struct wpool *p)
{
	for (int i = 0; i < p->nq; i++) {
		struct wq *w = &p->q[i];
		pthread_mutex_lock(&w->mu);
		while (w->pending || w->inflight)
			pthread_cond_wait(&w->room, &w->mu);
		pthread_mutex_unlock(&w->mu);
	}
	return atomic_load(&p->failed) ? -1 : 0;
}

int wpool_failed(struct wpool *p, int *err, const char **what, const char **rel)
{
	if (!atomic_load(&p->failed))
		return 0;
	for (int i = 0; i < p->nq; i++) {
		struct wq *w = &p->q[i];
		int f;
		pthread_mutex_lock(&w->mu);
		f = w->failed;
		if (f) {
			*err = w->err;
			*what = w->what;
			*rel = w->rel ? w->rel : "?";
		}
		pthread_mutex_unlock(&w->mu);
		if (f)
			return 1;
	}
	return 0;
}

void wpool_stop(struct wpool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nq; i++) {
		struct wq *w = &p->q[i];
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->work);
		pthread_mutex_unlock(&w->mu);
	}
	for (int i = 0; i < p->nq; i++) {
		struct wq *w = &p->q[i];
		if (w->started)
			pthread_join(w->t, NULL);
		else	/* never ran: its folders are closed, its copies removed here */
			for (unsigned k = 0; k < w->pending; k++) {
				struct wjob *j = &w->jobs[(w->tail + k) % QJOBS];
				if (j->kind == J_DIR)
					close(j->fd);
				else if (j->kind == J_COPY)
					copy_end(j, 0);
			}
		part_abandon(w);	/* a file whose last piece never came */
		q_release(w);
	}
	free(p->q);
	free(p);
}
