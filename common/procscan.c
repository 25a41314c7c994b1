/* procscan.c - processes that use a folder or a TCP port; see procscan.h. */
#include "procscan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *proc_root = "/proc";

void procscan_set_root(const char *root)
{
	proc_root = root ? root : "/proc";
}

static int open_root(void)
{
	return open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* a process folder's name: digits only */
static long pid_of(const char *name)
{
	char *end;
	long pid;

	if (*name < '1' || *name > '9')
		return -1;
	errno = 0;
	pid = strtol(name, &end, 10);
	return *end || errno ? -1 : pid;
}

static void read_comm(int pidfd, char comm[32])
{
	int fd = openat(pidfd, "comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = read(fd, comm, 31);
		close(fd);
	}
	if (n <= 0) {
		memcpy(comm, "?", 2);
		return;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

static void add(struct proclist *pl, long pid, int pidfd, const char *kind, const char *path)
{
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? 2 * pl->cap : 8;
		pl->v = xrealloc(pl->v, pl->cap * sizeof(*pl->v));
	}
	struct procref *r = &pl->v[pl->n++];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	read_comm(pidfd, r->comm);
	r->kind = kind;
	r->path = xstrdup(path);
}

/* readlinkat into buf, NUL-terminated; -1 on error or truncation */
static int read_link(int dfd, const char *name, char *buf, size_t n)
{
	ssize_t len = readlinkat(dfd, name, buf, n - 1);

	if (len < 0 || (size_t)len >= n - 1)
		return -1;
	buf[len] = '\0';
	return 0;
}

/* path is dir or below it; a " (deleted)" suffix is ignored */
static int under(const char *path, const char *dir, size_t dlen)
{
	size_t plen = strlen(path);
	static const char del[] = " (deleted)";

	if (plen >= sizeof(del) - 1 && !strcmp(path + plen - (sizeof(del) - 1), del))
		plen -= sizeof(del) - 1;
	if (plen < dlen || memcmp(path, dir, dlen))
		return 0;
	return plen == dlen || path[dlen] == '/' || (dlen == 1 && dir[0] == '/');
}

/* calls fn on each link target of PID/fd; stops when fn returns non-zero.
 * -1: the folder could not be read */
static int each_fd(int pidfd, int (*fn)(void *arg, const char *target), void *arg)
{
	int fdd = openat(pidfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	char target[PATH_MAX + 16];
	int rc = 0;

	if (fdd < 0)
		return -1;
	d = fdopendir(fdd);
	if (!d) {
		close(fdd);
		return -1;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = -1;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		if (read_link(dirfd(d), de->d_name, target, sizeof(target)) < 0)
			continue;
		if ((rc = fn(arg, target)) != 0)
			break;
	}
	int e = errno;
	closedir(d);
	errno = e;
	return rc;
}

struct busy_arg {
	const char *dir;
	size_t dlen;
	const char *hit;
	char buf[PATH_MAX + 16];
};

static int busy_fd(void *arg, const char *target)
{
	struct busy_arg *b = arg;

	if (!under(target, b->dir, b->dlen))
		return 0;
	snprintf(b->buf, sizeof(b->buf), "%s", target);
	return 1;
}

/* the first mapped file under dir, from PID/maps */
static int busy_maps(int pidfd, struct busy_arg *b)
{
	int fd = openat(pidfd, "maps", O_RDONLY | O_CLOEXEC);
	FILE *f;
	char line[PATH_MAX + 128];
	int found = 0;

	if (fd < 0)
		return 0;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');
		if (!p)
			continue;
		p[strcspn(p, "\n")] = '\0';
		if (under(p, b->dir, b->dlen)) {
			snprintf(b->buf, sizeof(b->buf), "%s", p);
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

static void scan_busy_one(int pidfd, long pid, struct busy_arg *b, struct proclist *out)
{
	static const char *const links[] = { "cwd", "root", "exe" };
	char target[PATH_MAX + 16];
	int rc;

	rc = each_fd(pidfd, busy_fd, b);
	if (rc > 0) {
		add(out, pid, pidfd, "fd", b->buf);
		return;
	}
	if (rc < 0 && errno != ENOENT) {
		out->unreadable++;
		return;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (read_link(pidfd, links[i], target, sizeof(target)) == 0 &&
		    under(target, b->dir, b->dlen) &&
		    /* a root of "/" holds everything: only a chroot counts */
		    (strcmp(links[i], "root") || strcmp(target, "/"))) {
			add(out, pid, pidfd, links[i], target);
			return;
		}
	}
	if (busy_maps(pidfd, b))
		add(out, pid, pidfd, "maps", b->buf);
}

/* the parent of pid from PID/stat ("pid (comm) state ppid ..."; comm may
 * hold ')' and spaces), -1 when unknown */
static long parent_of(int root, long pid)
{
	char name[32], buf[512];
	long ppid = -1;

	snprintf(name, sizeof(name), "%ld/stat", pid);
	int fd = openat(root, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "PID (COMM) STATE PPID ...": COMM may hold anything, ")" too */
	char *e = strrchr(buf, ')'), *end;
	if (!e || e[1] != ' ' || !e[2] || e[3] != ' ' || e[4] < '0' || e[4] > '9')
		return -1;
	errno = 0;
	ppid = strtol(e + 4, &end, 10);
	if (errno || *end != ' ')
		return -1;
	return ppid;
}

#define MAX_ANCESTORS 64

/* fn(arg, pidfd, pid) for each process folder */
static int each_pid(unsigned flags, void (*fn)(void *arg, int pidfd, long pid), void *arg)
{
	int root = open_root();
	DIR *d;
	struct dirent *de;
	long self = (long)getpid();
	long anc[MAX_ANCESTORS];
	size_t nanc = 0;

	if (root >= 0 && (flags & PROCSCAN_NOT_ANCESTORS))
		for (long p = (long)getppid(); p > 1 && nanc < MAX_ANCESTORS; p = parent_of(root, p))
			anc[nanc++] = p;

	if (root < 0)
		return -1;
	d = fdopendir(root);
	if (!d) {
		int e = errno;
		close(root);
		errno = e;
		return -1;
	}
	while ((de = readdir(d))) {
		long pid = pid_of(de->d_name);
		if (pid < 0 || ((flags & PROCSCAN_NOT_SELF) && pid == self))
			continue;
		size_t i = 0;
		while (i < nanc && anc[i] != pid)
			i++;
		if (i < nanc)
			continue;
		int pidfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (pidfd < 0)
			continue;	/* ended meanwhile */
		fn(arg, pidfd, pid);
		close(pidfd);
	}
	closedir(d);
	return 0;
}

struct busy_ctx {
	struct busy_arg b;
	struct proclist *out;
};

static void busy_cb(void *arg, int pidfd, long pid)
{
	struct busy_ctx *c = arg;

	scan_busy_one(pidfd, pid, &c->b, c->out);
}

int procscan_busy(const char *dir, unsigned flags, struct proclist *out)
{
	struct busy_ctx c;
	size_t dlen = strlen(dir);

	memset(&c, 0, sizeof(c));
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	c.b.dir = dir;
	c.b.dlen = dlen;
	c.out = out;
	return each_pid(flags, busy_cb, &c);
}

/* ---- listeners ------------------------------------------------------------ */

struct inodes {
	unsigned long *v;
	size_t n, cap;
};

/* a whole field of /proc/net/tcp*: hexadecimal or decimal, no sign */
static int num_field(const char *s, int base, unsigned long *v)
{
	char *end;

	if (!isxdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoul(s, &end, base);
	return errno || *end ? -1 : 0;
}

static int hex_field(const char *s, unsigned long *v) { return num_field(s, 16, v); }
static int dec_field(const char *s, unsigned long *v) { return num_field(s, 10, v); }

/* the inodes of the LISTEN sockets on port in one /proc/net/tcp* file */
static void listen_inodes(int root, const char *name, unsigned port, struct inodes *in)
{
	int fd = openat(root, name, O_RDONLY | O_CLOEXEC);
	FILE *f;
	char line[512];

	if (fd < 0)
		return;	/* no IPv6 */
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		/*   sl  local_address rem_address   st tx:rx tr:when retrnsmt uid timeout inode */
		char *fld[10], *save = NULL, *colon;
		int nf = 0;
		for (char *t = strtok_r(line, " \t\n", &save); t && nf < 10; t = strtok_r(NULL, " \t\n", &save))
			fld[nf++] = t;
		if (nf < 10 || !(colon = strrchr(fld[1], ':')))
			continue;	/* the heading line */
		unsigned long lport, state, inode;
		if (hex_field(colon + 1, &lport) || hex_field(fld[3], &state) || dec_field(fld[9], &inode))
			continue;
		if (state != 0x0A || lport != port || !inode)
			continue;
		if (in->n == in->cap) {
			in->cap = in->cap ? 2 * in->cap : 4;
			in->v = xrealloc(in->v, in->cap * sizeof(*in->v));
		}
		in->v[in->n++] = inode;
	}
	fclose(f);
}

struct listen_ctx {
	struct inodes in;
	struct proclist *out;
	char hit[64];
	long pid;
	int pidfd;
};

static int listen_fd(void *arg, const char *target)
{
	struct listen_ctx *c = arg;
	unsigned long ino;
	char *end;

	if (strncmp(target, "socket:[", 8) || target[8] < '0' || target[8] > '9')
		return 0;
	errno = 0;
	ino = strtoul(target + 8, &end, 10);
	if (errno || strcmp(end, "]"))
		return 0;
	for (size_t i = 0; i < c->in.n; i++) {
		if (c->in.v[i] == ino) {
			snprintf(c->hit, sizeof(c->hit), "%s", target);
			return 1;
		}
	}
	return 0;
}

static void listen_cb(void *arg, int pidfd, long pid)
{
	struct listen_ctx *c = arg;
	int rc = each_fd(pidfd, listen_fd, c);

	if (rc > 0)
		add(c->out, pid, pidfd, "socket", c->hit);
	else if (rc < 0 && errno != ENOENT)
		c->out->unreadable++;
}

int procscan_listeners(unsigned port, unsigned flags, struct proclist *out)
{
	struct listen_ctx c;
	int root = open_root();

	if (root < 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.out = out;
	listen_inodes(root, "net/tcp", port, &c.in);
	listen_inodes(root, "net/tcp6", port, &c.in);
	close(root);
	if (c.in.n && each_pid(flags, listen_cb, &c) < 0) {
		int e = errno;
		free(c.in.v);
		errno = e;
		return -1;
	}
	free(c.in.v);
	return (int)c.in.n;
}

/* ---- results -------------------------------------------------------------- */

int proclist_has(const struct proclist *pl, long pid)
{
	for (size_t i = 0; i < pl->n; i++)
		if (pl->v[i].pid == pid)
			return 1;
	return 0;
}

void proclist_describe(const struct proclist *pl, size_t max, struct sbuf *sb)
{
	size_t i;

	for (i = 0; i < pl->n && i < max; i++)
		sbuf_addf(sb, "%spid %ld (%s)", i ? ", " : "", pl->v[i].pid, pl->v[i].comm);
	if (pl->n > max)
		sbuf_addf(sb, " and %zu more", pl->n - max);
}

void proclist_release(struct proclist *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		free(pl->v[i].path);
	free(pl->v);
	memset(pl, 0, sizeof(*pl));
}
