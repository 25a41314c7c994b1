/* test_store.c - unit tests of common/store.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/component.h"
#include "../../common/store.h"
#include "../../common/util.h"

#define T0 ((time_t)1795594680)	/* 2026-11-25T08:18:00Z */

/* ---- helpers --------------------------------------------------------- */

struct tmp {
	char dir[64];
	int fd;
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/zdt-test-store-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->fd >= 0);
}

static void rm_rf(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static void tmp_free(struct tmp *t)
{
	close(t->fd);
	rm_rf(t->dir);
}

static int setup(void **state)
{
	struct tmp *t = xmalloc(sizeof(*t));

	tmp_make(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;

	tmp_free(t);
	free(t);
	return 0;
}

static void mkdir_at(int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0700) < 0)
		fail_msg("mkdir %s: %s", name, strerror(errno));
}

static void write_at(int dfd, const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int exists_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void fill_info(struct snapinfo *si, int comp, const char *id, time_t created)
{
	memset(si, 0, sizeof(*si));
	si->comp = comp;
	snprintf(si->id, sizeof(si->id), "%s", id);
	si->created = created;
	si->entries = 3;
	si->files = 2;
	si->bytes = 24000;
	si->archive_bytes = 30720;
	si->source = (char *)"/opt/bmc/AR System";
	si->compress = (char *)"none";
	si->archive = (char *)SNAP_ARCHIVE_NONE;
	si->manifest_checksum = (char *)"99aa06d3014798d86001c324468d497f";
	si->excludes = (char *)"*.log";
}

/* a snapshot folder COMP/NAME, with a meta when created != 0 */
static void make_snap(int bkfd, int comp, const char *name, time_t created)
{
	int cfd = store_comp_dir(bkfd, comp, 1);
	assert_true(cfd >= 0);
	mkdir_at(cfd, name);
	if (created) {
		struct snapinfo si;
		char id[SNAP_ID_MAX];
		snprintf(id, sizeof(id), "%.19s", name);
		fill_info(&si, comp, id, created);
		int sfd = openat(cfd, name, O_RDONLY | O_DIRECTORY);
		assert_true(sfd >= 0);
		assert_int_equal(store_meta_write(sfd, &si), 0);
		close(sfd);
	}
	close(cfd);
}

/* ---- names ----------------------------------------------------------- */

static void test_parse_name(void **state)
{
	(void)state;
	int partial = 7;

	assert_int_equal(store_parse_name("20261125T081800Z-01", &partial), 19);
	assert_int_equal(partial, 0);
	partial = 7;
	assert_int_equal(store_parse_name("20261125T081800Z-01.partial", &partial), 19);
	assert_int_equal(partial, 1);
	partial = 7;
	assert_int_equal(store_parse_name("20261125T081800Z-123", &partial), 20);
	assert_int_equal(partial, 0);
	assert_int_equal(store_parse_name("20261125T081800Z-99.partial", &partial), 19);
	assert_int_equal(partial, 1);
	/* the longest sequence that fits SNAP_ID_MAX with its NUL */
	assert_int_equal(store_parse_name("20261125T081800Z-0000000000000000000001", &partial), 39);

	static const char *const bad[] = {
		"",
		".",
		"..",
		"20261125T081800Z-1",		/* single-digit sequence */
		"20261125T081800Z-1.partial",
		"20261125T081800Z-",
		"20261125T081800Z",
		"20261125T081800-01",		/* missing Z */
		"20261125T081800Z01",
		"20261125T081800z-01",
		"2026112XT081800Z-01",		/* letters */
		"20261125X081800Z-01",
		"20261125T08180aZ-01",
		"20261125T081800Z-0a",
		"20261125T081800Z-01a",
		"2026112T081800Z-01",		/* wrong lengths */
		"202611255T081800Z-01",
		"20261125T08180Z-01",
		"20261125T0818000Z-01",
		"20261125T081800Z-01.partia",
		"20261125T081800Z-01.partialx",
		"20261125T081800Z-01.PARTIAL",
		"20261125T081800Z-01.tmp",
		"20261125T081800Z-01 ",
		" 20261125T081800Z-01",
		"20261125T081800Z-00000000000000000000001",	/* too long for SNAP_ID_MAX */
		"2026",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (store_parse_name(bad[i], &partial) != 0)
			fail_msg("store_parse_name accepted '%s'", bad[i]);
}

static void test_new_id(void **state)
{
	struct tmp *t = *state;
	char id[SNAP_ID_MAX];
	int cfd = store_comp_dir(t->fd, COMP_AR, 1);

	assert_true(cfd >= 0);
	memset(id, 'x', sizeof(id));
	assert_int_equal(store_new_id(cfd, T0, id), 0);
	assert_string_equal(id, "20261125T081800Z-01");

	mkdir_at(cfd, "20261125T081800Z-01");
	mkdir_at(cfd, "20261125T081800Z-02.partial");
	/* other seconds, and names that are not snapshots, do not count */
	mkdir_at(cfd, "20261125T081759Z-07");
	mkdir_at(cfd, "20261125T081801Z-09.partial");
	mkdir_at(cfd, "20261125T081800Z-08.old");
	write_at(cfd, "20261125T081800Z-5", "");
	assert_int_equal(store_new_id(cfd, T0, id), 0);
	assert_string_equal(id, "20261125T081800Z-03");
	/* and again: the listing is read afresh (rewind) */
	mkdir_at(cfd, id);
	assert_int_equal(store_new_id(cfd, T0, id), 0);
	assert_string_equal(id, "20261125T081800Z-04");

	assert_int_equal(store_new_id(cfd, T0 + 1, id), 0);
	assert_string_equal(id, "20261125T081801Z-10");
	assert_int_equal(store_new_id(cfd, T0 + 2, id), 0);
	assert_string_equal(id, "20261125T081802Z-01");

	/* no room left in that second */
	mkdir_at(cfd, "20261125T081802Z-99");
	errno = 0;
	assert_int_equal(store_new_id(cfd, T0 + 2, id), -1);
	assert_int_equal(errno, EEXIST);
	close(cfd);
}

static void test_comp_dir(void **state)
{
	struct tmp *t = *state;
	struct stat st;

	errno = 0;
	assert_int_equal(store_comp_dir(t->fd, COMP_ATRIUMCORE, 0), -1);
	assert_int_equal(errno, ENOENT);
	int fd = store_comp_dir(t->fd, COMP_ATRIUMCORE, 1);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fstatat(t->fd, "AtriumCore", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* a symlinked component folder is refused */
	mkdir_at(t->fd, "elsewhere");
	assert_int_equal(symlinkat("elsewhere", t->fd, "AR"), 0);
	assert_int_equal(store_comp_dir(t->fd, COMP_AR, 0), -1);
	assert_int_equal(store_comp_dir(t->fd, COMP_AR, 1), -1);
}

/* ---- meta ------------------------------------------------------------ */

static void test_meta_roundtrip(void **state)
{
	struct tmp *t = *state;
	struct snapinfo si, back;

	fill_info(&si, COMP_ATRIUMCORE, "20261125T081800Z-01", T0);
	si.source = (char *)"/opt/bmc/Atrium Core\n\\x\xff";
	si.compress = (char *)"gzip:6";
	si.archive = (char *)SNAP_ARCHIVE_GZIP;
	si.entries = 123456789012ull;
	si.files = UINT64_MAX;
	si.bytes = 1ull << 50;
	si.archive_bytes = 0;
	si.excludes = (char *)"*.log tmp\\040dir";
	assert_int_equal(store_meta_write(t->fd, &si), 0);

	/* only the meta file is left, no temporary */
	DIR *d = opendir(t->dir);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			assert_string_equal(de->d_name, SNAP_META);
			n++;
		}
	closedir(d);
	assert_int_equal(n, 1);

	memset(&back, 0, sizeof(back));
	assert_int_equal(store_meta_read(t->fd, &back), 0);
	assert_int_equal(back.meta_ok, 1);
	assert_int_equal((long long)back.created, (long long)T0);
	assert_string_equal(back.source, si.source);
	assert_string_equal(back.compress, "gzip:6");
	assert_string_equal(back.archive, SNAP_ARCHIVE_GZIP);
	assert_string_equal(back.manifest_checksum, si.manifest_checksum);
	assert_string_equal(back.excludes, si.excludes);
	assert_true(back.entries == si.entries);
	assert_true(back.files == si.files);
	assert_true(back.bytes == si.bytes);
	assert_true(back.archive_bytes == 0);
	snapinfo_release(&back);
	assert_null(back.source);

	/* written again: replaced, not appended */
	si.bytes = 5;
	si.excludes = NULL;
	assert_int_equal(store_meta_write(t->fd, &si), 0);
	memset(&back, 0, sizeof(back));
	assert_int_equal(store_meta_read(t->fd, &back), 0);
	assert_true(back.bytes == 5);
	assert_string_equal(back.excludes, "");
	snapinfo_release(&back);
}

static void test_meta_bad(void **state)
{
	struct tmp *t = *state;
	struct snapinfo back;
	static const char good[] =
		"id=20261125T081800Z-01\ncomponent=AR\ncreated=2026-11-25T08:18:00Z\n"
		"source=/x\ncompress=none\narchive=archive.tar\nentries=1\nfiles=0\n"
		"bytes=0\narchive_bytes=0\nmanifest_checksum=x\nexcludes=\n";

	memset(&back, 0, sizeof(back));
	back.meta_ok = 1;
	assert_int_equal(store_meta_read(t->fd, &back), -1);	/* missing */
	assert_int_equal(back.meta_ok, 0);

	write_at(t->fd, SNAP_META, good);
	assert_int_equal(store_meta_read(t->fd, &back), 0);	/* control */
	assert_int_equal(back.meta_ok, 1);
	snapinfo_release(&back);

	static const char *const bad[] = {
		"",
		/* a foreign archive name */
		"created=2026-11-25T08:18:00Z\nsource=/x\ncompress=none\narchive=../../etc/passwd\nfiles=0\n",
		/* no created */
		"source=/x\ncompress=none\narchive=archive.tar\nfiles=0\n",
		/* bad time */
		"created=yesterday\nsource=/x\ncompress=none\narchive=archive.tar\nfiles=0\n",
		/* bad escape in source */
		"created=2026-11-25T08:18:00Z\nsource=/a b\ncompress=none\narchive=archive.tar\nfiles=0\n",
		/* no files count */
		"created=2026-11-25T08:18:00Z\nsource=/x\ncompress=none\narchive=archive.tar\nfiles=x\n",
		/* truncated: the last line has no newline */
		"created=2026-11-25T08:18:00Z\nsource=/x\ncompress=none\narchive=archive.tar\nfiles=0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_at(t->fd, SNAP_META, bad[i]);
		memset(&back, 0, sizeof(back));
		back.meta_ok = 1;
		if (store_meta_read(t->fd, &back) != -1 || back.meta_ok)
			fail_msg("meta #%zu accepted", i);
		snapinfo_release(&back);
	}
	/* a symlinked meta is not followed */
	unlinkat(t->fd, SNAP_META, 0);
	write_at(t->fd, "real-meta", good);
	assert_int_equal(symlinkat("real-meta", t->fd, SNAP_META), 0);
	memset(&back, 0, sizeof(back));
	assert_int_equal(store_meta_read(t->fd, &back), -1);
	snapinfo_release(&back);
}

/* ---- listing --------------------------------------------------------- */

static void test_list_states_and_order(void **state)
{
	struct tmp *t = *state;
	struct snapinfo *v;
	size_t n;

	make_snap(t->fd, COMP_AR, "20260101T000000Z-01", T0);
	make_snap(t->fd, COMP_AR, "20260102T000000Z-01.partial", 0);
	make_snap(t->fd, COMP_AR, "20260103T000000Z-01", T0 + 1);
	make_snap(t->fd, COMP_AR, "20260104T000000Z-01", 0);	/* complete name, no meta */
	make_snap(t->fd, COMP_AR, "20260105T000000Z-01.partial", T0);	/* partial with meta */
	make_snap(t->fd, COMP_AR, "20260106T000000Z-01", T0);
	make_snap(t->fd, COMP_ATRIUMCORE, "20260101T120000Z-01", T0);
	make_snap(t->fd, COMP_ATRIUMCORE, "20260106T000000Z-01", T0);
	make_snap(t->fd, COMP_ATRIUMINTEGRATOR, "20251231T000000Z-01", T0);
	/* a rollback from 20260103 was interrupted */
	int cfd = store_comp_dir(t->fd, COMP_AR, 0);
	int sfd = openat(cfd, "20260103T000000Z-01", O_RDONLY | O_DIRECTORY);
	write_at(sfd, SNAP_JOURNAL, "journal\n");
	close(sfd);
	/* not snapshots */
	mkdir_at(cfd, "notasnapshot");
	mkdir_at(cfd, "20260107T000000Z-1");
	write_at(cfd, "20260108T000000Z-01", "a file, not a folder");
	assert_int_equal(symlinkat("20260101T000000Z-01", cfd, "20260109T000000Z-01"), 0);
	close(cfd);

	assert_int_equal(store_list(t->fd, COMP_ALL, &v, &n), 0);
	static const struct {
		int comp;
		const char *id;
		int state;
		int meta_ok;
	} want[] = {
		{ COMP_ATRIUMINTEGRATOR, "20251231T000000Z-01", SNAP_COMPLETE, 1 },
		{ COMP_AR, "20260101T000000Z-01", SNAP_COMPLETE, 1 },
		{ COMP_ATRIUMCORE, "20260101T120000Z-01", SNAP_COMPLETE, 1 },
		{ COMP_AR, "20260102T000000Z-01", SNAP_PARTIAL, 0 },
		{ COMP_AR, "20260103T000000Z-01", SNAP_ROLLBACK_INTERRUPTED, 1 },
		{ COMP_AR, "20260104T000000Z-01", SNAP_PARTIAL, 0 },
		{ COMP_AR, "20260105T000000Z-01", SNAP_PARTIAL, 1 },
		{ COMP_AR, "20260106T000000Z-01", SNAP_COMPLETE, 1 },
		{ COMP_ATRIUMCORE, "20260106T000000Z-01", SNAP_COMPLETE, 1 },
	};
	size_t nwant = sizeof(want) / sizeof(want[0]);
	if (n != nwant) {
		for (size_t i = 0; i < n; i++)
			print_message("  %s %s %s\n", component_name(v[i].comp), v[i].id,
				      snap_state_name(v[i].state));
		fail_msg("store_list: %zu snapshots, expected %zu", n, nwant);
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].comp != want[i].comp || strcmp(v[i].id, want[i].id) ||
		    v[i].state != want[i].state || v[i].meta_ok != want[i].meta_ok)
			fail_msg("#%zu: %s %s %s meta_ok=%d, expected %s %s %s meta_ok=%d", i,
				 component_name(v[i].comp), v[i].id, snap_state_name(v[i].state),
				 v[i].meta_ok, component_name(want[i].comp), want[i].id,
				 snap_state_name(want[i].state), want[i].meta_ok);
	}
	assert_int_equal((long long)v[1].created, (long long)T0);
	assert_int_equal((long long)v[4].created, (long long)T0 + 1);
	assert_string_equal(v[1].source, "/opt/bmc/AR System");
	assert_true(v[1].files == 2);
	store_list_free(v, n);

	/* the mask selects components */
	assert_int_equal(store_list(t->fd, 1u << COMP_ATRIUMCORE, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].comp, COMP_ATRIUMCORE);
	assert_int_equal(v[1].comp, COMP_ATRIUMCORE);
	assert_string_equal(v[0].id, "20260101T120000Z-01");
	store_list_free(v, n);

	assert_string_equal(snap_state_name(SNAP_COMPLETE), "complete");
	assert_string_equal(snap_state_name(SNAP_PARTIAL), "partial");
	assert_string_equal(snap_state_name(SNAP_ROLLBACK_INTERRUPTED), "rollback-interrupted");
}

