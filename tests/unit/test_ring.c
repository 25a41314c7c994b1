/* test_ring.c - unit tests of common/ring.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../common/ring.h"
#include "../../common/util.h"

#define BATCH (64u << 10)	/* ring.h: bytes are published in 64 KiB batches */

/* ---- helpers ----------------------------------------------------------- */

/* A ring call that never returns would hang the whole run: each test gets
 * an alarm, and its expiry fails the binary (cmocka cannot be used from a
 * signal handler). */
static void on_alarm(int sig)
{
	static const char msg[] = "test_ring: timed out, a ring call never returned\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static int arm(void **state)
{
	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(60);	/* all of it takes ~5 s under valgrind */
	return 0;
}

static int disarm(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* 0 if t ended within s seconds: a ring bug fails the test, not hangs it */
static int join_within(pthread_t t, double s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)s;
	ts.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return pthread_timedjoin_np(t, NULL, &ts);
}

/* The stream's bytes: pattern byte i is pat[i % PAT], PAT a prime, so that a
 * byte delivered at a wrong position (by a multiple of any power-of-two
 * capacity) differs.  The table runs on MAXC bytes past PAT (a copy of its
 * start), so pat + i % PAT is MAXC contiguous stream bytes. */
#define PAT 1000003u
#define MAXC (1u << 18)
static unsigned char *pat;

static void make_pattern(void)
{
	uint64_t x = 0x9e3779b97f4a7c15u;

	pat = xmalloc(PAT + MAXC);
	for (size_t i = 0; i < PAT; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pat[i] = (unsigned char)(x >> 24);
	}
	memcpy(pat + PAT, pat, MAXC);
}

static const unsigned char *at(uint64_t pos)
{
	return pat + pos % PAT;
}

/* k <= MAXC bytes at p are stream bytes pos.. */
static void check(const void *p, uint64_t pos, size_t k)
{
	const unsigned char *c = p, *e = at(pos);

	if (memcmp(c, e, k) == 0)
		return;
	for (size_t i = 0; i < k; i++)
		if (c[i] != e[i])
			fail_msg("stream byte %llu: 0x%02x, not 0x%02x",
				 (unsigned long long)(pos + i), c[i], e[i]);
}

/* ---- one thread ------------------------------------------------------- */

/* A single thread sees its own bytes only once a 64 KiB batch is published
 * (at the write that completes it) or at ring_end: a 128 KiB ring, puts in
 * rounds of a batch, and gets of the published bytes in between, so that
 * both positions wrap many times at odd offsets.  The first round ends
 * inside a piece past 64 KiB: batches aligned with the buffer would never
 * let a read span reach across its end.  Every span lies inside the buffer,
 * and since the stream passes the end, some span of each kind ends there. */
static void test_one_thread_wraps(void **state)
{
	enum { CAP = 128 << 10 };
	struct ring *r = ring_new(CAP, NULL);
	unsigned char buf[3000];
	uint64_t w = 0, rd = 0;
	char *base = NULL;
	int wend = 0, rend = 0, piece = 0;

	(void)state;
	for (int round = 0; round < 40; round++) {
		/* w == published here: free >= 64 KiB + a piece, so no put blocks */
		for (uint64_t start = w; w - start < BATCH; piece++) {
			size_t s = 1000 + (size_t)(piece * 7919) % 2001;
			if (round && s > BATCH - (w - start))
				s = (size_t)(BATCH - (w - start));
			if (piece % 2) {
				assert_int_equal(ring_put(r, at(w), s), 0);
				w += s;
				continue;
			}
			while (s) {
				size_t n = 0;
				char *p = ring_wspan(r, &n);
				assert_non_null(p);
				if (!base)
					base = p;	/* a fresh ring's first span is at its start */
				assert_true(p >= base && p < base + CAP);
				size_t off = (size_t)(p - base);
				assert_true(n >= 1 && n <= CAP - off);
				assert_true(n <= CAP - (w - rd));
				wend |= off + n == CAP;
				size_t k = n < s ? n : s;
				memcpy(p, at(w), k);
				ring_wrote(r, k);
				w += k;
				s -= k;
			}
		}
		if (!round)
			assert_true(w % BATCH != 0);
		/* get back down to a fill that differs from round to round */
		uint64_t target = (uint64_t)(round * 7919) % BATCH;
		while (w - rd > target) {
			size_t s = 1000 + (size_t)(piece++ * 104729) % 2001;
			if (s > w - rd - target)
				s = (size_t)(w - rd - target);
			if (piece % 2) {
				assert_int_equal(ring_get(r, buf, s), 0);
				check(buf, rd, s);
				rd += s;
				continue;
			}
			while (s) {
				size_t n = 0;
				const char *p = ring_rspan(r, &n);
				assert_non_null(p);
				assert_true(p >= base && p < base + CAP);
				size_t off = (size_t)(p - base);
				assert_true(n >= 1 && n <= CAP - off);
				assert_true(n <= w - rd);
				rend |= off + n == CAP;
				size_t k = n < s ? n : s;
				check(p, rd, k);
				ring_read(r, k);
				rd += k;
				s -= k;
			}
		}
	}
	assert_true(w > 10 * (uint64_t)CAP);
	assert_true(wend);
	assert_true(rend);
	/* the rest comes with ring_end */
	ring_end(r);
	size_t n;
	const char *p;
	while ((p = ring_rspan(r, &n))) {
		assert_true(n >= 1 && n <= w - rd);
		check(p, rd, n);
		ring_read(r, n);
		rd += n;
	}
	assert_true(rd == w);
	ring_free(r);
}

/* ---- two threads: a long stream ------------------------------------- */

#define TOTAL (64ull << 20)
#define SCAP (16u << 10)	/* fills often: both sides block many times */

/* chunk sizes, from one byte to many times the ring */
static const size_t sizes[] = { 1, 4000, 1, 3, SCAP - 1, 100, SCAP, 1, SCAP + 1,
				 777, 3 * SCAP + 17, 65536, 2, 200000, 9000 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

struct producer {
	struct ring *r;
	int spans;		/* ring_wspan/ring_wrote, else ring_put */
	int failed;		/* a span or put refused */
};

static void *produce(void *arg)
{
	struct producer *pr = arg;
	uint64_t w = 0;

	for (size_t i = 0; w < TOTAL; i++) {
		size_t s = sizes[i % NSIZES];
		if (s > TOTAL - w)
			s = (size_t)(TOTAL - w);
		if (!pr->spans) {
			if (ring_put(pr->r, at(w), s)) {
				pr->failed = 1;
				break;
			}
			w += s;
			continue;
		}
		while (s) {
			size_t n = 0;
			char *p = ring_wspan(pr->r, &n);
			if (!p || n < 1 || n > SCAP) {
				pr->failed = 1;
				goto out;
			}
			size_t k = n < s ? n : s;
			memcpy(p, at(w), k);
			ring_wrote(pr->r, k);
			w += k;
			s -= k;
		}
	}
out:
	ring_end(pr->r);
	return NULL;
}

static void stream(int spans)
{
	struct producer pr = { .r = ring_new(SCAP, NULL), .spans = spans };
	unsigned char *buf = xmalloc(MAXC);
	uint64_t rd = 0;
	pthread_t t;
	size_t n;

	assert_int_equal(pthread_create(&t, NULL, produce, &pr), 0);
	for (size_t i = 5; ; i++) {	/* not in step with the producer's sizes */
		size_t s = sizes[i % NSIZES];
		if (spans) {
			const char *p = ring_rspan(pr.r, &n);
			if (!p)
				break;
			assert_true(n >= 1 && n <= SCAP);
			size_t k = n < s ? n : s;
			check(p, rd, k);
			ring_read(pr.r, k);
			rd += k;
			continue;
		}
		if (rd == TOTAL)
			break;
		if (s > TOTAL - rd)
			s = (size_t)(TOTAL - rd);
		assert_int_equal(ring_get(pr.r, buf, s), 0);
		check(buf, rd, s);
		rd += s;
	}
	assert_int_equal(join_within(t, 10), 0);
	assert_false(pr.failed);
	assert_true(rd == TOTAL);
	assert_null(ring_rspan(pr.r, &n));
	free(buf);
	ring_free(pr.r);
}

static void test_stream_spans(void **state)
{
	(void)state;
	stream(1);
}

static void test_stream_put_get(void **state)
{
	(void)state;
	stream(0);
}

/* ---- the end of the stream ------------------------------------------- */

/* a get past the end fails; one of exactly the rest succeeds, and then
 * the stream is over */
static void test_end(void **state)
{
	struct ring *r = ring_new(4096, NULL);
	unsigned char buf[20];
	size_t n;

	(void)state;
	assert_int_equal(ring_put(r, at(0), 10), 0);
	ring_end(r);
	assert_int_equal(ring_get(r, buf, 20), -1);
	assert_null(ring_rspan(r, &n));
	ring_free(r);

	r = ring_new(4096, NULL);
	assert_int_equal(ring_put(r, at(0), 10), 0);
	ring_end(r);
	assert_int_equal(ring_get(r, buf, 4), 0);
	assert_int_equal(ring_get(r, buf + 4, 6), 0);
	check(buf, 0, 10);
	assert_null(ring_rspan(r, &n));
	assert_null(ring_rspan(r, &n));	/* and stays over */
	assert_int_equal(ring_get(r, buf, 1), -1);
	ring_free(r);
}

/* ---- the consumer stops ---------------------------------------------- */

struct stuck {
	struct ring *r;
	int spans;
	atomic_ullong written;	/* bytes accepted before the stop */
	atomic_int done;
	int put_after, span_after_null;
};

/* writes until refused, then asks once more each way */
static void *fill(void *arg)
{
	struct stuck *st = arg;
	size_t n;

	for (;;) {
		if (st->spans) {
			char *p = ring_wspan(st->r, &n);
			if (!p)
				break;
			memset(p, 'x', n);
			ring_wrote(st->r, n);
			atomic_fetch_add(&st->written, n);
		} else {
			if (ring_put(st->r, at(0), 1000))
				break;
			atomic_fetch_add(&st->written, 1000);
		}
	}
	st->put_after = ring_put(st->r, at(0), 1);
	st->span_after_null = ring_wspan(st->r, &n) == NULL;
	atomic_store(&st->done, 1);
	return NULL;
}

static void stop(int spans)
{
	struct stuck st = { .r = ring_new(4096, NULL), .spans = spans };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, fill, &st), 0);
	sleep_ms(200);
	/* blocked on the full ring, not writing over unread bytes */
	assert_false(atomic_load(&st.done));
	assert_true(atomic_load(&st.written) <= 4096);
	ring_stop(st.r);
	assert_int_equal(join_within(t, 2), 0);
	assert_true(atomic_load(&st.done));
	assert_int_equal(st.put_after, -1);
	assert_true(st.span_after_null);
	ring_free(st.r);
}

