/*
 * restore.c - zdt rollback: put install folders back as a snapshot holds
 * them.
 *
 * For every selected component, top-down: plan (compare the live tree with
 * the manifest), check the archive members the plan needs, and only when
 * every component passed both, apply the plans one after the other.  A
 * journal file in the snapshot's folder marks a rollback in progress; it is
 * removed once the restored data is on disk (syncfs), so an interrupted run
 * shows as rollback-interrupted and the next run resumes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "../common/atomic.h"
#include "../common/component.h"
#include "../common/fsops.h"
#include "../common/json.h"
#include "../common/net.h"
#include "../common/procscan.h"
#include "../common/sign.h"
#include "../common/store.h"
#include "../zdt.h"
#include "plan.h"
#include "preflight.h"

const char rollback_usage[] =
	"usage: zdt rollback [-c COMPONENT]... [--from COMPONENT] [--snapshot ID] [--path REL]...\n"
	"                    [--dry-run] [--full] [--checksum] [--server HOST] [--user NAME]\n"
	"                    [--password-file FILE] [--port PORT] [--no-server-check]\n"
	"                    [--ignore-busy] [--check] [--key-file FILE]\n"
	"                    [--accept-moved-backup-dir] [SERVER USER PASSWORD [COMPONENT]]\n"
	"\n"
	"Restores install folders to a snapshot: changed files rewritten, missing\n"
	"ones created, files the upgrade added removed, metadata fixed.  Only what\n"
	"differs is touched; every byte is checked against the manifest first.\n"
	"\n"
	"  -c, --component NAME   roll back exactly this component (repeatable)\n"
	"      --from NAME        this component and every component it depends on\n"
	"                         that has a snapshot, top-down (what the wrappers pass)\n"
	"  -s, --snapshot ID      this snapshot (default: the newest complete one, or\n"
	"                         the one an interrupted rollback was restoring)\n"
	"  -p, --path REL         only this file or subtree (repeatable)\n"
	"  -n, --dry-run          print the plan, change nothing\n"
	"      --full             rewrite every file, not only those that differ\n"
	"      --checksum         decide what differs by content hash, not size and mtime\n"
	"      --server HOST      the AR System server (also the SERVER parameter)\n"
	"      --user NAME        the AR admin user, recorded in the audit log\n"
	"      --password-file F  read the AR admin password from F (also $ZDT_AR_PASSWORD)\n"
	"      --port PORT        the AR System server's port (else ar-port in the config)\n"
	"      --no-server-check  do not check that the AR System server answers\n"
	"      --ignore-busy      roll back even while processes hold files under the\n"
	"                         install folder\n"
	"      --check            run only the pre-flight checks, change nothing; exit 0\n"
	"                         when the rollback would go ahead\n"
	"      --key-file FILE    refuse a snapshot whose manifest signature (made by\n"
	"                         backup --key-file) is missing or does not match\n"
	"      --accept-moved-backup-dir\n"
	"                         roll back from a backup folder that was moved or\n"
	"                         restored since the backup (recorded in the audit log)\n"
	"\n"
	"SERVER USER PASSWORD [COMPONENT] is the installer's documented form; the\n"
	"password is never stored, and is wiped from zdt's command line at start.\n"
	"COMPONENT restricts the run to the --from component alone.\n";

struct rbrun {
	struct zdt *z;
	int dry, verbose_plan;
	struct json *j;
	int comp;
	struct preflight *pf;	/* of the component being planned */
};

static const char *plan_word(unsigned ch)
{
	if (ch & CH_LEFTOVER)
		return "remove-leftover";
	if (ch & CH_ADDED)
		return "remove";
	if (ch & CH_REMOVED)
		return "create";
	if (ch & (CH_TYPE | CH_CONTENT | CH_TARGET | CH_LINK))
		return "rewrite";
	return "fix";
}

static void plan_report(struct rbctx *r, unsigned ch, const char *path, const struct mentry *m,
			const struct stat *st)
{
	struct rbrun *run = r->arg;
	struct sbuf p = SBUF_INIT, d = SBUF_INIT;

	if (r->mode == RB_PLAN && run->pf)
		preflight_change(run->pf, ch, path, st);
	if (!run->verbose_plan)
		return;
	esc_path(&p, path);
	rb_describe(&d, ch, m, st);
	if (run->j && run->dry) {
		json_obj(run->j, NULL);
		json_str(run->j, "action", plan_word(ch));
		json_str(run->j, "path", path);
		json_str(run->j, "details", d.buf ? d.buf : "");
		json_end(run->j);
	}
	if (zdt_verbosity >= 1)	/* stderr under --json */
		fprintf(run->z->out, "%s: %s %s%s%s%s\n", component_name(r->comp), plan_word(ch), p.buf,
			d.len ? " (" : "", d.len ? d.buf : "", d.len ? ")" : "");
	sbuf_free(&p);
	sbuf_free(&d);
}

static void plan_excluded(struct rbctx *r, int dfd, const char *name, const char *rel)
{
	struct rbrun *run = r->arg;

	if (run->pf)
		preflight_excluded(run->pf, dfd, name, rel);
}

