/* sign.c - HMAC-SHA256 signatures of manifests; see sign.h. */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nettle/hmac.h>

#include "atomic.h"
#include "fsops.h"

static void to_hex(const unsigned char *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int inside(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/' || !strcmp(b, "/"));
}

int signkey_load(struct signkey *k, const char *file, const char *backup_dir, const char *install_dir,
		 struct sbuf *err)
{
	char real[PATH_MAX];
	struct stat st;
	int fd, code = ZDT_EUSAGE;

	memset(k, 0, sizeof(*k));
	if (!realpath(file, real)) {
		sbuf_addf(err, "cannot read the key file: '%s': %s", file, strerror(errno));
		return ZDT_EUSAGE;
	}
	snprintf(k->file, sizeof(k->file), "%s", real);
	const char *dirs[2] = { backup_dir, install_dir };
	for (int i = 0; i < 2; i++) {
		if (!dirs[i])
			continue;
		char *d = real_path_prefix(dirs[i]);
		int in = inside(real, d);
		if (in)
			sbuf_addf(err, "the key file is inside the %s folder: '%s' in '%s'; "
				  "%s", i ? "install" : "backup", real, d,
				  i ? "it would be copied into the snapshot" : "whoever can change the snapshots could read it");
		free(d);
		if (in)
			return ZDT_EREFUSED;
	}
	fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		sbuf_addf(err, "cannot read the key file: '%s': %s", real, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		sbuf_addf(err, "the key file is not a regular file: '%s'", real);
		code = ZDT_EREFUSED;
		goto fail;
	}
	if (st.st_mode & 077) {
		sbuf_addf(err, "the key file '%s' has mode %04o: group or others may read or change it",
			  real, (unsigned)st.st_mode & 07777);
		code = ZDT_EREFUSED;
		goto fail;
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > SIGNKEY_MAX) {
		sbuf_addf(err, "the key file '%s' is %s (a key is 1 byte to 64 KiB; 32 random bytes will do)",
			  real, st.st_size <= 0 ? "empty" : "too big");
		goto fail;
	}
	k->key = xmalloc((size_t)st.st_size);
	for (size_t got = 0; got < (size_t)st.st_size;) {
		ssize_t n = read(fd, k->key + got, (size_t)st.st_size - got);
		if (n <= 0) {
			sbuf_addf(err, "cannot read the key file: '%s': %s", real, n < 0 ? strerror(errno) : "shorter than its size");
			goto fail;
		}
		got += (size_t)n;
	}
	k->len = (size_t)st.st_size;
	close(fd);
	{
		struct hmac_sha256_ctx c;
		unsigned char d[SHA256_DIGEST_SIZE];
		hmac_sha256_set_key(&c, k->len, k->key);
		hmac_sha256_update(&c, 10, (const uint8_t *)"zdt key id");
		hmac_sha256_digest(&c, sizeof(d), d);
		to_hex(d, 8, k->id);
		explicit_bzero(&c, sizeof(c));
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	signkey_release(k);
	return code;
}

void signkey_release(struct signkey *k)
{
	if (k->key) {
		explicit_bzero(k->key, k->len);
		free(k->key);
	}
	memset(k, 0, sizeof(*k));
}

int sign_fd(const struct signkey *k, int fd, char hex[65])
{
	struct hmac_sha256_ctx c;
	unsigned char d[SHA256_DIGEST_SIZE];
	unsigned char *buf = xmalloc(1u << 16);
	off_t off = 0;
	ssize_t n;

	hmac_sha256_set_key(&c, k->len, k->key);
	while ((n = pread(fd, buf, 1u << 16, off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			explicit_bzero(&c, sizeof(c));
			return -1;
		}
		hmac_sha256_update(&c, (size_t)n, buf);
		off += n;
	}
	free(buf);
	hmac_sha256_digest(&c, sizeof(d), d);
	explicit_bzero(&c, sizeof(c));
	to_hex(d, sizeof(d), hex);
	return 0;
}

int sign_write(int snapfd, int mfd, const struct signkey *k)
{
	char hex[65];
	struct sbuf sb = SBUF_INIT;
	int rc;

	if (sign_fd(k, mfd, hex) < 0)
		return -1;
	sbuf_addf(&sb, "zdt-signature 1\nkey-id %s\nhmac-sha256 %s\n", k->id, hex);
	rc = atomic_write_at(snapfd, SNAP_SIG, sb.buf, sb.len);
	sbuf_free(&sb);
	return rc;
}

/* constant time: the comparison tells nothing about where they differ */
static int same(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int sign_check(int snapfd, int mfd, const struct signkey *k, struct sbuf *why)
{
	char buf[512], hex[65];
	int fd = openat(snapfd, SNAP_SIG, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		if (errno != ENOENT)
			return -1;
		sbuf_adds(why, "the snapshot is not signed (no " SNAP_SIG ")");
		return 1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	char id[17], mac[65];
	if (sscanf(buf, "zdt-signature 1\nkey-id %16[0-9a-f]\nhmac-sha256 %64[0-9a-f]\n", id, mac) != 2 ||
	    strlen(id) != 16 || strlen(mac) != 64) {
		sbuf_adds(why, "the signature file " SNAP_SIG " is damaged");
		return 2;
	}
	if (strcmp(id, k->id)) {
		sbuf_addf(why, "signed with another key (key-id %s; '%s' is key-id %s)", id, k->file, k->id);
		return 3;
	}
	if (sign_fd(k, mfd, hex) < 0)
		return -1;
	if (!same(hex, mac, 64)) {
		sbuf_adds(why, "the manifest does not match its signature: it was changed after the backup");
		return 4;
	}
	return 0;
}
