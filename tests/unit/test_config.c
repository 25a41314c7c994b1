/* test_config.c - unit tests of common/config.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/config.h"

static void check_full(const struct config *cf)
{
	assert_non_null(cf->backup_dir);
	assert_string_equal(cf->backup_dir, "/opt/bmc/zdt_backup");
	assert_int_equal(cf->ar_port, 46262);
	assert_non_null(cf->ar_server);
	assert_string_equal(cf->ar_server, "remedy.example.com");
	assert_non_null(cf->compress);
	assert_string_equal(cf->compress, "gzip:6");
	assert_int_equal(cf->reserve, 64ull << 20);
	assert_int_equal(cf->has_cleanup_older_than, 1);
	assert_int_equal(cf->cleanup_older_than, 14ull * 86400);
	assert_int_equal(cf->cleanup_keep_last, 5);

	assert_non_null(cf->comp[COMP_AR].path);
	assert_string_equal(cf->comp[COMP_AR].path, "/opt/bmc/ARSystem");
	assert_int_equal(cf->comp[COMP_AR].nexclude, 3);
	assert_string_equal(cf->comp[COMP_AR].exclude[0], "*.log");
	assert_string_equal(cf->comp[COMP_AR].exclude[1], "tmp/*");
	assert_string_equal(cf->comp[COMP_AR].exclude[2], "a=b c");

	/* [cmdb] is the alias of AtriumCore */
	assert_non_null(cf->comp[COMP_ATRIUMCORE].path);
	assert_string_equal(cf->comp[COMP_ATRIUMCORE].path, "/opt/bmc/Atrium Core");
	assert_int_equal(cf->comp[COMP_ATRIUMCORE].nexclude, 1);
	assert_string_equal(cf->comp[COMP_ATRIUMCORE].exclude[0], "cache");

	/* [ ai ] */
	assert_non_null(cf->comp[COMP_ATRIUMINTEGRATOR].path);
	assert_string_equal(cf->comp[COMP_ATRIUMINTEGRATOR].path, "/opt/bmc/AtriumIntegrator");
	assert_int_equal(cf->comp[COMP_ATRIUMINTEGRATOR].nexclude, 0);
	assert_null(cf->comp[COMP_ATRIUMINTEGRATOR].exclude);
}

static const char full_lf[] =
	"# zdt configuration\n"
	"; a comment with ; and = inside\n"
	"\n"
	"   \n"
	"backup-dir   =   /opt/bmc/zdt_backup\n"
	"ar-port=46262\n"
	"\tar-server\t=\tremedy.example.com\t\n"
	"compress = gzip:6\n"
	"reserve = 64M\n"
	"cleanup-older-than = 14d\n"
	"cleanup-keep-last = 5\n"
	"\n"
	"[AR]\n"
	"path = /opt/bmc/ARSystem\n"
	"exclude = *.log\n"
	"  # indented comment\n"
	"exclude = tmp/*\n"
	"exclude = a=b c\n"
	"[cmdb]\n"
	"path = /opt/bmc/Atrium Core\n"
	"exclude = cache\n"
	"  ; indented comment\n"
	"[ ai ]\n"
	"path = /opt/bmc/AtriumIntegrator\n";

static char *to_crlf(const char *s)
{
	struct sbuf sb = SBUF_INIT;

	for (; *s; s++) {
		if (*s == '\n')
			sbuf_addc(&sb, '\r');
		sbuf_addc(&sb, *s);
	}
	return sb.buf;
}

static void test_parse_full_lf(void **state)
{
	(void)state;
	struct config cf;
	struct sbuf err = SBUF_INIT;

	memset(&cf, 0, sizeof(cf));
	int rc = config_parse(&cf, "zdt.conf", full_lf, &err);
	if (rc)
		fail_msg("config_parse: %s", err.buf);
	assert_int_equal(err.len, 0);
	check_full(&cf);
	config_release(&cf);
	assert_null(cf.backup_dir);
	sbuf_free(&err);
}

static void test_parse_full_crlf(void **state)
{
	(void)state;
	struct config cf;
	struct sbuf err = SBUF_INIT;
	char *text = to_crlf(full_lf);

	memset(&cf, 0, sizeof(cf));
	int rc = config_parse(&cf, "zdt.conf", text, &err);
	if (rc)
		fail_msg("config_parse: %s", err.buf);
	check_full(&cf);	/* no '\r' left at the end of any value */
	config_release(&cf);
	free(text);
	sbuf_free(&err);
}