static void test_list_empty(void **state)
{
	struct tmp *t = *state;
	struct snapinfo *v = (struct snapinfo *)&v;
	size_t n = 99;

	/* no component folder at all */
	assert_int_equal(store_list(t->fd, COMP_ALL, &v, &n), 0);
	assert_int_equal(n, 0);
	store_list_free(v, n);
}

/* ---- picking --------------------------------------------------------- */

static void test_pick(void **state)
{
	struct tmp *t = *state;
	struct snapinfo si;

	make_snap(t->fd, COMP_AR, "20260101T000000Z-01", T0);
	make_snap(t->fd, COMP_AR, "20260102T000000Z-01", T0 + 100);
	make_snap(t->fd, COMP_AR, "20260102T000000Z-02", T0 + 200);
	make_snap(t->fd, COMP_AR, "20260103T000000Z-01.partial", T0 + 300);
	make_snap(t->fd, COMP_AR, "20260104T000000Z-01", 0);	/* no meta: damaged */
	make_snap(t->fd, COMP_ATRIUMCORE, "20260105T000000Z-01", T0);	/* another component */

	memset(&si, 0, sizeof(si));
	assert_int_equal(store_pick(t->fd, COMP_AR, NULL, &si), 0);
	assert_string_equal(si.id, "20260102T000000Z-02");
	assert_int_equal(si.comp, COMP_AR);
	assert_int_equal(si.state, SNAP_COMPLETE);
	assert_int_equal((long long)si.created, (long long)T0 + 200);
	assert_string_equal(si.source, "/opt/bmc/AR System");
	int sfd = store_open_snap(t->fd, &si);
	assert_true(sfd >= 0);
	assert_true(exists_at(sfd, SNAP_META));
	close(sfd);
	snapinfo_release(&si);

	assert_int_equal(store_pick(t->fd, COMP_AR, "20260101T000000Z-01", &si), 0);
	assert_string_equal(si.id, "20260101T000000Z-01");
	assert_int_equal((long long)si.created, (long long)T0);
	snapinfo_release(&si);

	static const char *const missing[] = {
		"20260103T000000Z-01",	/* partial */
		"20260104T000000Z-01",	/* damaged */
		"20260105T000000Z-01",	/* AtriumCore's */
		"20991231T000000Z-01",
		"20260101T000000Z-0",
	};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		errno = 0;
		if (store_pick(t->fd, COMP_AR, missing[i], &si) != -1)
			fail_msg("store_pick found '%s'", missing[i]);
		assert_int_equal(errno, ENOENT);
	}
}

