/*
 * zdt.c - the command table, global options, set-up shared by every
 * command, and the audit log entries of each run.
 */
#include "zdt.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/atomic.h"
#include "common/beacon.h"
#include "common/component.h"
#include "common/fsops.h"
#include "common/json.h"
#include "common/progress.h"
#include "common/sign.h"
#include "common/store.h"
#include "common/util.h"

static const char help_usage[] =
	"usage: zdt help [COMMAND]\n"
	"\n"
	"Shows the help of COMMAND, or the list of commands.\n";

static int cmd_help(struct zdt *z, int argc, char **argv);
static struct zdt *json_z;
static void json_on_exit(void);

static const struct zdt_cmd commands[] = {
	{ "backup", cmd_backup, CMD_EXCLUSIVE | CMD_BEACON, "snapshot a component's install folder", backup_usage },
	{ "list", cmd_list, CMD_NOLOCK | CMD_BEACON, "list snapshots", list_usage },
	{ "verify", cmd_verify, CMD_SHARED, "check snapshots against their manifests", verify_usage },
	{ "diff", cmd_diff, CMD_SHARED, "show what changed since a snapshot", diff_usage },
	{ "rollback", cmd_rollback, CMD_EXCLUSIVE, "restore install folders to a snapshot", rollback_usage },
	{ "cleanup", cmd_cleanup, CMD_EXCLUSIVE, "delete snapshots by policy (for cron)", cleanup_usage },
	{ "doctor", cmd_doctor, CMD_SHARED, "check the backups, ar.cfg, ports and processes", doctor_usage },
	{ "selftest", cmd_selftest, 0, "prove that backup and rollback keep every attribute here", selftest_usage },
	{ "help", cmd_help, 0, "show the help of a command", help_usage },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char main_usage_head[] =
	"usage: zdt [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
	"\n"
	"Snapshots and rolls back the install folders of Remedy components\n"
	"(AR, AtriumCore, AtriumIntegrator) during a zero-downtime upgrade.\n"
	"\n"
	"Commands:\n";

static const char global_usage[] =
	"\n"
	"Global options (before or after the command):\n"
	"  -b, --backup-dir DIR   the zdt backup folder (else $ZDT_BACKUP_DIR,\n"
	"                         else backup-dir in the config file)\n"
	"      --config FILE      config file (else $ZDT_CONFIG, else /etc/zdt.conf)\n"
	"      --json             one JSON document on stdout; text goes to stderr\n"
	"  -q, --quiet            errors only\n"
	"  -v, --verbose          more detail (repeatable)\n"
	"      --progress WHEN    auto, always or never (default auto: on a terminal)\n"
	"  -h, --help             this help ('zdt help COMMAND': a command's help)\n"
	"      --version          print the version\n"
	"\n"
	"Exit codes: 0 success, 1 failed, 2 usage, 3 refused by a safety check,\n"
	"4 integrity failure, 5 no usable snapshot, 130/143 interrupted.\n"
	"See zdt(1) and zdt-manifest(5).\n";

static void print_main_usage(FILE *f)
{
	fputs(main_usage_head, f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs(global_usage, f);
}

static const struct zdt_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int cmd_help(struct zdt *z, int argc, char **argv)
{
	static const struct option lo[] = { ZDT_GLOBAL_LONG, { NULL, 0, NULL, 0 } };
	const struct zdt_cmd *c;

	while (zdt_getopt(z, argc, argv, "", lo) != -1)
		;
	if (optind >= argc) {
		print_main_usage(stdout);
		return 0;
	}
	if (optind + 1 < argc)
		zdt_usage_error(z, "too many arguments");
	c = find_cmd(argv[optind]);
	if (!c)
		zdt_usage_error(z, "unknown command '%s'", argv[optind]);
	fputs(c->usage, stdout);
	return 0;
}

static void print_version(void)
{
	printf("zdt %s\n", ZDT_VERSION);
	exit(0);
}

_Noreturn void zdt_usage_error(struct zdt *z, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (z->json && !z->jf) {
		struct json j;
		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "command", z->cmd ? z->cmd->name : "");
		json_bool(&j, "ok", 0);
		json_i64(&j, "exit", ZDT_EUSAGE);
		json_str(&j, "error", msg);
		json_end(&j);
		fflush(stdout);
	}
	if (z->cmd && strcmp(z->cmd->name, "help")) {
		char h[64];
		snprintf(h, sizeof(h), "see 'zdt help %s'", z->cmd->name);
		die_hint(ZDT_EUSAGE, h, "%s", msg);
	}
	die_hint(ZDT_EUSAGE, "see 'zdt --help'", "%s", msg);
}

static int global_option(struct zdt *z, int c, const char *arg)
{
	switch (c) {
	case 'b':
		free(z->opt_backup_dir);
		z->opt_backup_dir = xstrdup(arg);
		return 1;
	case OPT_CONFIG:
		free(z->opt_config);
		z->opt_config = xstrdup(arg);
		return 1;
	case OPT_JSON:
		z->json = 1;
		return 1;
	case 'q':
		zdt_verbosity = 0;
		return 1;
	case 'v':
		zdt_verbosity = zdt_verbosity < 1 ? 2 : zdt_verbosity + 1;
		return 1;
	case OPT_PROGRESS:
		if (!strcmp(arg, "auto"))
			z->progress = PROGRESS_AUTO;
		else if (!strcmp(arg, "always"))
			z->progress = PROGRESS_ALWAYS;
		else if (!strcmp(arg, "never"))
			z->progress = PROGRESS_NEVER;
		else
			zdt_usage_error(z, "invalid --progress '%s' (auto, always or never)", arg);
		return 1;
	case OPT_VERSION:
		print_version();
	}
	return 0;
}

int zdt_getopt(struct zdt *z, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	char so[128];
	int c;

	snprintf(so, sizeof(so), ":%s%s", ZDT_GLOBAL_SHORT, shortopts);
	opterr = 0;
	for (;;) {
		int prev = optind;
		c = getopt_long(argc, argv, so, longopts, NULL);
		if (c == -1)
			return -1;
		if (c == 'h') {
			fputs(z->cmd ? z->cmd->usage : "", stdout);
			if (!z->cmd)
				print_main_usage(stdout);
			exit(0);
		}
		if (c == '?' || c == ':') {
			/* a short option is named from optopt; a long one (optopt 0
			 * or its value >= 256) from the argument getopt stopped at */
			char name[128];
			const char *arg = argv[optind - 1 >= prev ? optind - 1 : prev];
			if (optopt > 0 && optopt < 256)
				snprintf(name, sizeof(name), "-%c", optopt);
			else
				snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg ? arg : "?", "="), arg ? arg : "?");
			const char *opt = name;
			if (c == ':')
				zdt_usage_error(z, "option '%s' needs a value", opt);
			zdt_usage_error(z, "unknown option '%s'", opt);
		}
		if (!global_option(z, c, optarg))
			return c;
	}
}

