/* test_json.c - unit tests of common/json.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../common/json.h"

struct out {
	FILE *f;
	char *buf;
	size_t len;
	struct json j;
};

static void out_open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	assert_non_null(o->f);
	json_init(&o->j, o->f);
}

/* closes the stream and checks what was written */
static void out_check(struct out *o, const char *want)
{
	assert_int_equal(fclose(o->f), 0);
	if (strcmp(o->buf, want))
		fail_msg("JSON output:\n%s\n---- expected:\n%s\n----", o->buf, want);
	free(o->buf);
}

/* one string in an array: the quoted form */
static void check_str(const char *s, const char *quoted)
{
	struct out o;
	char want[512];

	out_open(&o);
	json_arr(&o.j, NULL);
	json_str(&o.j, NULL, s);
	json_end(&o.j);
	snprintf(want, sizeof(want), "[\n  %s\n]\n", quoted);
	out_check(&o, want);
}

static void test_nested(void **state)
{
	(void)state;
	struct out o;

	out_open(&o);
	json_obj(&o.j, NULL);
	json_str(&o.j, "command", "list");
	json_arr(&o.j, "snapshots");
	json_obj(&o.j, NULL);
	json_str(&o.j, "id", "X");
	json_u64(&o.j, "bytes", 24000);
	json_end(&o.j);
	json_obj(&o.j, NULL);
	json_end(&o.j);
	json_end(&o.j);
	json_arr(&o.j, "empty");
	json_end(&o.j);
	json_obj(&o.j, "o");
	json_i64(&o.j, "neg", -5);
	json_dbl(&o.j, "d", 1.5);
	json_bool(&o.j, "t", 1);
	json_bool(&o.j, "f", 0);
	json_null(&o.j, "n");
	json_str(&o.j, "s", NULL);
	json_time(&o.j, "when", 1795594680);
	json_end(&o.j);
	json_end(&o.j);
	out_check(&o,
		"{\n"
		"  \"command\": \"list\",\n"
		"  \"snapshots\": [\n"
		"    {\n"
		"      \"id\": \"X\",\n"
		"      \"bytes\": 24000\n"
		"    },\n"
		"    {}\n"
		"  ],\n"
		"  \"empty\": [],\n"
		"  \"o\": {\n"
		"    \"neg\": -5,\n"
		"    \"d\": 1.500,\n"
		"    \"t\": true,\n"
		"    \"f\": false,\n"
		"    \"n\": null,\n"
		"    \"s\": null,\n"
		"    \"when\": \"2026-11-25T08:18:00Z\"\n"
		"  }\n"
		"}\n");
}

static void test_arrays_of_scalars_and_deep(void **state)
{
	(void)state;
	struct out o;

	out_open(&o);
	json_arr(&o.j, NULL);
	json_u64(&o.j, NULL, UINT64_MAX);
	json_i64(&o.j, NULL, INT64_MIN);
	json_i64(&o.j, NULL, 0);
	json_arr(&o.j, NULL);
	json_arr(&o.j, NULL);
	json_obj(&o.j, NULL);
	json_obj(&o.j, "k");
	json_end(&o.j);
	json_end(&o.j);
	json_end(&o.j);
	json_end(&o.j);
	json_null(&o.j, NULL);
	json_end(&o.j);
	out_check(&o,
		"[\n"
		"  18446744073709551615,\n"
		"  -9223372036854775808,\n"
		"  0,\n"
		"  [\n"
		"    [\n"
		"      {\n"
		"        \"k\": {}\n"
		"      }\n"
		"    ]\n"
		"  ],\n"
		"  null\n"
		"]\n");
}

static void test_two_documents(void **state)
{
	(void)state;
	struct out o;

	out_open(&o);
	json_obj(&o.j, NULL);
	json_end(&o.j);
	json_init(&o.j, o.f);
	json_obj(&o.j, NULL);
	json_bool(&o.j, "ok", 1);
	json_end(&o.j);
	out_check(&o, "{}\n{\n  \"ok\": true\n}\n");
}

static void test_escaping(void **state)
{
	(void)state;
	check_str("", "\"\"");
	check_str("plain", "\"plain\"");
	check_str("a\"b", "\"a\\\"b\"");
	check_str("a\\b", "\"a\\\\b\"");
	check_str("line1\nline2", "\"line1\\nline2\"");
	check_str("tab\there", "\"tab\\there\"");
	check_str("\x01\x1f\r\b\f", "\"\\u0001\\u001f\\u000d\\u0008\\u000c\"");
	check_str("del\x7f", "\"del\\u007f\"");
	check_str("/slash/ok", "\"/slash/ok\"");
	check_str("\"\\\"", "\"\\\"\\\\\\\"\"");

	/* keys are escaped the same way */
	struct out o;
	out_open(&o);
	json_obj(&o.j, NULL);
	json_u64(&o.j, "we\"ird\nkey", 1);
	json_end(&o.j);
	out_check(&o, "{\n  \"we\\\"ird\\nkey\": 1\n}\n");
}

