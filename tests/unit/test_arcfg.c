/* test_arcfg.c - unit tests of common/arcfg.c */
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
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../../common/arcfg.h"
#include "../../common/fsops.h"

static const char sample[] =
	"# AR System server configuration\n"
	"Server-Name: arsrv01\n"
	"Operating-Mode:   1   \n"
	"Server-Plugin-Alias: ARSYS.ARDBC.LDAP ARSYS.ARDBC.LDAP arsrv01:9999\n"
	"not a setting line\n"
	"#Operating-Mode: 7\n"
	"\n"
	"Disable-Escalations-Global: T\n"
	"Plugin-Port:9999\n"
	"operating-mode: 5\n";

static void get_str(const struct arcfg *c, const char *key, char *out, size_t n)
{
	const char *v;
	size_t vn;

	assert_true(arcfg_get(c, key, &v, &vn) >= 0);
	assert_true(vn < n);
	memcpy(out, v, vn);
	out[vn] = '\0';
}

static void test_parse_and_get(void **state)
{
	struct arcfg c = ARCFG_INIT;
	char v[128];
	const char *p;
	size_t n;

	(void)state;
	arcfg_parse(&c, sample, strlen(sample));
	assert_int_equal(c.n, 10);
	assert_int_equal(c.crlf, 0);
	get_str(&c, "Server-Name", v, sizeof(v));
	assert_string_equal(v, "arsrv01");
	get_str(&c, "Operating-Mode", v, sizeof(v));
	assert_string_equal(v, "1");
	/* the value runs to the end: further colons are part of it */
	get_str(&c, "Server-Plugin-Alias", v, sizeof(v));
	assert_string_equal(v, "ARSYS.ARDBC.LDAP ARSYS.ARDBC.LDAP arsrv01:9999");
	get_str(&c, "Plugin-Port", v, sizeof(v));
	assert_string_equal(v, "9999");
	/* keys are case-sensitive; comments are not settings */
	get_str(&c, "operating-mode", v, sizeof(v));
	assert_string_equal(v, "5");
	assert_int_equal(arcfg_get(&c, "#Operating-Mode", &p, &n), -1);
	assert_int_equal(arcfg_get(&c, "not a setting line", &p, &n), -1);
	assert_int_equal(arcfg_get(&c, "Missing", &p, &n), -1);
	arcfg_release(&c);
}

static void test_set_keeps_other_bytes(void **state)
{
	struct arcfg c = ARCFG_INIT;
	char want[sizeof(sample) + 16];

	(void)state;
	arcfg_parse(&c, sample, strlen(sample));
	assert_int_equal(arcfg_set(&c, "Operating-Mode", "0"), 1);
	/* only the value's byte changed: blanks around it stay */
	snprintf(want, sizeof(want), "%s", sample);
	char *at = strstr(want, "Operating-Mode:   1   ");
	assert_non_null(at);
	at[strlen("Operating-Mode:   ")] = '0';
	assert_int_equal(c.text.len, strlen(want));
	assert_memory_equal(c.text.buf, want, c.text.len);
	/* setting the same value again changes nothing */
	assert_int_equal(arcfg_set(&c, "Operating-Mode", "0"), 0);
	assert_memory_equal(c.text.buf, want, c.text.len);
	arcfg_release(&c);
}

static void test_set_longer_value_and_no_space(void **state)
{
	struct arcfg c = ARCFG_INIT;
	static const char t[] = "A: 1\nPlugin-Port:9999\nB: 2\n";

	(void)state;
	arcfg_parse(&c, t, strlen(t));
	assert_int_equal(arcfg_set(&c, "Plugin-Port", "12345"), 1);
	assert_string_equal(c.text.buf, "A: 1\nPlugin-Port:12345\nB: 2\n");
	assert_int_equal(c.n, 3);
	arcfg_release(&c);
}