void zdt_setup(struct zdt *z)
{
	struct sbuf err = SBUF_INIT;
	const char *file = z->opt_config;
	int must = 1;

	if (!file)
		file = getenv("ZDT_CONFIG");
	if (file && !*file)
		file = NULL;
	if (!file) {
		file = "/etc/zdt.conf";
		must = 0;
	}
	if (must || access(file, F_OK) == 0) {
		if (config_load(&z->cf, file, &err) < 0)
			die_hint(ZDT_EUSAGE, "fix the file, or name another with --config FILE", "%s", err.buf);
	}
	sbuf_free(&err);
	if (z->json && !z->jf) {
		z->out = stderr;
		z->jf = open_memstream(&z->jbuf, &z->jlen);
		if (!z->jf)
			die_errno(ZDT_EFAIL, "out of memory");
		json_z = z;
		err_on_exit(json_on_exit);
	}
	const char *bk = z->opt_backup_dir;
	if (!bk || !*bk)
		bk = getenv("ZDT_BACKUP_DIR");
	if (!bk || !*bk)
		bk = z->cf.backup_dir;
	if (bk && *bk)
		z->backup_dir = abs_path(bk);
}

const char *zdt_bkdir(struct zdt *z)
{
	return z->backup_dir ? z->backup_dir : "?";
}

