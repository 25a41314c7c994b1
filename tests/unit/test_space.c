/* test_space.c - unit tests of common/space.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../../common/space.h"
#include "../../common/util.h"

#define MiB (1ull << 20)

static uint64_t round512(uint64_t n) { return (n + 511) / 512 * 512; }

struct tmp {
	char dir[64];
	int fd;
	int mounted;
};

static int setup(void **state)
{
	struct tmp *t = xcalloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/zdt-test-space-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = t;
	return t->fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[128];

	close(t->fd);
	if (t->mounted)
		umount2(t->dir, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

/* ---- space_estimate -------------------------------------------------- */

static void test_estimate_synthetic(void **state)
{
	(void)state;
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	uint64_t base = space_estimate(&st, 10);
	assert_true(base >= 512);	/* at least a tar header */

	/* data rounded up to 512-byte blocks, on top of the same overhead */
	static const uint64_t sizes[] = { 1, 511, 512, 513, 1000, 4096, 24000, 1ull << 30, 5ull << 40 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		st.st_size = (off_t)sizes[i];
		st.st_blocks = (blkcnt_t)((sizes[i] + 4095) / 4096 * 8);	/* fully allocated */
		uint64_t e = space_estimate(&st, 10);
		if (e - base != round512(sizes[i]))
			fail_msg("size %llu: estimate %llu = overhead %llu + %llu, expected + %llu",
				 (unsigned long long)sizes[i], (unsigned long long)e,
				 (unsigned long long)base, (unsigned long long)(e - base),
				 (unsigned long long)round512(sizes[i]));
	}

	/* a longer path costs more (headers and the manifest line) */
	st.st_size = 0;
	st.st_blocks = 0;
	assert_true(space_estimate(&st, 1000) > space_estimate(&st, 10));
	assert_true(space_estimate(&st, 1000) >= base + 990);

	/* sparse: 1 TiB with 8 KiB allocated is estimated from what is allocated */
	st.st_size = (off_t)(1ull << 40);
	st.st_blocks = 16;
	uint64_t e = space_estimate(&st, 10);
	assert_true(e < 1ull << 20);
	assert_true(e >= base + 16 * 512);

	/* folders, links and devices carry no data whatever their st_size */
	static const mode_t modes[] = { S_IFDIR | 0755, S_IFLNK | 0777, S_IFIFO | 0600, S_IFCHR | 0600 };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		memset(&st, 0, sizeof(st));
		st.st_mode = modes[i];
		uint64_t e0 = space_estimate(&st, 10);
		st.st_size = 1ll << 40;
		st.st_blocks = 1ll << 31;
		assert_int_equal(space_estimate(&st, 10), e0);
		assert_true(e0 >= 512);
		assert_true(e0 <= base);
	}
}

