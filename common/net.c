/* net.c - TCP probe without a resolver; see net.h. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int parse_addr(const char *s, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

/* first address of name in /etc/hosts */
static int hosts_lookup(const char *name, char *addr, size_t n)
{
	FILE *f = fopen("/etc/hosts", "re");
	char line[1024];
	int found = -1;

	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#'), *save, *a, *h;
		if (hash)
			*hash = '\0';
		a = strtok_r(line, " \t\r\n", &save);
		if (!a)
			continue;
		while ((h = strtok_r(NULL, " \t\r\n", &save)))
			if (!strcasecmp(h, name)) {
				snprintf(addr, n, "%s", a);
				found = 0;
				break;
			}
	}
	fclose(f);
	return found;
}

int tcp_probe(const char *host, unsigned port, int timeout_ms, struct sbuf *why)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char addr[256];

	if (parse_addr(host, port, &ss, &len) < 0) {
		if (hosts_lookup(host, addr, sizeof(addr)) < 0 &&
		    (strcasecmp(host, "localhost") || (snprintf(addr, sizeof(addr), "127.0.0.1"), 0)))
			return -1;
		if (parse_addr(addr, port, &ss, &len) < 0)
			return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sbuf_addf(why, "socket: %s", strerror(errno));
		return 0;
	}
	int rc = connect(fd, (struct sockaddr *)&ss, len);
	if (rc < 0 && errno == EINPROGRESS) {
		struct pollfd p = { fd, POLLOUT, 0 };
		rc = poll(&p, 1, timeout_ms);
		if (rc == 0) {
			sbuf_addf(why, "no answer within %d s", timeout_ms / 1000);
			close(fd);
			return 0;
		}
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		errno = err;
		rc = err ? -1 : 0;
	}
	if (rc < 0)
		sbuf_addf(why, "%s", strerror(errno));
	close(fd);
	return rc == 0;
}