/* ---- audit ------------------------------------------------------------ */

static struct zdt *audit_z;

/* --json: the document is built in memory and printed at the end, so that a
 * run that stops half-way prints one well-formed error document instead */

static void json_on_exit(void)
{
	struct zdt *z = json_z;
	const char *msg = err_last_message();

	json_z = NULL;
	if (!z || !z->jf)
		return;
	fclose(z->jf);
	z->jf = NULL;
	free(z->jbuf);
	z->jbuf = NULL;
	struct json j;
	json_init(&j, stdout);
	json_obj(&j, NULL);
	json_str(&j, "command", z->cmd->name);
	json_bool(&j, "ok", 0);
	json_i64(&j, "exit", err_exit_code());
	json_str(&j, "error", msg ? msg : "");
	json_end(&j);
	fflush(stdout);
}

static const char *outcome(const char *cmd, int code)
{
	/* diff and doctor answer 1 for "differences", "problems found" */
	if (code == 1 && !err_last_message()) {
		if (!strcmp(cmd, "diff"))
			return "differences";
		if (!strcmp(cmd, "doctor"))
			return "problems-found";
	}
	switch (code) {
	case ZDT_OK: return "ok";
	case ZDT_EFAIL: return "failed";
	case ZDT_EUSAGE: return "usage-error";
	case ZDT_EREFUSED: return "refused";
	case ZDT_EINTEGRITY: return "integrity-failure";
	case ZDT_ENOSNAP: return "no-snapshot";
	}
	return code >= 128 ? "interrupted" : "failed";
}

/* the name of uid from /etc/passwd (a static binary has no NSS) */
static void uid_name(uid_t uid, char *out, size_t n)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[1024];

	snprintf(out, n, "-");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *name = line, *p1 = strchr(line, ':'), *p2;
		if (!p1 || !(p2 = strchr(p1 + 1, ':')))
			continue;
		*p1 = '\0';
		if (strtoul(p2 + 1, NULL, 10) == uid && p2[1] >= '0' && p2[1] <= '9') {
			snprintf(out, n, "%.63s", name);
			break;
		}
	}
	fclose(f);
}

static void audit_line(struct zdt *z, const char *event, int code, const char *detail)
{
	struct sbuf sb = SBUF_INIT;
	char t[32];
	const char *who = getenv("SUDO_USER");
	int comps[COMP_N];

	if (!who || !*who)
		who = getenv("LOGNAME");
	if (!who || !*who)
		who = getenv("USER");
	char pw[64];
	if (!who || !*who) {
		uid_name(getuid(), pw, sizeof(pw));
		who = pw;
	}
	sbuf_addf(&sb, "%s pid=%ld uid=%ld user=", fmt_time(t, sizeof(t), zdt_now()),
		  (long)getpid(), (long)getuid());
	esc_path(&sb, who && *who ? who : "-");
	sbuf_addf(&sb, " command=%s components=", z->cmd->name);
	int n = component_order(z->comps, comps);
	for (int i = 0; i < n; i++)
		sbuf_addf(&sb, "%s%s", i ? "," : "", component_name(comps[n - 1 - i]));
	if (!n)
		sbuf_adds(&sb, "-");
	if (z->user) {
		sbuf_adds(&sb, " ar-user=");
		esc_path(&sb, z->user);
	}
	if (z->audit_snap[0])
		sbuf_addf(&sb, " snapshot=%s", z->audit_snap);
	if (!strcmp(event, "end"))
		sbuf_addf(&sb, " event=end exit=%d outcome=%s", code, outcome(z->cmd->name, code));
	else
		sbuf_addf(&sb, " event=%s", event);
	if (detail && *detail)
		sbuf_addf(&sb, " %s", detail);
	if (audit_append(z->bkfd, sb.buf) < 0)
		warning_errno("cannot write the audit log: '%s/%s'", escp(zdt_bkdir(z)), AUDIT_LOG);
	sbuf_free(&sb);
}