static void test_estimate_real_files(void **state)
{
	struct tmp *t = *state;
	struct stat st, empty;
	char buf[10000];

	memset(buf, 'x', sizeof(buf));
	int fd = openat(t->fd, "empty", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &empty), 0);
	close(fd);
	uint64_t base = space_estimate(&empty, 5);

	fd = openat(t->fd, "plain", O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, buf, 10000), 10000);
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	assert_true(space_estimate(&st, 5) >= round512(10000));
	assert_int_equal(space_estimate(&st, 5) - base, round512(10000));

	/* sparse: 256 MiB with 4 KiB of data */
	fd = openat(t->fd, "sparse", O_WRONLY | O_CREAT, 0644);
	assert_int_equal(pwrite(fd, buf, 4096, 100 * MiB), 4096);
	assert_int_equal(ftruncate(fd, (off_t)(256 * MiB)), 0);
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	if ((uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size)
		skip();	/* this file system does not do holes */
	uint64_t e = space_estimate(&st, 6);
	assert_true(e < (uint64_t)st.st_size);
	assert_true(e < 1 * MiB);
	assert_true(e >= base + 4096);

	/* a folder: no data counted, st_size (4096 on ext4) ignored */
	assert_int_equal(fstat(t->fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_true(space_estimate(&st, 5) <= base);
}

/* ---- space_check ----------------------------------------------------- */

static void test_check_explicit_reserve(void **state)
{
	struct tmp *t = *state;
	struct space sp;
	struct statvfs a, b;

	assert_int_equal(fstatvfs(t->fd, &a), 0);
	memset(&sp, 0xa5, sizeof(sp));
	int rc = space_check(t->fd, 1000, 12345, &sp);
	assert_int_equal(fstatvfs(t->fd, &b), 0);
	assert_int_equal(sp.needed, 1000);
	assert_int_equal(sp.reserve, 12345);
	assert_true(sp.total == (uint64_t)a.f_blocks * a.f_frsize);
	uint64_t lo = (uint64_t)a.f_bavail * a.f_frsize, hi = (uint64_t)b.f_bavail * b.f_frsize;
	if (lo > hi) {
		uint64_t x = lo;
		lo = hi;
		hi = x;
	}
	/* avail as statvfs gives it to unprivileged users: f_bavail, not f_bfree */
	assert_true(sp.avail >= lo && sp.avail <= hi);
	assert_int_equal(rc, 1000 + 12345 <= sp.avail);
	assert_int_equal(rc, 1);

	/* far more than there is */
	assert_int_equal(space_check(t->fd, sp.total + 1, 0, &sp), 0);
	assert_int_equal(space_check(t->fd, 0, sp.total + 1, &sp), 0);
	assert_int_equal(space_check(t->fd, 0, 0, &sp), 1);
	/* the verdict always agrees with the figures it reports */
	for (int i = 0; i < 20; i++) {
		uint64_t need = sp.avail - 4096 + (uint64_t)i * 512;
		rc = space_check(t->fd, need, 4096, &sp);
		assert_int_equal(rc, need + 4096 <= sp.avail);
	}
}

static void test_check_default_reserve(void **state)
{
	struct tmp *t = *state;
	struct space sp;
	struct statvfs vf;

	assert_int_equal(fstatvfs(t->fd, &vf), 0);
	uint64_t total = (uint64_t)vf.f_blocks * vf.f_frsize;
	uint64_t want = total / 100 > SPACE_MIN_RESERVE ? total / 100 : SPACE_MIN_RESERVE;

	assert_true(space_check(t->fd, 0, SPACE_DEFAULT_RESERVE, &sp) >= 0);
	assert_true(sp.total == total);
	assert_true(sp.reserve == want);
	assert_true(sp.reserve != SPACE_DEFAULT_RESERVE);
	assert_true(sp.reserve >= SPACE_MIN_RESERVE);
	assert_int_equal(space_check(t->fd, 0, SPACE_DEFAULT_RESERVE, &sp), sp.reserve <= sp.avail);
}

/* A small file system of our own, where the 64 MiB floor applies and the
 * free space does not move under the test. */
static void test_check_small_fs(void **state)
{
	struct tmp *t = *state;
	struct space sp;

	if (mount("tmpfs", t->dir, "tmpfs", 0, "size=16m") < 0) {
		print_message("  cannot mount a tmpfs (%s): skipped\n", strerror(errno));
		skip();
	}
	t->mounted = 1;
	int fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);

	/* default reserve: 1% of 16 MiB is below the floor, so 64 MiB */
	assert_int_equal(space_check(fd, 0, SPACE_DEFAULT_RESERVE, &sp), 0);
	assert_true(sp.reserve == SPACE_MIN_RESERVE);
	assert_true(sp.total == 16 * MiB);
	assert_true(sp.avail == 16 * MiB);

	/* exact boundary with an explicit reserve */
	assert_int_equal(space_check(fd, 16 * MiB - 4096, 4096, &sp), 1);
	assert_int_equal(space_check(fd, 16 * MiB - 4095, 4096, &sp), 0);
	assert_int_equal(space_check(fd, 16 * MiB, 0, &sp), 1);
	assert_int_equal(space_check(fd, 16 * MiB + 1, 0, &sp), 0);
	assert_int_equal(space_check(fd, 0, 16 * MiB + 1, &sp), 0);
	close(fd);
}

/* needed + reserve beyond 2^64 must not wrap around into "fits" */
static void test_check_no_overflow(void **state)
{
	struct tmp *t = *state;
	struct space sp;

	assert_int_equal(space_check(t->fd, UINT64_MAX, 0, &sp), 0);
	assert_int_equal(space_check(t->fd, 0, UINT64_MAX - 1, &sp), 0);
	int rc1 = space_check(t->fd, 2, UINT64_MAX - 1, &sp);
	int rc2 = space_check(t->fd, UINT64_MAX - 10, 64 * MiB, &sp);
	int rc3 = space_check(t->fd, UINT64_MAX - 10, SPACE_DEFAULT_RESERVE, &sp);
	if (rc1 || rc2 || rc3)
		fail_msg("space_check says a need of ~2^64 bytes fits: "
			 "(2, 2^64-2) -> %d, (2^64-11, 64 MiB) -> %d, (2^64-11, default) -> %d",
			 rc1, rc2, rc3);
}

static void test_check_bad_fd(void **state)
{
	(void)state;
	struct space sp;

	assert_int_equal(space_check(-1, 0, 0, &sp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_estimate_synthetic),
		cmocka_unit_test_setup_teardown(test_estimate_real_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_explicit_reserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_default_reserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_small_fs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_no_overflow, setup, teardown),
		cmocka_unit_test(test_check_bad_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