static void test_parse_no_final_newline_and_empty(void **state)
{
	(void)state;
	struct config cf;
	struct sbuf err = SBUF_INIT;

	memset(&cf, 0, sizeof(cf));
	assert_int_equal(config_parse(&cf, "c", "ar-port = 1", &err), 0);
	assert_int_equal(cf.ar_port, 1);
	config_release(&cf);
	assert_int_equal(config_parse(&cf, "c", "ar-port = 65535\r\n", &err), 0);
	assert_int_equal(cf.ar_port, 65535);
	config_release(&cf);
	assert_int_equal(config_parse(&cf, "c", "", &err), 0);
	assert_null(cf.backup_dir);
	assert_int_equal(cf.ar_port, 0);
	assert_int_equal(cf.has_cleanup_older_than, 0);
	config_release(&cf);
	assert_int_equal(err.len, 0);
	sbuf_free(&err);
}

static void test_parse_later_value_wins(void **state)
{
	(void)state;
	struct config cf;
	struct sbuf err = SBUF_INIT;

	memset(&cf, 0, sizeof(cf));
	assert_int_equal(config_parse(&cf, "c",
		"backup-dir = /a\nbackup-dir = /b\n[AR]\npath = /x\n[arsystem]\npath = /y\nexclude = e\n",
		&err), 0);
	assert_string_equal(cf.backup_dir, "/b");
	assert_string_equal(cf.comp[COMP_AR].path, "/y");
	assert_int_equal(cf.comp[COMP_AR].nexclude, 1);
	config_release(&cf);
	sbuf_free(&err);
}

struct bad {
	const char *text;
	int line;
	const char *reason;
};

static const struct bad bads[] = {
	{ "backup-dir = /x\nfoo = 1\n", 2, "unknown key 'foo'" },
	{ "# c\n\n[Foo]\npath = /x\n", 3, "unknown component [Foo]" },
	{ "[AR]\n[nope]\n", 2, "unknown component [nope]" },
	{ "# c\n; c\nbackup-dir /x\n", 3, "expected 'key = value'" },
	{ "ar-port =\n", 1, "missing value for 'ar-port'" },
	{ "\n\nar-port =  \t \n", 3, "missing value for 'ar-port'" },
	{ "ar-port = 1\n = 5\n", 2, "missing key" },
	{ "backup-dir = relative/dir\n", 1, "backup-dir must be an absolute path" },
	{ "backup-dir = ./x\n", 1, "backup-dir must be an absolute path" },
	{ "ar-port = 0\n", 1, "invalid ar-port '0'" },
	{ "ar-port = 70000\n", 1, "invalid ar-port '70000'" },
	{ "ar-port = 65536\n", 1, "invalid ar-port '65536'" },
	{ "# x\nar-port = x\n", 2, "invalid ar-port 'x'" },
	{ "ar-port = -1\n", 1, "invalid ar-port '-1'" },
	{ "ar-port = 80x\n", 1, "invalid ar-port '80x'" },
	{ "cleanup-older-than = 48\n", 1, "invalid cleanup-older-than '48'" },
	{ "cleanup-older-than = 1y\n", 1, "invalid cleanup-older-than '1y'" },
	{ "cleanup-older-than = d\n", 1, "invalid cleanup-older-than 'd'" },
	{ "cleanup-keep-last = 0\n", 1, "invalid cleanup-keep-last '0'" },
	{ "cleanup-keep-last = 1001\n", 1, "invalid cleanup-keep-last '1001'" },
	{ "reserve = 1Q\n", 1, "invalid reserve '1Q'" },
	{ "[AR\n", 1, "malformed section header" },
	{ "[AR] x\n", 1, "malformed section header" },
	{ "[AR]\nbackup-dir = /x\n", 2, "unknown key 'backup-dir' in section [AR]" },
	{ "[cmdb]\nfoo = 1\n", 2, "unknown key 'foo' in section [AtriumCore]" },
	{ "[AR]\npath = opt/bmc\n", 2, "path must be an absolute path" },
	/* CRLF line endings: still counted as one line each */
	{ "# c\r\nar-port = 1\r\n\r\nfoo = 2\r\n", 4, "unknown key 'foo'" },
	/* the first error is reported and parsing stops */
	{ "ar-port = 1\nar-port = 0\nfoo = 1\n", 2, "invalid ar-port '0'" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct config cf;
		struct sbuf err = SBUF_INIT;
		char prefix[64];

		memset(&cf, 0, sizeof(cf));
		int rc = config_parse(&cf, "my.conf", bads[i].text, &err);
		if (rc != -1)
			fail_msg("case %zu: config_parse returned %d for \"%s\"", i, rc, bads[i].text);
		snprintf(prefix, sizeof(prefix), "my.conf:%d: ", bads[i].line);
		if (!err.buf || strncmp(err.buf, prefix, strlen(prefix)))
			fail_msg("case %zu: error '%s' does not start with '%s'", i,
				 err.buf ? err.buf : "(null)", prefix);
		if (!strstr(err.buf, bads[i].reason))
			fail_msg("case %zu: error '%s' does not say '%s'", i, err.buf, bads[i].reason);
		/* exactly one message, one line */
		assert_null(strchr(err.buf, '\n'));
		assert_null(strstr(err.buf + 1, "my.conf:"));
		config_release(&cf);
		sbuf_free(&err);
	}
}

