/*
 * fuzz_manifest.c - libFuzzer target: the manifest reader (common/manifest.h).
 *
 * The input is a manifest file: manifest_check_archive() reads it whole
 * (checksum, end and archive lines), then mreader_open()/mreader_next()
 * stream its entries as verify and rollback do, and each entry is formatted
 * back (mentry_format) and its path checked (path_is_safe, path_cmp).  The
 * seed corpus (tests/fuzz/corpus-manifest/) holds real manifests; most
 * mutations break the checksum, so the reader is also run with the checksum
 * line recomputed over the mutated body (FUZZ_RESUM: the first input byte
 * is odd), which lets mutations reach the entry parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../common/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("manifest", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* the input with its last line replaced by a checksum line that matches */
static uint8_t *resum(const uint8_t *data, size_t size, size_t *outlen)
{
	size_t body = size;
	char hex[33];
	uint8_t *out;

	while (body > 0 && data[body - 1] == '\n')
		body--;
	while (body > 0 && data[body - 1] != '\n')
		body--;
	hash_to_hex(XXH3_128bits(data, body), hex);
	out = malloc(body + 64);
	if (!out)
		abort();
	memcpy(out, data, body);
	*outlen = body + (size_t)sprintf((char *)out + body, "checksum xxh3-128 %s\n", hex);
	return out;
}

static void read_all(const uint8_t *data, size_t size)
{
	char err[512];
	int has;
	XXH128_hash_t h;
	uint64_t asize;
	struct mreader r;
	struct mentry e;
	struct sbuf sb = SBUF_INIT;
	int fd = memfd(data, size), rc, n = 0;

	struct hset links = { 0 };
	(void)manifest_check_archive(fd, err, sizeof(err), &has, &h, &asize, &links);
	hset_free(&links);
	lseek(fd, 0, SEEK_SET);
	mentry_init(&e);
	if (mreader_open(&r, fd) >= 0) {
		while ((rc = mreader_next(&r, &e)) > 0 && n++ < 100000) {
			mentry_format(&sb, &e);
			(void)path_is_safe(e.path.buf);
			if (e.target.len)
				(void)path_cmp(e.path.buf, e.target.buf);
		}
	}
	mreader_release(&r);
	mentry_release(&e);
	sbuf_free(&sb);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_all(data, size);
	if (size > 1 && (data[0] & 1)) {
		size_t n;
		uint8_t *fixed = resum(data, size, &n);
		read_all(fixed, n);
		free(fixed);
	}
	return 0;
}