static void test_stop_put(void **state)
{
	(void)state;
	stop(0);
	/* refused with room to spare too, not only when it would block */
	struct ring *r = ring_new(4096, NULL);
	size_t n;
	ring_stop(r);
	assert_int_equal(ring_put(r, at(0), 1), -1);
	assert_null(ring_wspan(r, &n));
	ring_free(r);
}

static void test_stop_wspan(void **state)
{
	(void)state;
	stop(1);
}

/* ---- a waiting consumer ---------------------------------------------- */

static int idles;	/* called in the consumer's thread only */

static void count_idle(void)
{
	idles++;
}

struct late {
	struct ring *r;
	long delay_ms;		/* before the bytes */
	long hold_ms;		/* after them, before ring_end */
	atomic_int got;		/* the consumer has them: end early */
	double wrote_at;
	int rc;
	int flush;		/* ring_flush() after the bytes */
};

/* 100 bytes after delay_ms, then ring_end after hold_ms or once got */
static void *late_put(void *arg)
{
	struct late *l = arg;

	sleep_ms(l->delay_ms);
	l->wrote_at = now();
	l->rc = ring_put(l->r, at(0), 100);
	if (l->flush)
		ring_flush(l->r);
	for (long ms = 0; ms < l->hold_ms && !atomic_load(&l->got); ms += 10)
		sleep_ms(10);
	ring_end(l->r);
	return NULL;
}

