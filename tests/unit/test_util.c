/* test_util.c - unit tests of common/util.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../common/util.h"

/* ---- escaping -------------------------------------------------------- */

static void roundtrip(const char *name)
{
	struct sbuf e = SBUF_INIT, u = SBUF_INIT;

	esc_path(&e, name);
	assert_non_null(e.buf);
	assert_int_equal(strlen(e.buf), e.len);
	for (size_t i = 0; i < e.len; i++) {
		unsigned char c = (unsigned char)e.buf[i];
		if (c <= 0x20 || c == 0x7f)
			fail_msg("escaped form of a name holds byte 0x%02x at %zu", c, i);
	}
	if (unesc_path(&u, e.buf, e.len))
		fail_msg("unesc_path rejected esc_path output '%s'", e.buf);
	assert_int_equal(u.len, strlen(name));
	assert_memory_equal(u.buf, name, u.len);
	assert_int_equal(u.buf[u.len], '\0');
	sbuf_free(&e);
	sbuf_free(&u);
}

static void test_esc_every_byte(void **state)
{
	(void)state;
	for (int b = 1; b <= 255; b++) {
		char name[4] = { 'x', (char)b, 'y', 0 };
		struct sbuf e = SBUF_INIT;
		char want[8];

		roundtrip(name);
		/* the exact escaped form */
		esc_path(&e, name);
		if (b == '\\')
			snprintf(want, sizeof(want), "x\\\\y");
		else if (b <= 0x20 || b == 0x7f)
			snprintf(want, sizeof(want), "x\\%03oy", (unsigned)b);
		else
			snprintf(want, sizeof(want), "x%cy", b);
		if (strcmp(e.buf, want))
			fail_msg("esc_path(byte 0x%02x) = '%s', expected '%s'", b, e.buf, want);
		sbuf_free(&e);
	}
}

static void test_esc_all_bytes_in_one_name(void **state)
{
	(void)state;
	char name[256];

	for (int b = 1; b <= 255; b++)
		name[b - 1] = (char)(256 - b);	/* descending, so 0x01 is last */
	name[255] = '\0';
	roundtrip(name);
}

static void test_esc_examples(void **state)
{
	(void)state;
	struct sbuf e = SBUF_INIT;

	esc_path(&e, "my file\\name\nnext");
	assert_string_equal(e.buf, "my\\040file\\\\name\\012next");
	sbuf_reset(&e);
	esc_path(&e, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac");	/* UTF-8 stays readable */
	assert_string_equal(e.buf, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac");
	sbuf_reset(&e);
	esc_path(&e, "\t\x7f ");
	assert_string_equal(e.buf, "\\011\\177\\040");
	sbuf_reset(&e);
	esc_path(&e, "");
	assert_int_equal(e.len, 0);
	/* appends */
	sbuf_adds(&e, "k ");
	esc_path(&e, "a b");
	assert_string_equal(e.buf, "k a\\040b");
	sbuf_free(&e);

	roundtrip("a b c");
	roundtrip("\\\\\\");
	roundtrip("\\040");	/* a literal backslash followed by digits */
	roundtrip("line1\nline2\n");
	roundtrip("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	roundtrip("\xff\xfe invalid \xc3");
	roundtrip("/abs/path/");
}

static void test_unesc_valid(void **state)
{
	(void)state;
	struct sbuf u = SBUF_INIT;

	sbuf_adds(&u, "previous content");
	assert_int_equal(unesc_path(&u, "a\\040b", 6), 0);
	assert_string_equal(u.buf, "a b");	/* sb was reset first */
	assert_int_equal(u.len, 3);
	assert_int_equal(unesc_path(&u, "\\\\", 2), 0);
	assert_string_equal(u.buf, "\\");
	assert_int_equal(unesc_path(&u, "\\134", 4), 0);
	assert_string_equal(u.buf, "\\");
	assert_int_equal(unesc_path(&u, "\\377\\001", 8), 0);
	assert_int_equal(u.len, 2);
	assert_int_equal((unsigned char)u.buf[0], 0xff);
	assert_int_equal((unsigned char)u.buf[1], 0x01);
	/* only n bytes are read */
	assert_int_equal(unesc_path(&u, "abc def", 3), 0);
	assert_string_equal(u.buf, "abc");
	assert_int_equal(unesc_path(&u, "", 0), 0);
	assert_int_equal(u.len, 0);
	assert_string_equal(u.buf, "");
	sbuf_free(&u);
}

/*
 * "use .buf (always NUL-terminated)": unescaping an empty string into a
 * fresh sbuf must give "", not an allocated but unterminated buffer.
 * M_PERTURB fills new allocations with a non-zero byte so that the check
 * does not depend on what malloc happens to return.
 */
static void test_unesc_empty_into_fresh_sbuf(void **state)
{
	(void)state;
	struct sbuf u = SBUF_INIT;

	mallopt(M_PERTURB, 0x55);
	int rc = unesc_path(&u, "", 0);
	int terminated = u.buf == NULL || u.buf[0] == '\0';
	mallopt(M_PERTURB, 0);
	assert_int_equal(rc, 0);
	assert_int_equal(u.len, 0);
	if (!terminated)
		fail_msg("unesc_path(\"\", 0) into a fresh sbuf left .buf unterminated "
			 "(first byte 0x%02x)", (unsigned char)u.buf[0]);
	sbuf_free(&u);
}

static void test_unesc_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		size_t n;
	} bad[] = {
		{ "\\9", 2 },
		{ "\\900", 4 },
		{ "\\080", 4 },
		{ "\\0", 2 },
		{ "\\01", 3 },
		{ "a\\01", 4 },
		{ "\\", 1 },
		{ "abc\\", 4 },
		{ "a b", 3 },
		{ " ", 1 },
		{ "\\000", 4 },
		{ "a\\000b", 6 },
		{ "\\400", 4 },
		{ "\\777", 4 },
		{ "a\nb", 3 },
		{ "a\0b", 3 },
		{ "\\x41", 4 },
		{ "\\n", 2 },
		{ "\\040\\", 5 },
	};
	struct sbuf u = SBUF_INIT;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (unesc_path(&u, bad[i].s, bad[i].n) != -1)
			fail_msg("unesc_path accepted bad escape #%zu '%.*s'", i, (int)bad[i].n, bad[i].s);
	}
	/* an escape is exactly three digits: \040 then "1" */
	assert_int_equal(unesc_path(&u, "\\0401", 5), 0);
	assert_string_equal(u.buf, " 1");
	/* a truncated escape: n cuts through it even though the string goes on */
	assert_int_equal(unesc_path(&u, "\\040", 3), -1);
	sbuf_free(&u);
}

