/*
 * doctor.c - zdt doctor: the troubleshooting guide as checks.
 *
 * Each check gives one line, "ok", "FAIL" or "warn", its name and a
 * verdict, and under a failure or warning a hint.  The checks, in order:
 * the backup folder's path (no symbolic link), free space for a backup of
 * each configured component and for the rollback of each snapshot, each
 * complete snapshot verified (verify.h) and, with a key-file in the config,
 * its manifest signature (sign.h), leftovers of interrupted backups,
 * interrupted rollbacks, the AR System server's ar.cfg (Operating-Mode,
 * escalations, ports), processes holding files under the install folders,
 * and the cron cleanup (beacon.h).  Only failures count for the exit code.
 *
 * --fix changes ar.cfg alone, and only the two values that a crashed or
 * finished upgrade leaves wrong; the previous file goes to
 * BACKUP_DIR/doctor/ar.cfg.STAMP first, and the audit log gets an
 * event=fix line.  The backup folder is read under a shared lock; when
 * another run holds it, the snapshot checks are skipped with a warning.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/arcfg.h"
#include "../common/atomic.h"
#include "../common/component.h"
#include "../common/fsops.h"
#include "../common/json.h"
#include "../common/manifest.h"
#include "../common/procscan.h"
#include "../common/sign.h"
#include "../common/space.h"
#include "../common/store.h"
#include "verify.h"
#include "../zdt.h"

const char doctor_usage[] =
	"usage: zdt doctor [-c COMPONENT]... [--ar-cfg FILE] [--fix]\n"
	"\n"
	"Checks what a rollback needs and what an upgrade may leave broken: the\n"
	"backup folder's path, free space for backups and rollbacks, every complete\n"
	"snapshot and, with key-file in the config, its signature, leftovers and\n"
	"interrupted rollbacks, Operating-Mode, escalations and ports in the AR\n"
	"System server's ar.cfg, processes holding files in the install folders,\n"
	"and when the cron cleanup last ran.  One line per check (ok, FAIL or warn)\n"
	"with a hint under each problem.  Exit 0 when no check failed, 1 otherwise.\n"
	"\n"
	"  -c, --component NAME   only this component (repeatable; default: all)\n"
	"      --ar-cfg FILE      the AR System server's ar.cfg (default: conf/ar.cfg\n"
	"                         in the install folder of AR)\n"
	"      --fix              set Operating-Mode to 0 and Disable-Escalations-Global\n"
	"                         to F in ar.cfg where a check failed on them; the old\n"
	"                         file is kept in the backup folder\n";

enum { ST_OK, ST_WARN, ST_FAIL };

struct check {
	char *name, *verdict, *hint;
	int status, fixed;
};

struct doctor {
	struct zdt *z;
	unsigned mask;
	int fix;
	const char *ar_cfg_opt;
	int bk_ok;			/* the backup folder is open */
	int listed;			/* v holds its snapshots */
	struct snapinfo *v;
	size_t n;
	char *inst[COMP_N];		/* install folder, as configured or recorded */
	struct signkey key;		/* key-file of the config; key.key NULL: none */
	struct check *c;
	size_t nc, cap;
	unsigned long failed, warned;
};

static void add_check(struct doctor *d, int status, int fixed, const char *name, const char *hint,
		      const char *fmt, ...) ZDT_PRINTF(6, 7);
static void add_check(struct doctor *d, int status, int fixed, const char *name, const char *hint,
		      const char *fmt, ...)
{
	static const char *const label[] = { "ok", "warn", "FAIL" };
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	{
		char buf[4096];
		vsnprintf(buf, sizeof(buf), fmt, ap);
		sbuf_adds(&sb, buf);
	}
	va_end(ap);
	if (d->nc == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->c = xrealloc(d->c, d->cap * sizeof(*d->c));
	}
	struct check *c = &d->c[d->nc++];
	c->name = xstrdup(name);
	c->verdict = sb.buf ? sb.buf : xstrdup("");
	c->hint = hint && status != ST_OK ? xstrdup(hint) : NULL;
	c->status = status;
	c->fixed = fixed;
	if (status == ST_FAIL)
		d->failed++;
	else if (status == ST_WARN)
		d->warned++;
	/* the result: printed even with -q, but then only what is wrong */
	if (status != ST_OK || fixed || zdt_verbosity >= 1) {
		fflush(stderr);
		fprintf(d->z->out, "%-4s  %s: %s\n", label[status], c->name, c->verdict);
		if (c->hint)
			fprintf(d->z->out, "      hint: %s\n", c->hint);
		fflush(d->z->out);
	}
}

/* ---- the backup folder --------------------------------------------------- */

