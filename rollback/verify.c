/*
 * verify.c - zdt verify: re-read snapshots and check every entry against
 * the manifest, and the manifest against its own checksum.
 *
 * The manifest and the archive are read side by side in their common order;
 * each file's bytes are hashed as they come out of the archive.  Damage is
 * reported per path and the run goes on; the exit code is 4 if anything
 * was damaged.  A manifest that is sound by itself but whose checksum is
 * not the one meta recorded at backup time was replaced: damage too.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/archive_io.h"
#include "../common/atomic.h"
#include "../common/component.h"
#include "../common/json.h"
#include "../common/manifest.h"
#include "../common/progress.h"
#include "../common/sign.h"
#include "../common/store.h"
#include "member.h"
#include "verify.h"
#include "../zdt.h"

const char verify_usage[] =
	"usage: zdt verify [-c COMPONENT]... [--snapshot ID | --all] [--key-file FILE]\n"
	"\n"
	"Re-reads snapshots and checks every entry of the archive against the\n"
	"manifest (content hash, type, mode, owner, mtime, link targets, extended\n"
	"attributes) and the manifest against its checksum.  Default: the newest\n"
	"complete snapshot of each component.  Exit 0 when all is intact, 4 naming\n"
	"each damaged path.\n"
	"\n"
	"  -c, --component NAME   only this component (repeatable)\n"
	"  -s, --snapshot ID      this snapshot\n"
	"  -a, --all              every snapshot that is not partial\n"
	"      --key-file FILE    also check the manifest's HMAC-SHA256 signature with\n"
	"                         the key in FILE: unsigned or changed snapshots fail\n";


struct vstate {
	struct zdt *z;
	struct json *j;
	const struct snapinfo *si;
	const struct signkey *key;	/* NULL: signatures are not checked */
	unsigned long damaged;
	uint64_t entries;
	struct progress prog;
	const char *zeros;
	int quiet;		/* count and remember the first, print nothing */
	char first[512];
};

static void report(struct vstate *v, const char *path, int64_t offset, const char *fmt, ...)
	ZDT_PRINTF(4, 5);
static void report(struct vstate *v, const char *path, int64_t offset, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	struct sbuf p = SBUF_INIT;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	for (char *c = why; *c; c++)	/* one line: the paths in it are escaped, a library's text may not be */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	v->damaged++;
	esc_path(&p, path);
	progress_end(&v->prog);
	if (v->quiet) {
		if (v->damaged == 1)
			snprintf(v->first, sizeof(v->first), "%.200s: %.300s", p.buf, why);
	} else if (offset >= 0)
		fprintf(v->z->out, "%s %s: %s: FAILED (%s; its data starts at archive byte %" PRId64 ")\n",
			component_name(v->si->comp), v->si->id, p.buf, why, offset);
	else
		fprintf(v->z->out, "%s %s: %s: FAILED (%s)\n", component_name(v->si->comp), v->si->id, p.buf, why);
	if (v->j) {
		json_obj(v->j, NULL);
		json_str(v->j, "path", path);
		json_str(v->j, "reason", why);
		if (offset >= 0)
			json_i64(v->j, "offset", offset);
		json_end(v->j);
	}
	sbuf_free(&p);
}

static void bad_cb(void *arg, const struct mentry *m, int64_t offset, const char *why)
{
	report(arg, m->path.buf, offset, "%s", why);
}

/* a hardlink must name a regular file met before it: a rollback makes it
 * with link(), which would link a symlink, a device or a FIFO as well */
static void check_link(struct vstate *v, const struct mentry *m, const struct hset *links, struct hset *files)
{
	if (m->type == M_FILE) {
		uint64_t h = path_hash(m->path.buf);
		if (hset_has(links, h))
			hset_add(files, h);
	} else if (m->type == M_HARDLINK && !hset_has(files, path_hash(m->target.buf))) {
		report(v, m->path.buf, -1, "hardlink to '%s', which is not a regular file of the snapshot",
		       escp(m->target.buf));
	}
}

