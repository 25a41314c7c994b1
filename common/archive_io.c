/* archive_io.c - pax output through a counting, parallel-gzip sink. */
#include "archive_io.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "util.h"

#define CHUNK (1u << 20)
#define SYNC_STEP (32u << 20)
#define FLUSH_STEP (64u << 20)

enum { SLOT_FREE, SLOT_QUEUED, SLOT_WORKING, SLOT_DONE };

struct gz_slot {
	int state;
	uint64_t seq;
	char *in;
	size_t inlen;
	unsigned char *out;
	size_t outcap, outlen;
	int zerr;
};

/* asks the flush thread to make the file durable as far as it is written */
static void ask_flush(struct asink *s)
{
	pthread_mutex_lock(&s->mu);
	s->flush_to = s->out;
	pthread_cond_signal(&s->fcv);
	pthread_mutex_unlock(&s->mu);
}

/* writes n bytes to the archive file and its hash; 0, or the errno of the
 * failure with *what saying which call failed */
static int out_write(struct asink *s, const void *p, size_t n, const char **what)
{
	const char *c = p;

	while (n) {
		/* pwrite: the output thread's calls are told apart from the
		 * caller's writes (the manifest) by name, e.g. by strace */
		ssize_t w = pwrite(s->fd, c, n, (off_t)s->out);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			*what = "write";
			return errno;
		}
		XXH3_128bits_update(s->xs, c, (size_t)w);
		c += w;
		n -= (size_t)w;
		s->out += (uint64_t)w;
	}
	if (s->out - s->synced >= SYNC_STEP) {
		/* start write-back early; the flush thread and the final
		 * fsync make it durable */
		sync_file_range(s->fd, (off_t)s->synced, (off_t)(s->out - s->synced), SYNC_FILE_RANGE_WRITE);
		s->synced = s->out;
		if (s->out - s->flushed >= FLUSH_STEP) {
			s->flushed = s->out;
			ask_flush(s);
		}
	}
	return 0;
}

/* the first failure wins; read by the other threads with sink_err() */
static void set_err(struct asink *s, int e, const char *what)
{
	if (__atomic_load_n(&s->err, __ATOMIC_ACQUIRE))
		return;
	s->err_what = what;
	__atomic_store_n(&s->err, e, __ATOMIC_RELEASE);
}

static int sink_err(struct asink *s) { return __atomic_load_n(&s->err, __ATOMIC_ACQUIRE); }

/*
 * The flush thread: fdatasync as asked, while the writing goes on.  A disk
 * that caches writes (a virtual machine's host does) then empties its cache
 * bit by bit beside the backup instead of all at once in the final fsync,
 * which on the host measured here took about 0.6 s per GB written.  Its
 * failure fails the backup: an error fdatasync reported here would not be
 * reported again to the final fsync, which waits for this thread first.
 */
static void *flush_worker(void *arg)
{
	struct asink *s = arg;
	uint64_t done = 0;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->fstop && s->flush_to == done)
			pthread_cond_wait(&s->fcv, &s->mu);
		if (s->fstop)
			break;
		done = s->flush_to;
		pthread_mutex_unlock(&s->mu);
		if (!sink_err(s) && fdatasync(s->fd) < 0)
			set_err(s, errno, "fdatasync");
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* stops the flush thread after the flush it is doing, if any */
static void stop_flush(struct asink *s)
{
	if (!s->fstarted)
		return;
	pthread_mutex_lock(&s->mu);
	s->fstop = 1;
	pthread_cond_signal(&s->fcv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->fthread, NULL);
	s->fstarted = 0;
}

/* ---- uncompressed: the output thread ----------------------------------- */

/*
 * Without compression the slots carry the tar stream itself: the caller
 * fills them, one thread writes them in order (write(2), the archive's hash,
 * the early write-back), so that copying into the page cache runs beside the
 * caller's reading of the tree.  After a failure it frees the slots without
 * writing them, and the caller sees the error at its next slot.
 */