static void audit_on_exit(void)
{
	if (audit_z && audit_z->bkfd >= 0)
		audit_line(audit_z, "end", err_exit_code(), NULL);
	audit_z = NULL;
}

void zdt_audit_event(struct zdt *z, const char *event, const char *detail)
{
	if (z->bkfd >= 0)
		audit_line(z, event, 0, detail);
}

/* ---- the cleanup beacon ----------------------------------------------- */

/* "45s", "12m", "5h", "3d" */
static const char *fmt_age(char *buf, size_t n, time_t s)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, n, "%llds", (long long)s);
	else if (s < (time_t)2 * 3600)
		snprintf(buf, n, "%lldm", (long long)s / 60);
	else if (s < (time_t)2 * 86400)
		snprintf(buf, n, "%lldh", (long long)s / 3600);
	else
		snprintf(buf, n, "%lldd", (long long)s / 86400);
	return buf;
}

/* an interval in the largest unit that divides it: "1h", "90m", "2d" */
static const char *fmt_interval(char *buf, size_t n, uint64_t s)
{
	if (s && s % 86400 == 0)
		snprintf(buf, n, "%llud", (unsigned long long)(s / 86400));
	else if (s && s % 3600 == 0)
		snprintf(buf, n, "%lluh", (unsigned long long)(s / 3600));
	else if (s && s % 60 == 0)
		snprintf(buf, n, "%llum", (unsigned long long)(s / 60));
	else
		snprintf(buf, n, "%llus", (unsigned long long)s);
	return buf;
}

