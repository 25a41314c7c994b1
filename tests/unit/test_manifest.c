/* test_manifest.c - unit tests of common/manifest.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../common/manifest.h"

static int sign(int v) { return (v > 0) - (v < 0); }

/* ---- path order and safety ------------------------------------------- */

/* the canonical order, smallest first */
static const char *const ordered[] = {
	".",
	"\x01",
	"-",
	"a",
	"a/b",
	"a/b/c",
	"a/b/c/d",
	"a/b-",
	"a/b.c",
	"a/z",
	"a/z/y",
	"a-b",
	"a-b/a",
	"a.b",
	"a0",
	"aa",
	"b",
	"b/a",
	"b\x7f",
	"caf\xc3\xa9",
	"z",
	"\xff",
	"\xff/\xff",
};
#define NORDERED (sizeof(ordered) / sizeof(ordered[0]))

static void test_path_cmp_pairs(void **state)
{
	(void)state;
	for (size_t i = 0; i < NORDERED; i++) {
		for (size_t j = 0; j < NORDERED; j++) {
			int want = i < j ? -1 : i > j ? 1 : 0;
			int got = sign(path_cmp(ordered[i], ordered[j]));
			if (got != want)
				fail_msg("path_cmp('%s', '%s') sign %d, expected %d",
					 ordered[i], ordered[j], got, want);
		}
	}
	/* the examples of the format */
	assert_true(path_cmp(".", "a") < 0);
	assert_true(path_cmp("a", ".") > 0);
	assert_true(path_cmp("a", "a/b") < 0);
	assert_true(path_cmp("a/b", "a.b") < 0);
	assert_true(path_cmp("a.b", "a0") < 0);
	assert_true(path_cmp("a/z", "a-b") < 0);	/* '/' sorts below '-' */
	assert_true(path_cmp("a/b", "a-b") < 0);
	assert_int_equal(path_cmp(".", "."), 0);
	assert_int_equal(path_cmp("a/b", "a/b"), 0);
}

/*
 * Canonical order is "component by component, bytewise": a name may hold
 * every byte but '/' and NUL, including 0x01, so a path whose first
 * component is "a" comes before any path whose first component is "a\001b".
 */
static void test_path_cmp_byte_01(void **state)
{
	(void)state;
	int r1 = path_cmp("a/b", "a\x01" "b");
	int r2 = path_cmp("a/c", "a\x01" "b");
	int r3 = path_cmp("a\x01" "b", "a/b");

	if (r1 >= 0 || r2 >= 0 || r3 <= 0)
		fail_msg("path_cmp('a/b', 'a\\001b') = %d, path_cmp('a/c', 'a\\001b') = %d, "
			 "path_cmp('a\\001b', 'a/b') = %d; expected <0, <0, >0 "
			 "(components 'a' < 'a\\001b')", r1, r2, r3);
}