/* ---- numbers --------------------------------------------------------- */

static void test_parse_u64(void **state)
{
	(void)state;
	uint64_t v = 12345;

	assert_int_equal(parse_u64("0", 0, 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_u64("1", 1, 65535, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(parse_u64("65535", 1, 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);

	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0", "x",
		"18446744073709551616", "99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_u64(bad[i], 0, UINT64_MAX, &v) != -1)
			fail_msg("parse_u64 accepted '%s'", bad[i]);
	}
	assert_int_equal(parse_u64("0", 1, 65535, &v), -1);
	assert_int_equal(parse_u64("65536", 1, 65535, &v), -1);
	assert_int_equal(parse_u64("4", 5, 10, &v), -1);
	assert_int_equal(parse_u64("11", 5, 10, &v), -1);
	assert_int_equal(parse_u64(NULL, 0, 10, &v), -1);
}

static void test_parse_size(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "0", 0 },
		{ "512", 512 },
		{ "1B", 1 },
		{ "1K", 1024 },
		{ "1KiB", 1024 },
		{ "1KB", 1024 },
		{ "1k", 1024 },
		{ "64M", 64ull << 20 },
		{ "64MiB", 64ull << 20 },
		{ "2G", 2ull << 30 },
		{ "2GB", 2ull << 30 },
		{ "1T", 1ull << 40 },
		{ "3TiB", 3ull << 40 },
		{ "0K", 0 },
		{ "16777215T", 16777215ull << 40 },
		{ "18446744073709551615", UINT64_MAX },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 0xdead;
		if (parse_size(good[i].s, &v))
			fail_msg("parse_size rejected '%s'", good[i].s);
		if (v != good[i].v)
			fail_msg("parse_size('%s') = %llu, expected %llu", good[i].s,
				 (unsigned long long)v, (unsigned long long)good[i].v);
	}
	static const char *const bad[] = {
		"", "K", "B", "1Q", "-1", "+1", "1.5G", "1 K", " 1K", "1K ", "1KK",
		"1KiBB", "1iB", "99999999999T", "16777216T", "18446744073709551616",
		"20000000000000000000", "17179869184G", "1e3",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v;
		if (parse_size(bad[i], &v) != -1)
			fail_msg("parse_size accepted '%s' (= %llu)", bad[i], (unsigned long long)v);
	}
}

static void test_parse_duration(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "30s", 30 },
		{ "90m", 5400 },
		{ "48h", 172800 },
		{ "14d", 1209600 },
		{ "2w", 1209600 },
		{ "0s", 0 },
		{ "1w", 604800 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 0xdead;
		if (parse_duration(good[i].s, &v))
			fail_msg("parse_duration rejected '%s'", good[i].s);
		if (v != good[i].v)
			fail_msg("parse_duration('%s') = %llu, expected %llu", good[i].s,
				 (unsigned long long)v, (unsigned long long)good[i].v);
	}
	static const char *const bad[] = {
		"48", "1y", "h", "", "-1h", "1.5h", "1 h", "1hh", "h1", "1d2h",
		"99999999999999w", "30500568904944w",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v;
		if (parse_duration(bad[i], &v) != -1)
			fail_msg("parse_duration accepted '%s'", bad[i]);
	}
}