static void test_crlf_kept(void **state)
{
	struct arcfg c = ARCFG_INIT;
	static const char t[] = "# c\r\nDisable-Escalations-Global: T\r\nDisable-Escalations: F\r\n";
	char v[16];

	(void)state;
	arcfg_parse(&c, t, strlen(t));
	assert_int_equal(c.crlf, 1);
	get_str(&c, "Disable-Escalations-Global", v, sizeof(v));
	assert_string_equal(v, "T");	/* no '\r' in the value */
	assert_int_equal(arcfg_set(&c, "Disable-Escalations-Global", "F"), 1);
	assert_string_equal(c.text.buf, "# c\r\nDisable-Escalations-Global: F\r\nDisable-Escalations: F\r\n");
	/* a new key gets the file's line end */
	assert_int_equal(arcfg_set(&c, "Operating-Mode", "0"), 1);
	assert_string_equal(c.text.buf,
			    "# c\r\nDisable-Escalations-Global: F\r\nDisable-Escalations: F\r\nOperating-Mode: 0\r\n");
	arcfg_release(&c);
}

static void test_duplicates_and_append(void **state)
{
	struct arcfg c = ARCFG_INIT;
	static const char t[] = "Operating-Mode: 1\nX: y\nOperating-Mode: 2";
	const char *v;
	size_t n;

	(void)state;
	arcfg_parse(&c, t, strlen(t));
	/* the last one counts */
	assert_int_equal(arcfg_get(&c, "Operating-Mode", &v, &n), 2);
	assert_int_equal(n, 1);
	assert_int_equal(*v, '2');
	/* every copy is changed */
	assert_int_equal(arcfg_set(&c, "Operating-Mode", "0"), 2);
	assert_string_equal(c.text.buf, "Operating-Mode: 0\nX: y\nOperating-Mode: 0");
	/* appended after a last line without a newline: one is added first */
	assert_int_equal(arcfg_set(&c, "New-Key", "v"), 1);
	assert_string_equal(c.text.buf, "Operating-Mode: 0\nX: y\nOperating-Mode: 0\nNew-Key: v\n");
	arcfg_release(&c);
}

