/* test_component.c - unit tests of common/component.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "../../common/component.h"

#define BIT(c) (1u << (c))

static void test_canonical_names(void **state)
{
	(void)state;
	assert_int_equal(COMP_N, 3);
	assert_string_equal(component_name(COMP_AR), "AR");
	assert_string_equal(component_name(COMP_ATRIUMCORE), "AtriumCore");
	assert_string_equal(component_name(COMP_ATRIUMINTEGRATOR), "AtriumIntegrator");
	assert_int_equal(COMP_ALL, 7u);
}

static void test_parse_canonical_roundtrip(void **state)
{
	(void)state;
	for (int c = 0; c < COMP_N; c++)
		assert_int_equal(component_parse(component_name(c)), c);
}

static void test_parse_aliases_case_insensitive(void **state)
{
	(void)state;
	assert_int_equal(component_parse("ar"), COMP_AR);
	assert_int_equal(component_parse("Ar"), COMP_AR);
	assert_int_equal(component_parse("arsystem"), COMP_AR);
	assert_int_equal(component_parse("ARSYSTEM"), COMP_AR);
	assert_int_equal(component_parse("ArSystem"), COMP_AR);
	assert_int_equal(component_parse("cmdb"), COMP_ATRIUMCORE);
	assert_int_equal(component_parse("CMDB"), COMP_ATRIUMCORE);
	assert_int_equal(component_parse("atriumcore"), COMP_ATRIUMCORE);
	assert_int_equal(component_parse("ATRIUMCORE"), COMP_ATRIUMCORE);
	assert_int_equal(component_parse("ai"), COMP_ATRIUMINTEGRATOR);
	assert_int_equal(component_parse("AI"), COMP_ATRIUMINTEGRATOR);
	assert_int_equal(component_parse("AtriumIntegrator"), COMP_ATRIUMINTEGRATOR);
	assert_int_equal(component_parse("atriumintegrator"), COMP_ATRIUMINTEGRATOR);
}

static void test_parse_unknown(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "a", "ars", "arsystems", "AR ", " AR", "cmd", "cmdbx", "core",
		"Atrium", "AtriumCor", "AtriumIntegrators", "aii", "integrator",
		"AR,AI", "all",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int c = component_parse(bad[i]);
		if (c != -1)
			fail_msg("component_parse('%s') = %d, expected -1", bad[i], c);
	}
}

static void test_chain(void **state)
{
	(void)state;
	assert_int_equal(component_chain(COMP_AR), BIT(COMP_AR));
	assert_int_equal(component_chain(COMP_ATRIUMCORE), BIT(COMP_ATRIUMCORE) | BIT(COMP_AR));
	assert_int_equal(component_chain(COMP_ATRIUMINTEGRATOR),
			 BIT(COMP_ATRIUMINTEGRATOR) | BIT(COMP_ATRIUMCORE) | BIT(COMP_AR));
	assert_int_equal(component_chain(COMP_ATRIUMINTEGRATOR), COMP_ALL);
}

static void test_order_every_mask(void **state)
{
	(void)state;
	for (unsigned mask = 0; mask <= COMP_ALL; mask++) {
		int out[COMP_N] = { -7, -7, -7 };
		int want[COMP_N], nwant = 0;

		/* top-down: AtriumIntegrator, AtriumCore, AR */
		if (mask & BIT(COMP_ATRIUMINTEGRATOR))
			want[nwant++] = COMP_ATRIUMINTEGRATOR;
		if (mask & BIT(COMP_ATRIUMCORE))
			want[nwant++] = COMP_ATRIUMCORE;
		if (mask & BIT(COMP_AR))
			want[nwant++] = COMP_AR;
		int n = component_order(mask, out);
		assert_int_equal(n, nwant);
		for (int i = 0; i < n; i++)
			assert_int_equal(out[i], want[i]);
		for (int i = n; i < COMP_N; i++)
			assert_int_equal(out[i], -7);	/* nothing written beyond n */
	}
}

static void test_order_examples(void **state)
{
	(void)state;
	int out[COMP_N];

	assert_int_equal(component_order(BIT(COMP_AR) | BIT(COMP_ATRIUMINTEGRATOR), out), 2);
	assert_int_equal(out[0], COMP_ATRIUMINTEGRATOR);
	assert_int_equal(out[1], COMP_AR);
	assert_int_equal(component_order(COMP_ALL, out), 3);
	assert_int_equal(out[0], COMP_ATRIUMINTEGRATOR);
	assert_int_equal(out[1], COMP_ATRIUMCORE);
	assert_int_equal(out[2], COMP_AR);
	assert_int_equal(component_order(0, out), 0);
}

static void test_valid_names(void **state)
{
	(void)state;
	const char *s = component_valid_names();
	for (int c = 0; c < COMP_N; c++)
		assert_non_null(strstr(s, component_name(c)));
	assert_non_null(strstr(s, "arsystem"));
	assert_non_null(strstr(s, "cmdb"));
	assert_non_null(strstr(s, "ai"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_names),
		cmocka_unit_test(test_parse_canonical_roundtrip),
		cmocka_unit_test(test_parse_aliases_case_insensitive),
		cmocka_unit_test(test_parse_unknown),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_order_every_mask),
		cmocka_unit_test(test_order_examples),
		cmocka_unit_test(test_valid_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