int zdt_cleanup_check(struct zdt *z, struct sbuf *last, struct sbuf *why)
{
	struct beacon b;
	uint64_t iv = z->cf.cleanup_interval;
	time_t now = zdt_now();
	char t[32], a[32], i2[32], s1[16];
	int rc = beacon_read(z->bkfd, &b);

	fmt_interval(i2, sizeof(i2), 2 * iv);
	if (rc < 0) {
		sbuf_addf(last, "cannot read '%s/%s': %s", zdt_bkdir(z), BEACON_FILE,
			  errno == EINVAL ? "damaged" : strerror(errno));
		if (!iv)
			return -1;
		sbuf_addf(why, "its beacon '%s/%s' is unreadable", zdt_bkdir(z), BEACON_FILE);
		return 1;
	}
	if (rc == 0) {
		struct snapinfo *v;
		size_t n;
		time_t oldest = 0;
		sbuf_adds(last, "has never run in this backup folder");
		if (!iv)
			return -1;
		if (store_list(z->bkfd, COMP_ALL, &v, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if (v[i].meta_ok && (!oldest || v[i].created < oldest))
					oldest = v[i].created;
			store_list_free(v, n);
		}
		if (oldest && now - oldest > (time_t)(2 * iv)) {
			sbuf_addf(why, "it has never run in this backup folder, whose oldest snapshot is %s old "
				  "(cleanup-interval %s: expected at least every %s)",
				  fmt_age(a, sizeof(a), now - oldest), fmt_interval(t, sizeof(t), iv), i2);
			return 1;
		}
		return 0;
	}
	sbuf_addf(last, "last ran %s (%s ago, pid %ld): removed %lu snapshot%s and %lu leftover%s, kept %lu, "
		  "freed %s, exit %d", fmt_time(t, sizeof(t), b.time), fmt_age(a, sizeof(a), now - b.time), b.pid,
		  b.removed, b.removed == 1 ? "" : "s", b.leftovers, b.leftovers == 1 ? "" : "s", b.kept,
		  fmt_size(s1, sizeof(s1), b.freed), b.exit);
	if (!iv)
		return -1;
	if (now - b.time > (time_t)(2 * iv)) {
		sbuf_addf(why, "it last ran %s, %s ago, more than twice its cleanup-interval (%s)",
			  fmt_time(t, sizeof(t), b.time), fmt_age(a, sizeof(a), now - b.time),
			  fmt_interval(i2, sizeof(i2), iv));
		return 1;
	}
	if (b.exit) {
		sbuf_addf(why, "its last run, %s, failed with exit %d", fmt_time(t, sizeof(t), b.time), b.exit);
		return 1;
	}
	return 0;
}

static void beacon_warn(struct zdt *z)
{
	struct sbuf last = SBUF_INIT, why = SBUF_INIT;

	if (z->cf.cleanup_interval && zdt_cleanup_check(z, &last, &why) > 0) {
		warning("the cron cleanup is overdue: %s", why.buf);
		if (zdt_verbosity >= 1)
			hint("check /etc/cron.d/zdt-cleanup or zdt-cleanup.timer, and mail from cron; "
			     "'zdt doctor' says what the last cleanup did");
	}
	sbuf_free(&last);
	sbuf_free(&why);
}

/* ---- the backup folder ------------------------------------------------ */

void zdt_open_store(struct zdt *z)
{
	struct sbuf at = SBUF_INIT, to = SBUF_INIT, who = SBUF_INIT;
	unsigned flags = z->cmd->flags;
	int create = (flags & CMD_EXCLUSIVE) && !z->must_exist;

	if (!z->backup_dir)
		die_hint(ZDT_EUSAGE, "give -b DIR, set $ZDT_BACKUP_DIR, or set backup-dir in /etc/zdt.conf",
			 "no backup folder given");
	store_set_label(z->backup_dir);
	z->bkfd = open_dir_nofollow(z->backup_dir, create, &at, &to);
	if (z->bkfd < 0) {
		if (errno == ELOOP && to.len) {
			struct sbuf h = SBUF_INIT;
			char *real = real_path_prefix(z->backup_dir);
			sbuf_addf(&h, "use the real path: -b '%s'", real);
			free(real);
			die_hint(ZDT_EREFUSED, h.buf,
				 "backup folder path goes through a symbolic link: '%s' -> '%s'",
				 escp(at.buf), escp(to.buf));
		}
		if (errno == ENOENT && !create)
			die_hint(ZDT_ENOSNAP, "check -b / $ZDT_BACKUP_DIR / backup-dir; no backup was made there",
				 "no backup folder: '%s'", escp(z->backup_dir));
		die_errno(errno == ENOENT || errno == ENOTDIR ? ZDT_EUSAGE : ZDT_EFAIL,
			  "cannot open the backup folder: '%s'", escp(at.len ? at.buf : z->backup_dir));
	}
	if (create) {
		/* private whatever the umask and however it was created */
		struct stat st;
		if (fstat(z->bkfd, &st) == 0 && (st.st_mode & 077) && st.st_uid == geteuid())
			fchmod(z->bkfd, st.st_mode & 07700);
	}
	/* from here on the run is recorded, refusals included */
	audit_z = z;
	err_on_exit(audit_on_exit);
	if (flags & (CMD_EXCLUSIVE | CMD_SHARED)) {
		struct sbuf cl = SBUF_INIT;
		sbuf_addf(&cl, "zdt %s", z->cmd->name);
		int rc = lock_take(&z->lock, z->bkfd, (flags & CMD_EXCLUSIVE) ? LOCK_EXCLUSIVE : LOCK_SHARED,
				   z->lock_wait, cl.buf, &who);
		sbuf_free(&cl);
		if (rc < 0)
			die_errno(ZDT_EFAIL, "cannot lock the backup folder: '%s/%s'", escp(z->backup_dir), LOCK_FILE);
		if (rc > 0 && z->lock_try) {
			z->lock_busy = 1;
			snprintf(z->lock_holder, sizeof(z->lock_holder), "%s", who.buf);
		} else if (rc > 0)
			die_hint(ZDT_EREFUSED, z->lock_wait > 0 ? "it still held the lock when --wait ran out; zdt never breaks another run's lock"
				 : "wait for it to finish (cleanup: --wait SECONDS); zdt never breaks another run's lock",
				 "backup folder '%s' is in use by %s", escp(z->backup_dir), who.buf);
	}
	audit_line(z, "start", 0, NULL);
	if (flags & CMD_BEACON)
		beacon_warn(z);
	sbuf_free(&at);
	sbuf_free(&to);
	sbuf_free(&who);
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option lo[] = { ZDT_GLOBAL_LONG, { NULL, 0, NULL, 0 } };
	struct zdt z;
	int rc, c;

	memset(&z, 0, sizeof(z));
	z.bkfd = -1;
	z.lock.fd = -1;
	z.out = stdout;
	umask(077);
	/* names are bytes; UTF-8 ones go into pax headers as they are */
	setlocale(LC_CTYPE, "C.UTF-8");
	signals_install();
	err_set_command(NULL);

	/* global options before the command */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" ZDT_GLOBAL_SHORT, lo, NULL)) != -1) {
		if (c == 'h') {
			print_main_usage(stdout);
			return 0;
		}
		if (c == '?' || c == ':')
			die_hint(ZDT_EUSAGE, "see 'zdt --help'", "%s '%s'",
				 c == ':' ? "option needs a value:" : "unknown option", argv[optind - 1]);
		global_option(&z, c, optarg);
	}
	if (optind >= argc) {
		print_main_usage(stderr);
		return ZDT_EUSAGE;
	}
	z.cmd = find_cmd(argv[optind]);
	if (!z.cmd)
		die_hint(ZDT_EUSAGE, "see 'zdt --help' for the commands", "unknown command '%s'", argv[optind]);
	err_set_command(z.cmd->name);
	argc -= optind;
	argv += optind;
	optind = 0;	/* 0, not 1: GNU getopt re-reads its ordering mode (permute) */
	rc = z.cmd->fn(&z, argc, argv);
	if (z.jf) {
		json_z = NULL;
		if (fclose(z.jf) == 0 && z.jlen)
			fwrite(z.jbuf, 1, z.jlen, stdout);
		free(z.jbuf);
		z.jf = NULL;
	}

	/* results must have reached stdout: a full disk is a failure */
	if (fflush(stdout) || ferror(stdout) || fclose(stdout))
		die_errno(ZDT_EFAIL, "cannot write to standard output");
	err_set_exit_code(rc);
	err_run_exit_hooks();
	lock_drop(&z.lock);
	config_release(&z.cf);
	free(z.opt_backup_dir);
	free(z.opt_config);
	free(z.backup_dir);
	if (z.bkfd >= 0)
		close(z.bkfd);
	return rc;
}

void zdt_load_key(struct zdt *z, const char *file, const char *install_dir, struct signkey *k)
{
	struct sbuf err = SBUF_INIT;

	memset(k, 0, sizeof(*k));
	if (!file)
		file = z->cf.key_file;
	if (!file)
		return;
	int code = signkey_load(k, file, z->backup_dir, install_dir, &err);
	if (code)
		die_hint(code, code != ZDT_EREFUSED ? NULL : install_dir ?
			 "keep the key outside the backup and install folders, readable by its owner only (chmod 600)" :
			 "keep the key outside the backup folder, readable by its owner only (chmod 600)", "%s", err.buf);
	sbuf_free(&err);
}