/* ---- formatting ------------------------------------------------------ */

static void test_fmt_size(void **state)
{
	(void)state;
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
		{ 0, "0 B" },
		{ 1, "1 B" },
		{ 512, "512 B" },
		{ 1023, "1023 B" },
		{ 1024, "1.00 KiB" },
		{ 1536, "1.50 KiB" },
		{ 10 * 1024, "10.0 KiB" },
		{ 100 * 1024, "100 KiB" },
		{ 3ull << 19, "1.50 MiB" },
		{ 1ull << 30, "1.00 GiB" },
		{ 1395864371ull, "1.30 GiB" },
		{ 1ull << 40, "1.00 TiB" },
		{ 1ull << 50, "1.00 PiB" },
		{ 1ull << 60, "1024 PiB" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[16];
		const char *r = fmt_size(buf, sizeof(buf), cases[i].v);
		assert_ptr_equal(r, buf);
		if (strcmp(buf, cases[i].s))
			fail_msg("fmt_size(%llu) = '%s', expected '%s'",
				 (unsigned long long)cases[i].v, buf, cases[i].s);
	}
	char buf[16];
	fmt_size(buf, sizeof(buf), UINT64_MAX);
	assert_string_equal(buf, "16384 PiB");
}

static void test_fmt_time_exact(void **state)
{
	(void)state;
	char buf[21];

	assert_ptr_equal(fmt_time(buf, sizeof(buf), (time_t)1795594680), buf);
	assert_string_equal(buf, "2026-11-25T08:18:00Z");
	fmt_time(buf, sizeof(buf), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	fmt_time(buf, sizeof(buf), -1);
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	fmt_time(buf, sizeof(buf), (time_t)1709251199);
	assert_string_equal(buf, "2024-02-29T23:59:59Z");
}

static void test_parse_time(void **state)
{
	(void)state;
	time_t t = 0;

	assert_int_equal(parse_time("2026-11-25T08:18:00Z", &t), 0);
	assert_int_equal((long long)t, 1795594680LL);
	assert_int_equal(parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal((long long)t, 0);
	assert_int_equal(parse_time("1900-01-01T00:00:00Z", &t), 0);
	assert_int_equal((long long)t, -2208988800LL);

	static const char *const bad[] = {
		"", "garbage", "2026-11-25T08:18:00", "2026-11-25T08:18:00Zx",
		"2026-11-25 08:18:00Z", "2026-11-25", "2026-13-25T08:18:00Z",
		"2026-11-25T25:18:00Z", "2026-11-25T08:18:00z", "2026-11-25T08:18Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_time(bad[i], &t) != -1)
			fail_msg("parse_time accepted '%s'", bad[i]);
	}
}

static void test_time_roundtrip(void **state)
{
	(void)state;
	static const long long ts[] = {
		0, 1, 59, 86399, 86400, 951782400 /* 2000-02-29 */, 1709251199,
		1795594680, 2147483647, 2147483648LL, 4133980799LL, -1, -2208988800LL,
	};
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		char buf[32];
		time_t back = 12345;
		fmt_time(buf, sizeof(buf), (time_t)ts[i]);
		assert_int_equal(strlen(buf), 20);
		assert_int_equal(buf[4], '-');
		assert_int_equal(buf[10], 'T');
		assert_int_equal(buf[19], 'Z');
		if (parse_time(buf, &back))
			fail_msg("parse_time rejected fmt_time output '%s'", buf);
		if ((long long)back != ts[i])
			fail_msg("'%s' parsed back as %lld, expected %lld", buf, (long long)back, ts[i]);
	}
	/* every hour over a year and a half, crossing a leap day */
	for (long long t = 1704067200LL; t < 1704067200LL + 550LL * 86400; t += 3600 + 61) {
		char buf[32];
		time_t back;
		fmt_time(buf, sizeof(buf), (time_t)t);
		assert_int_equal(parse_time(buf, &back), 0);
		assert_int_equal((long long)back, t);
	}
}

/* ---- sbuf ------------------------------------------------------------ */

static void test_sbuf_growth(void **state)
{
	(void)state;
	struct sbuf sb = SBUF_INIT;

	assert_null(sb.buf);
	for (size_t i = 0; i < 100000; i++) {
		sbuf_addc(&sb, (char)('a' + i % 26));
		assert_int_equal(sb.len, i + 1);
		assert_true(sb.cap >= sb.len + 1);
		assert_int_equal(sb.buf[sb.len], '\0');
	}
	for (size_t i = 0; i < sb.len; i++)
		if (sb.buf[i] != (char)('a' + i % 26))
			fail_msg("byte %zu changed during growth", i);

	size_t cap = sb.cap;
	sbuf_reset(&sb);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, cap);	/* reset keeps the memory */
	assert_string_equal(sb.buf, "");

	/* sbuf_add of binary data, including NUL bytes */
	static const char bin[] = { 'x', 0, 'y', 0 };
	sbuf_add(&sb, bin, sizeof(bin));
	assert_int_equal(sb.len, 4);
	assert_memory_equal(sb.buf, bin, 4);
	assert_int_equal(sb.buf[4], '\0');
	sbuf_free(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);

	/* an empty add still yields a NUL-terminated buffer */
	sbuf_add(&sb, "", 0);
	assert_non_null(sb.buf);
	assert_string_equal(sb.buf, "");
	sbuf_free(&sb);
}

