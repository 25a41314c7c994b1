/*
 * zdt.h - what every command shares: the run's context, global options and
 * the set-up of the backup folder.
 *
 * A command is int cmd_NAME(struct zdt *z, int argc, char **argv).  It
 * parses its options with zdt_getopt(), which handles the global ones
 * wherever they stand; calls zdt_setup() to read the config file; then
 * zdt_open_store() to open (and for writing commands create) the backup
 * folder without following any symbolic link and to take the lock its
 * table row asks for.  Results go to z->out (stdout, or stderr under
 * --json, whose document goes to stdout).
 */
#ifndef ZDT_ZDT_H
#define ZDT_ZDT_H

#include <getopt.h>
#include <stdio.h>

#include "common/config.h"
#include "common/lock.h"
#include "common/util.h"

#define ZDT_VERSION "0.1.0"

/* how a command uses the backup folder */
enum {
	CMD_EXCLUSIVE = 1,	/* creates it if missing, exclusive lock */
	CMD_SHARED = 2,		/* must exist, shared lock */
	CMD_NOLOCK = 4,		/* must exist, no lock */
	CMD_BEACON = 8,		/* warns when the cron cleanup is overdue */
};

struct zdt;

struct zdt_cmd {
	const char *name;
	int (*fn)(struct zdt *z, int argc, char **argv);
	unsigned flags;
	const char *summary;
	const char *usage;
};

struct zdt {
	const struct zdt_cmd *cmd;
	char *opt_backup_dir;
	char *opt_config;
	int json;
	int progress;			/* PROGRESS_* */
	struct config cf;
	char *backup_dir;		/* absolute */
	int bkfd;
	struct zlock lock;
	FILE *out;
	FILE *jf;			/* --json document, buffered until the end */
	char *jbuf;
	size_t jlen;
	unsigned comps;			/* components of this run (audit) */
	char audit_snap[160];		/* snapshot(s) of this run (audit) */
	const char *user;		/* AR user of a rollback (audit) */
	int must_exist;			/* CMD_EXCLUSIVE, but do not create the folder */
	double lock_wait;		/* seconds to wait for another run's lock */
	int lock_try;			/* lock held by another run: go on without it */
	int lock_busy;			/* ... and it was (lock_holder names it) */
	char lock_holder[160];
};

enum {
	OPT_CONFIG = 1000,
	OPT_JSON,
	OPT_PROGRESS,
	OPT_VERSION,
	OPT_CMD = 1100,			/* commands number their long options from here */
};

#define ZDT_GLOBAL_SHORT "b:qvh"
#define ZDT_GLOBAL_LONG \
	{ "backup-dir", required_argument, NULL, 'b' }, \
	{ "config", required_argument, NULL, OPT_CONFIG }, \
	{ "json", no_argument, NULL, OPT_JSON }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "progress", required_argument, NULL, OPT_PROGRESS }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, OPT_VERSION }

/*
 * getopt_long over argv with the command's options plus the global ones;
 * returns the next command option, -1 at the end.  Global options, -h and
 * errors (exit 2 naming the option) are handled here.
 */
int zdt_getopt(struct zdt *z, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);
_Noreturn void zdt_usage_error(struct zdt *z, const char *fmt, ...) ZDT_PRINTF(2, 3);

void zdt_setup(struct zdt *z);
/* opens the backup folder as the command's flags say; refusals exit 3 */
void zdt_open_store(struct zdt *z);
struct signkey;
/* the key of --key-file FILE (else the config's key-file) into k, zeroed
 * when there is none; dies (exit 2/3) on a bad key.  install_dir: a folder
 * the key must not be in either, or NULL */
void zdt_load_key(struct zdt *z, const char *file, const char *install_dir, struct signkey *k);
/* the backup folder's path for messages */
const char *zdt_bkdir(struct zdt *z);

/*
 * One more line in the audit log, for a change a run made besides its
 * start and end: "... command=CMD components=LIST event=EVENT DETAIL";
 * DETAIL is key=value words, paths escaped with esc_path().
 */
void zdt_audit_event(struct zdt *z, const char *event, const char *detail);

/*
 * The cron cleanup against the cleanup beacon (common/beacon.h) of the open
 * backup folder: -1 when no cleanup-interval is configured (last still
 * describes the last run), 0 when the last run is recent enough and
 * succeeded, 1 when it is older than twice the interval, has never happened
 * although the oldest snapshot is, or failed.  last: what the beacon says,
 * for people; why: the problem.
 */
int zdt_cleanup_check(struct zdt *z, struct sbuf *last, struct sbuf *why);

int cmd_backup(struct zdt *z, int argc, char **argv);
int cmd_list(struct zdt *z, int argc, char **argv);
int cmd_verify(struct zdt *z, int argc, char **argv);
int cmd_rollback(struct zdt *z, int argc, char **argv);
int cmd_diff(struct zdt *z, int argc, char **argv);
int cmd_cleanup(struct zdt *z, int argc, char **argv);
int cmd_doctor(struct zdt *z, int argc, char **argv);
int cmd_selftest(struct zdt *z, int argc, char **argv);

extern const char backup_usage[], list_usage[], verify_usage[], rollback_usage[], diff_usage[],
	cleanup_usage[], doctor_usage[], selftest_usage[];

#endif
