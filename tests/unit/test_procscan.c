/* test_procscan.c - unit tests of common/procscan.c, on a made-up /proc
 * tree and on the real one */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/fsops.h"
#include "../../common/procscan.h"

static char root[64];

static void mk(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void ln(const char *target, const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

static void proc(const char *pid, const char *comm)
{
	char p[64], c[64];
	mk(pid);
	snprintf(p, sizeof(p), "%s/fd", pid);
	mk(p);
	snprintf(p, sizeof(p), "%s/comm", pid);
	snprintf(c, sizeof(c), "%s\n", comm);
	put(p, c);
}

/* a /proc with processes of every kind */
static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_procscan.XXXXXX");
	assert_non_null(mkdtemp(root));
	/* an open file under the folder, and a listening socket */
	proc("123", "arserverd");
	ln("/opt/bmc/ARSystem/conf/ar.cfg", "123/fd/3");
	ln("socket:[777]", "123/fd/5");
	ln("/", "123/cwd");
	ln("/", "123/root");
	ln("/usr/sbin/x", "123/exe");
	/* only its working folder */
	proc("200", "bash");
	ln("/dev/null", "200/fd/0");
	ln("/opt/bmc/ARSystem/bin", "200/cwd");
	/* only a mapped library, and an IPv6 listener */
	proc("300", "java");
	ln("socket:[888]", "300/fd/7");
	put("300/maps", "7f0000000000-7f0000001000 r--p 00000000 08:01 42 /usr/lib/libc.so.6\n"
			"7f0000001000-7f0000002000 r-xp 00000000 08:01 43 /opt/bmc/ARSystem/lib/libar.so\n"
			"7ffd00000000-7ffd00001000 rw-p 00000000 00:00 0 [stack]\n");
	/* a folder whose name starts the same: not under it */
	proc("400", "other");
	ln("/opt/bmc/ARSystemOld/x", "400/fd/1");
	ln("/tmp", "400/cwd");
	/* a deleted file that is still open */
	proc("500", "deleted");
	ln("/opt/bmc/ARSystem/tmp/x (deleted)", "500/fd/4");
	/* fds that cannot be read */
	mk("600");
	put("600/comm", "secret\n");
	put("600/fd", "not a folder");
	/* not processes */
	mk("abc");
	mk("net");
	put("net/tcp",
	    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	    "   0: 00000000:B4A6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0 100 0 0 10 0\n"
	    "   1: 0100007F:B4A6 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 778 1 0 20 4 30 10 -1\n");
	put("net/tcp6",
	    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	    "   0: 00000000000000000000000000000000:270F 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 888 1 0 100 0 0 10 0\n");
	procscan_set_root(root);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	procscan_set_root(NULL);
	rm_tree_at(AT_FDCWD, root);
	return 0;
}

static const struct procref *find(const struct proclist *pl, long pid)
{
	for (size_t i = 0; i < pl->n; i++)
		if (pl->v[i].pid == pid)
			return &pl->v[i];
	return NULL;
}

static void test_busy(void **state)
{
	struct proclist pl = PROCLIST_INIT;
	const struct procref *r;

	(void)state;
	assert_int_equal(procscan_busy("/opt/bmc/ARSystem", 0, &pl), 0);
	assert_int_equal(pl.n, 4);
	assert_non_null(r = find(&pl, 123));
	assert_string_equal(r->comm, "arserverd");
	assert_string_equal(r->kind, "fd");
	assert_string_equal(r->path, "/opt/bmc/ARSystem/conf/ar.cfg");
	assert_non_null(r = find(&pl, 200));
	assert_string_equal(r->kind, "cwd");
	assert_string_equal(r->path, "/opt/bmc/ARSystem/bin");
	assert_non_null(r = find(&pl, 300));
	assert_string_equal(r->kind, "maps");
	assert_string_equal(r->path, "/opt/bmc/ARSystem/lib/libar.so");
	assert_non_null(r = find(&pl, 500));
	assert_string_equal(r->kind, "fd");
	assert_null(find(&pl, 400));
	assert_int_equal(pl.unreadable, 1);
	assert_true(proclist_has(&pl, 200));
	assert_false(proclist_has(&pl, 400));
	proclist_release(&pl);

	/* a trailing slash is the same folder; a folder nobody uses */
	assert_int_equal(procscan_busy("/opt/bmc/ARSystem/", 0, &pl), 0);
	assert_int_equal(pl.n, 4);
	proclist_release(&pl);
	assert_int_equal(procscan_busy("/opt/bmc/AtriumCore", 0, &pl), 0);
	assert_int_equal(pl.n, 0);
	proclist_release(&pl);
	assert_int_equal(procscan_busy("/opt/bmc/ARSystemOld", 0, &pl), 0);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.v[0].pid, 400);
	proclist_release(&pl);
}

