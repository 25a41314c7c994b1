/* ahead.c - live files hashed ahead of the plan (--checksum); see ahead.h. */
#include "ahead.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/fsops.h"
#include "../common/manifest.h"
#include "../common/store.h"
#include "../common/util.h"

#define AHEAD_BUF (1u << 20)

static int stopped(struct ahead *a)
{
	return __atomic_load_n(&a->stop, __ATOMIC_ACQUIRE);
}

/* queues r; -1 when the plan stopped the thread meanwhile */
static int push(struct ahead *a, const struct ahead_res *r)
{
	pthread_mutex_lock(&a->mu);
	while (a->tail - a->head == AHEAD_Q && !a->stop)
		pthread_cond_wait(&a->cv, &a->mu);
	int stop = a->stop;
	if (!stop) {
		a->q[a->tail % AHEAD_Q] = *r;
		a->tail++;
	}
	a->busy = AHEAD_NONE;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return stop ? -1 : 0;
}

/* the open file's XXH3-128: 0, or -1 on a read error or a stop */
static int hash_fd(struct ahead *a, int fd, XXH3_state_t *xs, XXH128_hash_t *h)
{
	ssize_t n;

	XXH3_128bits_reset(xs);
	while ((n = read(fd, a->buf, AHEAD_BUF)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || stopped(a))
			return -1;
		XXH3_128bits_update(xs, a->buf, (size_t)n);
	}
	*h = XXH3_128bits_digest(xs);
	return 0;
}

static void *run(void *arg)
{
	struct ahead *a = arg;
	struct mreader mr;
	struct mentry m;
	struct sbuf dir = SBUF_INIT;
	XXH3_state_t *xs = XXH3_createState();
	int dfd = -1, have_dir = 0;
	uint64_t ord = 0;

	memset(&mr, 0, sizeof(mr));
	mentry_init(&m);
	if (!xs || mreader_open(&mr, a->mfd) < 0)
		goto out;
	for (; !stopped(a) && mreader_next(&mr, &m) > 0; ord++) {
		if (m.type != M_FILE)
			continue;
		const char *slash = strrchr(m.path.buf, '/');
		const char *base = slash ? slash + 1 : m.path.buf;
		size_t dlen = slash ? (size_t)(slash - m.path.buf) : 0;
		if (!have_dir || dir.len != dlen || memcmp(dir.buf, m.path.buf, dlen)) {
			/* a new folder: reached from the install folder, no link followed */
			const char *b;
			if (dfd >= 0)
				close(dfd);
			dfd = open_parent_nofollow(a->rootfd, m.path.buf, &b);
			sbuf_reset(&dir);
			sbuf_add(&dir, m.path.buf, dlen);
			have_dir = 1;
		}
		if (dfd < 0)
			continue;	/* the plan finds out why */
		/* the file is ours unless the plan got there first */
		pthread_mutex_lock(&a->mu);
		int mine = a->plan_next <= ord;
		if (mine)
			a->busy = ord;
		pthread_mutex_unlock(&a->mu);
		if (!mine)
			continue;
		int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		struct stat st;
		struct ahead_res r;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == m.size &&
		    hash_fd(a, fd, xs, &r.h) == 0) {
			r.ord = ord;
			r.dev = st.st_dev;
			r.ino = st.st_ino;
			r.size = st.st_size;
			r.mtime = st.st_mtim;
			r.ctime = st.st_ctim;
			close(fd);
			if (push(a, &r) < 0)
				break;
			continue;
		}
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&a->mu);
		a->busy = AHEAD_NONE;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
	}
out:
	if (dfd >= 0)
		close(dfd);
	if (xs)
		XXH3_freeState(xs);
	sbuf_free(&dir);
	mentry_release(&m);
	mreader_release(&mr);
	pthread_mutex_lock(&a->mu);
	a->end = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int ahead_start(struct ahead *a, int snapfd, int rootfd)
{
	memset(a, 0, sizeof(*a));
	a->rootfd = rootfd;
	a->busy = AHEAD_NONE;
	a->mfd = openat(snapfd, SNAP_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (a->mfd < 0)
		return -1;
	a->buf = xmalloc(AHEAD_BUF);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	int rc = thread_start(&a->t, run, a);
	if (rc) {
		pthread_mutex_destroy(&a->mu);
		pthread_cond_destroy(&a->cv);
		close(a->mfd);
		free(a->buf);
		a->buf = NULL;
		errno = rc;
		return -1;
	}
	a->running = 1;
	return 0;
}

static int same_file(const struct ahead_res *r, const struct stat *st)
{
	return r->dev == st->st_dev && r->ino == st->st_ino && r->size == st->st_size &&
	       r->mtime.tv_sec == st->st_mtim.tv_sec && r->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       r->ctime.tv_sec == st->st_ctim.tv_sec && r->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

int ahead_get(struct ahead *a, uint64_t ord, const struct stat *st, XXH128_hash_t *h)
{
	int ok = 0;

	if (!a->running)
		return 0;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (a->head < a->tail && a->q[a->head % AHEAD_Q].ord < ord)
			a->head++;	/* files the plan did not need hashed */
		if (a->head < a->tail || a->end || a->busy != ord)
			break;
		/* the thread is hashing this very file: its result is near */
		pthread_cond_broadcast(&a->cv);
		pthread_cond_wait(&a->cv, &a->mu);
	}
	if (a->head == a->tail && a->plan_next <= ord)
		a->plan_next = ord + 1;	/* not reached yet: the plan hashes it, the thread skips it */
	if (a->head < a->tail && a->q[a->head % AHEAD_Q].ord == ord) {
		const struct ahead_res *r = &a->q[a->head % AHEAD_Q];
		if (same_file(r, st)) {
			*h = r->h;
			ok = 1;
		}
		a->head++;
	}
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	a->used += (uint64_t)ok;
	return ok;
}

void ahead_stop(struct ahead *a)
{
	if (!a->running)
		return;
	pthread_mutex_lock(&a->mu);
	__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->t, NULL);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	close(a->mfd);
	free(a->buf);
	a->buf = NULL;
	a->running = 0;
}
