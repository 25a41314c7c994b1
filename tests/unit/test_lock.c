/* test_lock.c - unit tests of common/lock.c */
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
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/lock.h"

struct tmp {
	char dir[64];
	int fd;
};

static int setup(void **state)
{
	struct tmp *t = xcalloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/zdt-test-lock-XXXXXX");
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
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

struct result {
	int rc;
	int err;
	pid_t pid;
	char who[256];
};

/* lock_take in another process (another open file description); the
 * child exits at once, which frees whatever it took */
static struct result other_process(int bkfd, int mode, double wait_s, const char *cmdline)
{
	struct result res;
	int p[2];

	memset(&res, 0, sizeof(res));
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct zlock lk = ZLOCK_INIT;
		struct sbuf who = SBUF_INIT;
		struct result r;
		memset(&r, 0, sizeof(r));
		close(p[0]);
		r.rc = lock_take(&lk, bkfd, mode, wait_s, cmdline, &who);
		r.err = errno;
		r.pid = getpid();
		snprintf(r.who, sizeof(r.who), "%s", who.buf ? who.buf : "");
		if (write(p[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &res, sizeof(res)), (ssize_t)sizeof(res));
	close(p[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return res;
}

static void read_lock_file(int bkfd, char *buf, size_t n)
{
	int fd = openat(bkfd, LOCK_FILE, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t r = read(fd, buf, n - 1);
	assert_true(r >= 0);
	buf[r] = '\0';
	close(fd);
}

static void test_exclusive_conflict(void **state)
{
	struct tmp *t = *state;
	struct zlock lk = ZLOCK_INIT;
	struct sbuf who = SBUF_INIT;
	char want[128], content[256];
	struct stat st;

	assert_int_equal(lock_take(&lk, t->fd, LOCK_EXCLUSIVE, 0, "zdt backup -c AR", &who), 0);
	assert_true(lk.fd >= 0);
	/* the holder's label */
	read_lock_file(t->fd, content, sizeof(content));
	snprintf(want, sizeof(want), "%ld zdt backup -c AR\n", (long)getpid());
	assert_string_equal(content, want);
	assert_int_equal(fstatat(t->fd, LOCK_FILE, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* another process is refused and told who holds it */
	struct result r = other_process(t->fd, LOCK_EXCLUSIVE, 0, "zdt rollback");
	assert_int_equal(r.rc, 1);
	snprintf(want, sizeof(want), "pid %ld (zdt backup -c AR)", (long)getpid());
	assert_string_equal(r.who, want);
	/* so is a shared taker */
	r = other_process(t->fd, LOCK_SHARED, 0, "zdt verify");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.who, want);

	/* another open file description in this process too */
	struct zlock lk2 = ZLOCK_INIT;
	assert_int_equal(lock_take(&lk2, t->fd, LOCK_EXCLUSIVE, 0, "x", &who), 1);
	assert_int_equal(lk2.fd, -1);
	assert_string_equal(who.buf, want);
	/* the refused run did not overwrite the label */
	read_lock_file(t->fd, content, sizeof(content));
	snprintf(want, sizeof(want), "%ld zdt backup -c AR\n", (long)getpid());
	assert_string_equal(content, want);

	lock_drop(&lk);
	assert_int_equal(lk.fd, -1);
	lock_drop(&lk);	/* twice is harmless */
	sbuf_free(&who);
}

static void test_shared_shared(void **state)
{
	struct tmp *t = *state;
	struct zlock a = ZLOCK_INIT, b = ZLOCK_INIT;
	struct sbuf who = SBUF_INIT;

	assert_int_equal(lock_take(&a, t->fd, LOCK_SHARED, 0, "zdt verify", &who), 0);
	assert_int_equal(lock_take(&b, t->fd, LOCK_SHARED, 0, "zdt diff", &who), 0);
	struct result r = other_process(t->fd, LOCK_SHARED, 0, "zdt list");
	assert_int_equal(r.rc, 0);
	/* shared holders leave no label */
	char content[64];
	read_lock_file(t->fd, content, sizeof(content));
	assert_string_equal(content, "");

	/* exclusive conflicts with shared, and with nothing to name */
	r = other_process(t->fd, LOCK_EXCLUSIVE, 0, "zdt backup");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.who, "another zdt run");
	lock_drop(&a);
	r = other_process(t->fd, LOCK_EXCLUSIVE, 0, "zdt backup");
	assert_int_equal(r.rc, 1);	/* b still holds it */
	lock_drop(&b);
	r = other_process(t->fd, LOCK_EXCLUSIVE, 0, "zdt backup");
	assert_int_equal(r.rc, 0);
	sbuf_free(&who);
}

static void test_drop_frees(void **state)
{
	struct tmp *t = *state;
	struct zlock lk = ZLOCK_INIT;
	struct sbuf who = SBUF_INIT;

	assert_int_equal(lock_take(&lk, t->fd, LOCK_EXCLUSIVE, 0, "zdt cleanup", &who), 0);
	lock_drop(&lk);
	struct result r = other_process(t->fd, LOCK_EXCLUSIVE, 0, "zdt backup");
	assert_int_equal(r.rc, 0);
	r = other_process(t->fd, LOCK_SHARED, 0, "zdt verify");
	assert_int_equal(r.rc, 0);
	/* and again in this process */
	assert_int_equal(lock_take(&lk, t->fd, LOCK_EXCLUSIVE, 0, "zdt cleanup", &who), 0);
	lock_drop(&lk);
	sbuf_free(&who);
}

/* a child takes the lock and waits for a byte on cmd before exiting */
static pid_t holder(int bkfd, int mode, const char *cmdline, int *cmd_w)
{
	int ready[2], cmd[2];
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(cmd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct zlock lk = ZLOCK_INIT;
		struct sbuf who = SBUF_INIT;
		close(ready[0]);
		close(cmd[1]);
		c = (char)('0' + lock_take(&lk, bkfd, mode, 0, cmdline, &who));
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		if (read(cmd[0], &c, 1) < 0)
			_exit(1);
		_exit(0);	/* dies holding the lock */
	}
	close(ready[1]);
	close(cmd[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(c, '0');
	close(ready[0]);
	*cmd_w = cmd[1];
	return pid;
}

static void test_dead_holder(void **state)
{
	struct tmp *t = *state;
	struct zlock lk = ZLOCK_INIT;
	struct sbuf who = SBUF_INIT;
	char want[128];
	int cmd, status;

	pid_t pid = holder(t->fd, LOCK_EXCLUSIVE, "zdt backup -c cmdb", &cmd);
	assert_int_equal(lock_take(&lk, t->fd, LOCK_EXCLUSIVE, 0, "zdt rollback", &who), 1);
	snprintf(want, sizeof(want), "pid %ld (zdt backup -c cmdb)", (long)pid);
	assert_string_equal(who.buf, want);

	close(cmd);	/* the holder exits without dropping */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(lock_take(&lk, t->fd, LOCK_EXCLUSIVE, 0, "zdt rollback", &who), 0);
	lock_drop(&lk);
	sbuf_free(&who);
}

static void test_dead_pid_not_named(void **state)
{
	struct tmp *t = *state;
	struct zlock sh = ZLOCK_INIT;
	struct sbuf who = SBUF_INIT;
	int cmd, status;

	/* an exclusive holder that died leaves its label behind ... */
	pid_t pid = holder(t->fd, LOCK_EXCLUSIVE, "zdt backup", &cmd);
	close(cmd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* ... and a shared holder does not rewrite it */
	assert_int_equal(lock_take(&sh, t->fd, LOCK_SHARED, 0, "zdt verify", &who), 0);
	struct result r = other_process(t->fd, LOCK_EXCLUSIVE, 0, "zdt cleanup");
	assert_int_equal(r.rc, 1);
	/* a dead pid is not named as the holder */
	assert_string_equal(r.who, "another zdt run");
	lock_drop(&sh);
	sbuf_free(&who);
}

static void test_wait(void **state)
{
	struct tmp *t = *state;
	struct zlock lk = ZLOCK_INIT;
	struct sbuf who = SBUF_INIT;
	int cmd, status;

	pid_t pid = holder(t->fd, LOCK_EXCLUSIVE, "zdt backup", &cmd);
	/* a short wait is not enough */
	double t0 = now_mono();
	assert_int_equal(lock_take(&lk, t->fd, LOCK_EXCLUSIVE, 0.3, "zdt rollback", &who), 1);
	double el = now_mono() - t0;
	assert_true(el >= 0.29);
	assert_true(el < 2.0);

	/* the holder goes away while we wait */
	pid_t killer = fork();
	assert_true(killer >= 0);
	if (killer == 0) {
		usleep(300 * 1000);
		close(cmd);
		_exit(0);
	}
	close(cmd);
	t0 = now_mono();
	assert_int_equal(lock_take(&lk, t->fd, LOCK_EXCLUSIVE, 10, "zdt rollback", &who), 0);
	el = now_mono() - t0;
	assert_true(el >= 0.2);
	assert_true(el < 5.0);
	lock_drop(&lk);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(waitpid(killer, &status, 0), killer);
	sbuf_free(&who);
}

static void test_errors(void **state)
{
	struct tmp *t = *state;
	struct zlock lk = ZLOCK_INIT;
	struct sbuf who = SBUF_INIT;

	/* .lock planted as a symlink is not followed */
	assert_int_equal(symlinkat("/tmp/zdt-test-lock-target", t->fd, LOCK_FILE), 0);
	errno = 0;
	assert_int_equal(lock_take(&lk, t->fd, LOCK_EXCLUSIVE, 0, "zdt backup", &who), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(access("/tmp/zdt-test-lock-target", F_OK), -1);
	assert_int_equal(lk.fd, -1);
	sbuf_free(&who);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exclusive_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_pid_not_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