static void test_sbuf_addf_and_adds(void **state)
{
	(void)state;
	struct sbuf sb = SBUF_INIT;
	char big[5000];

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sbuf_adds(&sb, "head:");
	sbuf_addf(&sb, "%d-%s-%c", 42, big, '!');
	assert_int_equal(sb.len, 5 + 3 + 4999 + 2);
	assert_memory_equal(sb.buf, "head:42-", 8);
	assert_int_equal(sb.buf[8], 'z');
	assert_int_equal(sb.buf[8 + 4998], 'z');
	assert_string_equal(sb.buf + 8 + 4999, "-!");
	/* 1..200 byte appends crossing every capacity boundary */
	struct sbuf s2 = SBUF_INIT, ref = SBUF_INIT;
	for (int i = 1; i <= 200; i++)
		sbuf_addf(&s2, "%*d", i, i);
	for (int i = 1; i <= 200; i++) {
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "%*d", i, i);
		sbuf_adds(&ref, tmp);
	}
	assert_int_equal(s2.len, ref.len);
	assert_memory_equal(s2.buf, ref.buf, ref.len);
	assert_int_equal(s2.len, (size_t)(200 * 201 / 2));

	char *p = xasprintf("%s/%04d", "dir", 7);
	assert_string_equal(p, "dir/0007");
	free(p);
	sbuf_free(&sb);
	sbuf_free(&s2);
	sbuf_free(&ref);
}

/* escp(): esc_path() for a message argument, eight alive at a time, errno kept */
static void test_escp(void **state)
{
	(void)state;
	const char *v[8];
	char name[16];

	assert_string_equal(escp("a\nb c\\"), "a\\012b\\040c\\\\");
	assert_string_equal(escp(NULL), "");
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "p %d", i);
		v[i] = escp(name);
	}
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "p\\040%d", i);
		assert_string_equal(v[i], name);
	}
	char big[5000];
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	errno = EIO;
	assert_int_equal(strlen(escp(big)), 4 * (sizeof(big) - 1));
	assert_int_equal(errno, EIO);
}

/* what error(), warning(), note() and hint() write to stderr fd 2 */
static char *stderr_of(void (*fn)(void))
{
	int fd = memfd_create("stderr", 0), saved = dup(2);
	static char out[8192];

	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	fn();
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
	close(fd);
	return out;
}

static void say_raw(void)
{
	/* a caller that forgot escp(), and a library's text */
	error("cannot open: '%s': %s", "conf/a\n/../x", "bad\rtext");
	warning("file vanished: '%s'", "x\ny");
	note("kept '%s'", "n\nl");
	hint("see '%s'", "h\nint");
}

/* one message, one line, whatever the arguments hold */
static void test_messages_one_line(void **state)
{
	(void)state;
	const char *out = stderr_of(say_raw);
	const char *want = "zdt: cannot open: 'conf/a\\012/../x': bad\\015text\n"
			   "zdt: warning: file vanished: 'x\\012y'\n"
			   "kept 'n\\012l'\n"
			   "hint: see 'h\\012int'\n";
	if (strcmp(out, want))
		fail_msg("stderr:\n%s\nexpected:\n%s", out, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esc_every_byte),
		cmocka_unit_test(test_esc_all_bytes_in_one_name),
		cmocka_unit_test(test_esc_examples),
		cmocka_unit_test(test_unesc_valid),
		cmocka_unit_test(test_unesc_empty_into_fresh_sbuf),
		cmocka_unit_test(test_unesc_rejects),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_fmt_size),
		cmocka_unit_test(test_fmt_time_exact),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_time_roundtrip),
		cmocka_unit_test(test_sbuf_growth),
		cmocka_unit_test(test_sbuf_addf_and_adds),
		cmocka_unit_test(test_escp),
		cmocka_unit_test(test_messages_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