static void *out_worker(void *arg)
{
	struct asink *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct gz_slot *g = &s->slots[s->wnext];
		while (!s->stop && g->state != SLOT_QUEUED)
			pthread_cond_wait(&s->cv, &s->mu);
		if (g->state != SLOT_QUEUED)
			break;
		pthread_mutex_unlock(&s->mu);
		if (!sink_err(s)) {
			const char *what = NULL;
			int e = out_write(s, g->in, g->inlen, &what);
			if (e)
				set_err(s, e, what);
		}
		pthread_mutex_lock(&s->mu);
		g->state = SLOT_FREE;
		g->inlen = 0;
		s->wnext = (s->wnext + 1) % s->nslots;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* hands the slot being filled to the output thread and waits for the next
 * one to be free; all: wait until every slot is written */
static int out_submit(struct asink *s, int all)
{
	struct gz_slot *g = &s->slots[s->fill];

	pthread_mutex_lock(&s->mu);
	if (g->inlen) {
		g->state = SLOT_QUEUED;
		pthread_cond_broadcast(&s->cv);
		s->fill = (s->fill + 1) % s->nslots;
	}
	for (int i = all ? 0 : s->fill; i < (all ? s->nslots : s->fill + 1); i++)
		while (s->slots[i].state != SLOT_FREE)
			pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return sink_err(s) ? -1 : 0;
}

/* ---- gzip workers ----------------------------------------------------- */

static void *gz_worker(void *arg)
{
	struct asink *s = arg;
	z_stream z;
	int zinit = 0;

	memset(&z, 0, sizeof(z));
	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct gz_slot *job = NULL;
		while (!s->stop) {
			for (int i = 0; i < s->nslots; i++) {
				struct gz_slot *g = &s->slots[i];
				if (g->state == SLOT_QUEUED && (!job || g->seq < job->seq))
					job = g;
			}
			if (job)
				break;
			pthread_cond_wait(&s->cv, &s->mu);
		}
		if (!job)
			break;
		job->state = SLOT_WORKING;
		pthread_mutex_unlock(&s->mu);

		int zr;
		if (!zinit) {
			zr = deflateInit2(&z, s->level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
			zinit = zr == Z_OK;
		} else {
			zr = deflateReset(&z);
		}
		if (zr == Z_OK) {
			z.next_in = (unsigned char *)job->in;
			z.avail_in = (unsigned)job->inlen;
			z.next_out = job->out;
			z.avail_out = (unsigned)job->outcap;
			zr = deflate(&z, Z_FINISH);
			zr = zr == Z_STREAM_END ? Z_OK : Z_BUF_ERROR;
		}
		pthread_mutex_lock(&s->mu);
		job->zerr = zr != Z_OK;
		job->outlen = job->outcap - z.avail_out;
		job->state = SLOT_DONE;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	if (zinit)
		deflateEnd(&z);
	return NULL;
}

/* writes the oldest slot once done; wait: block until it is */
static int gz_drain_one(struct asink *s, int wait)
{
	struct gz_slot *g = &s->slots[s->wnext];

	pthread_mutex_lock(&s->mu);
	if (g->state == SLOT_FREE) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	while (g->state != SLOT_DONE) {
		if (!wait) {
			pthread_mutex_unlock(&s->mu);
			return 0;
		}
		pthread_cond_wait(&s->cv, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	int rc = 0;
	if (g->zerr) {
		set_err(s, EIO, "compress");
		rc = -1;
	} else {
		const char *what = NULL;
		int e = out_write(s, g->out, g->outlen, &what);
		if (e) {
			set_err(s, e, what);
			rc = -1;
		}
	}
	pthread_mutex_lock(&s->mu);
	g->state = SLOT_FREE;
	g->inlen = 0;
	pthread_mutex_unlock(&s->mu);
	s->wnext = (s->wnext + 1) % s->nslots;
	return rc < 0 ? -1 : 1;
}

static int gz_submit(struct asink *s)
{
	struct gz_slot *g = &s->slots[s->fill];

	if (!g->inlen)
		return 0;
	pthread_mutex_lock(&s->mu);
	g->seq = s->seq++;
	g->state = SLOT_QUEUED;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	s->fill = (s->fill + 1) % s->nslots;
	/* the next slot to fill must be free: write out the oldest */
	while (s->slots[s->fill].state != SLOT_FREE)
		if (gz_drain_one(s, 1) < 0)
			return -1;
	return 0;
}

/* ---- libarchive callbacks --------------------------------------------- */

static la_ssize_t sink_write(struct archive *a, void *client, const void *buf, size_t n)
{
	struct asink *s = client;
	const char *p = buf;
	size_t left = n;

	if (sink_err(s))
		goto fail;
	while (left) {
		struct gz_slot *g = &s->slots[s->fill];
		size_t room = CHUNK - g->inlen;
		size_t k = left < room ? left : room;
		memcpy(g->in + g->inlen, p, k);
		g->inlen += k;
		p += k;
		left -= k;
		if (g->inlen == CHUNK && (s->level ? gz_submit(s) : out_submit(s, 0)) < 0)
			goto fail;
	}
	s->raw += n;
	return (la_ssize_t)n;
fail:
	archive_set_error(a, sink_err(s), "%s failed", s->err_what);
	return -1;
}

static int sink_noop(struct archive *a, void *client)
{
	(void)a;
	(void)client;
	return ARCHIVE_OK;
}

int asink_open(struct asink *s, int fd, int level, int threads)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->level = level;
	s->xs = XXH3_createState();
	if (!s->xs)
		die(ZDT_EFAIL, "out of memory");
	XXH3_128bits_reset(s->xs);
	/* gzip: a slot per thread being deflated, one being filled, one
	 * being written; none: one thread writing, three slots to fill */
	s->nthreads = level ? (threads < 1 ? 1 : threads) : 1;
	s->nslots = level ? 2 * s->nthreads + 1 : 4;
	s->slots = xcalloc((size_t)s->nslots, sizeof(*s->slots));
	for (int i = 0; i < s->nslots; i++) {
		s->slots[i].in = xmalloc(CHUNK);
		if (level) {
			s->slots[i].outcap = compressBound(CHUNK) + 64;
			s->slots[i].out = xmalloc(s->slots[i].outcap);
		}
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->fcv, NULL);
	if (thread_start(&s->fthread, flush_worker, s))
		die(ZDT_EFAIL, "cannot start a flush thread");
	s->fstarted = 1;
	s->threads = xcalloc((size_t)s->nthreads, sizeof(*s->threads));
	for (int i = 0; i < s->nthreads; i++)
		if (thread_start(&s->threads[i], level ? gz_worker : out_worker, s))
			die(ZDT_EFAIL, "cannot start a%s thread", level ? " compression" : "n output");
	s->a = archive_write_new();
	if (!s->a)
		die(ZDT_EFAIL, "out of memory");
	if (archive_write_set_format_pax(s->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(s->a, 0) != ARCHIVE_OK ||
	    archive_write_open2(s->a, s, sink_noop, sink_write, sink_noop, NULL) != ARCHIVE_OK)
		die(ZDT_EFAIL, "cannot set up the archive writer: %s", archive_error_string(s->a));
	return 0;
}

struct archive *asink_archive(struct asink *s) { return s->a; }

static void stop_threads(struct asink *s)
{
	stop_flush(s);
	if (!s->threads)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	free(s->threads);
	s->threads = NULL;
}

int asink_close(struct asink *s)
{
	if (archive_write_close(s->a) != ARCHIVE_OK)
		set_err(s, archive_errno(s->a) > 0 ? archive_errno(s->a) : EIO, "write");
	if (sink_err(s))
		return -1;
	if (s->level) {
		if (gz_submit(s) < 0)
			return -1;
		for (int i = 0; i < s->nslots; i++)
			if (gz_drain_one(s, 1) < 0)
				return -1;
	} else if (out_submit(s, 1) < 0) {
		return -1;
	}
	stop_flush(s);
	if (sink_err(s))
		return -1;
	if (fsync(s->fd) < 0) {
		set_err(s, errno, "fsync");
		return -1;
	}
	s->digest = XXH3_128bits_digest(s->xs);
	return 0;
}

void asink_release(struct asink *s)
{
	stop_threads(s);
	if (s->a)
		archive_write_free(s->a);	/* after close: frees only */
	s->a = NULL;
	if (s->slots) {
		for (int i = 0; i < s->nslots; i++) {
			free(s->slots[i].in);
			free(s->slots[i].out);
		}
		free(s->slots);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		pthread_cond_destroy(&s->fcv);
		s->slots = NULL;
	}
	if (s->xs)
		XXH3_freeState(s->xs);
	s->xs = NULL;
}

struct archive *areader_open(int fd)
{
	struct archive *a = archive_read_new();

	if (!a)
		die(ZDT_EFAIL, "out of memory");
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	if (archive_read_open_fd(a, fd, 64u << 10) != ARCHIVE_OK)
		return a;	/* the caller reports archive_error_string() */
	return a;
}

struct ahash {
	int fd;
	XXH3_state_t *xs;
	uint64_t size;
	char *buf;
	int err;
};

static la_ssize_t ah_read(struct archive *a, void *client, const void **out)
{
	struct ahash *ah = client;
	ssize_t n;

	do
		n = read(ah->fd, ah->buf, 1u << 20);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		ah->err = errno;
		archive_set_error(a, errno, "read error");
		return -1;
	}
	XXH3_128bits_update(ah->xs, ah->buf, (size_t)n);
	ah->size += (uint64_t)n;
	*out = ah->buf;
	return n;
}

static int ah_close(struct archive *a, void *client)
{
	(void)a;
	(void)client;
	return ARCHIVE_OK;
}

struct archive *areader_open_hashing(int fd, struct ahash **out)
{
	struct archive *a = archive_read_new();
	struct ahash *ah = xcalloc(1, sizeof(*ah));

	if (!a)
		die(ZDT_EFAIL, "out of memory");
	ah->fd = fd;
	ah->xs = XXH3_createState();
	ah->buf = xmalloc(1u << 20);
	XXH3_128bits_reset(ah->xs);
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_open2(a, ah, NULL, ah_read, NULL, ah_close);
	*out = ah;
	return a;
}

int areader_hash_finish(struct ahash *ah, XXH128_hash_t *h, uint64_t *size)
{
	ssize_t n;
	int rc = 0;

	while ((n = read(ah->fd, ah->buf, 1u << 20)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		XXH3_128bits_update(ah->xs, ah->buf, (size_t)n);
		ah->size += (uint64_t)n;
	}
	*h = XXH3_128bits_digest(ah->xs);
	*size = ah->size;
	XXH3_freeState(ah->xs);
	free(ah->buf);
	if (ah->err)
		rc = -1;
	free(ah);
	return rc;
}
