/*
 * fuzz_snapshot.c - libFuzzer target: reading a snapshot end to end.
 *
 * The input is written as the archive (archive.tar; libarchive finds gzip
 * by itself) of a snapshot in a temporary backup folder whose manifest is
 * tests/fuzz/snapshot.manifest (the manifest of the seed archive
 * corpus-snapshot/seed.tar, without its archive line, so that verify
 * checks the members one by one instead of the file's digest), and
 * verify_snapshot() checks it as `zdt verify` does: the pax reader, the
 * merge of archive members with manifest entries, member_check() on each
 * (type, mode, owner, mtime, xattrs, targets, size and hash of the data).
 * The verdict must be "intact" only for the seed archive's exact members.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../zdt.h"
#include "../../common/progress.h"
#include "../../common/store.h"
#include "../../rollback/verify.h"

#ifndef FUZZ_DIR
#define FUZZ_DIR "tests/fuzz"
#endif
#define SNAP_ID "20260101T000000Z-01"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int bkfd = -1;
static char snapdir[4096];
static struct snapinfo si;

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (in < 0 || out < 0) {
		fprintf(stderr, "fuzz_snapshot: cannot copy %s to %s\n", from, to);
		exit(1);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			abort();
	close(in);
	close(out);
}

static void setup(void)
{
	char tmpl[] = "/tmp/zdt-fuzz-XXXXXX", path[4200];
	const char *man = getenv("FUZZ_MANIFEST");
	char *dir = mkdtemp(tmpl);

	if (!dir)
		abort();
	snprintf(path, sizeof(path), "%s/AR", dir);
	mkdir(path, 0700);
	snprintf(snapdir, sizeof(snapdir), "%s/AR/%s", dir, SNAP_ID);
	mkdir(snapdir, 0700);
	snprintf(path, sizeof(path), "%s/manifest", snapdir);
	copy_file(man ? man : FUZZ_DIR "/snapshot.manifest", path);
	bkfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (bkfd < 0)
		abort();
	si.comp = COMP_AR;
	snprintf(si.id, sizeof(si.id), "%s", SNAP_ID);
	si.state = SNAP_COMPLETE;
	si.meta_ok = 0;		/* no meta: counts are not compared */
	si.archive = (char *)"archive.tar";
	si.compress = (char *)"none";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[4200];
	struct zdt z;
	struct verify_result res;
	int fd;

	if (bkfd < 0)
		setup();
	snprintf(path, sizeof(path), "%s/archive.tar", snapdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
	memset(&z, 0, sizeof(z));
	z.progress = PROGRESS_NEVER;
	z.bkfd = bkfd;
	memset(&res, 0, sizeof(res));
	(void)verify_snapshot(&z, bkfd, &si, 1, &res);
	return 0;
}