static pthread_t late_start(struct late *l)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, late_put, l), 0);
	return t;
}

/* the producer's 100 bytes, then its end: when the bytes came */
static double late_take(struct late *l, pthread_t t)
{
	unsigned char buf[100];

	int rc = ring_get(l->r, buf, 100);
	double got_at = now();
	atomic_store(&l->got, 1);
	assert_int_equal(rc, 0);
	check(buf, 0, 100);
	assert_int_equal(join_within(t, 3), 0);
	return got_at;
}

/* nothing after the end */
static void late_done(struct late *l)
{
	size_t n;

	assert_null(ring_rspan(l->r, &n));
	ring_free(l->r);
}

/* rspan on an empty ring waits for the producer, calling idle each 0.1 s */
static void wait_for_late(void (*idle)(void))
{
	struct late l = { .r = ring_new(4096, idle), .delay_ms = 350 };
	unsigned char buf[100];
	pthread_t t;
	size_t n;

	idles = 0;
	assert_int_equal(pthread_create(&t, NULL, late_put, &l), 0);
	assert_int_equal(ring_get(l.r, buf, 100), 0);
	check(buf, 0, 100);
	if (idle) {
		assert_true(idles >= 2);
		assert_true(idles <= 10);	/* every 0.1 s, not in a spin */
	}
	assert_null(ring_rspan(l.r, &n));
	assert_int_equal(join_within(t, 2), 0);
	assert_int_equal(l.rc, 0);
	ring_free(l.r);
}

static void test_idle(void **state)
{
	(void)state;
	wait_for_late(count_idle);
}

static void test_idle_null(void **state)
{
	(void)state;
	wait_for_late(NULL);
}

/* far less than a batch, and no ring_end for 2 s: a consumer already
 * waiting still gets the bytes, woken by them (ring.h; how soon:
 * test_waiter_woken_at_once) */
