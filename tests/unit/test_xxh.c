/* test_xxh.c - unit tests of common/xxh.c: every XXH3-128 kernel this
 * processor can run gives the library's digests, one-shot and streamed */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the library's own functions: xxh.h would route them to xxh.c */
#include <xxhash.h>

/* xxh.c's, declared as in xxh.h (whose macros would rename the above) */
XXH128_hash_t xxh_128(const void *p, size_t n);
XXH_errorcode xxh_128_update(XXH3_state_t *s, const void *p, size_t n);
const char *xxh_kernel(void);
int xxh_test_128(int k, const void *p, size_t n, XXH128_hash_t *h);
int xxh_test_update(int k, XXH3_state_t *s, const void *p, size_t n);

#define BIG ((4u << 20) + 777)

static unsigned char *data;
static const char *names[] = { "sse2", "avx2", "avx512" };

static uint64_t rnd_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void fill(void)
{
	data = malloc(BIG + 64);
	assert_non_null(data);
	for (size_t i = 0; i < BIG + 64; i++)
		data[i] = (unsigned char)rnd();
}

static void assert_same(XXH128_hash_t a, XXH128_hash_t b, int k, size_t off, size_t n)
{
	if (!XXH128_isEqual(a, b))
		fail_msg("kernel %s: %zu bytes at %zu: %016llx%016llx, the library %016llx%016llx", names[k], n, off,
			 (unsigned long long)a.high64, (unsigned long long)a.low64, (unsigned long long)b.high64,
			 (unsigned long long)b.low64);
}

/* sizes around every branch of XXH3 (0-16, 17-128, 129-240, stripes,
 * blocks of 1 KiB, long), at odd addresses */
static const size_t sizes[] = { 0, 1, 3, 4, 8, 9, 16, 17, 64, 128, 129, 200, 240, 241, 255, 256, 511, 1023, 1024,
				1025, 4095, 4096, 65536 + 1, 1048576, 1048576 + 13, BIG };

static void test_one_shot(void **state)
{
	(void)state;
	int ran = 0;
	for (int k = 0; k < 3; k++) {
		XXH128_hash_t h;
		if (xxh_test_128(k, data, 1, &h) < 0)
			continue;
		ran++;
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			for (size_t off = 0; off < 3 && sizes[i] + off <= BIG; off++) {
				assert_int_equal(xxh_test_128(k, data + off, sizes[i], &h), 0);
				assert_same(h, XXH3_128bits(data + off, sizes[i]), k, off, sizes[i]);
			}
		for (size_t n = 0; n < 2100; n++) {	/* every size up to two blocks */
			assert_int_equal(xxh_test_128(k, data + 5, n, &h), 0);
			assert_same(h, XXH3_128bits(data + 5, n), k, 5, n);
		}
	}
	assert_true(ran >= 1);	/* sse2 runs on every x86-64 */
	print_message("kernels checked: %d, in use: %s\n", ran, xxh_kernel());
}

/* streamed in random pieces (1 byte to 300 KiB), started and finished by
 * the library: equal to the one-shot digest */
static void test_streamed(void **state)
{
	(void)state;
	XXH3_state_t *st = XXH3_createState();
	assert_non_null(st);
	XXH128_hash_t want = XXH3_128bits(data, BIG);
	for (int k = 0; k < 3; k++) {
		XXH128_hash_t h;
		if (xxh_test_128(k, data, 1, &h) < 0)
			continue;
		for (int round = 0; round < 4; round++) {
			XXH3_128bits_reset(st);
			size_t pos = 0;
			while (pos < BIG) {
				size_t n = round == 0 ? 1 + rnd() % 64 : 1 + rnd() % (300u << 10);
				if (n > BIG - pos)
					n = BIG - pos;
				assert_int_equal(xxh_test_update(k, st, data + pos, n), 0);
				pos += n;
				if (round == 0 && pos > 200000)	/* tiny pieces: a part is enough */
					break;
			}
			XXH128_hash_t got = XXH3_128bits_digest(st);
			assert_same(got, round == 0 ? XXH3_128bits(data, pos) : want, k, 0, pos);
		}
	}
	XXH3_freeState(st);
}

/* what the rest of zdt calls: the kernel picked at start */
static void test_dispatched(void **state)
{
	(void)state;
	XXH3_state_t *st = XXH3_createState();
	assert_non_null(st);
	XXH3_128bits_reset(st);
	assert_int_equal(xxh_128_update(st, data, 1000), XXH_OK);
	assert_int_equal(xxh_128_update(st, data + 1000, BIG - 1000), XXH_OK);
	assert_same(XXH3_128bits_digest(st), XXH3_128bits(data, BIG), 0, 0, BIG);
	assert_same(xxh_128(data, BIG), XXH3_128bits(data, BIG), 0, 0, BIG);
	assert_same(xxh_128(data, 100), XXH3_128bits(data, 100), 0, 0, 100);
	XXH3_freeState(st);
	/* the widest one this processor runs */
	XXH128_hash_t h;
	const char *best = xxh_test_128(2, data, 1, &h) == 0 ? "avx512" : xxh_test_128(1, data, 1, &h) == 0 ? "avx2" : "sse2";
	assert_string_equal(xxh_kernel(), best);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_shot),
		cmocka_unit_test(test_streamed),
		cmocka_unit_test(test_dispatched),
	};

	fill();
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(data);
	return rc;
}