/* wipes a string in place (argv and environ strings live in /proc/PID/cmdline) */
static void wipe(char *s)
{
	if (s) {
		volatile char *v = s;
		while (*v)
			*v++ = '\0';
	}
}

static void read_password_file(const char *file)
{
	char buf[1024];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		die_errno(ZDT_EUSAGE, "cannot read the password file: '%s'", escp(file));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	explicit_bzero(buf, sizeof(buf));	/* not needed by zdt itself */
	if (n < 0)
		die_errno(ZDT_EUSAGE, "cannot read the password file: '%s'", escp(file));
}

/* verdict: for the pre-flight line, empty when the server does not matter */
static void server_check(unsigned mask, const char *server, unsigned port, int skip, struct sbuf *verdict)
{
	struct sbuf why = SBUF_INIT;

	if (!(mask & ((1u << COMP_ATRIUMCORE) | (1u << COMP_ATRIUMINTEGRATOR))))
		return;
	if (skip) {
		note("AR System server check skipped (--no-server-check)");
		sbuf_adds(verdict, "server not checked (--no-server-check)");
		return;
	}
	if (!port) {
		warning("AR System server not checked: no port (give --port or set ar-port in the config file)");
		sbuf_adds(verdict, "server not checked (no port)");
		return;
	}
	if (!server) {
		warning("AR System server not checked: no server name (give --server or SERVER)");
		sbuf_adds(verdict, "server not checked (no server name)");
		return;
	}
	int rc = tcp_probe(server, port, 3000, &why);
	if (rc < 0)
		die_hint(ZDT_EREFUSED, "give the server's IP address, list it in /etc/hosts, or pass --no-server-check",
			 "cannot resolve the AR System server '%s' (zdt uses no DNS)", server);
	if (rc == 0)
		die_hint(ZDT_EREFUSED, "start the AR System server first, or pass --no-server-check if you know better",
			 "the AR System server %s:%u does not answer (%s); rolling back %s needs it",
			 server, port, why.buf, (mask & (1u << COMP_ATRIUMINTEGRATOR)) ? "AtriumIntegrator" : "AtriumCore");
	verbose("AR System server %s:%u answers", server, port);
	sbuf_addf(verdict, strchr(server, ':') ? "server [%s]:%u answers" : "server %s:%u answers", server, port);
	sbuf_free(&why);
}

/*
 * A snapshot is restored only from the backup folder it was made in: the
 * same real path and the same device and inode.  A folder that was moved,
 * copied, bind-mounted elsewhere or swapped under the same path (another
 * mount) may hold snapshots that someone else put there.  Snapshots made
 * before the pin was recorded are accepted.  accept (--accept-moved-backup-dir):
 * the administrator moved or restored it; warn, record both places in the
 * audit log and go on.
 */
static void pin_check(struct zdt *z, const struct snapinfo *si, int accept)
{
	struct stat st;
	char *real;

	if (!si->has_pin)
		return;
	if (fstat(z->bkfd, &st) < 0)
		die_errno(ZDT_EFAIL, "cannot stat the backup folder '%s'", escp(zdt_bkdir(z)));
	real = realpath(z->backup_dir, NULL);
	if (real && !strcmp(real, si->bk_path) && (uint64_t)st.st_dev == si->bk_dev &&
	    (uint64_t)st.st_ino == si->bk_ino) {
		free(real);
		return;
	}
	if (accept) {
		struct sbuf d = SBUF_INIT;
		warning("the backup folder of %s %s has moved: it was '%s' (device %u:%u, inode %" PRIu64 ") at "
			"backup time, now '%s' (device %u:%u, inode %" PRIu64 "); going on (--accept-moved-backup-dir)",
			component_name(si->comp), si->id, escp(si->bk_path), major((dev_t)si->bk_dev),
			minor((dev_t)si->bk_dev), si->bk_ino, escp(real ? real : zdt_bkdir(z)), major(st.st_dev),
			minor(st.st_dev), (uint64_t)st.st_ino);
		sbuf_addf(&d, "snapshot=%s/%s was=", component_name(si->comp), si->id);
		esc_path(&d, si->bk_path);
		sbuf_addf(&d, " was_dev=%u:%u was_ino=%" PRIu64 " now=", major((dev_t)si->bk_dev),
			  minor((dev_t)si->bk_dev), si->bk_ino);
		esc_path(&d, real ? real : zdt_bkdir(z));
		sbuf_addf(&d, " now_dev=%u:%u now_ino=%" PRIu64, major(st.st_dev), minor(st.st_dev),
			  (uint64_t)st.st_ino);
		zdt_audit_event(z, "accept-moved-backup-dir", d.buf);
		sbuf_free(&d);
		free(real);
		return;
	}
	const char *now = escp(real ? real : zdt_bkdir(z));	/* a copy: real is freed before exit */
	free(real);
	die_hint(ZDT_EREFUSED, "a moved, copied or remounted backup folder may hold snapshots put there by someone "
		 "else; check it, then put it back where it was made (or roll back from there); if you moved "
		 "or restored it yourself, --accept-moved-backup-dir goes on",
		 "the backup folder of %s %s has moved: it was '%s' (device %u:%u, inode %" PRIu64 ") at backup time, "
		 "now '%s' (device %u:%u, inode %" PRIu64 ")", component_name(si->comp), si->id, escp(si->bk_path),
		 major((dev_t)si->bk_dev), minor((dev_t)si->bk_dev), si->bk_ino, now,
		 major(st.st_dev), minor(st.st_dev), (uint64_t)st.st_ino);
}