static void test_utf8(void **state)
{
	(void)state;
	/* valid UTF-8 passes through: 2, 3 and 4 byte sequences */
	check_str("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	check_str("\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"");
	check_str("\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\"");
	check_str("\xf0\x9f\x98\x80!", "\"\xf0\x9f\x98\x80!\"");
	check_str("\xc2\x80\xdf\xbf", "\"\xc2\x80\xdf\xbf\"");	/* U+0080, U+07FF */
	check_str("\xef\xbf\xbd", "\"\xef\xbf\xbd\"");		/* U+FFFD */
	check_str("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");	/* U+10FFFF */

	/* bytes that are not valid UTF-8 come out as \u00XX */
	check_str("\xff", "\"\\u00ff\"");
	check_str("a\xffz", "\"a\\u00ffz\"");
	check_str("\xfe\xff", "\"\\u00fe\\u00ff\"");
	check_str("\x80", "\"\\u0080\"");			/* lone continuation */
	check_str("\xc3x", "\"\\u00c3x\"");			/* lead without continuation */
	check_str("\xc3", "\"\\u00c3\"");
	check_str("\xe2\x82", "\"\\u00e2\\u0082\"");		/* truncated 3-byte */
	check_str("\xe2\x82x", "\"\\u00e2\\u0082x\"");
	check_str("\xf0\x9f\x98", "\"\\u00f0\\u009f\\u0098\"");	/* truncated 4-byte */
	check_str("\xc0\xaf", "\"\\u00c0\\u00af\"");		/* overlong '/' */
	check_str("\xc1\xbf", "\"\\u00c1\\u00bf\"");
	check_str("\xf5\x80\x80\x80", "\"\\u00f5\\u0080\\u0080\\u0080\"");
	check_str("\xc3\xa9\xff\xc3\xa9", "\"\xc3\xa9\\u00ff\xc3\xa9\"");
}

/*
 * Sequences whose bytes have the right shape but that UTF-8 forbids:
 * overlong 3- and 4-byte forms, UTF-16 surrogates, code points above
 * U+10FFFF.  json.h promises valid UTF-8 output, so these must be escaped.
 */
static void test_utf8_forbidden_sequences(void **state)
{
	(void)state;
	static const struct {
		const char *s, *quoted, *what;
	} cases[] = {
		{ "\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"", "overlong 3-byte '/'" },
		{ "\xe0\x9f\xbf", "\"\\u00e0\\u009f\\u00bf\"", "overlong 3-byte U+07FF" },
		{ "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"", "surrogate U+D800" },
		{ "\xed\xbf\xbf", "\"\\u00ed\\u00bf\\u00bf\"", "surrogate U+DFFF" },
		{ "\xf0\x80\x80\xaf", "\"\\u00f0\\u0080\\u0080\\u00af\"", "overlong 4-byte '/'" },
		{ "\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"", "U+110000" },
	};
	int bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct json j;

		assert_non_null(f);
		json_init(&j, f);
		json_arr(&j, NULL);
		json_str(&j, NULL, cases[i].s);
		json_end(&j);
		assert_int_equal(fclose(f), 0);
		char want[128];
		snprintf(want, sizeof(want), "[\n  %s\n]\n", cases[i].quoted);
		if (strcmp(buf, want)) {
			print_error("  %s: written as raw bytes, expected %s\n", cases[i].what,
				    cases[i].quoted);
			bad++;
		}
		free(buf);
	}
	if (bad)
		fail_msg("%d forbidden UTF-8 sequences passed through unescaped", bad);
}

/*
 * A string that ends inside a multi-byte sequence, placed at the very end
 * of a readable page: reading past its NUL touches the guard page.
 */
static void test_no_read_past_nul(void **state)
{
	(void)state;
	long pg = sysconf(_SC_PAGESIZE);
	char *base = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(base != MAP_FAILED);
	assert_int_equal(mprotect(base + pg, (size_t)pg, PROT_NONE), 0);
	static const char *const tails[] = { "\xe1", "\xf0", "\xf0\x9f", "\xf0\x9f\x98", "\xe2\x82" };
	static const char *const want[] = {
		"\"\\u00e1\"", "\"\\u00f0\"", "\"\\u00f0\\u009f\"",
		"\"\\u00f0\\u009f\\u0098\"", "\"\\u00e2\\u0082\"",
	};
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		size_t n = strlen(tails[i]) + 1;
		char *s = base + pg - n;	/* the NUL is the page's last byte */
		memcpy(s, tails[i], n);
		check_str(s, want[i]);
	}
	munmap(base, (size_t)pg * 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_arrays_of_scalars_and_deep),
		cmocka_unit_test(test_two_documents),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_utf8_forbidden_sequences),
		cmocka_unit_test(test_no_read_past_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