static void check_backup_folder(struct doctor *d)
{
	struct zdt *z = d->z;
	struct sbuf at = SBUF_INIT, to = SBUF_INIT, h = SBUF_INIT;
	const char *name = "backup-folder";
	int fd;

	if (!z->backup_dir) {
		add_check(d, ST_FAIL, 0, name, "give -b DIR, set $ZDT_BACKUP_DIR, or set backup-dir in /etc/zdt.conf",
			  "no backup folder given");
		return;
	}
	fd = open_dir_nofollow(z->backup_dir, 0, &at, &to);
	if (fd < 0 && errno == ELOOP && to.len) {
		char *real = real_path_prefix(z->backup_dir);
		sbuf_addf(&h, "use the real path: -b '%s' (backup, rollback and cleanup refuse the link)", real);
		add_check(d, ST_FAIL, 0, name, h.buf,
			  "'%s' goes through a symbolic link: '%s' -> '%s', which resolves to '%s'",
			  z->backup_dir, at.buf, to.buf, real);
		free(real);
	} else if (fd < 0 && errno == ENOENT) {
		add_check(d, ST_WARN, 0, name, "the first 'zdt backup' creates it",
			  "'%s' does not exist yet", z->backup_dir);
	} else if (fd < 0) {
		add_check(d, ST_FAIL, 0, name, "check the folder's permissions (run as the user that makes backups)",
			  "cannot open '%s': %s", at.len ? at.buf : z->backup_dir, strerror(errno));
	} else {
		close(fd);
		add_check(d, ST_OK, 0, name, NULL, "'%s' holds no symbolic link", z->backup_dir);
		d->bk_ok = 1;
	}
	sbuf_free(&at);
	sbuf_free(&to);
	sbuf_free(&h);
	if (!d->bk_ok)
		return;
	z->lock_try = 1;
	zdt_open_store(z);
	if (z->lock_busy) {
		add_check(d, ST_WARN, 0, "lock", "run 'zdt doctor' again once that run is over",
			  "the backup folder is in use by %s: the snapshot checks are skipped", z->lock_holder);
		return;
	}
	if (store_list(z->bkfd, d->mask, &d->v, &d->n) < 0) {
		add_check(d, ST_FAIL, 0, "snapshots", NULL, "cannot list '%s': %s", zdt_bkdir(z), strerror(errno));
		return;
	}
	d->listed = 1;
}