/* the snapshot to restore: --snapshot, an interrupted rollback's, or the newest */
static int pick(struct zdt *z, int comp, const char *id, struct snapinfo *out, int *resume)
{
	struct snapinfo *v;
	size_t n;
	int found = -1;

	*resume = 0;
	if (store_list(z->bkfd, 1u << comp, &v, &n) < 0)
		die_errno(ZDT_EFAIL, "cannot list the backup folder: '%s'", escp(zdt_bkdir(z)));
	for (size_t i = 0; i < n; i++)
		if (v[i].state == SNAP_ROLLBACK_INTERRUPTED)
			*resume = 2;	/* some rollback was cut short: files may be torn */
	for (size_t i = n; i-- > 0 && found < 0;) {
		if (v[i].state == SNAP_ROLLBACK_INTERRUPTED && (!id || !strcmp(v[i].id, id))) {
			found = (int)i;
			*resume = 1;
		}
	}
	for (size_t i = n; i-- > 0 && found < 0;)
		if (v[i].state == SNAP_COMPLETE && (!id || !strcmp(v[i].id, id)))
			found = (int)i;
	if (found >= 0) {
		*out = v[found];
		memset(&v[found], 0, sizeof(v[found]));
	}
	store_list_free(v, n);
	return found;
}

static uint64_t avail_for(const char *path)
{
	char *p = real_path_prefix(path);
	struct statvfs vf;
	uint64_t a = UINT64_MAX;

	for (;;) {
		if (statvfs(*p ? p : "/", &vf) == 0) {
			a = (uint64_t)vf.f_bavail * vf.f_frsize;
			break;
		}
		char *s = strrchr(p, '/');
		if (!s)
			break;
		*s = '\0';
	}
	free(p);
	return a;
}

/*
 * A rollback into an empty install folder has nothing to lose: it checks
 * each archive member as it writes it (rb_merge with fused set) instead of
 * reading the archive twice, and when it finds damage it removes what it
 * wrote, so the folder is again as it was (empty, with its old mode, owner
 * and mtime).  The journal records that state ("fresh="), so a rerun after
 * a crash undoes the same way.
 */
struct fresh {
	int on;			/* the folder was empty when the rollback began */
	int armed;		/* exit 4 from here on empties it again */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
};

static struct rbctx *undo_rbs;
static struct fresh *undo_fr;
static int undo_n;

/* at exit 4: the armed install folders emptied, their journals removed */
static void fresh_undo(void)
{
	if (err_exit_code() != ZDT_EINTEGRITY)
		return;
	for (int k = 0; k < undo_n; k++) {
		struct rbctx *r = &undo_rbs[k];
		struct fresh *f = &undo_fr[k];
		struct dirlist dl;
		struct sbuf rel = SBUF_INIT;
		int bad = 0;

		if (!f->armed || r->rootfd < 0)
			continue;
		f->armed = 0;
		memset(&dl, 0, sizeof(dl));
		if (dirlist_read(r->rootfd, &dl) < 0) {
			bad = 1;
		} else {
			for (size_t i = 0; i < dl.n; i++) {
				sbuf_reset(&rel);
				sbuf_adds(&rel, dirlist_name(&dl, i));
				if (rm_tree_spare(r->rootfd, dirlist_name(&dl, i), &rel, r->h.exclude,
						  r->h.nexclude) != 0)
					bad = 1;
			}
		}
		dirlist_release(&dl);
		sbuf_free(&rel);
		struct timespec ts[2] = { { 0, UTIME_OMIT }, f->mtime };
		if ((r->is_root && fchown(r->rootfd, f->uid, f->gid) < 0) || fchmod(r->rootfd, f->mode) < 0 ||
		    futimens(r->rootfd, ts) < 0)
			bad = 1;
		if (bad || syncfs(r->rootfd) < 0) {
			warning_errno("could not remove all that the rollback of %s wrote into '%s'; "
				      "the journal stays: run the rollback again", component_name(r->comp), escp(r->root));
			continue;
		}
		if (unlinkat(r->snapfd, SNAP_JOURNAL, 0) < 0 && errno != ENOENT)
			warning_errno("cannot remove the rollback journal of %s %s", component_name(r->comp),
				      r->si.id);
		fsync(r->snapfd);
		note("removed what the rollback had written: '%s' is empty again, as it was before", escp(r->root));
	}
}