static void test_visible_to_waiter(void **state)
{
	struct late l = { .r = ring_new(1 << 20, NULL), .delay_ms = 100, .hold_ms = 2000 };

	(void)state;
	double got_at = late_take(&l, late_start(&l));
	assert_true(got_at - l.wrote_at < 1.0);	/* not at the ring_end, 2 s on */
	late_done(&l);
}

/* far less than a batch, written while no one waits, then flushed: a
 * consumer that comes to wait later gets them at once (without the flush,
 * only at the ring_end 2 s on) */
static void test_flush(void **state)
{
	struct late l = { .r = ring_new(1 << 20, NULL), .delay_ms = 0, .hold_ms = 2000, .flush = 1 };

	(void)state;
	pthread_t t = late_start(&l);
	sleep_ms(200);		/* the producer wrote meanwhile */
	double asked_at = now();
	double got_at = late_take(&l, t);
	assert_true(l.wrote_at < asked_at);
	assert_true(got_at - asked_at < 1.0);
	late_done(&l);
}

/* ---- wake-ups ---------------------------------------------------------- */

/* ring_ready() says what can be read without waiting; a consumer asleep
 * on an empty ring is woken by a flush of 100 bytes at once, not at its
 * next look 0.1 s after it began to wait (the bytes come 30 ms into it) */
static void test_waiter_woken_at_once(void **state)
{
	(void)state;
	for (int round = 0; round < 3; round++) {
		struct late l = { .r = ring_new(1 << 20, NULL), .delay_ms = 30, .hold_ms = 2000, .flush = 1 };

		assert_int_equal(ring_ready(l.r), 0);
		double got_at = late_take(&l, late_start(&l));
		print_message("# round %d: the bytes came %.1f ms after the flush\n", round,
			      (got_at - l.wrote_at) * 1e3);
		assert_true(got_at - l.wrote_at < 0.035);
		assert_int_equal(ring_ready(l.r), 0);
		late_done(&l);
	}
}

/* a producer asleep on a full ring is woken once a quarter of it is free,
 * not for each small read: a consumer reading 1 KiB at a time, slowly,
 * and a producer that writes whatever span it gets; 4 MiB through a 64 KiB
 * ring take some 2 spans per quarter (more than 1000 when every read woke
 * the producer) */
struct filler {
	struct ring *r;
	uint64_t total;
	unsigned long calls;
};

static void *fill_all(void *arg)
{
	struct filler *f = arg;
	uint64_t pos = 0;

	while (pos < f->total) {
		size_t n;
		char *d = ring_wspan(f->r, &n);
		if (!d)
			break;
		if (n > f->total - pos)
			n = (size_t)(f->total - pos);
		memcpy(d, at(pos), n);
		ring_wrote(f->r, n);
		pos += n;
		f->calls++;
	}
	ring_end(f->r);
	return NULL;
}

static void test_producer_woken_for_a_quarter(void **state)
{
	struct filler f = { ring_new(64u << 10, NULL), 4u << 20, 0 };
	unsigned char buf[1024];
	pthread_t th;
	uint64_t pos = 0;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, fill_all, &f), 0);
	for (;;) {
		double t0 = now();
		if (ring_get(f.r, buf, sizeof(buf)) < 0)
			break;
		check(buf, pos, sizeof(buf));
		pos += sizeof(buf);
		while (now() - t0 < 20e-6)
			;	/* a consumer slower than the producer */
	}
	assert_int_equal(join_within(th, 10), 0);
	assert_int_equal(pos, f.total);
	print_message("# 4 MiB through a 64 KiB ring in %lu spans\n", f.calls);
	assert_true(f.calls <= 4 * 64 * 2 + 8);
	ring_free(f.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_thread_wraps, arm, disarm),
		cmocka_unit_test_setup_teardown(test_stream_spans, arm, disarm),
		cmocka_unit_test_setup_teardown(test_stream_put_get, arm, disarm),
		cmocka_unit_test_setup_teardown(test_end, arm, disarm),
		cmocka_unit_test_setup_teardown(test_stop_put, arm, disarm),
		cmocka_unit_test_setup_teardown(test_stop_wspan, arm, disarm),
		cmocka_unit_test_setup_teardown(test_idle, arm, disarm),
		cmocka_unit_test_setup_teardown(test_idle_null, arm, disarm),
		cmocka_unit_test_setup_teardown(test_visible_to_waiter, arm, disarm),
		cmocka_unit_test_setup_teardown(test_flush, arm, disarm),
		cmocka_unit_test_setup_teardown(test_waiter_woken_at_once, arm, disarm),
		cmocka_unit_test_setup_teardown(test_producer_woken_for_a_quarter, arm, disarm),
	};

	make_pattern();
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(pat);
	return rc;
}