/* the folder fd, or the nearest existing folder above it, for statvfs */
static int open_existing(const char *path)
{
	char *p = real_path_prefix(path);
	int fd;

	while ((fd = open(*p ? p : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && *p) {
		char *slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	free(p);
	return fd;
}

/* ---- free space ------------------------------------------------------------ */

struct est {
	char *const *globs;
	int nglobs;
	uint64_t est, bytes;
};

static int est_cb(void *arg, struct walk_ent *e)
{
	struct est *s = arg;

	check_signal();
	if (e->parent >= 0 && path_excluded(s->globs, s->nglobs, e->rel, e->name))
		return WALK_SKIP;
	if (S_ISSOCK(e->st.st_mode))
		return 0;
	s->est += space_estimate(&e->st, strlen(e->rel));
	if (S_ISREG(e->st.st_mode))
		s->bytes += (uint64_t)e->st.st_size;
	return 0;
}

static void check_backup_space(struct doctor *d)
{
	struct zdt *z = d->z;
	int any = 0;

	for (int c = 0; c < COMP_N; c++) {
		const char *path = z->cf.comp[c].path;
		char name[64], s1[16], s2[16], s3[16];
		struct est s;
		struct space sp;

		if (!(d->mask & (1u << c)) || !path)
			continue;
		any = 1;
		snprintf(name, sizeof(name), "backup-space:%s", component_name(c));
		int root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root < 0) {
			add_check(d, ST_FAIL, 0, name, "fix path in the component's section of the config file",
				  "cannot open the install folder '%s': %s", path, strerror(errno));
			continue;
		}
		memset(&s, 0, sizeof(s));
		s.globs = z->cf.comp[c].exclude;
		s.nglobs = z->cf.comp[c].nexclude;
		int rc = walk_tree(root, 0, est_cb, &s);
		close(root);
		if (rc < 0) {
			add_check(d, ST_FAIL, 0, name, "run as the user that makes backups",
				  "cannot read all of the install folder '%s'", path);
			continue;
		}
		int fd = d->bk_ok ? dup(z->bkfd) : z->backup_dir ? open_existing(z->backup_dir) : -1;
		if (fd < 0) {
			add_check(d, ST_WARN, 0, name, "give the backup folder with -b DIR",
				  "no backup folder to measure (%s to store)", fmt_size(s1, sizeof(s1), s.est));
			continue;
		}
		int fits = space_check(fd, s.est, z->cf.reserve ? z->cf.reserve : SPACE_DEFAULT_RESERVE, &sp);
		close(fd);
		fmt_size(s1, sizeof(s1), sp.needed);
		fmt_size(s2, sizeof(s2), sp.reserve);
		fmt_size(s3, sizeof(s3), sp.avail);
		if (fits < 0)
			add_check(d, ST_WARN, 0, name, NULL, "cannot read the free space of '%s': %s", zdt_bkdir(z),
				  strerror(errno));
		else if (fits)
			add_check(d, ST_OK, 0, name, NULL, "a backup of '%s' needs %s plus a reserve of %s, %s available",
				  path, s1, s2, s3);
		else
			add_check(d, ST_FAIL, 0, name,
				  "free space in the backup folder's file system, use compress = gzip, or lower reserve",
				  "a backup of '%s' needs %s plus a reserve of %s, only %s available", path, s1, s2, s3);
	}
	if (!any && d->mask == COMP_ALL)
		add_check(d, ST_WARN, 0, "install-folders", "set path in the [AR], [AtriumCore] and [AtriumIntegrator] "
			  "sections of the config file", "no install folder is configured: no backup space to check");
}

/* the largest file of a snapshot, from its manifest; -1 when unreadable */
static int64_t largest_file(int bkfd, const struct snapinfo *si)
{
	struct mreader mr;
	struct mentry m;
	int64_t max = 0;
	int sfd = store_open_snap(bkfd, si), mfd, rc;

	if (sfd < 0)
		return -1;
	mfd = openat(sfd, SNAP_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(sfd);
	if (mfd < 0)
		return -1;
	mentry_init(&m);
	if (mreader_open(&mr, mfd) < 0) {
		max = -1;
	} else {
		while ((rc = mreader_next(&mr, &m)) > 0)
			if (m.type == M_FILE && (int64_t)m.size > max)
				max = (int64_t)m.size;
		if (rc < 0)
			max = -1;
	}
	mreader_release(&mr);
	mentry_release(&m);
	close(mfd);
	return max;
}

/*
 * A rollback writes what differs next to the live file, then renames it:
 * it needs about what the snapshot holds beyond the live tree, plus room
 * for its largest file while it is staged.
 */
static void check_rollback_space(struct doctor *d, const struct snapinfo *si)
{
	char name[96], s1[16], s2[16];
	struct est s;
	struct space sp;

	snprintf(name, sizeof(name), "rollback-space:%s/%s", component_name(si->comp), si->id);
	if (!si->source) {
		add_check(d, ST_WARN, 0, name, NULL, "the snapshot records no install folder");
		return;
	}
	int64_t max = largest_file(d->z->bkfd, si);
	if (max < 0) {
		add_check(d, ST_WARN, 0, name, "see the snapshot's own check", "cannot read its manifest");
		return;
	}
	memset(&s, 0, sizeof(s));
	int root = open(si->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root >= 0) {
		walk_tree(root, 0, est_cb, &s);
		close(root);
	}
	uint64_t need = (si->bytes > s.bytes ? si->bytes - s.bytes : 0) + (uint64_t)max;
	int fd = open_existing(si->source);
	int fits = fd < 0 ? -1 : space_check(fd, need, 0, &sp);
	if (fd >= 0)
		close(fd);
	if (fits < 0) {
		add_check(d, ST_WARN, 0, name, NULL, "cannot read the free space of '%s'", si->source);
		return;
	}
	fmt_size(s1, sizeof(s1), need);
	fmt_size(s2, sizeof(s2), sp.avail);
	if (fits)
		add_check(d, ST_OK, 0, name, NULL, "a rollback into '%s' needs about %s, %s available",
			  si->source, s1, s2);
	else
		add_check(d, ST_FAIL, 0, name, "free space in the install folder's file system before a rollback",
			  "a rollback into '%s' needs about %s, only %s available", si->source, s1, s2);
}

/* ---- snapshots -------------------------------------------------------------- */

/* the config's key-file, loaded as rollback loads it; a bad key is a failed
 * check (rollback and verify would stop on it), not the end of the run */
static void check_key(struct doctor *d)
{
	struct zdt *z = d->z;
	struct sbuf err = SBUF_INIT;

	if (!z->cf.key_file)
		return;
	int code = signkey_load(&d->key, z->cf.key_file, z->backup_dir, NULL, &err);
	if (code) {
		signkey_release(&d->key);
		add_check(d, ST_FAIL, 0, "key-file", code == ZDT_EREFUSED ?
			  "keep the key outside the backup folder, readable by its owner only (chmod 600)" :
			  "fix key-file in the config file", "%s: the signatures are not checked, and backup, "
			  "verify and rollback stop on it", err.buf);
	} else {
		add_check(d, ST_OK, 0, "key-file", NULL, "'%s' (key-id %s)", d->key.file, d->key.id);
	}
	sbuf_free(&err);
}

/* the snapshot's manifest against its signature; 1 when it has one */
static int check_signature(struct doctor *d, const struct snapinfo *si)
{
	char name[96];
	struct sbuf why = SBUF_INIT, h = SBUF_INIT;
	int sfd = store_open_snap(d->z->bkfd, si), mfd = -1, signed_ = 0;

	snprintf(name, sizeof(name), "signature:%s/%s", component_name(si->comp), si->id);
	if (sfd < 0)
		return 0;	/* the snapshot's own check says why */
	signed_ = faccessat(sfd, SNAP_SIG, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	if (!d->key.key)
		goto out;
	mfd = openat(sfd, SNAP_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc = mfd < 0 ? -1 : sign_check(sfd, mfd, &d->key, &why);
	sbuf_addf(&h, "'zdt verify -c %s --snapshot %s' says the same; rollback refuses it (exit 4): "
		  "take a new backup, signed with the key", component_name(si->comp), si->id);
	if (rc < 0)
		add_check(d, ST_FAIL, 0, name, NULL, "cannot read the manifest or its signature: %s", strerror(errno));
	else if (rc == 1)
		add_check(d, ST_FAIL, 0, name, h.buf, "%s, and key-file is set", why.buf);
	else if (rc > 0)
		add_check(d, ST_FAIL, 0, name, h.buf, "%s", why.buf);
	else
		add_check(d, ST_OK, 0, name, NULL, "the manifest matches its signature (key-id %s)", d->key.id);
out:
	if (mfd >= 0)
		close(mfd);
	close(sfd);
	sbuf_free(&why);
	sbuf_free(&h);
	return signed_;
}

/* "started=... pid=..." of a rollback journal, for the verdict */
static void journal_summary(int bkfd, const struct snapinfo *si, struct sbuf *sb)
{
	char buf[2048];
	int sfd = store_open_snap(bkfd, si), fd;
	ssize_t n = -1;

	if (sfd < 0)
		return;
	fd = openat(sfd, SNAP_JOURNAL, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(sfd);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	const char *started = strstr(buf, "\nstarted="), *pid = strstr(buf, "\npid=");
	if (started)
		sbuf_addf(sb, ", started %.*s", (int)strcspn(started + 9, "\n"), started + 9);
	if (pid)
		sbuf_addf(sb, " by pid %.*s", (int)strcspn(pid + 5, "\n"), pid + 5);
}

static void check_snapshots(struct doctor *d)
{
	struct zdt *z = d->z;
	struct sbuf left = SBUF_INIT, intr = SBUF_INIT, h = SBUF_INIT;
	unsigned long nleft = 0, nintr = 0, nsigned = 0;
	unsigned have = 0;
	int first_intr = -1;

	for (size_t i = 0; i < d->n; i++) {
		const struct snapinfo *si = &d->v[i];
		char name[96];

		if (si->state == SNAP_PARTIAL) {
			sbuf_addf(&left, "%s%s/%s%s", nleft ? ", " : "", component_name(si->comp), si->id,
				  si->named_partial ? PARTIAL_SUFFIX : "");
			nleft++;
			continue;
		}
		have |= 1u << si->comp;
		if (si->state == SNAP_ROLLBACK_INTERRUPTED) {
			sbuf_addf(&intr, "%sof %s to %s", nintr ? "; " : "", component_name(si->comp), si->id);
			journal_summary(z->bkfd, si, &intr);
			if (first_intr < 0)
				first_intr = si->comp;
			nintr++;
		}
		snprintf(name, sizeof(name), "snapshot:%s/%s", component_name(si->comp), si->id);
		struct verify_result vr;
		if (verify_snapshot(z, z->bkfd, si, 1, &vr) == 0) {
			char s1[16];
			add_check(d, ST_OK, 0, name, NULL, "intact (%" PRIu64 " entries, %s)", vr.entries,
				  fmt_size(s1, sizeof(s1), si->bytes));
		} else {
			sbuf_reset(&h);
			sbuf_addf(&h, "'zdt verify -c %s --snapshot %s' names every damaged path; take a new backup",
				  component_name(si->comp), si->id);
			add_check(d, ST_FAIL, 0, name, h.buf, "%lu damaged entr%s, first %s", vr.damaged,
				  vr.damaged == 1 ? "y" : "ies", vr.first);
		}
		nsigned += check_signature(d, si) > 0;
		check_rollback_space(d, si);
	}
	for (int c = 0; c < COMP_N; c++) {
		char name[64];
		if (!(d->mask & (1u << c)) || !z->cf.comp[c].path || (have & (1u << c)))
			continue;
		snprintf(name, sizeof(name), "snapshot:%s", component_name(c));
		sbuf_reset(&h);
		sbuf_addf(&h, "take one before the upgrade: zdt backup -c %s", component_name(c));
		add_check(d, ST_WARN, 0, name, h.buf, "no complete snapshot: a rollback of %s is not possible",
			  component_name(c));
	}
	if (nsigned && !d->key.key && !z->cf.key_file)
		add_check(d, ST_WARN, 0, "signatures", "set key-file in the config file (zdt.conf(5)), or run "
			  "'zdt verify --key-file FILE'", "%lu snapshot%s signed (manifest.sig), but no key-file is "
			  "configured: the signatures were not checked", nsigned, nsigned == 1 ? " is" : "s are");
	if (nleft)
		add_check(d, ST_FAIL, 0, "leftovers", "'zdt cleanup' (or the next backup) removes them",
			  "%lu leftover%s of interrupted backups or deletions: %s", nleft, nleft == 1 ? "" : "s",
			  left.buf);
	else
		add_check(d, ST_OK, 0, "leftovers", NULL, "none");
	if (nintr) {
		sbuf_reset(&h);
		sbuf_addf(&h, "finish it before anything else: zdt rollback -c %s (the same selection as before)",
			  component_name(first_intr));
		add_check(d, ST_FAIL, 0, "interrupted-rollback", h.buf,
			  "%lu rollback%s waiting to be finished: %s; the install folder is half rolled back",
			  nintr, nintr == 1 ? "" : "s", intr.buf);
	} else {
		add_check(d, ST_OK, 0, "interrupted-rollback", NULL, "none");
	}
	sbuf_free(&left);
	sbuf_free(&intr);
	sbuf_free(&h);
}

/* ---- install folders ---------------------------------------------------------- */

/* the install folder of each component: configured, else the source of its
 * newest snapshot */
static void find_install_folders(struct doctor *d)
{
	for (int c = 0; c < COMP_N; c++) {
		if (d->z->cf.comp[c].path) {
			d->inst[c] = xstrdup(d->z->cf.comp[c].path);
			continue;
		}
		for (size_t i = d->n; i-- > 0;) {
			if (d->v[i].comp == c && d->v[i].state != SNAP_PARTIAL && d->v[i].source) {
				d->inst[c] = xstrdup(d->v[i].source);
				break;
			}
		}
	}
}

static void check_busy(struct doctor *d)
{
	for (int c = 0; c < COMP_N; c++) {
		struct proclist pl = PROCLIST_INIT;
		struct sbuf sb = SBUF_INIT;
		char name[64], *real;

		if (!(d->mask & (1u << c)) || !d->inst[c])
			continue;
		snprintf(name, sizeof(name), "busy:%s", component_name(c));
		real = realpath(d->inst[c], NULL);
		if (!real) {
			add_check(d, ST_WARN, 0, name, NULL, "cannot resolve the install folder '%s': %s", d->inst[c],
				  strerror(errno));
			continue;
		}
		if (procscan_busy(real, PROCSCAN_NOT_SELF, &pl) < 0) {
			add_check(d, ST_WARN, 0, name, NULL, "cannot read /proc: %s", strerror(errno));
		} else if (pl.n) {
			proclist_describe(&pl, 5, &sb);
			add_check(d, ST_WARN, 0, name, "stop them before a rollback (the AR System server, plugin "
				  "servers, shells whose folder is there)",
				  "%zu process%s hold%s files under '%s': %s (first: %s %s)", pl.n,
				  pl.n == 1 ? "" : "es", pl.n == 1 ? "s" : "", real, sb.buf, pl.v[0].kind, pl.v[0].path);
		} else if (pl.unreadable) {
			add_check(d, ST_OK, 0, name, NULL, "no process of this user holds files under '%s' "
				  "(%lu processes not readable: run as root to see all)", real, pl.unreadable);
		} else {
			add_check(d, ST_OK, 0, name, NULL, "no process holds files under '%s'", real);
		}
		sbuf_free(&sb);
		proclist_release(&pl);
		free(real);
	}
}

/* ---- ar.cfg ----------------------------------------------------------------------- */

struct archeck {
	char *path;		/* real path of ar.cfg */
	int dfd;		/* its folder */
	const char *base;
	struct arcfg cfg;
	struct stat st;
	char *orig;		/* the bytes as read */
	size_t olen;
};

static int is_true(const char *v, size_t n)
{
	return (n == 1 && (*v == 'T' || *v == 't' || *v == '1')) || (n == 4 && !strncasecmp(v, "true", 4));
}

static int is_false(const char *v, size_t n)
{
	return (n == 1 && (*v == 'F' || *v == 'f' || *v == '0')) || (n == 5 && !strncasecmp(v, "false", 5));
}

/* keeps the file as read in BACKUP_DIR/doctor/ar.cfg.STAMP; its name in saved */
static int save_previous(struct doctor *d, struct archeck *a, struct sbuf *saved)
{
	struct zdt *z = d->z;
	char stamp[32], fname[64];
	struct tm tm;
	time_t now = zdt_now();
	int dfd, rc = -1;

	if (mkdirat(z->bkfd, "doctor", 0700) < 0 && errno != EEXIST)
		return -1;
	dfd = openat(z->bkfd, "doctor", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 1; i < 100; i++) {
		struct stat st;
		if (i == 1)
			snprintf(fname, sizeof(fname), "ar.cfg.%s", stamp);
		else
			snprintf(fname, sizeof(fname), "ar.cfg.%s-%d", stamp, i);
		if (fstatat(dfd, fname, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
			rc = atomic_write_at(dfd, fname, a->orig, a->olen);
			break;
		}
	}
	if (rc == 0) {
		rc = fsync(z->bkfd);
		sbuf_addf(saved, "doctor/%s", fname);
	}
	int e = errno;
	close(dfd);
	errno = e;
	return rc;
}

/* the fixes asked for, applied together: 0 done, -1 failed (why says) */
static int apply_fixes(struct doctor *d, struct archeck *a, const char *const *keys, const char *const *vals,
		       int nfix, struct sbuf *saved, struct sbuf *why)
{
	struct sbuf detail = SBUF_INIT;

	if (!d->bk_ok || d->z->lock_busy) {
		sbuf_adds(why, "--fix needs the backup folder, to keep the previous ar.cfg there");
		return -1;
	}
	if (save_previous(d, a, saved) < 0) {
		sbuf_addf(why, "cannot keep the previous ar.cfg in '%s/doctor': %s", zdt_bkdir(d->z), strerror(errno));
		return -1;
	}
	for (int i = 0; i < nfix; i++)
		arcfg_set(&a->cfg, keys[i], vals[i]);
	if (arcfg_write_at(a->dfd, a->base, &a->cfg, &a->st) < 0) {
		sbuf_addf(why, "cannot write '%s': %s", a->path,
			  errno == EAGAIN ? "it changed while zdt was checking it; run zdt doctor again" : strerror(errno));
		return -1;
	}
	sbuf_adds(&detail, "file=");
	esc_path(&detail, a->path);
	sbuf_adds(&detail, " saved=");
	esc_path(&detail, saved->buf);
	for (int i = 0; i < nfix; i++)
		sbuf_addf(&detail, " set=%s:%s", keys[i], vals[i]);
	zdt_audit_event(d->z, "fix", detail.buf);
	sbuf_free(&detail);
	return 0;
}

static int open_arcfg(struct doctor *d, struct archeck *a)
{
	const char *want = d->ar_cfg_opt;
	struct sbuf p = SBUF_INIT;
	char *slash;

	if (!want) {
		if (!d->inst[COMP_AR]) {
			if (d->mask & (1u << COMP_AR))
				add_check(d, ST_WARN, 0, "ar-cfg", "set path in the [AR] section of the config file, "
					  "or give --ar-cfg FILE", "no install folder of AR known: ar.cfg not checked");
			return -1;
		}
		sbuf_addf(&p, "%s/conf/ar.cfg", d->inst[COMP_AR]);
		want = p.buf;
	}
	/* links in the path are followed here, once, as for INSTALL_DIR */
	a->path = realpath(want, NULL);
	if (!a->path) {
		add_check(d, ST_FAIL, 0, "ar-cfg", "give the AR System server's ar.cfg with --ar-cfg FILE",
			  "cannot find '%s': %s", want, strerror(errno));
		sbuf_free(&p);
		return -1;
	}
	sbuf_free(&p);
	slash = strrchr(a->path, '/');
	*slash = '\0';
	a->dfd = open(*a->path ? a->path : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*slash = '/';
	a->base = slash + 1;
	if (a->dfd < 0 || arcfg_read_at(a->dfd, a->base, &a->cfg, &a->st) < 0) {
		add_check(d, ST_FAIL, 0, "ar-cfg", "run as the user of the AR System server, or give --ar-cfg FILE",
			  "cannot read '%s': %s", a->path,
			  errno == EINVAL ? "not a text file" : strerror(errno));
		return -1;
	}
	a->orig = xmalloc(a->cfg.text.len + 1);
	memcpy(a->orig, a->cfg.text.buf ? a->cfg.text.buf : "", a->cfg.text.len);
	a->olen = a->cfg.text.len;
	add_check(d, ST_OK, 0, "ar-cfg", NULL, "'%s' (%zu lines)", a->path, a->cfg.n);
	return 0;
}

static void check_ports(struct doctor *d, struct archeck *a)
{
	char *ardir = d->inst[COMP_AR] ? realpath(d->inst[COMP_AR], NULL) : NULL;
	struct proclist ar = PROCLIST_INIT;

	if (ardir && procscan_busy(ardir, PROCSCAN_NOT_SELF, &ar) < 0)
		proclist_release(&ar);
	for (size_t i = 0; i < a->cfg.n; i++) {
		const struct arcfg_line *l = &a->cfg.v[i];
		const char *k = a->cfg.text.buf + l->koff, *v;
		char key[128], val[64], name[160];
		size_t vn;
		uint64_t port;

		if (!l->kv || l->klen < 5 || l->klen >= sizeof(key) || memcmp(k + l->klen - 5, "-Port", 5))
			continue;
		memcpy(key, k, l->klen);
		key[l->klen] = '\0';
		if (arcfg_get(&a->cfg, key, &v, &vn) != (long)i)
			continue;	/* an earlier copy: the last one counts */
		snprintf(name, sizeof(name), "port:%s", key);
		snprintf(val, sizeof(val), "%.*s", (int)(vn < 60 ? vn : 60), v);
		if (parse_u64(val, 0, UINT64_MAX, &port) < 0) {
			/* another key that happens to end in -Port is not a port */
			if (strcmp(key, "TCD-Specific-Port") && strcmp(key, "Plugin-Port"))
				continue;
			add_check(d, ST_FAIL, 0, name, "set a port number from 1024 to 65535 in ar.cfg",
				  "'%s' is not a port number", val);
			continue;
		}
		if (port < 1024 || port > 65535) {
			add_check(d, ST_FAIL, 0, name, "set a port number from 1024 to 65535 in ar.cfg",
				  "%" PRIu64 " is outside 1024-65535", port);
			continue;
		}
		struct proclist pl = PROCLIST_INIT;
		int ns = procscan_listeners((unsigned)port, 0, &pl);
		size_t others = 0;
		for (size_t j = 0; j < pl.n; j++)
			others += !proclist_has(&ar, pl.v[j].pid);
		if (ns < 0) {
			add_check(d, ST_WARN, 0, name, NULL, "%" PRIu64 ": cannot read /proc/net/tcp: %s", port,
				  strerror(errno));
		} else if (ns == 0) {
			add_check(d, ST_OK, 0, name, NULL, "%" PRIu64 " is free", port);
		} else if (!pl.n) {
			add_check(d, ST_WARN, 0, name, "run zdt doctor as root to name it",
				  "%" PRIu64 " is in use by a process zdt cannot see", port);
		} else if (!others) {
			struct sbuf sb = SBUF_INIT;
			proclist_describe(&pl, 3, &sb);
			add_check(d, ST_OK, 0, name, NULL, "%" PRIu64 " is served by %s of the AR install folder",
				  port, sb.buf);
			sbuf_free(&sb);
		} else {
			struct sbuf sb = SBUF_INIT;
			for (size_t j = 0, named = 0; j < pl.n && named < 3; j++) {
				if (proclist_has(&ar, pl.v[j].pid))
					continue;
				sbuf_addf(&sb, "%spid %ld (%s)", named++ ? ", " : "", pl.v[j].pid, pl.v[j].comm);
			}
			add_check(d, ST_WARN, 0, name, "stop that process, or give the AR System server another port",
				  "%" PRIu64 " is in use by another process: %s", port, sb.buf);
			sbuf_free(&sb);
		}
		proclist_release(&pl);
	}
	proclist_release(&ar);
	free(ardir);
}

static void check_arcfg(struct doctor *d)
{
	struct archeck a;
	const char *v, *v2;
	size_t vn, vn2;
	const char *keys[2], *vals[2];
	int nfix = 0, om_bad, esc_bad;
	char om[64] = "", eg[64] = "", el[64] = "F";

	memset(&a, 0, sizeof(a));
	a.dfd = -1;
	if (!d->ar_cfg_opt && !(d->mask & (1u << COMP_AR)))
		return;
	if (open_arcfg(d, &a) < 0)
		goto out;

	/* Operating-Mode: 0 normal; anything else leaves background processes
	 * (escalations, archiving...) disabled, as an installer sets it */
	om_bad = arcfg_get(&a.cfg, "Operating-Mode", &v, &vn) >= 0 && !(vn == 1 && *v == '0');
	if (om_bad) {
		snprintf(om, sizeof(om), "%.*s", (int)(vn < 60 ? vn : 60), v);
		keys[nfix] = "Operating-Mode";
		vals[nfix++] = "0";
	}
	/* escalations stopped globally while the server's own setting runs them;
	 * a missing Disable-Escalations is the server's default, F */
	esc_bad = arcfg_get(&a.cfg, "Disable-Escalations-Global", &v, &vn) >= 0 && is_true(v, vn);
	if (esc_bad) {
		snprintf(eg, sizeof(eg), "%.*s", (int)(vn < 60 ? vn : 60), v);
		if (arcfg_get(&a.cfg, "Disable-Escalations", &v2, &vn2) >= 0) {
			snprintf(el, sizeof(el), "%.*s", (int)(vn2 < 60 ? vn2 : 60), v2);
			esc_bad = is_false(v2, vn2);
		}
	}
	if (esc_bad) {
		keys[nfix] = "Disable-Escalations-Global";
		vals[nfix++] = "F";
	}

	int fixed = 0;
	struct sbuf saved = SBUF_INIT, why = SBUF_INIT, h = SBUF_INIT;
	if (d->fix && nfix) {
		fixed = apply_fixes(d, &a, keys, vals, nfix, &saved, &why) == 0;
		if (!fixed)
			error("cannot fix '%s': %s", escp(a.path), why.buf);
	}
	const char *restart = "restart the AR System server (or arsignal -c) to apply it";
	if (om_bad && fixed) {
		sbuf_addf(&h, "%s; the previous file is '%s/%s'", restart, zdt_bkdir(d->z), saved.buf);
		add_check(d, ST_OK, 1, "operating-mode", NULL, "fixed: Operating-Mode was %s, now 0 (%s)", om, h.buf);
	} else if (om_bad) {
		add_check(d, ST_FAIL, 0, "operating-mode", "'zdt doctor --fix' sets it to 0 (then restart the AR System server)",
			  "Operating-Mode is %s, not 0: background processes stay disabled (left so by an installer "
			  "that did not finish?)", om);
	} else {
		add_check(d, ST_OK, 0, "operating-mode", NULL, "Operating-Mode is %s", arcfg_get(&a.cfg,
			  "Operating-Mode", &v, &vn) >= 0 ? "0" : "not set (0)");
	}
	sbuf_reset(&h);
	if (esc_bad && fixed) {
		sbuf_addf(&h, "%s; the previous file is '%s/%s'", restart, zdt_bkdir(d->z), saved.buf);
		add_check(d, ST_OK, 1, "escalations", NULL, "fixed: Disable-Escalations-Global was %s, now F (%s)",
			  eg, h.buf);
	} else if (esc_bad) {
		add_check(d, ST_FAIL, 0, "escalations",
			  "'zdt doctor --fix' sets Disable-Escalations-Global to F (then restart the AR System server)",
			  "Disable-Escalations-Global is %s while Disable-Escalations is %s: escalations are "
			  "stopped on every server", eg, el);
	} else {
		add_check(d, ST_OK, 0, "escalations", NULL, "Disable-Escalations-Global does not stop them");
	}
	sbuf_free(&saved);
	sbuf_free(&why);
	sbuf_free(&h);
	check_ports(d, &a);
out:
	if (a.dfd >= 0)
		close(a.dfd);
	arcfg_release(&a.cfg);
	free(a.orig);
	free(a.path);
}

/* ---- the cron cleanup ------------------------------------------------------------- */

static void check_cron(struct doctor *d)
{
	struct sbuf last = SBUF_INIT, why = SBUF_INIT;

	if (!d->bk_ok || d->z->lock_busy)
		return;
	int rc = zdt_cleanup_check(d->z, &last, &why);
	if (rc < 0)
		add_check(d, ST_OK, 0, "cron-cleanup", NULL, "%s (cleanup-interval not set: not checked)", last.buf);
	else if (rc == 0)
		add_check(d, ST_OK, 0, "cron-cleanup", NULL, "%s", last.buf);
	else
		add_check(d, ST_FAIL, 0, "cron-cleanup",
			  "check /etc/cron.d/zdt-cleanup or zdt-cleanup.timer, and the mail or journal of its runs",
			  "overdue: %s", why.buf);
	sbuf_free(&last);
	sbuf_free(&why);
}

/* ---- the command ---------------------------------------------------------------------- */

static void print_json(struct doctor *d)
{
	struct json j;

	json_init(&j, d->z->jf);
	json_obj(&j, NULL);
	json_str(&j, "command", "doctor");
	json_bool(&j, "ok", !d->failed);
	if (d->z->backup_dir)
		json_str(&j, "backup_dir", d->z->backup_dir);
	else
		json_null(&j, "backup_dir");
	json_u64(&j, "failed", d->failed);
	json_u64(&j, "warnings", d->warned);
	json_arr(&j, "checks");
	for (size_t i = 0; i < d->nc; i++) {
		static const char *const st[] = { "ok", "warn", "fail" };
		json_obj(&j, NULL);
		json_str(&j, "name", d->c[i].name);
		json_bool(&j, "ok", d->c[i].status != ST_FAIL);
		json_str(&j, "status", st[d->c[i].status]);
		json_str(&j, "verdict", d->c[i].verdict);
		if (d->c[i].hint)
			json_str(&j, "hint", d->c[i].hint);
		else
			json_null(&j, "hint");
		json_bool(&j, "fixed", d->c[i].fixed);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
}

int cmd_doctor(struct zdt *z, int argc, char **argv)
{
	enum { O_ARCFG = OPT_CMD, O_FIX };
	static const struct option lo[] = {
		{ "component", required_argument, NULL, 'c' },
		{ "ar-cfg", required_argument, NULL, O_ARCFG },
		{ "fix", no_argument, NULL, O_FIX },
		ZDT_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct doctor d;
	int c;

	memset(&d, 0, sizeof(d));
	d.z = z;
	while ((c = zdt_getopt(z, argc, argv, "c:", lo)) != -1) {
		switch (c) {
		case 'c': d.mask |= 1u << component_arg("-c", optarg); break;
		case O_ARCFG:
			if (!*optarg)
				zdt_usage_error(z, "invalid --ar-cfg '' (a file)");
			d.ar_cfg_opt = optarg;
			break;
		case O_FIX: d.fix = 1; break;
		}
	}
	if (optind < argc)
		zdt_usage_error(z, "unexpected argument '%s'", argv[optind]);
	zdt_setup(z);
	if (!d.mask)
		d.mask = COMP_ALL;
	z->comps = d.mask;

	check_backup_folder(&d);
	check_key(&d);
	find_install_folders(&d);
	check_backup_space(&d);
	if (d.listed)
		check_snapshots(&d);
	check_arcfg(&d);
	check_busy(&d);
	check_cron(&d);

	if (z->json)
		print_json(&d);
	if (zdt_verbosity >= 2)
		fprintf(z->out, "doctor: %zu check%s, %lu failed, %lu warning%s\n", d.nc, d.nc == 1 ? "" : "s",
			d.failed, d.warned, d.warned == 1 ? "" : "s");
	for (size_t i = 0; i < d.nc; i++) {
		free(d.c[i].name);
		free(d.c[i].verdict);
		free(d.c[i].hint);
	}
	free(d.c);
	signkey_release(&d.key);
	for (int k = 0; k < COMP_N; k++)
		free(d.inst[k]);
	if (d.listed)
		store_list_free(d.v, d.n);
	return d.failed ? ZDT_EFAIL : 0;
}