static int cmp_ptr(const void *a, const void *b)
{
	return path_cmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_path_cmp_sort_shuffled(void **state)
{
	(void)state;
	const char *v[NORDERED];

	srand(12345);
	for (int round = 0; round < 200; round++) {
		memcpy(v, ordered, sizeof(v));
		for (size_t i = NORDERED - 1; i > 0; i--) {
			size_t k = (size_t)rand() % (i + 1);
			const char *t = v[i];
			v[i] = v[k];
			v[k] = t;
		}
		qsort(v, NORDERED, sizeof(v[0]), cmp_ptr);
		for (size_t i = 0; i < NORDERED; i++)
			if (strcmp(v[i], ordered[i]))
				fail_msg("round %d: position %zu holds '%s', expected '%s'",
					 round, i, v[i], ordered[i]);
	}
	/* parents before children, every path's parent is earlier */
	for (size_t i = 0; i < NORDERED; i++) {
		const char *slash = strrchr(ordered[i], '/');
		if (!slash)
			continue;
		size_t plen = (size_t)(slash - ordered[i]);
		int found = 0;
		for (size_t j = 0; j < i; j++)
			if (strlen(ordered[j]) == plen && !strncmp(ordered[j], ordered[i], plen))
				found = 1;
		if (!found)
			fail_msg("parent of '%s' is not before it", ordered[i]);
	}
}

static void test_path_is_safe(void **state)
{
	(void)state;
	static const char *const good[] = {
		".", "a", "a/b", "..a", "a..", "a/..b", "...", ".a/.b", "a b/c\nd",
		"a/b/c/d/e", "\xff",
	};
	static const char *const bad[] = {
		"", "/", "/a", "a/../b", "..", "./a", "a//b", "a/", "a/.", "a/..",
		"../x", "a/./b", "./", "//", ".//a",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!path_is_safe(good[i]))
			fail_msg("path_is_safe('%s') = 0, expected 1", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (path_is_safe(bad[i]))
			fail_msg("path_is_safe('%s') = 1, expected 0", bad[i]);
}

/* ---- hashes ---------------------------------------------------------- */

static void test_hex(void **state)
{
	(void)state;
	char hex[33];
	XXH128_hash_t h, back;

	/* reference values of xxh128sum */
	hash_to_hex(XXH3_128bits("", 0), hex);
	assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
	hash_to_hex(XXH3_128bits("hello", 5), hex);
	assert_string_equal(hex, "b5e9c1ad071b3e7fc779cfaa5e523818");

	for (int i = 0; i < 1000; i++) {
		char data[16];
		XXH128_canonical_t c;
		snprintf(data, sizeof(data), "x%d", i);
		h = XXH3_128bits(data, strlen(data));
		hash_to_hex(h, hex);
		assert_int_equal(strlen(hex), 32);
		/* agreement with the canonical (big-endian) form */
		XXH128_canonicalFromHash(&c, h);
		for (int k = 0; k < 16; k++) {
			unsigned byte;
			sscanf(hex + 2 * k, "%2x", &byte);
			assert_int_equal(byte, c.digest[k]);
		}
		assert_int_equal(strspn(hex, "0123456789abcdef"), 32);
		assert_int_equal(hex_to_hash(hex, 32, &back), 0);
		assert_true(XXH128_isEqual(h, back));
	}
	h.high64 = 0x0123456789abcdefull;
	h.low64 = 0xfedcba9876543210ull;
	hash_to_hex(h, hex);
	assert_string_equal(hex, "0123456789abcdeffedcba9876543210");

	static const char *const bad[] = {
		"0123456789ABCDEFfedcba9876543210",	/* upper case */
		"0123456789abcdeffedcba987654321g",
		"0123456789abcdeffedcba987654321 ",
		"-123456789abcdeffedcba9876543210",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hex_to_hash(bad[i], 32, &back) != -1)
			fail_msg("hex_to_hash accepted '%s'", bad[i]);
	assert_int_equal(hex_to_hash("0123456789abcdeffedcba9876543210", 31, &back), -1);
	assert_int_equal(hex_to_hash("0123456789abcdeffedcba98765432100", 33, &back), -1);
	assert_int_equal(hex_to_hash("", 0, &back), -1);
}

/* ---- writer and reader ----------------------------------------------- */

static int memfd(void)
{
	int fd = memfd_create("manifest", MFD_CLOEXEC);

	if (fd < 0)
		fail_msg("memfd_create: %s", strerror(errno));
	return fd;
}

static void fd_to_sbuf(int fd, struct sbuf *sb)
{
	char buf[65536];
	ssize_t n;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	sbuf_reset(sb);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sbuf_add(sb, buf, (size_t)n);
	assert_true(n == 0);
}

static int sbuf_to_fd(const char *data, size_t n)
{
	int fd = memfd();

	if (n)
		assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void ent(struct mentry *e, char type, unsigned mode, const char *path, const char *target)
{
	mentry_init(e);
	e->type = type;
	e->mode = mode;
	sbuf_adds(&e->path, path);
	if (target)
		sbuf_adds(&e->target, target);
}

static XXH128_hash_t hash_of(const char *s)
{
	return XXH3_128bits(s, strlen(s));
}

#define NENT 13

static void make_entries(struct mentry *v)
{
	struct mentry *e = v;

	ent(e, M_DIR, 0755, ".", NULL);
	e->mtime_sec = 1719705600;
	e->offset = 1536;
	e++;
	ent(e, M_DIR, 01777, "bin", NULL);
	e->uid = 1;
	e->gid = 2;
	e->mtime_sec = 1;
	e->mtime_nsec = 1;
	e->offset = 2048;
	e++;
	ent(e, M_FILE, 04755, "bin/tool", NULL);
	e->size = 24000;
	e->mtime_sec = 1600000000;
	e->mtime_nsec = 123456789;
	e->has_hash = 1;
	e->hash = hash_of("tool");
	e->offset = 4096;
	e->has_xattr = 1;
	e->xattr = 0x0123456789abcdefull;
	e++;
	ent(e, M_HARDLINK, 04755, "bin/tool-link", "bin/tool");
	e->size = 24000;
	e->mtime_sec = 1600000000;
	e->mtime_nsec = 123456789;
	e->has_hash = 1;
	e->hash = hash_of("tool");
	e++;
	ent(e, M_DIR, 0755, "dev", NULL);
	e->offset = 30000;
	e++;
	ent(e, M_CHR, 0666, "dev/null", NULL);
	e->rdev_major = 1;
	e->rdev_minor = 3;
	e->offset = 31000;
	e++;
	ent(e, M_BLK, 0660, "dev/sda", NULL);
	e->gid = 6;
	e->rdev_major = 259;
	e->rdev_minor = 1048575;
	e++;
	ent(e, M_FIFO, 0620, "dev/zfifo", NULL);
	e->has_xattr = 1;
	e->xattr = 0;
	e++;
	ent(e, M_DIR, 0700, "lib", NULL);
	e++;
	ent(e, M_SYMLINK, 0777, "lib/libar.so", "libar.so.9.1.0");
	e->size = 14;
	e->mtime_sec = 1600000000;
	e->offset = 9216;
	e++;
	ent(e, M_SYMLINK, 0777, "lib/weird link", "../a b\\c\nd -> e");
	e->size = 15;
	e++;
	/* newline, space, backslash and invalid UTF-8; negative mtime */
	ent(e, M_FILE, 0644, "odd name\nwith\\stuff\xff\xfe", NULL);
	e->uid = 4294967295u;
	e->gid = 1000;
	e->size = 0;
	e->mtime_sec = -12345;
	e->mtime_nsec = 999999999;
	e->has_hash = 1;
	e->hash = XXH3_128bits("", 0);
	e->offset = 50000;
	e++;
	ent(e, M_FILE, 0400, "z\xc3\xa9", NULL);
	e->size = 1ull << 40;
	e->mtime_sec = 4133980799LL;
	e->has_hash = 1;
	e->hash = hash_of("big");
	e->offset = 9000000000000LL;
	e->has_xattr = 1;
	e->xattr = UINT64_MAX;
	e++;
	assert_int_equal(e - v, NENT);
}

static char *excl[] = { (char *)"*.log", (char *)"tmp dir/*\n" };

static void make_header(struct mheader *h)
{
	memset(h, 0, sizeof(*h));
	h->component = (char *)"AR";
	h->snapshot = (char *)"20261125T081800Z-01";
	h->created = 1795594680;
	h->source = (char *)"/opt/bmc/AR System";
	h->compress = (char *)"gzip:6";
	h->exclude = excl;
	h->nexclude = 2;
}

/* writes the manifest of v[0..n) into sb; returns the checksum */
static void write_manifest(struct mentry *v, int n, struct sbuf *sb, char checksum[33])
{
	struct mwriter w;
	struct mheader h;
	int fd = memfd();

	make_header(&h);
	assert_int_equal(mwriter_open(&w, fd, &h), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(mwriter_add(&w, &v[i]), 0);
	assert_int_equal(mwriter_finish(&w, checksum), 0);
	mwriter_release(&w);
	fd_to_sbuf(fd, sb);
	close(fd);
}

static void assert_entry_equal(const struct mentry *a, const struct mentry *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->mtime_sec, b->mtime_sec);
	assert_int_equal(a->mtime_nsec, b->mtime_nsec);
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->has_xattr, b->has_xattr);
	if (a->has_xattr)
		assert_true(a->xattr == b->xattr);
	if (a->type == M_CHR || a->type == M_BLK) {
		assert_int_equal(a->rdev_major, b->rdev_major);
		assert_int_equal(a->rdev_minor, b->rdev_minor);
	} else {
		assert_int_equal(a->has_hash, b->has_hash);
		if (a->has_hash)
			assert_true(XXH128_isEqual(a->hash, b->hash));
	}
	assert_int_equal(a->path.len, b->path.len);
	assert_memory_equal(a->path.buf, b->path.buf, a->path.len);
	assert_int_equal(a->target.len, b->target.len);
	if (a->target.len)
		assert_memory_equal(a->target.buf, b->target.buf, a->target.len);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct mentry v[NENT], e;
	struct sbuf text = SBUF_INIT;
	struct mreader r;
	char checksum[33];

	make_entries(v);
	write_manifest(v, NENT, &text, checksum);

	/* the checksum line is XXH3-128 of every byte before it */
	const char *cl = strstr(text.buf, "\nchecksum xxh3-128 ");
	assert_non_null(cl);
	cl++;
	char want[64], hex[33];
	hash_to_hex(XXH3_128bits(text.buf, (size_t)(cl - text.buf)), hex);
	assert_string_equal(hex, checksum);
	snprintf(want, sizeof(want), "checksum xxh3-128 %s\n", checksum);
	assert_string_equal(cl, want);
	assert_int_equal(strncmp(text.buf, "zdt-manifest 1\ncomponent AR\nsnapshot 20261125T081800Z-01\n"
			 "created 2026-11-25T08:18:00Z\nsource /opt/bmc/AR\\040System\n"
			 "compress gzip:6\nexclude *.log\nexclude tmp\\040dir/*\\012\n# ", 164), 0);
	assert_non_null(strstr(text.buf, "\nend entries=13 files=4 bytes=1099511651776\nchecksum "));

	int fd = sbuf_to_fd(text.buf, text.len);
	assert_int_equal(mreader_open(&r, fd), 0);
	assert_string_equal(r.h.component, "AR");
	assert_string_equal(r.h.snapshot, "20261125T081800Z-01");
	assert_int_equal((long long)r.h.created, 1795594680LL);
	assert_string_equal(r.h.source, "/opt/bmc/AR System");
	assert_string_equal(r.h.compress, "gzip:6");
	assert_int_equal(r.h.nexclude, 2);
	assert_string_equal(r.h.exclude[0], "*.log");
	assert_string_equal(r.h.exclude[1], "tmp dir/*\n");

	mentry_init(&e);
	for (int i = 0; i < NENT; i++) {
		int rc = mreader_next(&r, &e);
		if (rc != 1)
			fail_msg("entry %d: mreader_next = %d (%s)", i, rc, r.err);
		assert_entry_equal(&e, &v[i]);
	}
	int rc = mreader_next(&r, &e);
	if (rc != 0)
		fail_msg("end: mreader_next = %d (%s)", rc, r.err);
	assert_int_equal(r.entries, NENT);
	assert_int_equal(r.files, 4);	/* f, h, f, f */
	assert_int_equal(r.bytes, 24000 + (1ull << 40));
	assert_int_equal(mreader_next(&r, &e), 0);	/* stays at the end */
	mreader_release(&r);
	mentry_release(&e);
	close(fd);
	for (int i = 0; i < NENT; i++)
		mentry_release(&v[i]);
	sbuf_free(&text);
}

/*
 * Empty header values (an --exclude '' for instance) are written as "exclude "
 * and must read back as "".  M_PERTURB makes new allocations non-zero so
 * that an unterminated buffer shows.
 */
static void test_roundtrip_empty_header_values(void **state)
{
	(void)state;
	struct mwriter w;
	struct mheader h;
	struct mreader r;
	struct mentry e;
	char checksum[33];
	char *ex[] = { (char *)"", (char *)"x" };
	int fd = memfd();

	make_header(&h);
	h.exclude = ex;
	h.nexclude = 2;
	h.compress = (char *)"";
	assert_int_equal(mwriter_open(&w, fd, &h), 0);
	ent(&e, M_DIR, 0755, ".", NULL);
	assert_int_equal(mwriter_add(&w, &e), 0);
	assert_int_equal(mwriter_finish(&w, checksum), 0);
	mwriter_release(&w);
	mentry_release(&e);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

	mallopt(M_PERTURB, 0x55);
	int rc = mreader_open(&r, fd);
	mallopt(M_PERTURB, 0);
	if (rc)
		fail_msg("mreader_open: %s", r.err);
	assert_int_equal(r.h.nexclude, 2);
	assert_non_null(r.h.compress);
	if (strcmp(r.h.exclude[0], "") || strcmp(r.h.compress, ""))
		fail_msg("empty header values read back as exclude '%s' (%zu bytes), compress '%s' (%zu bytes)",
			 r.h.exclude[0], strlen(r.h.exclude[0]), r.h.compress, strlen(r.h.compress));
	assert_string_equal(r.h.exclude[1], "x");
	mentry_init(&e);
	assert_int_equal(mreader_next(&r, &e), 1);
	assert_int_equal(mreader_next(&r, &e), 0);
	mentry_release(&e);
	mreader_release(&r);
	close(fd);
}

static void test_format_lines(void **state)
{
	(void)state;
	struct mentry e;
	struct sbuf sb = SBUF_INIT;

	ent(&e, M_DIR, 0755, ".", NULL);
	e.mtime_sec = 1719705600;
	e.offset = 1536;
	mentry_format(&sb, &e);
	assert_string_equal(sb.buf, "d 0755 0 0 0 1719705600.000000000 - 1536 - .");
	mentry_release(&e);

	sbuf_reset(&sb);
	ent(&e, M_FILE, 0600, "conf/ar.cfg", NULL);
	e.size = 24000;
	e.mtime_sec = 1600000000;
	e.mtime_nsec = 123456789;
	e.has_hash = 1;
	e.hash.high64 = 0x0123456789abcdefull;
	e.hash.low64 = 0xfedcba9876543210ull;
	e.offset = 4096;
	e.has_xattr = 1;
	e.xattr = 0xabc;
	mentry_format(&sb, &e);
	assert_string_equal(sb.buf, "f 0600 0 0 24000 1600000000.123456789 "
			    "0123456789abcdeffedcba9876543210 4096 0000000000000abc conf/ar.cfg");
	mentry_release(&e);

	sbuf_reset(&sb);
	ent(&e, M_SYMLINK, 0777, "lib/libar.so", "libar.so.9.1.0");
	e.size = 18;
	e.mtime_sec = 1600000000;
	e.offset = 9216;
	mentry_format(&sb, &e);
	assert_string_equal(sb.buf, "l 0777 0 0 18 1600000000.000000000 - 9216 - lib/libar.so -> libar.so.9.1.0");
	mentry_release(&e);

	sbuf_reset(&sb);
	ent(&e, M_CHR, 0666, "dev/null", NULL);
	e.rdev_major = 1;
	e.rdev_minor = 3;
	e.mtime_sec = -5;
	mentry_format(&sb, &e);
	assert_string_equal(sb.buf, "c 0666 0 0 0 -5.000000000 1,3 - - dev/null");
	mentry_release(&e);

	sbuf_reset(&sb);
	ent(&e, M_FILE, 0644, "a b\\c", NULL);
	e.has_hash = 1;
	e.hash = XXH3_128bits("", 0);
	mentry_format(&sb, &e);
	assert_string_equal(sb.buf, "f 0644 0 0 0 0.000000000 99aa06d3014798d86001c324468d497f - - a\\040b\\\\c");
	mentry_release(&e);
	sbuf_free(&sb);
}

/* A manifest large enough to cross the reader's and writer's buffers. */
static void test_roundtrip_large(void **state)
{
	(void)state;
	enum { N = 6000 };
	struct mwriter w;
	struct mheader h;
	struct mreader r;
	struct mentry e;
	char checksum[33], name[300];
	int fd = memfd();

	make_header(&h);
	h.nexclude = 0;
	assert_int_equal(mwriter_open(&w, fd, &h), 0);
	mentry_init(&e);
	for (int i = 0; i < N; i++) {
		e.type = i ? M_FILE : M_DIR;
		e.mode = 0644;
		e.size = (uint64_t)i;
		e.has_hash = i != 0;
		e.hash = XXH3_128bits(&i, sizeof(i));
		e.offset = i * 512;
		sbuf_reset(&e.path);
		if (i) {
			snprintf(name, sizeof(name), "f%06d-%0*d", i, 80 + i % 100, 0);
			sbuf_adds(&e.path, name);
		} else {
			sbuf_adds(&e.path, ".");
		}
		assert_int_equal(mwriter_add(&w, &e), 0);
	}
	assert_int_equal(mwriter_finish(&w, checksum), 0);
	mwriter_release(&w);
	assert_true(lseek(fd, 0, SEEK_END) > 2 * (256 << 10));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

	assert_int_equal(mreader_open(&r, fd), 0);
	assert_int_equal(r.h.nexclude, 0);
	uint64_t bytes = 0;
	for (int i = 0; i < N; i++) {
		int rc = mreader_next(&r, &e);
		if (rc != 1)
			fail_msg("entry %d: %d (%s)", i, rc, r.err);
		if (i) {
			snprintf(name, sizeof(name), "f%06d-%0*d", i, 80 + i % 100, 0);
			assert_string_equal(e.path.buf, name);
			assert_true(XXH128_isEqual(e.hash, XXH3_128bits(&i, sizeof(i))));
		}
		assert_int_equal(e.size, (uint64_t)i);
		assert_int_equal(e.offset, i * 512);
		bytes += (uint64_t)i;
	}
	int rc = mreader_next(&r, &e);
	if (rc != 0)
		fail_msg("end: %d (%s)", rc, r.err);
	assert_int_equal(r.entries, N);
	assert_int_equal(r.files, N - 1);
	assert_int_equal(r.bytes, bytes);
	mreader_release(&r);
	mentry_release(&e);
	close(fd);
}

/* ---- damage ---------------------------------------------------------- */

/* 0: the whole manifest was accepted; -1: rejected (err holds why) */
static int read_all(const char *data, size_t n, char *err, size_t errsz)
{
	struct mreader r;
	struct mentry e;
	int fd = sbuf_to_fd(data, n), rc;
	unsigned count = 0;

	err[0] = '\0';
	mentry_init(&e);
	rc = mreader_open(&r, fd);
	if (rc == 0) {
		while ((rc = mreader_next(&r, &e)) == 1) {
			if (++count > 100000) {
				rc = 2;	/* never ends */
				break;
			}
		}
	}
	if (rc < 0)
		snprintf(err, errsz, "%s", r.err);
	mreader_release(&r);
	mentry_release(&e);
	close(fd);
	return rc;
}

static void small_manifest(struct sbuf *text)
{
	struct mentry v[5];
	char checksum[33];

	ent(&v[0], M_DIR, 0755, ".", NULL);
	v[0].mtime_sec = 1719705600;
	v[0].offset = 0;
	ent(&v[1], M_FILE, 0600, "a b", NULL);
	v[1].size = 17;
	v[1].mtime_sec = 1600000000;
	v[1].mtime_nsec = 5;
	v[1].has_hash = 1;
	v[1].hash = hash_of("a b");
	v[1].offset = 512;
	v[1].has_xattr = 1;
	v[1].xattr = 0x1234;
	ent(&v[2], M_HARDLINK, 0600, "b", "a b");
	v[2].size = 17;
	v[2].has_hash = 1;
	v[2].hash = hash_of("a b");
	ent(&v[3], M_DIR, 0700, "d", NULL);
	ent(&v[4], M_SYMLINK, 0777, "d/l", "../b");
	v[4].size = 4;
	write_manifest(v, 5, text, checksum);
	for (int i = 0; i < 5; i++)
		mentry_release(&v[i]);
}

static void test_damage_single_byte(void **state)
{
	(void)state;
	struct sbuf text = SBUF_INIT;
	char err[512];

	small_manifest(&text);
	assert_int_equal(read_all(text.buf, text.len, err, sizeof(err)), 0);	/* control */

	char *copy = xmalloc(text.len);
	unsigned tried = 0;
	for (size_t i = 0; i < text.len; i++) {
		unsigned char orig = (unsigned char)text.buf[i];
		unsigned char alt[40];
		int nalt = 0;

		for (int bit = 0; bit < 8; bit++)
			alt[nalt++] = (unsigned char)(orig ^ (1u << bit));
		/* every other digit, hex letter and separator */
		static const char subst[] = "0123456789abcdef \n.-/>zZ";
		for (const char *s = subst; *s; s++)
			if ((unsigned char)*s != orig)
				alt[nalt++] = (unsigned char)*s;
		for (int k = 0; k < nalt; k++) {
			memcpy(copy, text.buf, text.len);
			copy[i] = (char)alt[k];
			tried++;
			if (read_all(copy, text.len, err, sizeof(err)) != -1)
				fail_msg("byte %zu changed from 0x%02x to 0x%02x was accepted "
					 "(line: '%.*s')", i, orig, alt[k],
					 (int)strcspn(text.buf + i - (i ? 1 : 0), "\n"),
					 text.buf + i - (i ? 1 : 0));
		}
	}
	assert_true(tried > text.len * 8);
	free(copy);
	sbuf_free(&text);
}

static void test_damage_truncated(void **state)
{
	(void)state;
	struct sbuf text = SBUF_INIT;
	char err[512];

	small_manifest(&text);
	for (size_t len = 0; len < text.len; len++) {
		if (read_all(text.buf, len, err, sizeof(err)) != -1)
			fail_msg("manifest truncated to %zu of %zu bytes was accepted", len, text.len);
		assert_true(err[0] != '\0');
	}
	assert_int_equal(read_all(text.buf, text.len, err, sizeof(err)), 0);
	sbuf_free(&text);
}

static void test_damage_appended(void **state)
{
	(void)state;
	struct sbuf text = SBUF_INIT, t = SBUF_INIT;
	char err[512];
	static const char *const tails[] = { "x", "\n", "garbage\n", "\0", " " };

	small_manifest(&text);
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		sbuf_reset(&t);
		sbuf_add(&t, text.buf, text.len);
		sbuf_add(&t, tails[i], i == 3 ? 1 : strlen(tails[i]));
		if (read_all(t.buf, t.len, err, sizeof(err)) != -1)
			fail_msg("manifest with appended tail #%zu was accepted", i);
	}
	/* the checksum line twice */
	sbuf_reset(&t);
	sbuf_add(&t, text.buf, text.len);
	const char *cl = strstr(text.buf, "\nchecksum ") + 1;
	sbuf_adds(&t, cl);
	assert_int_equal(read_all(t.buf, t.len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "after the checksum"));
	/* the whole manifest twice */
	sbuf_reset(&t);
	sbuf_add(&t, text.buf, text.len);
	sbuf_add(&t, text.buf, text.len);
	assert_int_equal(read_all(t.buf, t.len, err, sizeof(err)), -1);
	sbuf_free(&t);
	sbuf_free(&text);
}

/*
 * Hand-made manifests with a correct checksum, so that only the check under
 * test can reject them.
 */
static const char hdr[] =
	"zdt-manifest 1\n"
	"component AR\n"
	"snapshot 20261125T081800Z-01\n"
	"created 2026-11-25T08:18:00Z\n"
	"source /opt/bmc/ARSystem\n"
	"compress none\n"
	"# type mode uid gid size mtime xxh128 offset xattrs path [-> target]\n";
#define H0 "99aa06d3014798d86001c324468d497f"
#define DIR_(p) "d 0755 0 0 0 1.000000000 - - - " p "\n"
#define FILE_(p) "f 0644 0 0 0 1.000000000 " H0 " - - " p "\n"
#define HL_(p, t) "h 0644 0 0 0 1.000000000 " H0 " - - " p " -> " t "\n"

static void seal(struct sbuf *sb, const char *entries, const char *end)
{
	char hex[33];

	sbuf_reset(sb);
	sbuf_adds(sb, hdr);
	sbuf_adds(sb, entries);
	sbuf_adds(sb, end);
	hash_to_hex(XXH3_128bits(sb->buf, sb->len), hex);
	sbuf_addf(sb, "checksum xxh3-128 %s\n", hex);
}

static void expect_reject(const char *entries, const char *end, const char *why)
{
	struct sbuf sb = SBUF_INIT;
	char err[512];

	seal(&sb, entries, end);
	int rc = read_all(sb.buf, sb.len, err, sizeof(err));
	if (rc != -1)
		fail_msg("accepted (rc %d):\n%s", rc, sb.buf);
	if (!strstr(err, why))
		fail_msg("error '%s' does not mention '%s'", err, why);
	sbuf_free(&sb);
}

static void expect_accept(const char *entries, const char *end)
{
	struct sbuf sb = SBUF_INIT;
	char err[512];

	seal(&sb, entries, end);
	int rc = read_all(sb.buf, sb.len, err, sizeof(err));
	if (rc != 0)
		fail_msg("rejected (rc %d): %s\n%s", rc, err, sb.buf);
	sbuf_free(&sb);
}

static void test_handmade_control(void **state)
{
	(void)state;
	expect_accept(DIR_(".") FILE_("a") HL_("b", "a") DIR_("c") FILE_("c/x"),
		      "end entries=5 files=3 bytes=0\n");
	expect_accept("", "end entries=0 files=0 bytes=0\n");
}

static void test_out_of_order(void **state)
{
	(void)state;
	expect_reject(DIR_(".") FILE_("b") FILE_("a"), "end entries=3 files=2 bytes=0\n", "order");
	expect_reject(DIR_(".") FILE_("a") FILE_("a"), "end entries=3 files=2 bytes=0\n", "order");
	/* "a-b" sorts after "a/z" */
	expect_reject(DIR_(".") DIR_("a") FILE_("a-b") FILE_("a/z"),
		      "end entries=4 files=2 bytes=0\n", "order");
	/* bytewise strcmp order is not the canonical order */
	expect_accept(DIR_(".") DIR_("a") FILE_("a/z") FILE_("a-b"),
		      "end entries=4 files=2 bytes=0\n");
	expect_reject(DIR_(".") DIR_("x") DIR_("."), "end entries=3 files=0 bytes=0\n", "order");
}

static void test_first_entry_not_root(void **state)
{
	(void)state;
	expect_reject(FILE_("a"), "end entries=1 files=1 bytes=0\n", "root");
	expect_reject(DIR_("a") DIR_("a/b"), "end entries=2 files=0 bytes=0\n", "root");
	/* "." must be a folder */
	expect_reject(FILE_("."), "end entries=1 files=1 bytes=0\n", "root");
}

static void test_hardlink_to_later_path(void **state)
{
	(void)state;
	expect_reject(DIR_(".") HL_("a", "b") FILE_("b"), "end entries=3 files=2 bytes=0\n",
		      "hardlink to a later path");
	expect_reject(DIR_(".") HL_("a", "a"), "end entries=2 files=1 bytes=0\n",
		      "hardlink to a later path");
	expect_reject(DIR_(".") FILE_("a") HL_("b", "../a"), "end entries=3 files=2 bytes=0\n",
		      "unsafe");
	expect_reject(DIR_(".") FILE_("a") "h 0644 0 0 0 1.000000000 " H0 " - - b\n",
		      "end entries=3 files=2 bytes=0\n", "without target");
}

static void test_unsafe_path(void **state)
{
	(void)state;
	expect_reject(DIR_(".") FILE_("../x"), "end entries=2 files=1 bytes=0\n", "unsafe path");
	expect_reject(DIR_(".") FILE_("/etc/passwd"), "end entries=2 files=1 bytes=0\n", "unsafe path");
	expect_reject(DIR_(".") DIR_("a") FILE_("a/../../x"), "end entries=3 files=1 bytes=0\n",
		      "unsafe path");
	expect_reject(DIR_(".") FILE_("a//b"), "end entries=2 files=1 bytes=0\n", "unsafe path");
	/* an escaped slash is still a slash once unescaped */
	expect_reject(DIR_(".") FILE_("..\\057x"), "end entries=2 files=1 bytes=0\n", "unsafe path");
}

/*
 * Every entry sits in a folder entry met before it: nothing below a
 * symlink, a file or a folder the manifest does not have (a rollback would
 * otherwise create it through whatever is there).
 */
static void test_entry_without_its_folder(void **state)
{
	(void)state;
	expect_accept(DIR_(".") DIR_("a") DIR_("a/b") FILE_("a/b/c") FILE_("a/d") FILE_("e"),
		      "end entries=6 files=3 bytes=0\n");
	expect_reject(DIR_(".") DIR_("lib") "l 0777 0 0 4 1.000000000 - - - lib/link -> a.so\n"
		      FILE_("lib/link/x"), "end entries=4 files=1 bytes=0\n",
		      "entry without its folder: 'lib/link/x'");
	expect_reject(DIR_(".") FILE_("f") FILE_("f/x"), "end entries=3 files=2 bytes=0\n",
		      "entry without its folder: 'f/x'");
	expect_reject(DIR_(".") FILE_("a") HL_("b", "a") FILE_("b/x"), "end entries=4 files=3 bytes=0\n",
		      "entry without its folder: 'b/x'");
	expect_reject(DIR_(".") FILE_("a/x"), "end entries=2 files=1 bytes=0\n",
		      "entry without its folder: 'a/x'");
	expect_reject(DIR_(".") DIR_("a") FILE_("a/b/x"), "end entries=3 files=1 bytes=0\n",
		      "entry without its folder: 'a/b/x'");
}

/* the paths in a reader's error are escaped: the message is one line */
static void test_error_paths_escaped(void **state)
{
	(void)state;
	static const struct {
		const char *entries, *end, *why;
	} c[] = {
		{ DIR_(".") FILE_("a\\012/../x"), "end entries=2 files=1 bytes=0\n", "unsafe path 'a\\012/../x'" },
		{ DIR_(".") FILE_("b") FILE_("a\\012"), "end entries=3 files=2 bytes=0\n",
		  "out of order: 'a\\012' after 'b'" },
		{ DIR_(".") FILE_("n\\012l") FILE_("n\\012l/x"), "end entries=3 files=2 bytes=0\n",
		  "entry without its folder: 'n\\012l/x'" },
		{ DIR_(".") FILE_("a") HL_("b", "c\\012/../a"), "end entries=3 files=2 bytes=0\n",
		  "unsafe hardlink target 'c\\012/../a'" },
		{ DIR_(".") FILE_("a") HL_("b", "b\\012"), "end entries=3 files=2 bytes=0\n",
		  "hardlink to a later path 'b\\012'" },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sbuf sb = SBUF_INIT;
		char err[512];
		seal(&sb, c[i].entries, c[i].end);
		assert_int_equal(read_all(sb.buf, sb.len, err, sizeof(err)), -1);
		if (strchr(err, '\n') || !strstr(err, c[i].why))
			fail_msg("case %zu: error '%s', expected one line with '%s'", i, err, c[i].why);
		sbuf_free(&sb);
	}
}

static void test_bad_fields(void **state)
{
	(void)state;
	const char *end2 = "end entries=2 files=1 bytes=0\n";

	expect_reject(DIR_(".") "x 0644 0 0 0 1.000000000 - - - a\n", end2, "type");
	expect_reject(DIR_(".") "f 0844 0 0 0 1.000000000 " H0 " - - a\n", end2, "mode");
	expect_reject(DIR_(".") "f 644 0 0 0 1.000000000 " H0 " - - a\n", end2, "mode");
	expect_reject(DIR_(".") "f 0644 4294967296 0 0 1.000000000 " H0 " - - a\n", end2, "owner");
	expect_reject(DIR_(".") "f 0644 0 0 0 1.00000000 " H0 " - - a\n", end2, "mtime");
	expect_reject(DIR_(".") "f 0644 0 0 0 1 " H0 " - - a\n", end2, "mtime");
	expect_reject(DIR_(".") "f 0644 0 0 0 1.000000000 - - - a\n", end2, "without hash");
	expect_reject(DIR_(".") "f 0644 0 0 0 1.000000000 " H0 " x - a\n", end2, "offset");
	expect_reject(DIR_(".") "f 0644 0 0 0 1.000000000 " H0 " - 12345 a\n", end2, "xattr");
	expect_reject(DIR_(".") "c 0644 0 0 0 1.000000000 1:3 - - a\n", end2, "device");
	/* device numbers: decimal, no sign, 32 bits each (sscanf took "-1" and wrapped) */
	expect_reject(DIR_(".") "c 0644 0 0 0 1.000000000 -1,3 - - a\n", end2, "device");
	expect_reject(DIR_(".") "c 0644 0 0 0 1.000000000 1,+3 - - a\n", end2, "device");
	expect_reject(DIR_(".") "c 0644 0 0 0 1.000000000 4294967296,3 - - a\n", end2, "device");
	expect_reject(DIR_(".") "c 0644 0 0 0 1.000000000 1,3x - - a\n", end2, "device");
	expect_reject(DIR_(".") "c 0644 0 0 0 1.000000000 1, - - a\n", end2, "device");
	expect_accept(DIR_(".") "c 0644 0 0 0 1.000000000 4294967295,0 - - a\n", "end entries=2 files=0 bytes=0\n");
	expect_reject(DIR_(".") "f 0644 0 0 0 1.000000000 " H0 " - - a -> b\n", end2, "link target");
	expect_reject(DIR_(".") "l 0777 0 0 0 1.000000000 - - - a -> \n", end2, "symlink target");
	expect_reject(DIR_(".") "f 0644 0 0 0 1.000000000 " H0 " - -  a\n", end2, "escape");
	expect_reject(DIR_(".") "f 0644 0 0 0 1.000000000 " H0 " - - a\\9\n", end2, "escape");
	expect_reject(DIR_(".") "f 0644 0 0 0 1.000000000 " H0 " - a\n", end2, "fields");
	/* the end line counts the entries */
	expect_reject(DIR_(".") FILE_("a"), "end entries=3 files=1 bytes=0\n", "entries");
	expect_reject(DIR_(".") FILE_("a"), "end entries=1 files=1 bytes=0\n", "entries");
	expect_reject(DIR_(".") FILE_("a"), "end entries=2 files=1\n", "end line");
	expect_reject(DIR_(".") FILE_("a"), "end entries=2 files=1 bytes=0 x\n", "end line");
	expect_reject(DIR_(".") FILE_("a"), "end entries=+2 files=1 bytes=0\n", "end line");
	expect_reject(DIR_(".") FILE_("a"), "end entries=2 files=1 bytes=-0\n", "end line");
	expect_reject(DIR_(".") FILE_("a"), "end entries=2  files=1 bytes=0\n", "end line");
	expect_reject(DIR_(".") FILE_("a"), "end entries=2 files=1 bytes=18446744073709551616\n", "end line");
}

/*
 * An empty value unescaped into a fresh buffer: the first header line
 * ("component ") and the first entry's path.  The reader must see "", not
 * whatever the new allocation held (M_PERTURB makes that non-zero).
 */
static void test_empty_value_into_fresh_buffer(void **state)
{
	(void)state;
	struct sbuf sb = SBUF_INIT;
	struct mreader r;
	struct mentry e;
	char hex[33];

	/* 1. an empty component, correct checksum: read as "" */
	sbuf_adds(&sb, "zdt-manifest 1\ncomponent \nsnapshot x\ncreated 2026-11-25T08:18:00Z\n"
		  "source /x\ncompress none\n" DIR_(".") "end entries=1 files=0 bytes=0\n");
	hash_to_hex(XXH3_128bits(sb.buf, sb.len), hex);
	sbuf_addf(&sb, "checksum xxh3-128 %s\n", hex);
	int fd = sbuf_to_fd(sb.buf, sb.len);
	mallopt(M_PERTURB, 0x55);
	int rc = mreader_open(&r, fd);
	mallopt(M_PERTURB, 0);
	if (rc == 0 && r.h.component && strcmp(r.h.component, ""))
		fail_msg("empty 'component ' read back as %zu bytes of garbage", strlen(r.h.component));
	mreader_release(&r);
	close(fd);

	/* 2. the first entry with an empty path: rejected, and the message
	 * quotes the empty path, not uninitialised memory */
	seal(&sb, "d 0755 0 0 0 1.000000000 - - - \n", "end entries=1 files=0 bytes=0\n");
	fd = sbuf_to_fd(sb.buf, sb.len);
	assert_int_equal(mreader_open(&r, fd), 0);
	mentry_init(&e);
	mallopt(M_PERTURB, 0x55);
	rc = mreader_next(&r, &e);
	mallopt(M_PERTURB, 0);
	assert_int_equal(rc, -1);
	if (strcmp(r.err, "line 8: unsafe path ''"))
		fail_msg("error is '%.60s' (%zu bytes), expected \"line 8: unsafe path ''\"",
			 r.err, strlen(r.err));
	mentry_release(&e);
	mreader_release(&r);
	close(fd);
	sbuf_free(&sb);
}

static void test_bad_headers(void **state)
{
	(void)state;
	struct sbuf sb = SBUF_INIT;
	char err[512];
	char hex[33];
	static const char *const heads[] = {
		"zdt-manifest 2\n",
		"zdt-manifest 1\ncomponent AR\nsnapshot x\ncreated 2026-11-25T08:18:00Z\nsource /x\n",	/* no compress */
		"zdt-manifest 1\ncomponent AR\nsnapshot x\ncreated yesterday\nsource /x\ncompress none\n",
		"zdt-manifest 1\ncomponent AR\nsnapshot x\ncreated 2026-11-25T08:18:00Z\nsource /x\ncompress none\nfoo bar\n",
		"zdt-manifest 1\ncomponent A\\9\nsnapshot x\ncreated 2026-11-25T08:18:00Z\nsource /x\ncompress none\n",
	};
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		sbuf_reset(&sb);
		sbuf_adds(&sb, heads[i]);
		sbuf_adds(&sb, DIR_(".") "end entries=1 files=0 bytes=0\n");
		hash_to_hex(XXH3_128bits(sb.buf, sb.len), hex);
		sbuf_addf(&sb, "checksum xxh3-128 %s\n", hex);
		if (read_all(sb.buf, sb.len, err, sizeof(err)) != -1)
			fail_msg("header #%zu accepted", i);
	}
	sbuf_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_cmp_pairs),
		cmocka_unit_test(test_path_cmp_byte_01),
		cmocka_unit_test(test_path_cmp_sort_shuffled),
		cmocka_unit_test(test_path_is_safe),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_empty_header_values),
		cmocka_unit_test(test_format_lines),
		cmocka_unit_test(test_roundtrip_large),
		cmocka_unit_test(test_damage_single_byte),
		cmocka_unit_test(test_damage_truncated),
		cmocka_unit_test(test_damage_appended),
		cmocka_unit_test(test_handmade_control),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_first_entry_not_root),
		cmocka_unit_test(test_hardlink_to_later_path),
		cmocka_unit_test(test_unsafe_path),
		cmocka_unit_test(test_entry_without_its_folder),
		cmocka_unit_test(test_error_paths_escaped),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_empty_value_into_fresh_buffer),
		cmocka_unit_test(test_bad_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
