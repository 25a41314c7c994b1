/* ring.c - a single-producer, single-consumer byte ring (ring.h). */
#include "ring.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define BATCH (64u << 10)
/* a producer asleep on a full ring is woken for this much room (or a
 * quarter of a smaller ring), not for each read: a thread wake-up costs
 * more than the copy of a small record (futex, IPI) */
#define WAKE (256u << 10)

struct ring {
	char *buf;
	size_t cap;
	void (*idle)(void);
	/* the producer's own */
	uint64_t w, w_pub, tail_seen;
	/* the consumer's own */
	uint64_t r, head_seen;
	/* shared, through atomics; the lock only to sleep and wake */
	uint64_t head, tail;
	int pwait, cwait, end, stopped;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

struct ring *ring_new(size_t cap, void (*idle)(void))
{
	struct ring *r = xcalloc(1, sizeof(*r));

	if (!cap || (cap & (cap - 1)))
		die(ZDT_EFAIL, "ring_new: capacity %zu is not a power of two", cap);
	r->buf = xmalloc(cap);
	r->cap = cap;
	r->idle = idle;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	return r;
}

void ring_free(struct ring *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->buf);
	free(r);
}

static uint64_t wake_at(const struct ring *r)
{
	return r->cap / 4 < WAKE ? r->cap / 4 : WAKE;
}

static void wake(struct ring *r)
{
	pthread_mutex_lock(&r->mu);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* makes the written bytes visible, and wakes a waiting consumer */
static void publish(struct ring *r)
{
	if (r->w != r->w_pub) {
		STORE(r->head, r->w);
		r->w_pub = r->w;
	}
	if (LOAD(r->cwait))
		wake(r);
}

void *ring_wspan(struct ring *r, size_t *n)
{
	if (LOAD(r->stopped))
		return NULL;
	if (r->w - r->tail_seen == r->cap) {
		r->tail_seen = LOAD(r->tail);
		if (r->w - r->tail_seen == r->cap) {
			publish(r);	/* the consumer may be waiting for it */
			pthread_mutex_lock(&r->mu);
			STORE(r->pwait, 1);
			while (r->w - LOAD(r->tail) == r->cap && !LOAD(r->stopped))
				pthread_cond_wait(&r->cv, &r->mu);
			STORE(r->pwait, 0);
			pthread_mutex_unlock(&r->mu);
			if (LOAD(r->stopped))
				return NULL;
			r->tail_seen = LOAD(r->tail);
		}
	}
	size_t off = (size_t)(r->w & (r->cap - 1));
	size_t fr = r->cap - (size_t)(r->w - r->tail_seen);
	*n = fr < r->cap - off ? fr : r->cap - off;
	return r->buf + off;
}

void ring_wrote(struct ring *r, size_t n)
{
	r->w += n;
	if (r->w - r->w_pub >= BATCH || LOAD(r->cwait))
		publish(r);
}

int ring_put(struct ring *r, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		size_t k;
		char *d = ring_wspan(r, &k);
		if (!d)
			return -1;
		if (k > n)
			k = n;
		memcpy(d, c, k);
		ring_wrote(r, k);
		c += k;
		n -= k;
	}
	return 0;
}

void ring_flush(struct ring *r) { publish(r); }

void ring_end(struct ring *r)
{
	publish(r);
	STORE(r->end, 1);
	wake(r);
}

const void *ring_rspan(struct ring *r, size_t *n)
{
	if (r->head_seen == r->r) {
		r->head_seen = LOAD(r->head);
		if (r->head_seen == r->r) {
			pthread_mutex_lock(&r->mu);
			STORE(r->cwait, 1);
			while (LOAD(r->head) == r->r && !LOAD(r->end)) {
				struct timespec ts;
				deadline_ms(&ts, CLOCK_REALTIME, 100);
				pthread_cond_timedwait(&r->cv, &r->mu, &ts);
				if (r->idle && LOAD(r->head) == r->r && !LOAD(r->end)) {
					pthread_mutex_unlock(&r->mu);
					r->idle();
					pthread_mutex_lock(&r->mu);
				}
			}
			STORE(r->cwait, 0);
			pthread_mutex_unlock(&r->mu);
			r->head_seen = LOAD(r->head);
			if (r->head_seen == r->r)
				return NULL;	/* the end */
		}
	}
	size_t off = (size_t)(r->r & (r->cap - 1));
	size_t av = (size_t)(r->head_seen - r->r);
	*n = av < r->cap - off ? av : r->cap - off;
	return r->buf + off;
}

size_t ring_ready(struct ring *r)
{
	r->head_seen = LOAD(r->head);
	return (size_t)(r->head_seen - r->r);
}

void ring_read(struct ring *r, size_t n)
{
	r->r += n;
	STORE(r->tail, r->r);
	/* a producer waits for room only in a full ring: wake it for a
	 * quarter, not for each read */
	if (LOAD(r->pwait) && r->r + r->cap - LOAD(r->head) >= wake_at(r))
		wake(r);
}

int ring_get(struct ring *r, void *p, size_t n)
{
	char *c = p;

	while (n) {
		size_t k;
		const char *s = ring_rspan(r, &k);
		if (!s)
			return -1;
		if (k > n)
			k = n;
		memcpy(c, s, k);
		ring_read(r, k);
		c += k;
		n -= k;
	}
	return 0;
}

void ring_stop(struct ring *r)
{
	STORE(r->stopped, 1);
	wake(r);
}