/* the fresh= line of the journal of an interrupted rollback, if any */
static int journal_fresh(struct rbctx *r, struct fresh *f)
{
	char buf[4096];
	int fd = openat(r->snapfd, SNAP_JOURNAL, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "fresh=MODE UID GID SEC.NSEC" as journal_write writes it: octal,
	 * then decimal; only SEC may be negative */
	char *p = strstr(buf, "\nfresh="), *end;
	unsigned long long v[5];
	static const int base[5] = { 8, 10, 10, 10, 10 };
	static const char sep[5] = { ' ', ' ', ' ', '.', '\n' };
	int neg = 0;
	if (!p)
		return 0;
	p += 7;
	for (int i = 0; i < 5; i++) {
		if (i == 3 && *p == '-') {
			neg = 1;
			p++;
		}
		if (*p < '0' || *p > '9')
			return 0;
		errno = 0;
		v[i] = strtoull(p, &end, base[i]);
		if (errno || *end != sep[i])
			return 0;
		p = end + 1;
	}
	if (v[0] > 07777 || v[1] > UINT32_MAX || v[2] > UINT32_MAX || v[3] > INT64_MAX || v[4] > 999999999)
		return 0;
	unsigned mode = (unsigned)v[0], uid = (unsigned)v[1], gid = (unsigned)v[2];
	long long sec = neg ? -(long long)v[3] : (long long)v[3];
	long nsec = (long)v[4];
	f->on = 1;
	f->mode = mode;
	f->uid = uid;
	f->gid = gid;
	f->mtime.tv_sec = (time_t)sec;
	f->mtime.tv_nsec = nsec;
	return 1;
}

/* the install folder exists and holds nothing */
static int root_empty(struct rbctx *r, struct fresh *f)
{
	struct dirlist dl;
	struct stat st;
	int empty;

	if (r->rootfd < 0 || fstat(r->rootfd, &st) < 0)
		return 0;
	memset(&dl, 0, sizeof(dl));
	empty = dirlist_read(r->rootfd, &dl) == 0 && dl.n == 0;
	dirlist_release(&dl);
	if (empty) {
		f->mode = st.st_mode & 07777;
		f->uid = st.st_uid;
		f->gid = st.st_gid;
		f->mtime = st.st_mtim;
	}
	return empty;
}

static void journal_write(struct zdt *z, struct rbctx *r, const struct fresh *f)
{
	struct sbuf sb = SBUF_INIT;
	char t[32];

	sbuf_addf(&sb, "zdt-rollback-journal 1\nstarted=%s\npid=%ld\ncomponent=%s\nsnapshot=%s\n",
		  fmt_time(t, sizeof(t), zdt_now()), (long)getpid(), component_name(r->comp), r->si.id);
	sbuf_adds(&sb, "target=");
	esc_path(&sb, r->root);
	sbuf_addc(&sb, '\n');
	if (f->on)
		sbuf_addf(&sb, "fresh=%04o %u %u %lld.%09ld\n", (unsigned)f->mode, (unsigned)f->uid,
			  (unsigned)f->gid, (long long)f->mtime.tv_sec, (long)f->mtime.tv_nsec);
	if (atomic_write_at(r->snapfd, SNAP_JOURNAL, sb.buf, sb.len) < 0)
		die_errno(ZDT_EFAIL, "cannot write the rollback journal in '%s/%s/%s'", escp(zdt_bkdir(z)),
			  component_name(r->comp), r->si.id);
	sbuf_free(&sb);
}

/* after success: no journal of this component is left */
static void journal_clear(struct zdt *z, int comp)
{
	struct snapinfo *v;
	size_t n;

	if (store_list(z->bkfd, 1u << comp, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (v[i].state != SNAP_ROLLBACK_INTERRUPTED)
			continue;
		int fd = store_open_snap(z->bkfd, &v[i]);
		if (fd < 0)
			continue;
		if (unlinkat(fd, SNAP_JOURNAL, 0) < 0 || fsync(fd) < 0)
			warning_errno("cannot remove the rollback journal of %s %s", component_name(comp), v[i].id);
		close(fd);
	}
	store_list_free(v, n);
}

/*
 * Files of a running program are not rolled back under it: exit 3 while a
 * process holds something under the install folder (open file, working
 * folder, mapped library), naming it.  zdt's own ancestors do not count: a
 * wrapper script run from the install folder waits for zdt.
 */
static void busy_guard(struct rbctx *r, int ignore, struct sbuf *verdict)
{
	struct proclist pl = PROCLIST_INIT;
	char *real = realpath(r->root, NULL);

	if (!real) {
		sbuf_adds(verdict, "no busy process");
		return;		/* no install folder: nothing can hold it */
	}
	if (procscan_busy(real, PROCSCAN_NOT_SELF | PROCSCAN_NOT_ANCESTORS, &pl) < 0) {
		warning_errno("cannot read /proc to find processes using '%s'", escp(real));
		sbuf_adds(verdict, "busy processes not checked (/proc unreadable)");
	} else if (!pl.n) {
		sbuf_adds(verdict, pl.unreadable ? "no busy process seen (some processes unreadable)" : "no busy process");
	} else {
		struct sbuf sb = SBUF_INIT;
		proclist_describe(&pl, 5, &sb);
		if (ignore) {
			warning("rolling back '%s' although %s use%s it (--ignore-busy)", escp(real), sb.buf,
				pl.n > 1 ? "" : "s");
			sbuf_addf(verdict, "%zu busy process%s ignored (--ignore-busy)", pl.n, pl.n > 1 ? "es" : "");
		} else {
			die_hint(ZDT_EREFUSED, "stop them first, or pass --ignore-busy if you know better",
				 "%s is in use: %s (%s %s)", escp(real), sb.buf, pl.v[0].kind, escp(pl.v[0].path));
		}
		sbuf_free(&sb);
	}
	proclist_release(&pl);
	free(real);
}

/* the components being rolled back, for leak checkers: die() exits with
 * them allocated */
static struct rbctx *live_rbs;

int cmd_rollback(struct zdt *z, int argc, char **argv)
{
	enum { O_FROM = OPT_CMD, O_FULL, O_CHECKSUM, O_SERVER, O_USER, O_PWFILE, O_PORT, O_NOCHECK, O_BUSY, O_CHECK, O_KEY,
	       O_MOVED };
	static const struct option lo[] = {
		{ "component", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, O_FROM },
		{ "snapshot", required_argument, NULL, 's' },
		{ "path", required_argument, NULL, 'p' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "full", no_argument, NULL, O_FULL },
		{ "checksum", no_argument, NULL, O_CHECKSUM },
		{ "server", required_argument, NULL, O_SERVER },
		{ "user", required_argument, NULL, O_USER },
		{ "password-file", required_argument, NULL, O_PWFILE },
		{ "port", required_argument, NULL, O_PORT },
		{ "no-server-check", no_argument, NULL, O_NOCHECK },
		{ "ignore-busy", no_argument, NULL, O_BUSY },
		{ "check", no_argument, NULL, O_CHECK },
		{ "key-file", required_argument, NULL, O_KEY },
		{ "accept-moved-backup-dir", no_argument, NULL, O_MOVED },
		ZDT_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 },
	};
	unsigned cmask = 0, port = 0;
	int from = -1, dry = 0, full = 0, checksum = 0, nocheck = 0, ignore_busy = 0, check = 0, moved = 0, c;
	const char *id = NULL, *server = NULL, *user = NULL, *pwfile = NULL, *keyfile = NULL;
	struct signkey key;
	char **paths = NULL;
	int npaths = 0;
	double t0 = now_mono();

	while ((c = zdt_getopt(z, argc, argv, "c:s:p:n", lo)) != -1) {
		switch (c) {
		case 'c': cmask |= 1u << component_arg("-c", optarg); break;
		case O_FROM: from = component_arg("--from", optarg); break;
		case 's': id = optarg; break;
		case 'p': {
			const char *p = optarg;
			while (p[0] == '.' && p[1] == '/')
				p += 2;
			char *q = xstrdup(p);
			size_t n = strlen(q);
			while (n > 1 && q[n - 1] == '/')
				q[--n] = '\0';
			if (!path_is_safe(q) || !strcmp(q, "."))
				zdt_usage_error(z, "invalid --path '%s' (a path inside the install folder, like conf/ar.cfg)", optarg);
			paths = xrealloc(paths, sizeof(char *) * (size_t)(npaths + 1));
			paths[npaths++] = q;
			break;
		}
		case 'n': dry = 1; break;
		case O_FULL: full = 1; break;
		case O_CHECKSUM: checksum = 1; break;
		case O_SERVER: server = optarg; break;
		case O_USER: user = optarg; break;
		case O_PWFILE: pwfile = optarg; break;
		case O_PORT: port = (unsigned)parse_opt_u64("--port", optarg, 1, 65535); break;
		case O_NOCHECK: nocheck = 1; break;
		case O_BUSY: ignore_busy = 1; break;
		case O_CHECK: check = 1; break;
		case O_KEY: keyfile = optarg; break;
		case O_MOVED: moved = 1; break;
		}
	}
	/* positional SERVER USER PASSWORD [COMPONENT]: wipe the password first */
	int npos = argc - optind;
	if (npos >= 3)
		wipe(argv[optind + 2]);
	char *envpw = getenv("ZDT_AR_PASSWORD");
	if (envpw) {
		wipe(envpw);
		unsetenv("ZDT_AR_PASSWORD");
	}
	if (npos != 0 && npos != 3 && npos != 4)
		zdt_usage_error(z, "SERVER, USER and PASSWORD go together (got %d argument%s)", npos, npos > 1 ? "s" : "");
	if (pwfile)
		read_password_file(pwfile);
	if (npos >= 3) {
		if (!server)
			server = argv[optind];
		if (!user)
			user = argv[optind + 1];
	}
	z->user = user;
	if (id) {
		int partial;
		if (!store_parse_name(id, &partial) || partial)
			zdt_usage_error(z, "invalid --snapshot '%s' (an ID as 'zdt list' shows it)", id);
	}
	if (from >= 0 && cmask)
		zdt_usage_error(z, "-c and --from exclude each other");
	if (check && dry)
		zdt_usage_error(z, "--check and --dry-run exclude each other");
	int restrict_to = -1;
	if (npos == 4) {
		restrict_to = component_arg("COMPONENT", argv[optind + 3]);
		if (from < 0 && !cmask)
			cmask = 1u << restrict_to;
		else if (cmask && !(cmask & (1u << restrict_to)))
			note("the COMPONENT parameter names %s; -c selects what is rolled back",
			     component_name(restrict_to));
	}
	if (from < 0 && !cmask)
		zdt_usage_error(z, "no component given (-c COMPONENT or --from COMPONENT)");
	if (id && ((cmask && (cmask & (cmask - 1))) || (from >= 0 && restrict_to < 0 && component_chain(from) != (1u << from))))
		note("--snapshot %s applies to every selected component that has it", id);

	zdt_setup(z);
	if (!port)
		port = z->cf.ar_port;
	if (!server)
		server = z->cf.ar_server;
	/* the selection, top-down */
	unsigned mask = cmask;
	if (from >= 0) {
		if (restrict_to >= 0) {
			if (restrict_to != from)
				note("the COMPONENT parameter names %s; only %s (the --from component) is rolled back",
				     component_name(restrict_to), component_name(from));
			mask = 1u << from;
		} else {
			mask = component_chain(from);
		}
	}
	z->comps = mask;	/* for the audit log's start line */
	z->must_exist = 1;
	zdt_open_store(z);
	z->comps = 0;	/* from here: what is actually rolled back */
	zdt_load_key(z, keyfile, NULL, &key);
	int order[COMP_N], norder = component_order(mask, order);
	struct rbctx *rbs = xcalloc((size_t)norder, sizeof(*rbs));
	struct fresh *frs = xcalloc((size_t)norder, sizeof(*frs));
	live_rbs = rbs;	/* reachable when a refusal exits from here on */
	undo_rbs = rbs;
	undo_fr = frs;
	err_on_exit(fresh_undo);
	int nrb = 0;
	for (int k = 0; k < norder; k++) {
		int comp = order[k], resume;
		struct snapinfo si;
		memset(&si, 0, sizeof(si));
		if (pick(z, comp, id, &si, &resume) < 0) {
			if (from >= 0 && comp != from) {
				note("%s has no complete snapshot%s%s; it is not rolled back", component_name(comp),
				     id ? " " : "", id ? id : "");
				continue;
			}
			if (id)
				die_hint(ZDT_ENOSNAP, "see 'zdt list' for the snapshots there",
					 "no complete snapshot %s of %s in '%s': rollback is not possible without the backup",
					 id, component_name(comp), escp(zdt_bkdir(z)));
			die_hint(ZDT_ENOSNAP, "a rollback needs the snapshot taken by 'zdt backup' before the upgrade",
				 "no complete snapshot of %s in '%s': rollback is not possible without the backup",
				 component_name(comp), escp(zdt_bkdir(z)));
		}
		pin_check(z, &si, moved);
		struct rbctx *r = &rbs[nrb++];
		r->z = z;
		r->comp = comp;
		r->full = full;
		r->checksum = checksum || resume;
		r->paths = paths;
		r->npaths = npaths;
		r->si = si;
		r->snapfd = r->mfd = r->afd = r->rootfd = -1;
		if (resume == 1)
			note("resuming the interrupted rollback of %s to %s (content checked by hash)",
			     component_name(comp), si.id);
		else if (resume)
			note("a rollback of %s was interrupted: content is checked by hash", component_name(comp));
		z->comps |= 1u << comp;
		undo_n = nrb;
	}
	struct sbuf server_verdict = SBUF_INIT;
	server_check(z->comps, server, port, nocheck, &server_verdict);

	struct json j, *jp = NULL;
	if (z->json) {
		jp = &j;
		json_init(&j, z->jf);
		json_obj(&j, NULL);
		json_str(&j, "command", "rollback");
		json_bool(&j, "dry_run", dry);
		json_bool(&j, "check", check);
		json_arr(&j, "components");
	}
	struct rbrun run = { z, dry, dry || zdt_verbosity >= 2, jp, 0, NULL };
	struct sbuf *verdicts = xcalloc((size_t)(nrb ? nrb : 1), sizeof(*verdicts));
	struct preflight *pfs = xcalloc((size_t)(nrb ? nrb : 1), sizeof(*pfs));
	int earlier_work = 0;

	/* plan and check everything before the first change */
	for (int k = 0; k < nrb; k++) {
		struct rbctx *r = &rbs[k];
		r->report = plan_report;
		r->excluded = plan_excluded;
		r->arg = &run;
		rb_open(r, z->bkfd);
		{
			/* rb_open read the manifest whole: its checksum line against meta */
			struct sbuf why = SBUF_INIT;
			if (store_meta_checksum_cmp(&r->si, r->mr.checksum, &why))
				die_hint(ZDT_EINTEGRITY, "the live tree was not touched; 'zdt verify' checks every snapshot",
					 "snapshot %s %s: %s", component_name(r->comp), r->si.id, why.buf);
			sbuf_free(&why);
		}
		if (key.key) {
			/* before the plan: an unsigned or changed manifest is not trusted */
			struct sbuf why = SBUF_INIT;
			int src = sign_check(r->snapfd, r->mfd, &key, &why);
			if (src < 0)
				die_errno(ZDT_EFAIL, "cannot read the signature of %s %s", component_name(r->comp), r->si.id);
			if (src > 0)
				die_hint(ZDT_EINTEGRITY, "the live tree was not touched; 'zdt verify --key-file' checks every snapshot",
					 "snapshot %s %s fails its signature check: %s", component_name(r->comp), r->si.id, why.buf);
			sbuf_free(&why);
			verbose("%s %s: manifest signature matches (key-id %s)", component_name(r->comp), r->si.id, key.id);
		}
		preflight_init(&pfs[k], r);
		run.pf = &pfs[k];
		if (jp && dry) {
			json_obj(&j, NULL);
			json_str(&j, "component", component_name(r->comp));
			json_str(&j, "snapshot", r->si.id);
			json_str(&j, "source", r->root);
			json_arr(&j, "plan");
		}
		run.verbose_plan = dry;
		double p0 = now_mono();
		rb_check_start(r);
		rb_merge(r, RB_PLAN);
		run.pf = NULL;
		verbose("%s: plan: %" PRIu64 " changes, %" PRIu64 " archive members needed, %.2f s",
			component_name(r->comp), r->n_changes, r->n_need, now_mono() - p0);
		if (jp && dry) {
			json_end(&j);
			json_u64(&j, "rewrite", r->n_rewrite);
			json_u64(&j, "create", r->n_create);
			json_u64(&j, "remove", r->n_remove);
			json_u64(&j, "fix", r->n_meta);
			json_u64(&j, "bytes_to_write", r->bytes_write);
			preflight_excluded_json(&pfs[k], &j);
			json_end(&j);
		}
		if (dry && zdt_verbosity >= 1) {
			char s1[16];
			fprintf(z->out, "%s %s -> '%s': would rewrite %" PRIu64 ", create %" PRIu64 ", remove %" PRIu64
				", fix metadata of %" PRIu64 "; %s to write\n", component_name(r->comp), r->si.id,
				r->root, r->n_rewrite, r->n_create, r->n_remove, r->n_meta,
				fmt_size(s1, sizeof(s1), r->bytes_write));
		}
		/* a dry run makes the same checks, so it fails where the real one would */
		int work = r->n_changes || r->si.state == SNAP_ROLLBACK_INTERRUPTED;
		struct fresh *fr = &frs[k];
		if (!npaths && !dry && !check) {
			if (r->si.state == SNAP_ROLLBACK_INTERRUPTED)
				fr->armed = journal_fresh(r, fr);	/* what it wrote goes at exit 4 */
			else if (r->n_create && root_empty(r, fr))
				fr->on = 1;
			/* the first component to change may check as it writes:
			 * nothing anywhere has changed before it */
			r->fused = fr->on && !earlier_work;
		}
		earlier_work |= work;
		struct sbuf busy = SBUF_INIT;
		if (work) {
			preflight_readonly(r);
			busy_guard(r, ignore_busy, &busy);
		}
		uint64_t avail = avail_for(r->root);
		if (r->fused && avail != UINT64_MAX && r->bytes_write > avail)
			r->fused = 0;	/* holes may make it fit: rb_verify_needed counts them */
		if (!r->n_need || r->fused)
			rb_check_stop(r);	/* no member needed, or checked as written */
		if (r->n_need && !r->fused) {
			p0 = now_mono();
			rb_verify_needed(r);
			verbose("%s: needed members checked, %.2f s", component_name(r->comp), now_mono() - p0);
		} else if (r->fused) {
			r->data_write = r->bytes_write;
			verbose("%s: the install folder is empty: members are checked as they are written",
				component_name(r->comp));
		}
		uint64_t need = r->data_write > r->bytes_freed ? r->data_write - r->bytes_freed : 0;
		need += r->max_data;
		/* replaced files wait in the trash for their unlink (plan.h) */
		need += r->bytes_freed < TRASH_MAX ? r->bytes_freed : TRASH_MAX;

		if (r->n_changes && avail != UINT64_MAX && need > avail) {
			char s1[16], s2[16];
			die_hint(ZDT_EREFUSED, "free space in the install folder's file system first",
				 "not enough free space to roll back %s into '%s': need %s, %s available",
				 component_name(r->comp), escp(r->root), fmt_size(s1, sizeof(s1), need),
				 fmt_size(s2, sizeof(s2), avail));
		}
		/* the verdict: every check above passed */
		struct sbuf *v = &verdicts[k];
		char s1[16], s2[16];
		sbuf_addf(v, "%s: pre-flight ok: ", component_name(r->comp));
		if (!work)
			sbuf_adds(v, "nothing to change");
		else
			sbuf_addf(v, "%" PRIu64 " change%s, %s to write, %s free, %s", r->n_changes,
				  r->n_changes == 1 ? "" : "s", fmt_size(s1, sizeof(s1), r->bytes_write),
				  avail == UINT64_MAX ? "?" : fmt_size(s2, sizeof(s2), avail), busy.buf);
		if (server_verdict.len && r->comp != COMP_AR)
			sbuf_addf(v, ", %s", server_verdict.buf);
		if (key.key)
			sbuf_adds(v, ", manifest signature ok");
		if (r->fused)
			sbuf_adds(v, ", empty install folder: archive checked as it is written");
		if (jp && check) {
			json_obj(&j, NULL);
			json_str(&j, "component", component_name(r->comp));
			json_str(&j, "snapshot", r->si.id);
			json_str(&j, "source", r->root);
			json_u64(&j, "changes", r->n_changes);
			json_u64(&j, "bytes_to_write", r->bytes_write);
			if (avail != UINT64_MAX)
				json_u64(&j, "free_bytes", avail);
			json_str(&j, "busy", work ? busy.buf : "not checked (nothing to change)");
			json_str(&j, "server", server_verdict.len && r->comp != COMP_AR ? server_verdict.buf : "not checked");
			json_str(&j, "verdict", v->buf);
			preflight_excluded_json(&pfs[k], &j);
			json_end(&j);
		}
		preflight_excluded_report(&pfs[k]);
		sbuf_free(&busy);
	}
	for (int k = 0; k < nrb && (check || !dry); k++)
		if (zdt_verbosity >= 1 || check)
			fprintf(z->out, "%s\n", verdicts[k].buf);
	if (check) {
		if (jp) {
			json_end(&j);
			json_bool(&j, "ok", 1);
			json_end(&j);
		}
		dry = 1;	/* and nothing else */
	}
	if (dry) {
		if (jp && !check) {
			json_end(&j);
			json_bool(&j, "ok", 1);
			json_end(&j);
		}
		for (int k = 0; k < nrb; k++) {
			preflight_release(&pfs[k]);
			sbuf_free(&verdicts[k]);
			rb_close(&rbs[k]);
		}
		free(pfs);
		free(verdicts);
		sbuf_free(&server_verdict);
		undo_n = 0;
		free(frs);
		free(rbs);
		signkey_release(&key);
		for (int i = 0; i < npaths; i++)
			free(paths[i]);
		free(paths);
		return 0;
	}

	/* apply, top-down */
	run.verbose_plan = zdt_verbosity >= 2;
	for (int k = 0; k < nrb; k++) {
		struct rbctx *r = &rbs[k];
		double c0 = now_mono();
		size_t al = strlen(z->audit_snap);
		snprintf(z->audit_snap + al, sizeof(z->audit_snap) - al, "%s%s%s%s", al ? "," : "",
			 nrb > 1 ? component_name(r->comp) : "", nrb > 1 ? ":" : "", r->si.id);
		if (r->n_changes || r->si.state == SNAP_ROLLBACK_INTERRUPTED) {
			int had = r->si.state == SNAP_ROLLBACK_INTERRUPTED;
			journal_write(z, r, &frs[k]);
			frs[k].armed = frs[k].on;
			double p0 = now_mono();
			rb_merge(r, RB_APPLY);
			check_signal();	/* a signal during the last change: the journal stays */
			verbose("%s: applied, %.2f s", component_name(r->comp), now_mono() - p0);
			p0 = now_mono();
			if (syncfs(r->rootfd) < 0)
				die_errno(ZDT_EFAIL, "cannot flush the restored files of '%s' to disk; run the rollback again",
					  escp(r->root));
			verbose("%s: syncfs, %.2f s", component_name(r->comp), now_mono() - p0);
			frs[k].armed = 0;
			if (!npaths) {
				/* the tree equals this snapshot: no rollback is pending */
				journal_clear(z, r->comp);
			} else if (!had && (unlinkat(r->snapfd, SNAP_JOURNAL, 0) < 0 || fsync(r->snapfd) < 0)) {
				/* --path: only our own journal goes; an interrupted full
				 * rollback stays pending */
				warning_errno("cannot remove the rollback journal of %s %s", component_name(r->comp),
					      r->si.id);
			}
		} else {
			r->n_rewrite = r->n_create = r->n_remove = r->n_meta = 0;
			r->bytes_write = 0;
		}
		double el = now_mono() - c0;
		if (zdt_verbosity >= 1) {
			char s1[16];
			fprintf(z->out, "%s %s -> '%s': %" PRIu64 " rewritten, %" PRIu64 " created, %" PRIu64
				" removed, %" PRIu64 " metadata fixed, %s written, %.1f s\n", component_name(r->comp),
				r->si.id, r->root, r->n_rewrite, r->n_create, r->n_remove, r->n_meta,
				fmt_size(s1, sizeof(s1), r->bytes_write), el);
		}
		if (jp) {
			json_obj(&j, NULL);
			json_str(&j, "component", component_name(r->comp));
			json_str(&j, "snapshot", r->si.id);
			json_str(&j, "source", r->root);
			json_u64(&j, "rewritten", r->n_rewrite);
			json_u64(&j, "created", r->n_create);
			json_u64(&j, "removed", r->n_remove);
			json_u64(&j, "metadata_fixed", r->n_meta);
			json_u64(&j, "bytes_written", r->bytes_write);
			preflight_excluded_json(&pfs[k], &j);
			json_dbl(&j, "elapsed_s", el);
			json_end(&j);
		}
	}
	if (jp) {
		json_end(&j);
		json_bool(&j, "ok", 1);
		json_dbl(&j, "elapsed_s", now_mono() - t0);
		json_end(&j);
	}
	for (int k = 0; k < nrb; k++) {
		preflight_release(&pfs[k]);
		sbuf_free(&verdicts[k]);
		rb_close(&rbs[k]);
	}
	free(pfs);
	free(verdicts);
	sbuf_free(&server_verdict);
	undo_n = 0;
	free(frs);
	free(rbs);
	signkey_release(&key);
	for (int i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	return 0;
}
