/* test_wpool.c - unit tests of common/wpool.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/fsops.h"
#include "../../common/util.h"
#include "../../common/wpool.h"

struct tmp {
	char dir[64];
	int fd;
};

static int setup(void **state)
{
	struct tmp *t = xcalloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/zdt-test-wpool-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = t;
	umask(0);
	return t->fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[128];

	close(t->fd);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	umask(022);
	return 0;
}

static int mkdir_open(int dfd, const char *name)
{
	assert_int_equal(mkdirat(dfd, name, 0700), 0);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void put(struct wpool *p, int q, int dfd, const char *name, const char *rel, size_t n, char fill,
		const struct wmeta *m)
{
	char *d = wpool_file(p, q, dfd, name, rel, n, m);
	assert_non_null(d);
	memset(d, fill, n);
	wpool_submit(p, q);
}

/* many files in two folders on two queues, more data than an arena holds:
 * contents, modes, mtimes, and each folder's mtime set after its files */
static void test_files_and_folders(void **state)
{
	struct tmp *t = *state;
	struct wpool *p = wpool_start(2);
	struct wmeta fm = { .mode = 0640, .mtime = { 1000000000, 123456789 } };
	struct wmeta dm = { .mode = 0751, .mtime = { 1100000000, 5 } };
	char name[32], rel[64];

	assert_non_null(p);
	assert_int_equal(wpool_queues(p), 2);
	int a = mkdir_open(t->fd, "a"), b = mkdir_open(t->fd, "b");
	int qa = wpool_pick(p), qb = wpool_pick(p);
	assert_int_not_equal(qa, qb);
	for (int i = 0; i < 300; i++) {
		size_t n = i % 50 == 1 ? WPOOL_FILE_MAX : (size_t)(i % 7) * 9000;
		snprintf(name, sizeof(name), "f%03d", i);
		snprintf(rel, sizeof(rel), "a/f%03d", i);
		put(p, qa, a, name, rel, n, (char)('a' + i % 26), &fm);
		snprintf(rel, sizeof(rel), "b/f%03d", i);
		put(p, qb, b, name, rel, n, (char)('A' + i % 26), &fm);
	}
	assert_int_equal(wpool_dir(p, qa, a, "a", &dm), 0);
	assert_int_equal(wpool_dir(p, qb, b, "b", &dm), 0);
	assert_int_equal(wpool_drain(p), 0);
	/* the folders' descriptors are the pool's: closed */
	assert_int_equal(fcntl(a, F_GETFD), -1);
	assert_int_equal(fcntl(b, F_GETFD), -1);
	for (int i = 0; i < 300; i++) {
		size_t n = i % 50 == 1 ? WPOOL_FILE_MAX : (size_t)(i % 7) * 9000;
		for (int k = 0; k < 2; k++) {
			struct stat st;
			snprintf(rel, sizeof(rel), "%s/f%03d", k ? "b" : "a", i);
			assert_int_equal(fstatat(t->fd, rel, &st, AT_SYMLINK_NOFOLLOW), 0);
			assert_int_equal(st.st_size, (off_t)n);
			assert_int_equal(st.st_mode & 07777, 0640);
			assert_int_equal(st.st_mtim.tv_sec, 1000000000);
			assert_int_equal(st.st_mtim.tv_nsec, 123456789);
			int fd = openat(t->fd, rel, O_RDONLY | O_CLOEXEC);
			assert_true(fd >= 0);
			char *buf = xmalloc(n + 1);
			assert_int_equal(read(fd, buf, n + 1), (ssize_t)n);
			for (size_t j = 0; j < n; j++)
				if (buf[j] != (char)((k ? 'A' : 'a') + i % 26))
					fail_msg("%s: byte %zu", rel, j);
			free(buf);
			close(fd);
		}
	}
	for (int k = 0; k < 2; k++) {
		struct stat st;
		assert_int_equal(fstatat(t->fd, k ? "b" : "a", &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(st.st_mode & 07777, 0751);
		assert_int_equal(st.st_mtim.tv_sec, 1100000000);
		assert_int_equal(st.st_mtim.tv_nsec, 5);
	}
	wpool_stop(p);
}

/* setuid is kept only with WM_CHMOD (files are created with mode & 0777) */
static void test_special_bits(void **state)
{
	struct tmp *t = *state;
	struct wpool *p = wpool_start(1);
	struct wmeta m = { .mode = 04755, .mtime = { 1, 0 }, .flags = WM_CHMOD };
	struct stat st;

	put(p, 0, t->fd, "suid", "suid", 10, 'x', &m);
	m.flags = 0;
	put(p, 0, t->fd, "plain", "plain", 10, 'x', &m);
	assert_int_equal(wpool_drain(p), 0);
	assert_int_equal(fstatat(t->fd, "suid", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(fstatat(t->fd, "plain", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	wpool_stop(p);
}

/* a failure: kept with its errno, what and path; the queue's later jobs
 * dropped (their folders closed); new work refused */
static void test_failure(void **state)
{
	struct tmp *t = *state;
	struct wpool *p = wpool_start(1);
	struct wmeta m = { .mode = 0644, .mtime = { 1, 0 } };
	int err = 0;
	const char *what = NULL, *rel = NULL;

	assert_int_equal(wpool_failed(p, &err, &what, &rel), 0);
	int d = mkdir_open(t->fd, "d");
	assert_int_equal(mkdirat(d, "taken", 0700), 0);	/* O_EXCL fails there */
	put(p, 0, d, "taken", "d/taken", 5, 'x', &m);
	/* refused, or taken and dropped, depending on when the worker failed */
	char *late = wpool_file(p, 0, d, "after", "d/after", 5, &m);
	if (late) {
		memset(late, 'x', 5);
		wpool_submit(p, 0);
	}
	int e = mkdir_open(t->fd, "e");
	(void)wpool_dir(p, 0, e, "e", &m);
	assert_int_equal(wpool_drain(p), -1);
	assert_int_equal(wpool_failed(p, &err, &what, &rel), 1);
	assert_int_equal(err, EEXIST);
	assert_string_equal(what, "create");
	assert_string_equal(rel, "d/taken");
	assert_int_equal(fcntl(e, F_GETFD), -1);	/* dropped or refused: closed */
	assert_int_equal(faccessat(d, "after", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_null(wpool_file(p, 0, d, "later", "d/later", 1, &m));
	int f = mkdir_open(t->fd, "f");
	assert_int_equal(wpool_dir(p, 0, f, "f", &m), -1);
	assert_int_equal(fcntl(f, F_GETFD), -1);
	wpool_stop(p);
	close(d);
}

/* RLIMIT_FSIZE lowered to cur (a write past it fails, EFBIG), the old
 * limit kept in *old; before the work is submitted */
static void limit_fsize(rlim_t cur, struct rlimit *old)
{
	struct rlimit lim;

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, old), 0);
	lim = *old;
	lim.rlim_cur = cur;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

/* the pool drained, the limit put back: the failure must be the write of
 * rel, and rel gone */
static void expect_efbig(struct tmp *t, struct wpool *p, const struct rlimit *old, const char *rel)
{
	int err = 0;
	const char *what = NULL, *frel = NULL;
	int rc = wpool_drain(p);

	assert_int_equal(setrlimit(RLIMIT_FSIZE, old), 0);
	assert_int_equal(rc, -1);
	assert_int_equal(wpool_failed(p, &err, &what, &frel), 1);
	assert_int_equal(err, EFBIG);
	assert_string_equal(what, "write");
	assert_string_equal(frel, rel);
	assert_int_equal(faccessat(t->fd, rel, F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

/* a write that fails (EFBIG past RLIMIT_FSIZE) leaves no half-written file */
static void test_write_failure_removes(void **state)
{
	struct tmp *t = *state;
	struct wpool *p = wpool_start(1);
	struct wmeta m = { .mode = 0644, .mtime = { 1, 0 } };
	struct rlimit old;

	limit_fsize(100, &old);
	put(p, 0, t->fd, "big", "big", 1000, 'x', &m);
	expect_efbig(t, p, &old, "big");
	wpool_stop(p);
}

/* a folder descriptor that is not a folder: the create fails, ENOTDIR */
static void test_bad_folder(void **state)
{
	struct tmp *t = *state;
	struct wpool *p = wpool_start(1);
	struct wmeta m = { .mode = 0644, .mtime = { 1, 0 } };
	int err = 0;
	const char *what = NULL, *rel = NULL;
	int notdir = openat(t->fd, "plainfile", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(notdir >= 0);
	put(p, 0, notdir, "x", "plainfile/x", 3, 'x', &m);
	assert_int_equal(wpool_drain(p), -1);
	assert_int_equal(wpool_failed(p, &err, &what, &rel), 1);
	assert_int_equal(err, ENOTDIR);
	assert_string_equal(what, "create");
	assert_string_equal(rel, "plainfile/x");
	wpool_stop(p);
	close(notdir);
}

/* stopped with work queued: it is dropped, folder descriptors closed */
static void test_stop_drops(void **state)
{
	struct tmp *t = *state;
	struct wpool *p = wpool_start(2);
	struct wmeta m = { .mode = 0700, .mtime = { 1, 0 } };
	int fds[8];

	for (int i = 0; i < 8; i++) {
		char n[8];
		snprintf(n, sizeof(n), "d%d", i);
		fds[i] = mkdir_open(t->fd, n);
		assert_int_equal(wpool_dir(p, i % 2, fds[i], n, &m), 0);
	}
	wpool_stop(p);
	for (int i = 0; i < 8; i++)
		assert_int_equal(fcntl(fds[i], F_GETFD), -1);
	assert_null(wpool_start(0));
	wpool_stop(NULL);
}

/* a big file in pieces through the pool; fill: byte i is fill + i % 251 */
static void put_parts(struct wpool *p, int q, int dfd, const char *name, const char *rel, uint64_t total,
		      unsigned char fill, const struct wmeta *m, int last)
{
	for (uint64_t off = 0; off < total; off += WPOOL_PART) {
		size_t n = total - off < WPOOL_PART ? (size_t)(total - off) : WPOOL_PART;
		if (off + n == total && !last)
			return;
		unsigned char *d = (unsigned char *)wpool_part(p, q, dfd, name, rel, total, off, n, m);
		assert_non_null(d);
		assert_int_equal((uintptr_t)d % 4096, 0);
		for (size_t i = 0; i < n; i++)
			d[i] = (unsigned char)(fill + (off + i) % 251);
		wpool_submit(p, q);
	}
}

static void check_parts(int dfd, const char *rel, uint64_t total, unsigned char fill)
{
	int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	unsigned char *buf = xmalloc(total + 1);
	assert_int_equal(pread(fd, buf, total + 1, 0), (ssize_t)total);
	for (uint64_t i = 0; i < total; i++)
		if (buf[i] != (unsigned char)(fill + i % 251))
			fail_msg("%s: byte %llu", rel, (unsigned long long)i);
	free(buf);
	close(fd);
}

/* pages of the file's bytes [off, off + n) in the page cache (not from 0:
 * valgrind reads the start of a file mapped, looking for an ELF header) */
static size_t cached_pages(int dfd, const char *rel, off_t off, size_t n)
{
	int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	void *map = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, off);
	assert_true(map != MAP_FAILED);
	long pg = sysconf(_SC_PAGESIZE);
	size_t np = (n + (size_t)pg - 1) / (size_t)pg, c = 0;
	unsigned char *v = xmalloc(np);
	assert_int_equal(mincore(map, n, v), 0);
	for (size_t i = 0; i < np; i++)
		c += v[i] & 1;
	free(v);
	munmap(map, n);
	close(fd);
	return c;
}

/* whether the file system in dfd takes O_DIRECT */
static int takes_direct(int dfd)
{
	int fd = openat(dfd, "probe", O_WRONLY | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0600);

	if (fd < 0)
		return 0;
	close(fd);
	unlinkat(dfd, "probe", 0);
	return 1;
}

/* a big file written by the pool: its size, mode, mtime (1200000000.7),
 * whole blocks not in the page cache when direct, the check_parts bytes */
static void check_big(int dfd, const char *rel, uint64_t total, mode_t mode, unsigned char fill, int direct)
{
	struct stat st;

	assert_int_equal(fstatat(dfd, rel, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_size, (off_t)total);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_mtim.tv_sec, 1200000000);
	assert_int_equal(st.st_mtim.tv_nsec, 7);
	if (direct)	/* before anything read it back */
		assert_int_equal(cached_pages(dfd, rel, WPOOL_PART / 2, WPOOL_PART / 2), 0);
	check_parts(dfd, rel, total, fill);
}

/* big files in pieces between small files on one queue, and beside them on
 * another: contents, modes, mtimes, the folder's mtime set after them; the
 * whole pieces went to the disk, not the page cache, where the file system
 * takes direct I/O */
static void test_parts(void **state)
{
	struct tmp *t = *state;
	struct wpool *p = wpool_start(2);
	struct wmeta fm = { .mode = 0604, .mtime = { 1200000000, 7 }, .flags = WM_SFR };
	struct wmeta dm = { .mode = 0750, .mtime = { 1300000000, 9 } };
	const uint64_t sizes[] = { 3 * (uint64_t)WPOOL_PART, 2 * (uint64_t)WPOOL_PART + 12345, WPOOL_PART + 1 };
	char name[32], rel[64];

	assert_non_null(p);
	int a = mkdir_open(t->fd, "a"), b = mkdir_open(t->fd, "b");
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "big%d", i);
		snprintf(rel, sizeof(rel), "a/big%d", i);
		put_parts(p, 0, a, name, rel, sizes[i], (unsigned char)i, &fm, 1);
		snprintf(name, sizeof(name), "small%d", i);
		snprintf(rel, sizeof(rel), "a/small%d", i);
		put(p, 0, a, name, rel, 100, 's', &fm);
		snprintf(rel, sizeof(rel), "b/small%d", i);
		put(p, 1, b, name, rel, 5000, 't', &fm);
	}
	assert_int_equal(wpool_dir(p, 0, a, "a", &dm), 0);
	assert_int_equal(wpool_dir(p, 1, b, "b", &dm), 0);
	assert_int_equal(wpool_drain(p), 0);
	wpool_stop(p);
	int direct = takes_direct(t->fd);
	for (int i = 0; i < 3; i++) {
		snprintf(rel, sizeof(rel), "a/big%d", i);
		check_big(t->fd, rel, sizes[i], 0604, (unsigned char)i, direct);
	}
	assert_int_equal(fstatat(t->fd, "a/small2", &(struct stat){ 0 }, 0), 0);
	struct stat st;
	assert_int_equal(fstatat(t->fd, "a", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1300000000);
	assert_int_equal(st.st_mtim.tv_nsec, 9);
}

/* a file whose last piece never comes, stopped: removed; one whose write
 * fails (EFBIG past RLIMIT_FSIZE): removed, the failure kept */
static void test_parts_unfinished(void **state)
{
	struct tmp *t = *state;
	struct wmeta m = { .mode = 0644, .mtime = { 1, 0 } };
	struct wpool *p = wpool_start(1);
	struct rlimit old;

	put_parts(p, 0, t->fd, "cut", "cut", 3 * (uint64_t)WPOOL_PART, 1, &m, 0);
	assert_int_equal(wpool_drain(p), 0);	/* two pieces written, the file open */
	assert_int_equal(faccessat(t->fd, "cut", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	wpool_stop(p);
	assert_int_equal(faccessat(t->fd, "cut", F_OK, AT_SYMLINK_NOFOLLOW), -1);

	p = wpool_start(1);
	limit_fsize(WPOOL_PART + 4096, &old);
	put_parts(p, 0, t->fd, "big", "big", 2 * (uint64_t)WPOOL_PART, 2, &m, 1);
	expect_efbig(t, p, &old, "big");
	assert_null(wpool_part(p, 0, t->fd, "more", "more", 2 * (uint64_t)WPOOL_PART, 0, WPOOL_PART, &m));
	wpool_stop(p);
}

/* test_room_mid_batch: the worker is held before its first job until the
 * caller has queued more, so that it takes them as one batch; before the
 * third job it waits (10 s at most) for the caller to have found room for
 * a file that fits only once the second job's bytes are handed back */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int jobs, filled, room, late;
} mid = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0 };

/* waits on cv (mu held) for *flag, seconds at most: the flag */
static int mid_wait_on(pthread_cond_t *cv, pthread_mutex_t *mu, int *flag, int seconds)
{
	struct timespec ts;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	while (!*flag && rc == 0)
		rc = pthread_cond_timedwait(cv, mu, &ts);
	return *flag;
}

static int mid_wait(int *flag, int seconds)
{
	return mid_wait_on(&mid.cv, &mid.mu, flag, seconds);
}

static void mid_hook(int q, const char *rel)
{
	(void)q;
	(void)rel;
	pthread_mutex_lock(&mid.mu);
	int n = mid.jobs++;
	if (n == 0)
		mid_wait(&mid.filled, 30);
	else if (n == 2 && !mid_wait(&mid.room, 10))
		mid.late = 1;
	pthread_mutex_unlock(&mid.mu);
}

/* *flag = 1 under mu, and cv's waiters woken */
static void set_flag(pthread_mutex_t *mu, pthread_cond_t *cv, int *flag)
{
	pthread_mutex_lock(mu);
	*flag = 1;
	pthread_cond_broadcast(cv);
	pthread_mutex_unlock(mu);
}

static void mid_set(int *flag)
{
	set_flag(&mid.mu, &mid.cv, flag);
}

static void test_room_mid_batch(void **state)
{
	struct tmp *t = *state;
	struct wmeta m = { .mode = 0644, .mtime = { 1, 0 } };
	char name[8];

	wpool_test_before_job = mid_hook;
	struct wpool *p = wpool_start(1);
	assert_non_null(p);
	put(p, 0, t->fd, "f0", "f0", WPOOL_FILE_MAX, '0', &m);
	put(p, 0, t->fd, "f1", "f1", WPOOL_FILE_MAX, '1', &m);
	put(p, 0, t->fd, "f2", "f2", WPOOL_FILE_MAX, '2', &m);
	mid_set(&mid.filled);
	put(p, 0, t->fd, "f3", "f3", WPOOL_FILE_MAX, '3', &m);	/* once f0 is done */
	put(p, 0, t->fd, "f4", "f4", WPOOL_FILE_MAX, '4', &m);	/* once f1 is done */
	mid_set(&mid.room);
	assert_int_equal(wpool_drain(p), 0);
	wpool_stop(p);
	wpool_test_before_job = NULL;
	assert_int_equal(mid.late, 0);
	assert_int_equal(mid.jobs, 5);
	for (int i = 0; i < 5; i++) {
		struct stat st;
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(fstatat(t->fd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(st.st_size, (off_t)WPOOL_FILE_MAX);
	}
}

/* test_wait_file: a held job on one queue, held until a helper thread
 * lets it go 200 ms later; wpool_wait_file() of its file returns only once
 * it is written and closed (mtime set), and for a file no queue has it
 * returns at once, while the other queue's job is still held (no drain) */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const char *hold;	/* the job held, by path */
	int go, late;
} wf = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0 };

static void wf_hook(int q, const char *rel)
{
	(void)q;
	pthread_mutex_lock(&wf.mu);
	if (wf.hold && !strcmp(rel, wf.hold) && !mid_wait_on(&wf.cv, &wf.mu, &wf.go, 5))
		wf.late = 1;
	pthread_mutex_unlock(&wf.mu);
}

static void *wf_release(void *arg)
{
	(void)arg;
	usleep(200000);
	set_flag(&wf.mu, &wf.cv, &wf.go);
	return NULL;
}

static void test_wait_file(void **state)
{
	struct tmp *t = *state;
	struct wmeta m = { .mode = 0644, .mtime = { 1234, 5 } };
	struct stat st;
	pthread_t th;

	wpool_test_before_job = wf_hook;
	struct wpool *p = wpool_start(2);
	assert_non_null(p);
	int a = mkdir_open(t->fd, "a"), b = mkdir_open(t->fd, "b");

	/* a file no queue has: at once, though queue 1 is held */
	wf.hold = "b/held";
	wf.go = 0;
	put(p, 1, b, "held", "b/held", 10, 'h', &m);
	assert_int_equal(wpool_wait_file(p, "a/absent"), 0);
	assert_int_equal(fstatat(t->fd, "b/held", &st, AT_SYMLINK_NOFOLLOW), -1);
	set_flag(&wf.mu, &wf.cv, &wf.go);
	assert_int_equal(wpool_drain(p), 0);

	/* a queued file, a piece of a big one before it: after its close */
	wf.hold = "a/target";
	wf.go = 0;
	put_parts(p, 0, a, "big", "a/big", 2 * (uint64_t)WPOOL_PART, 3, &m, 1);
	put(p, 0, a, "target", "a/target", 5000, 't', &m);
	put(p, 1, b, "other", "b/other", 100, 'o', &m);
	assert_int_equal(pthread_create(&th, NULL, wf_release, NULL), 0);
	assert_int_equal(wpool_wait_file(p, "a/target"), 0);
	assert_int_equal(fstatat(t->fd, "a/target", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_size, 5000);
	assert_int_equal(st.st_mtim.tv_sec, 1234);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
	pthread_join(th, NULL);
	assert_int_equal(wpool_dir(p, 0, a, "a", &m), 0);
	assert_int_equal(wpool_dir(p, 1, b, "b", &m), 0);
	assert_int_equal(wpool_drain(p), 0);
	wpool_stop(p);
	wpool_test_before_job = NULL;
	wf.hold = NULL;
	assert_int_equal(wf.late, 0);
}

/* ---- wpool_copy ---- */

#define CP_SKIP 7	/* source bytes before the file's data */

/* a source file: CP_SKIP bytes, then total bytes of the put_parts
 * pattern with fill, then 100 more; its descriptor, the data's hash */
static int copy_src(int dfd, const char *name, uint64_t total, unsigned char fill, XXH128_hash_t *h)
{
	unsigned char *buf = xmalloc(CP_SKIP + total + 100);
	memset(buf, 'j', CP_SKIP + total + 100);
	for (uint64_t i = 0; i < total; i++)
		buf[CP_SKIP + i] = (unsigned char)(fill + i % 251);
	*h = XXH3_128bits(buf + CP_SKIP, total);
	int fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite_all(fd, buf, CP_SKIP + total + 100, 0), 0);
	free(buf);
	return fd;
}

/* big files copied beside small files: created by the call (there before
 * the folder's metadata job, whose mtime stays), then filled, checked,
 * given their metadata; whole blocks around the page cache where the file
 * system takes direct I/O; wait_file waits for a copy */
static void test_copy(void **state)
{
	struct tmp *t = *state;
	wf.hold = "a/big1";	/* held until wf_release() */
	wf.go = 0;
	wf.late = 0;
	wpool_test_before_job = wf_hook;
	struct wpool *p = wpool_start(1);
	struct wmeta fm = { .mode = 0640, .mtime = { 1200000000, 7 } };
	struct wmeta dm = { .mode = 0750, .mtime = { 1300000000, 9 } };
	const uint64_t sizes[] = { 3 * (uint64_t)WPOOL_PART + 777, WPOOL_PART + 1, 5 * (uint64_t)WPOOL_PART };
	XXH128_hash_t h[3];
	int src[3];
	char name[32], rel[64];
	struct stat st;
	pthread_t th;

	assert_non_null(p);
	assert_int_equal(wpool_queues(p), 1);
	int a = mkdir_open(t->fd, "a");
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "src%d", i);
		src[i] = copy_src(t->fd, name, sizes[i], (unsigned char)(i + 1), &h[i]);
		snprintf(name, sizeof(name), "big%d", i);
		snprintf(rel, sizeof(rel), "a/big%d", i);
		assert_int_equal(wpool_copy(p, a, name, rel, src[i], CP_SKIP, sizes[i], h[i], &fm), 0);
		assert_int_equal(fstatat(a, name, &st, AT_SYMLINK_NOFOLLOW), 0);	/* created by the call */
		put(p, 0, a, name + 1, rel, 100, 's', &fm);	/* "ig0": a small file */
	}
	assert_int_equal(pthread_create(&th, NULL, wf_release, NULL), 0);
	assert_int_equal(wpool_wait_file(p, "a/big1"), 0);	/* after the copy */
	pthread_join(th, NULL);
	assert_int_equal(fstatat(t->fd, "a/big1", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_size, (off_t)sizes[1]);
	assert_int_equal(st.st_mtim.tv_sec, 1200000000);
	assert_int_equal(wpool_dir(p, 0, a, "a", &dm), 0);
	assert_int_equal(wpool_drain(p), 0);
	wpool_stop(p);
	wpool_test_before_job = NULL;
	wf.hold = NULL;
	assert_int_equal(wf.late, 0);
	int direct = takes_direct(t->fd);
	for (int i = 0; i < 3; i++) {
		snprintf(rel, sizeof(rel), "a/big%d", i);
		check_big(t->fd, rel, sizes[i], 0640, (unsigned char)(i + 1), direct);
		close(src[i]);
	}
	assert_int_equal(fstatat(t->fd, "a", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1300000000);
	assert_int_equal(st.st_mtim.tv_nsec, 9);
}

/* one copy that fails: the failure kept as what, errno and path, the file
 * removed, later calls refused (-2) */
static void copy_fails(struct tmp *t, int src, uint64_t off, uint64_t size, XXH128_hash_t h, const char *what, int err)
{
	struct wpool *p = wpool_start(1);
	struct wmeta m = { .mode = 0644, .mtime = { 1, 0 } };
	int e = 0;
	const char *w = NULL, *rel = NULL;

	assert_non_null(p);
	assert_int_equal(wpool_copy(p, t->fd, "bad", "bad", src, off, size, h, &m), 0);
	assert_int_equal(wpool_drain(p), -1);
	assert_int_equal(wpool_failed(p, &e, &w, &rel), 1);
	assert_string_equal(w, what);
	assert_int_equal(e, err);
	assert_string_equal(rel, "bad");
	assert_int_equal(fstatat(t->fd, "bad", &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(wpool_copy(p, t->fd, "late", "late", src, off, size, h, &m), -2);
	assert_int_equal(fstatat(t->fd, "late", &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW), -1);
	wpool_stop(p);
}

/* data that differs from its hash, a source that ends early, one that
 * cannot be read: failed, removed; a name that exists: -1, EEXIST */
static void test_copy_failures(void **state)
{
	struct tmp *t = *state;
	const uint64_t total = 2 * (uint64_t)WPOOL_PART + 5;
	XXH128_hash_t h, bad;
	int src = copy_src(t->fd, "src", total, 9, &h);

	bad = h;
	bad.low64 ^= 1;
	copy_fails(t, src, CP_SKIP, total, bad, "check", EBADMSG);
	copy_fails(t, src, CP_SKIP + 200, total, h, "check", EBADMSG);	/* 100 bytes short */
	copy_fails(t, t->fd, 0, total, h, "read", EISDIR);

	struct wpool *p = wpool_start(1);
	struct wmeta m = { .mode = 0644, .mtime = { 1, 0 } };
	assert_non_null(p);
	errno = 0;
	assert_int_equal(wpool_copy(p, t->fd, "src", "src", src, CP_SKIP, total, h, &m), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(wpool_drain(p), 0);
	wpool_stop(p);
	close(src);
}

/* another queue fails while copies wait: they are dropped, their files
 * removed, and the failure kept is the other queue's */
static struct wpool *cs_pool;

static void cs_hook(int q, const char *rel)
{
	(void)rel;
	if (q != 1)	/* the copy queue of a pool of one writer */
		return;
	int e;
	const char *w, *r;
	for (int i = 0; i < 10000 && !wpool_failed(cs_pool, &e, &w, &r); i++)
		usleep(1000);
}

static void test_copy_dropped(void **state)
{
	struct tmp *t = *state;
	struct wmeta m = { .mode = 0644, .mtime = { 1, 0 } };
	XXH128_hash_t h;
	int src = copy_src(t->fd, "src", 3 * (uint64_t)WPOOL_PART, 4, &h);
	int notdir = openat(t->fd, "plainfile", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int err = 0;
	const char *what = NULL, *rel = NULL;

	assert_true(notdir >= 0);
	wpool_test_before_job = cs_hook;
	cs_pool = wpool_start(1);
	assert_non_null(cs_pool);
	assert_int_equal(wpool_copy(cs_pool, t->fd, "c1", "c1", src, CP_SKIP, 3 * (uint64_t)WPOOL_PART, h, &m), 0);
	assert_int_equal(wpool_copy(cs_pool, t->fd, "c2", "c2", src, CP_SKIP, 3 * (uint64_t)WPOOL_PART, h, &m), 0);
	put(cs_pool, 0, notdir, "x", "plainfile/x", 3, 'x', &m);
	assert_int_equal(wpool_drain(cs_pool), -1);
	assert_int_equal(wpool_failed(cs_pool, &err, &what, &rel), 1);
	assert_int_equal(err, ENOTDIR);
	assert_string_equal(rel, "plainfile/x");
	assert_int_equal(fstatat(t->fd, "c1", &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(t->fd, "c2", &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW), -1);
	wpool_stop(cs_pool);
	wpool_test_before_job = NULL;
	close(notdir);
	close(src);
}

/* with two writers, two copy queues (2 and 3) take the files in turn */
static struct {
	pthread_mutex_t mu;
	int q[4];
} ct = { PTHREAD_MUTEX_INITIALIZER, { -1, -1, -1, -1 } };

static void ct_hook(int q, const char *rel)
{
	if (rel[0] != 'c' || rel[1] < '0' || rel[1] > '3')
		return;
	pthread_mutex_lock(&ct.mu);
	ct.q[rel[1] - '0'] = q;
	pthread_mutex_unlock(&ct.mu);
}

static void test_copy_turns(void **state)
{
	struct tmp *t = *state;
	struct wmeta m = { .mode = 0644, .mtime = { 1, 0 } };
	XXH128_hash_t h;
	int src = copy_src(t->fd, "src", WPOOL_PART + 1, 6, &h);

	wpool_test_before_job = ct_hook;
	struct wpool *p = wpool_start(2);
	assert_non_null(p);
	assert_int_equal(wpool_queues(p), 2);
	for (int i = 0; i < 4; i++) {
		char n[4] = { 'c', (char)('0' + i), 0, 0 };
		assert_int_equal(wpool_copy(p, t->fd, n, n, src, CP_SKIP, WPOOL_PART + 1, h, &m), 0);
	}
	assert_int_equal(wpool_drain(p), 0);
	wpool_stop(p);
	wpool_test_before_job = NULL;
	assert_int_equal(ct.q[0], 2);
	assert_int_equal(ct.q[1], 3);
	assert_int_equal(ct.q[2], 2);
	assert_int_equal(ct.q[3], 3);
	for (int i = 0; i < 4; i++) {
		char n[4] = { 'c', (char)('0' + i), 0, 0 };
		check_parts(t->fd, n, WPOOL_PART + 1, 6);
	}
	close(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_files_and_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_failure_removes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parts_unfinished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_room_mid_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_turns, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