static void test_pick_only_partials(void **state)
{
	struct tmp *t = *state;
	struct snapinfo si;

	errno = 0;
	assert_int_equal(store_pick(t->fd, COMP_AR, NULL, &si), -1);	/* no folder */
	make_snap(t->fd, COMP_AR, "20260101T000000Z-01.partial", T0);
	make_snap(t->fd, COMP_AR, "20260102T000000Z-01.partial", 0);
	make_snap(t->fd, COMP_AR, "20260103T000000Z-01", 0);	/* complete name, no meta */
	make_snap(t->fd, COMP_ATRIUMCORE, "20260101T000000Z-01", T0);
	errno = 0;
	assert_int_equal(store_pick(t->fd, COMP_AR, NULL, &si), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(store_pick(t->fd, COMP_AR, "20260101T000000Z-01", &si), -1);
	assert_int_equal(store_pick(t->fd, COMP_ATRIUMCORE, NULL, &si), 0);
	assert_int_equal(si.comp, COMP_ATRIUMCORE);
	snapinfo_release(&si);
}

/* ---- removal of partials --------------------------------------------- */

static void test_remove_partials(void **state)
{
	struct tmp *t = *state;
	unsigned removed = 99;
	char outside[128];

	/* a folder outside the store, with content that must survive */
	snprintf(outside, sizeof(outside), "%s/outside", t->dir);
	mkdir_at(t->fd, "outside");
	int ofd = openat(t->fd, "outside", O_RDONLY | O_DIRECTORY);
	write_at(ofd, "precious", "keep me\n");
	mkdir_at(ofd, "sub");

	make_snap(t->fd, COMP_AR, "20260101T000000Z-01", T0);
	make_snap(t->fd, COMP_AR, "20260102T000000Z-01.partial", 0);
	make_snap(t->fd, COMP_AR, "20260103T000000Z-01.partial", T0);
	int cfd = store_comp_dir(t->fd, COMP_AR, 0);
	int pfd = openat(cfd, "20260102T000000Z-01.partial", O_RDONLY | O_DIRECTORY);
	write_at(pfd, "archive.tar", "data");
	mkdir_at(pfd, "deep");
	int dfd = openat(pfd, "deep", O_RDONLY | O_DIRECTORY);
	mkdir_at(dfd, "deeper");
	write_at(dfd, "f", "x");
	close(dfd);
	/* planted links to the outside folder and file */
	assert_int_equal(symlinkat(outside, pfd, "link"), 0);
	char target[160];
	snprintf(target, sizeof(target), "%s/precious", outside);
	assert_int_equal(symlinkat(target, pfd, "filelink"), 0);
	close(pfd);
	/* a partial name that is itself a link to the outside */
	assert_int_equal(symlinkat(outside, cfd, "20260104T000000Z-01.partial"), 0);
	/* not snapshot names: left alone */
	mkdir_at(cfd, "junk.partial");
	mkdir_at(cfd, "20260105T000000Z-1.partial");

	assert_int_equal(store_remove_partials(t->fd, COMP_AR, &removed), 0);
	assert_int_equal(removed, 3);
	assert_false(exists_at(cfd, "20260102T000000Z-01.partial"));
	assert_false(exists_at(cfd, "20260103T000000Z-01.partial"));
	assert_false(exists_at(cfd, "20260104T000000Z-01.partial"));
	assert_true(exists_at(cfd, "20260101T000000Z-01"));
	assert_true(exists_at(cfd, "20260101T000000Z-01/" SNAP_META));
	assert_true(exists_at(cfd, "junk.partial"));
	assert_true(exists_at(cfd, "20260105T000000Z-1.partial"));

	/* the outside content is intact */
	char buf[32] = { 0 };
	int fd = openat(ofd, "precious", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 8);
	assert_string_equal(buf, "keep me\n");
	close(fd);
	assert_true(exists_at(ofd, "sub"));
	assert_true(exists_at(t->fd, "outside"));

	/* nothing left to remove */
	assert_int_equal(store_remove_partials(t->fd, COMP_AR, &removed), 0);
	assert_int_equal(removed, 0);
	/* a component without folder */
	removed = 99;
	assert_int_equal(store_remove_partials(t->fd, COMP_ATRIUMINTEGRATOR, &removed), 0);
	assert_int_equal(removed, 0);
	close(cfd);
	close(ofd);
}

static void test_audit_append(void **state)
{
	struct tmp *t = *state;
	struct stat st;
	char buf[64] = { 0 };

	assert_int_equal(audit_append(t->fd, "first event"), 0);
	assert_int_equal(audit_append(t->fd, "second event"), 0);
	int fd = openat(t->fd, AUDIT_LOG, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 25);
	assert_string_equal(buf, "first event\nsecond event\n");
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_name),
		cmocka_unit_test_setup_teardown(test_new_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_comp_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_states_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pick_only_partials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_partials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_append, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