static char *write_temp(const char *data, size_t n)
{
	char *path = xstrdup("/tmp/zdt-test-config-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	return path;
}

static void test_load_file(void **state)
{
	(void)state;
	struct config cf;
	struct sbuf err = SBUF_INIT;
	char *path = write_temp(full_lf, strlen(full_lf));

	memset(&cf, 0, sizeof(cf));
	int rc = config_load(&cf, path, &err);
	if (rc)
		fail_msg("config_load: %s", err.buf);
	assert_non_null(cf.file);
	assert_string_equal(cf.file, path);
	check_full(&cf);
	config_release(&cf);
	assert_null(cf.file);
	unlink(path);
	free(path);
	sbuf_free(&err);
}

static void test_load_error_names_file_and_line(void **state)
{
	(void)state;
	struct config cf;
	struct sbuf err = SBUF_INIT;
	static const char text[] = "backup-dir = /x\n\nar-port = 99999\n";
	char *path = write_temp(text, strlen(text));
	char *want = xasprintf("%s:3: ", path);

	memset(&cf, 0, sizeof(cf));
	assert_int_equal(config_load(&cf, path, &err), -1);
	assert_non_null(err.buf);
	if (strncmp(err.buf, want, strlen(want)))
		fail_msg("error '%s' does not start with '%s'", err.buf, want);
	assert_non_null(strstr(err.buf, "invalid ar-port '99999'"));
	config_release(&cf);
	unlink(path);
	free(path);
	free(want);
	sbuf_free(&err);
}

static void test_load_missing_file(void **state)
{
	(void)state;
	struct config cf;
	struct sbuf err = SBUF_INIT;
	const char *path = "/nonexistent-zdt-dir/zdt.conf";

	memset(&cf, 0, sizeof(cf));
	assert_int_equal(config_load(&cf, path, &err), -1);
	assert_non_null(err.buf);
	if (!strstr(err.buf, path))
		fail_msg("error '%s' does not name '%s'", err.buf, path);
	assert_non_null(strstr(err.buf, "No such file"));
	config_release(&cf);
	sbuf_free(&err);
}

static void test_load_binary_file(void **state)
{
	(void)state;
	struct config cf;
	struct sbuf err = SBUF_INIT;
	static const char data[] = "ar-port = 1\n\0\1\2";
	char *path = write_temp(data, sizeof(data));

	memset(&cf, 0, sizeof(cf));
	assert_int_equal(config_load(&cf, path, &err), -1);
	assert_non_null(err.buf);
	assert_non_null(strstr(err.buf, path));
	assert_non_null(strstr(err.buf, "not a text file"));
	config_release(&cf);
	unlink(path);
	free(path);
	sbuf_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full_lf),
		cmocka_unit_test(test_parse_full_crlf),
		cmocka_unit_test(test_parse_no_final_newline_and_empty),
		cmocka_unit_test(test_parse_later_value_wins),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_error_names_file_and_line),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_load_binary_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
