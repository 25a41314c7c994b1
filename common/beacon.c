/* beacon.c - when cleanup last ran; see beacon.h. */
#include "beacon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "util.h"

#define BEACON_MAGIC "zdt-cleanup-beacon 1"

int beacon_write(int bkfd, const struct beacon *b)
{
	struct sbuf sb = SBUF_INIT;
	char t[32];
	int rc;

	sbuf_addf(&sb, BEACON_MAGIC "\ntime=%s\npid=%ld\ncomponents=%s\nexit=%d\n",
		  fmt_time(t, sizeof(t), b->time), b->pid, b->components[0] ? b->components : "-", b->exit);
	sbuf_addf(&sb, "removed=%lu\nleftovers=%lu\nkept=%lu\nfailed=%lu\nfreed=%" PRIu64 "\n",
		  b->removed, b->leftovers, b->kept, b->failed, b->freed);
	rc = atomic_write_at(bkfd, BEACON_FILE, sb.buf, sb.len);
	sbuf_free(&sb);
	return rc;
}

static int num(const char *v, uint64_t max, uint64_t *out)
{
	return parse_u64(v, 0, max, out);
}

int beacon_read(int bkfd, struct beacon *b)
{
	char buf[2048], *line, *next;
	int fd = openat(bkfd, BEACON_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;
	int have_time = 0;

	memset(b, 0, sizeof(*b));
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	if (strncmp(buf, BEACON_MAGIC "\n", sizeof(BEACON_MAGIC))) {
		errno = EINVAL;
		return -1;
	}
	for (line = buf + sizeof(BEACON_MAGIC); *line; line = next) {
		next = strchr(line, '\n');
		if (!next)
			break;	/* cut short: the last line does not count */
		*next++ = '\0';
		char *eq = strchr(line, '=');
		uint64_t v;
		int bad = 0;
		if (!eq)
			continue;
		*eq++ = '\0';
		if (!strcmp(line, "time")) {
			bad = parse_time(eq, &b->time) < 0;
			have_time = !bad;
		} else if (!strcmp(line, "pid")) {
			if (!(bad = num(eq, INT32_MAX, &v)))
				b->pid = (long)v;
		} else if (!strcmp(line, "components")) {
			snprintf(b->components, sizeof(b->components), "%s", eq);
		} else if (!strcmp(line, "exit")) {
			if (!(bad = num(eq, 255, &v)))
				b->exit = (int)v;
		} else if (!strcmp(line, "removed")) {
			if (!(bad = num(eq, UINT32_MAX, &v)))
				b->removed = (unsigned long)v;
		} else if (!strcmp(line, "leftovers")) {
			if (!(bad = num(eq, UINT32_MAX, &v)))
				b->leftovers = (unsigned long)v;
		} else if (!strcmp(line, "kept")) {
			if (!(bad = num(eq, UINT32_MAX, &v)))
				b->kept = (unsigned long)v;
		} else if (!strcmp(line, "failed")) {
			if (!(bad = num(eq, UINT32_MAX, &v)))
				b->failed = (unsigned long)v;
		} else if (!strcmp(line, "freed")) {
			bad = num(eq, UINT64_MAX, &b->freed);
		}
		if (bad) {
			errno = EINVAL;
			return -1;
		}
	}
	if (!have_time) {
		errno = EINVAL;
		return -1;
	}
	return 1;
}
