/* lock.c - flock on the backup folder; see lock.h. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static void read_holder(int fd, struct sbuf *who)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid;
	char *end;

	sbuf_reset(who);
	if (n <= 0) {
		sbuf_adds(who, "another zdt run");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	pid = strtol(buf, &end, 10);
	if (end == buf || pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH)) {
		sbuf_adds(who, "another zdt run");
		return;
	}
	while (*end == ' ')
		end++;
	sbuf_addf(who, "pid %ld (%s)", pid, *end ? end : "zdt");
}

int lock_take(struct zlock *lk, int bkfd, int mode, double wait_s,
	      const char *cmdline, struct sbuf *who)
{
	int fd = openat(bkfd, LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int op = mode == LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH;
	double deadline = now_mono() + wait_s;

	if (fd < 0 && (errno == EACCES || errno == EROFS) && mode == LOCK_SHARED)
		fd = openat(bkfd, LOCK_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (flock(fd, op | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (now_mono() >= deadline) {
			read_holder(fd, who);
			close(fd);
			return 1;
		}
		struct timespec ts = { 0, 100L * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (mode == LOCK_EXCLUSIVE) {
		char line[600];
		int n = snprintf(line, sizeof(line), "%ld %s\n", (long)getpid(), cmdline);
		if (n > (int)sizeof(line) - 1)
			n = sizeof(line) - 1;
		if (ftruncate(fd, 0) == 0 && pwrite(fd, line, (size_t)n, 0) < 0) {
			/* the lock holds without its label */
		}
	}
	lk->fd = fd;
	return 0;
}

void lock_drop(struct zlock *lk)
{
	if (lk->fd >= 0)
		close(lk->fd);	/* releases the flock */
	lk->fd = -1;
}