static int verify_one(struct vstate *v, int bkfd)
{
	const struct snapinfo *si = v->si;
	struct mreader mr;
	struct mentry m;
	struct sbuf ap = SBUF_INIT;
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	int sfd, mfd = -1, afd = -1;
	int mrc = 1, arc = ARCHIVE_OK, mopen;
	char aname_fallback[] = SNAP_ARCHIVE_NONE;
	/* the first paths of the hardlink groups, and those met as files */
	struct hset links = { 0 }, files = { 0 };

	mentry_init(&m);
	sfd = store_open_snap(bkfd, si);
	if (sfd < 0) {
		report(v, ".", -1, "cannot open the snapshot folder: %s", strerror(errno));
		return -1;
	}
	if (!si->meta_ok)
		report(v, SNAP_META, -1, "missing or damaged");
	mfd = openat(sfd, SNAP_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (mfd < 0) {
		report(v, SNAP_MANIFEST, -1, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (v->key) {
		struct sbuf why = SBUF_INIT;
		int src = sign_check(sfd, mfd, v->key, &why);
		if (src < 0)
			report(v, SNAP_SIG, -1, "cannot read: %s", strerror(errno));
		else if (src > 0)
			report(v, src == 4 ? SNAP_MANIFEST : SNAP_SIG, -1, "%s", why.buf);
		sbuf_free(&why);
	}
	const char *aname = si->archive ? si->archive : aname_fallback;
	afd = openat(sfd, aname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (afd < 0 && !si->archive) {
		aname = SNAP_ARCHIVE_GZIP;
		afd = openat(sfd, aname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (afd < 0) {
		report(v, aname, -1, "cannot open: %s", strerror(errno));
		goto out;
	}
	struct stat st;
	if (si->meta_ok && fstat(afd, &st) == 0 && (uint64_t)st.st_size != si->archive_bytes)
		report(v, aname, -1, "archive is %" PRIu64 " bytes, %" PRIu64 " were written (%s)",
		       (uint64_t)st.st_size, si->archive_bytes,
		       (uint64_t)st.st_size < si->archive_bytes ? "truncated" : "grown");
	char merr[512];
	int has_ah;
	XXH128_hash_t want_ah;
	uint64_t want_size;
	if (manifest_check_archive(mfd, merr, sizeof(merr), &has_ah, &want_ah, &want_size, &links) < 0) {
		/* without a sound manifest there is nothing to compare with */
		report(v, SNAP_MANIFEST, -1, "damaged: %s", merr);
		goto out;
	}
	if (lseek(mfd, 0, SEEK_SET) < 0) {
		report(v, SNAP_MANIFEST, -1, "cannot read: %s", strerror(errno));
		goto out;
	}
	mopen = mreader_open(&mr, mfd);
	if (mopen < 0) {
		report(v, SNAP_MANIFEST, -1, "damaged: %s", mr.err);
		mreader_release(&mr);
		goto out;
	}
	struct ahash *ah = NULL;
	a = areader_open_hashing(afd, &ah);
	progress_start(&v->prog, progress_enabled(v->z->progress), "verify", si->bytes);
	/* merge the two sorted streams */
	int need_m = 1, need_a = 1;
	for (;;) {
		if (need_m && mrc > 0) {
			mrc = mreader_next(&mr, &m);
			if (mrc < 0) {
				report(v, SNAP_MANIFEST, -1, "damaged: %s", mr.err);
				break;
			}
			if (mrc > 0) {
				v->entries++;
				check_link(v, &m, &links, &files);
			}
			need_m = 0;
		}
		if (need_a && arc == ARCHIVE_OK) {
			arc = archive_read_next_header(a, &e);
			if (arc == ARCHIVE_WARN)
				arc = ARCHIVE_OK;
			if (arc != ARCHIVE_OK && arc != ARCHIVE_EOF) {
				report(v, aname, -1, "archive damaged near byte %" PRId64 ": %s",
				       (int64_t)archive_filter_bytes(a, -1),
				       archive_error_string(a) ? archive_error_string(a) : "read error");
				arc = ARCHIVE_FATAL;
			}
			if (arc == ARCHIVE_OK)
				member_path(&ap, e);
			need_a = 0;
		}
		if (mrc == 0 && arc != ARCHIVE_OK)
			break;
		int cmp;
		if (mrc == 0)
			cmp = -1;	/* only the archive has entries left */
		else if (arc != ARCHIVE_OK)
			cmp = 1;	/* only the manifest */
		else
			cmp = path_cmp(ap.buf, m.path.buf);
		if (cmp == 0) {
			if (member_check(a, e, &m, v->zeros, &v->prog, bad_cb, v) < 0) {
				report(v, m.path.buf, m.offset, "archive damaged inside its data: %s",
				       archive_error_string(a) ? archive_error_string(a) : "read error");
				arc = ARCHIVE_FATAL;
			}
			need_m = need_a = 1;
		} else if (cmp < 0) {
			if (arc == ARCHIVE_OK)
				report(v, ap.buf, -1, "in the archive but not in the manifest");
			need_a = 1;
		} else {
			report(v, m.path.buf, m.offset, arc == ARCHIVE_FATAL ? "lost: the archive is damaged before it"
					       : "in the manifest but not in the archive");
			need_m = 1;
		}
	}
	progress_end(&v->prog);
	{
		/* every byte of the file, padding and compression included */
		XXH128_hash_t got;
		uint64_t size;
		int rrc = areader_hash_finish(ah, &got, &size);
		if (rrc < 0)
			report(v, aname, -1, "read error: %s", strerror(errno));
		else if (has_ah && (size != want_size || !XXH128_isEqual(got, want_ah)))
			report(v, aname, -1, "the archive file's checksum differs from the one recorded when it was written");
	}
	if (mrc == 0 && si->meta_ok &&
	    (mr.entries != si->entries || mr.files != si->files || mr.bytes != si->bytes))
		report(v, SNAP_META, -1, "counts disagree with the manifest");
	if (mrc == 0) {
		struct sbuf why = SBUF_INIT;
		if (store_meta_checksum_cmp(si, mr.checksum, &why))
			report(v, SNAP_MANIFEST, -1, "%s", why.buf);
		sbuf_free(&why);
	}
	mreader_release(&mr);
out:
	if (a)
		archive_read_free(a);
	if (afd >= 0)
		close(afd);
	if (mfd >= 0)
		close(mfd);
	close(sfd);
	mentry_release(&m);
	sbuf_free(&ap);
	hset_free(&links);
	hset_free(&files);
	return v->damaged ? -1 : 0;
}

int verify_snapshot(struct zdt *z, int bkfd, const struct snapinfo *si, int quiet,
		    struct verify_result *res)
{
	struct vstate vs;
	char *zeros = xcalloc(1, MEMBER_ZBUF);
	int rc;

	memset(&vs, 0, sizeof(vs));
	vs.z = z;
	vs.si = si;
	vs.zeros = zeros;
	vs.quiet = quiet;
	rc = verify_one(&vs, bkfd);
	free(zeros);
	res->damaged = vs.damaged;
	res->entries = vs.entries;
	memcpy(res->first, vs.first, sizeof(res->first));
	return rc;
}

int cmd_verify(struct zdt *z, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "component", required_argument, NULL, 'c' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "key-file", required_argument, NULL, OPT_CMD },
		ZDT_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 },
	};
	unsigned mask = 0;
	const char *id = NULL, *keyfile = NULL;
	int all = 0, c;
	struct signkey key;

	while ((c = zdt_getopt(z, argc, argv, "c:s:a", lo)) != -1) {
		switch (c) {
		case 'c': mask |= 1u << component_arg("-c", optarg); break;
		case 's': id = optarg; break;
		case 'a': all = 1; break;
		case OPT_CMD: keyfile = optarg; break;
		}
	}
	if (optind < argc)
		zdt_usage_error(z, "unexpected argument '%s'", argv[optind]);
	if (id && all)
		zdt_usage_error(z, "--snapshot and --all exclude each other");
	if (id) {
		int partial;
		if (!store_parse_name(id, &partial) || partial)
			zdt_usage_error(z, "invalid --snapshot '%s' (an ID as 'zdt list' shows it)", id);
	}
	zdt_setup(z);
	int explicit = mask != 0;
	if (!mask)
		mask = COMP_ALL;
	z->comps = mask;
	zdt_open_store(z);
	zdt_load_key(z, keyfile, NULL, &key);

	struct snapinfo *v;
	size_t n;
	if (store_list(z->bkfd, mask, &v, &n) < 0)
		die_errno(ZDT_EFAIL, "cannot list the backup folder: '%s'", escp(zdt_bkdir(z)));
	/* choose: --snapshot ID, --all, or the newest complete of each */
	char *pick = xcalloc(n ? n : 1, 1);
	size_t npick = 0;
	for (size_t i = n; i-- > 0;) {
		if (v[i].state == SNAP_PARTIAL)
			continue;
		int take = id ? !strcmp(v[i].id, id) : 1;
		if (!id && !all) {
			for (size_t k = i + 1; k < n; k++)
				if (pick[k] && v[k].comp == v[i].comp)
					take = 0;
		}
		if (take) {
			pick[i] = 1;
			npick++;
		}
	}
	if (!npick) {
		store_list_free(v, n);
		free(pick);
		if (id)
			die_hint(ZDT_ENOSNAP, "see 'zdt list' for the snapshots there",
				 "no complete snapshot '%s' in '%s'", id, escp(zdt_bkdir(z)));
		die_hint(ZDT_ENOSNAP, "make one with 'zdt backup -c COMPONENT'",
			 "no complete snapshot%s in '%s'", explicit ? " of the selected components" : "",
			 escp(zdt_bkdir(z)));
	}

	struct json j, *jp = NULL;
	if (z->json) {
		jp = &j;
		json_init(&j, z->jf);
		json_obj(&j, NULL);
		json_str(&j, "command", "verify");
		json_arr(&j, "snapshots");
	}
	char *zeros = xcalloc(1, MEMBER_ZBUF);
	unsigned long bad = 0;
	for (size_t i = 0; i < n; i++) {
		if (!pick[i])
			continue;
		struct vstate vs;
		memset(&vs, 0, sizeof(vs));
		vs.z = z;
		vs.j = jp;
		vs.si = &v[i];
		vs.key = key.key ? &key : NULL;
		vs.zeros = zeros;
		double t0 = now_mono();
		if (jp) {
			json_obj(&j, NULL);
			json_str(&j, "component", component_name(v[i].comp));
			json_str(&j, "id", v[i].id);
			json_arr(&j, "damaged");
		}
		verify_one(&vs, z->bkfd);
		double el = now_mono() - t0;
		if (jp) {
			json_end(&j);
			json_bool(&j, "ok", !vs.damaged);
			json_u64(&j, "entries", vs.entries);
			json_u64(&j, "bytes", v[i].bytes);
			json_dbl(&j, "elapsed_s", el);
			json_end(&j);
		}
		if (vs.damaged) {
			bad++;
			error("%s %s: %lu damaged entr%s", component_name(v[i].comp), v[i].id,
			      vs.damaged, vs.damaged > 1 ? "ies" : "y");
		} else if (zdt_verbosity >= 1) {
			char s1[16];
			fprintf(z->out, "%s %s: OK (%" PRIu64 " entries, %s, %.1f s)\n", component_name(v[i].comp),
				v[i].id, vs.entries, fmt_size(s1, sizeof(s1), v[i].bytes), el);
		}
	}
	if (jp) {
		json_end(&j);
		json_bool(&j, "ok", !bad);
		json_end(&j);
	}
	free(zeros);
	free(pick);
	store_list_free(v, n);
	signkey_release(&key);
	return bad ? ZDT_EINTEGRITY : 0;
}