static void test_empty_value_and_empty_file(void **state)
{
	struct arcfg c = ARCFG_INIT;
	const char *v;
	size_t n;

	(void)state;
	arcfg_parse(&c, "Operating-Mode:\n", 16);
	assert_int_equal(arcfg_get(&c, "Operating-Mode", &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(arcfg_set(&c, "Operating-Mode", "0"), 1);
	assert_string_equal(c.text.buf, "Operating-Mode: 0\n");
	arcfg_release(&c);

	arcfg_parse(&c, "", 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(arcfg_set(&c, "Operating-Mode", "0"), 1);
	assert_string_equal(c.text.buf, "Operating-Mode: 0\n");
	arcfg_release(&c);
}

/* a scratch folder with ar.cfg holding text */
static int scratch(char dir[64], const char *text, mode_t mode)
{
	snprintf(dir, 64, "/tmp/test_arcfg.XXXXXX");
	assert_non_null(mkdtemp(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	int fd = openat(dfd, "ar.cfg", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return dfd;
}

static void test_write_keeps_mode_and_xattr(void **state)
{
	struct arcfg c = ARCFG_INIT;
	struct stat st, st2;
	char dir[64], buf[256];
	static const char t[] = "# x\r\nOperating-Mode: 1\r\nKeep: me\r\n";
	int dfd = scratch(dir, t, 0640);

	(void)state;
	int xfd = openat(dfd, "ar.cfg", O_RDONLY);
	int has_xattr = fsetxattr(xfd, "user.zdt.test", "gen", 3, 0) == 0;
	close(xfd);
	assert_int_equal(arcfg_read_at(dfd, "ar.cfg", &c, &st), 0);
	assert_int_equal(c.text.len, strlen(t));
	assert_int_equal(arcfg_set(&c, "Operating-Mode", "0"), 1);
	assert_int_equal(arcfg_write_at(dfd, "ar.cfg", &c, &st), 0);
	int fd = openat(dfd, "ar.cfg", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)strlen(t));
	assert_memory_equal(buf, "# x\r\nOperating-Mode: 0\r\nKeep: me\r\n", (size_t)n);
	assert_int_equal(fstat(fd, &st2), 0);
	assert_int_equal(st2.st_mode & 07777, 0640);
	assert_int_equal(st2.st_uid, st.st_uid);
	assert_true(st2.st_ino != st.st_ino);	/* replaced, not rewritten */
	if (has_xattr) {
		char v[8];
		assert_int_equal(fgetxattr(fd, "user.zdt.test", v, sizeof(v)), 3);
		assert_memory_equal(v, "gen", 3);
	}
	close(fd);
	/* no temporary file left */
	struct dirlist dl;
	memset(&dl, 0, sizeof(dl));
	assert_int_equal(dirlist_read(dfd, &dl), 0);
	assert_int_equal(dl.n, 1);
	dirlist_release(&dl);
	arcfg_release(&c);
	rm_tree_at(AT_FDCWD, dir);
	close(dfd);
}

static void test_write_refuses_a_changed_file(void **state)
{
	struct arcfg c = ARCFG_INIT;
	struct stat st;
	char dir[64], buf[64];
	int dfd = scratch(dir, "Operating-Mode: 1\n", 0600);

	(void)state;
	assert_int_equal(arcfg_read_at(dfd, "ar.cfg", &c, &st), 0);
	/* someone else edits it meanwhile */
	int fd = openat(dfd, "ar.cfg", O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "X: 1\n", 5), 5);
	close(fd);
	arcfg_set(&c, "Operating-Mode", "0");
	errno = 0;
	assert_int_equal(arcfg_write_at(dfd, "ar.cfg", &c, &st), -1);
	assert_int_equal(errno, EAGAIN);
	fd = openat(dfd, "ar.cfg", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, 23);
	assert_memory_equal(buf, "Operating-Mode: 1\nX: 1\n", 23);
	struct dirlist dl;
	memset(&dl, 0, sizeof(dl));
	assert_int_equal(dirlist_read(dfd, &dl), 0);
	assert_int_equal(dl.n, 1);
	dirlist_release(&dl);
	arcfg_release(&c);
	rm_tree_at(AT_FDCWD, dir);
	close(dfd);
}

static void test_read_refuses_links_and_binary(void **state)
{
	struct arcfg c = ARCFG_INIT;
	struct stat st;
	char dir[64];
	int dfd = scratch(dir, "A: 1\n", 0600);

	(void)state;
	assert_int_equal(symlinkat("ar.cfg", dfd, "link.cfg"), 0);
	assert_int_equal(arcfg_read_at(dfd, "link.cfg", &c, &st), -1);
	assert_int_equal(errno, ELOOP);
	int fd = openat(dfd, "bin.cfg", O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "A: \0\n", 5), 5);
	close(fd);
	assert_int_equal(arcfg_read_at(dfd, "bin.cfg", &c, &st), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(arcfg_read_at(dfd, "missing.cfg", &c, &st), -1);
	assert_int_equal(errno, ENOENT);
	arcfg_release(&c);
	rm_tree_at(AT_FDCWD, dir);
	close(dfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_get),
		cmocka_unit_test(test_set_keeps_other_bytes),
		cmocka_unit_test(test_set_longer_value_and_no_space),
		cmocka_unit_test(test_crlf_kept),
		cmocka_unit_test(test_duplicates_and_append),
		cmocka_unit_test(test_empty_value_and_empty_file),
		cmocka_unit_test(test_write_keeps_mode_and_xattr),
		cmocka_unit_test(test_write_refuses_a_changed_file),
		cmocka_unit_test(test_read_refuses_links_and_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