static void test_listeners(void **state)
{
	struct proclist pl = PROCLIST_INIT;

	(void)state;
	/* the LISTEN socket, not the established connection on the same port */
	assert_int_equal(procscan_listeners(46246, 0, &pl), 1);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.v[0].pid, 123);
	assert_string_equal(pl.v[0].path, "socket:[777]");
	proclist_release(&pl);
	assert_int_equal(procscan_listeners(9999, 0, &pl), 1);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.v[0].pid, 300);
	assert_string_equal(pl.v[0].comm, "java");
	proclist_release(&pl);
	assert_int_equal(procscan_listeners(1234, 0, &pl), 0);
	assert_int_equal(pl.n, 0);
	proclist_release(&pl);
}

static void test_describe(void **state)
{
	struct proclist pl = PROCLIST_INIT;
	struct sbuf sb = SBUF_INIT;

	(void)state;
	assert_int_equal(procscan_busy("/opt/bmc/ARSystem", 0, &pl), 0);
	proclist_describe(&pl, 2, &sb);
	/* readdir order: check the shape, not the order */
	assert_non_null(strstr(sb.buf, " and 2 more"));
	assert_non_null(strstr(sb.buf, "pid "));
	sbuf_reset(&sb);
	proclist_describe(&pl, 10, &sb);
	assert_non_null(strstr(sb.buf, "pid 123 (arserverd)"));
	assert_non_null(strstr(sb.buf, "pid 200 (bash)"));
	assert_null(strstr(sb.buf, "more"));
	sbuf_free(&sb);
	proclist_release(&pl);
}

static void test_no_proc(void **state)
{
	struct proclist pl = PROCLIST_INIT;

	(void)state;
	procscan_set_root("/nonexistent/proc");
	assert_int_equal(procscan_busy("/opt", 0, &pl), -1);
	assert_int_equal(procscan_listeners(80, 0, &pl), -1);
	procscan_set_root(root);
}

/* the real /proc: this process holds a file and a listening socket */
static void test_real_proc(void **state)
{
	struct proclist pl = PROCLIST_INIT;
	char dir[64], path[128], *real;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	(void)state;
	procscan_set_root(NULL);
	snprintf(dir, sizeof(dir), "/tmp/test_procscan_real.XXXXXX");
	assert_non_null(mkdtemp(dir));
	real = realpath(dir, NULL);
	assert_non_null(real);
	snprintf(path, sizeof(path), "%s/held", real);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(procscan_busy(real, 0, &pl), 0);
	assert_true(proclist_has(&pl, (long)getpid()));
	proclist_release(&pl);
	assert_int_equal(procscan_busy(real, PROCSCAN_NOT_SELF, &pl), 0);
	assert_false(proclist_has(&pl, (long)getpid()));
	proclist_release(&pl);
	close(fd);
	assert_int_equal(procscan_busy(real, 0, &pl), 0);
	assert_false(proclist_has(&pl, (long)getpid()));
	proclist_release(&pl);

	int s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	unsigned port = ntohs(sa.sin_port);
	assert_true(procscan_listeners(port, 0, &pl) >= 1);
	assert_true(proclist_has(&pl, (long)getpid()));
	proclist_release(&pl);
	close(s);
	assert_int_equal(procscan_listeners(port, 0, &pl), 0);
	proclist_release(&pl);

	rm_tree_at(AT_FDCWD, real);
	free(real);
	procscan_set_root(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_listeners),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_no_proc),
		cmocka_unit_test(test_real_proc),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
