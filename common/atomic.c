/* atomic.c - atomic writes and the cleanup registry; see atomic.h. */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsops.h"
#include "util.h"

volatile sig_atomic_t zdt_signal;

struct pending {
	int dirfd;
	char *name;
};
static struct pending pend[16];
static int npend;
static int hooked;

int atomic_write_at(int dirfd, const char *name, const void *data, size_t n)
{
	char tmp[512];
	int fd, e;
	const char *p = data;

	snprintf(tmp, sizeof(tmp), ".%s.tmp%ld", name, (long)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int h = cleanup_register(dirfd, tmp);
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		n -= (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	cleanup_forget(h);
	return fsync(dirfd);
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	cleanup_forget(h);
	errno = e;
	return -1;
}

int cleanup_register(int dirfd, const char *name)
{
	if (!hooked) {
		err_on_exit(cleanup_run);
		hooked = 1;
	}
	for (int i = 0; i < npend; i++) {
		if (!pend[i].name) {
			pend[i].dirfd = dirfd;
			pend[i].name = xstrdup(name);
			return i;
		}
	}
	if (npend == (int)(sizeof(pend) / sizeof(pend[0])))
		BUG("cleanup registry full");
	pend[npend].dirfd = dirfd;
	pend[npend].name = xstrdup(name);
	return npend++;
}

void cleanup_forget(int h)
{
	if (h < 0 || h >= npend)
		return;
	free(pend[h].name);
	pend[h].name = NULL;
}

void cleanup_run(void)
{
	for (int i = npend - 1; i >= 0; i--) {
		if (!pend[i].name)
			continue;
		if (rm_tree_at(pend[i].dirfd, pend[i].name) < 0)
			error_errno("cannot remove partial data: '%s'", escp(pend[i].name));
		cleanup_forget(i);
	}
}

static void on_signal(int sig)
{
	if (!zdt_signal)
		zdt_signal = sig;
}

void signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void check_signal(void)
{
	int sig = zdt_signal;

	if (!sig)
		return;
	die(128 + sig, "interrupted by %s; partial data removed",
	    sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
}
