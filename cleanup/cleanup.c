/*
 * cleanup.c - zdt cleanup: delete snapshots by policy, from cron.
 *
 * Under the exclusive lock: leftovers of interrupted backups (ID.partial)
 * go first, then the snapshots the policy selects.  A snapshot is first
 * renamed to ID.partial (out of the complete set, durably) and only then
 * removed, so a deletion cut short never leaves something that looks
 * complete; the next backup or cleanup finishes it.  A snapshot that an
 * interrupted rollback still needs is never deleted.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/atomic.h"
#include "../common/beacon.h"
#include "../common/component.h"
#include "../common/fsops.h"
#include "../common/json.h"
#include "../common/store.h"
#include "../zdt.h"

const char cleanup_usage[] =
	"usage: zdt cleanup [-c COMPONENT]... [--older-than DURATION] [--keep-last N] [--all]\n"
	"                   [--completed COMPONENT] [--dry-run] [--wait SECONDS]\n"
	"\n"
	"Deletes snapshots; quiet on success, for cron.  Leftovers of interrupted\n"
	"backups are always removed.  A snapshot that an interrupted rollback still\n"
	"needs is never deleted.  With no policy option: cleanup-older-than (default\n"
	"48h) and cleanup-keep-last from the config file.  Each run but a dry run\n"
	"records when it ran and what it did in BACKUP_DIR/cleanup.last.\n"
	"\n"
	"  -c, --component NAME     only this component (repeatable; default: all)\n"
	"      --older-than DUR     delete complete snapshots older than DUR (90m, 48h,\n"
	"                           14d, 2w), always keeping each component's newest\n"
	"      --keep-last N        keep the N newest complete snapshots per component\n"
	"      --all                delete every snapshot of the selected components\n"
	"      --completed NAME     the upgrade of NAME finished: delete the snapshots\n"
	"                           of NAME and of every component it depends on\n"
	"  -n, --dry-run            say what would be deleted, delete nothing\n"
	"      --wait SECONDS       wait for another run's lock (default: refuse)\n";

enum { KEEP, REMOVE };

struct verdict {
	int what;
	const char *reason;
};

static int remove_snapshot(struct zdt *z, const struct snapinfo *si)
{
	char name[SNAP_ID_MAX + 16], partial[SNAP_ID_MAX + 16];
	int cfd = store_comp_dir(z->bkfd, si->comp, 0), rc = 0;

	if (cfd < 0)
		return -1;
	snprintf(name, sizeof(name), "%s%s", si->id, si->named_partial ? PARTIAL_SUFFIX : "");
	snprintf(partial, sizeof(partial), "%s%s", si->id, PARTIAL_SUFFIX);
	if (!si->named_partial) {
		/* out of the complete set first, durably */
		if (renameat(cfd, name, cfd, partial) < 0 || fsync(cfd) < 0)
			rc = -1;
	}
	if (rc == 0 && (rm_tree_at(cfd, partial) < 0 || fsync(cfd) < 0))
		rc = -1;
	int e = errno;
	close(cfd);
	errno = e;
	return rc;
}

/* the beacon that list, backup and doctor read (common/beacon.h) */
static void record_run(struct zdt *z, unsigned mask, unsigned long removed, unsigned long leftovers,
		       unsigned long kept, unsigned long failed, uint64_t freed)
{
	struct beacon b;
	int comps[COMP_N], nc = component_order(mask, comps);
	size_t len = 0;

	memset(&b, 0, sizeof(b));
	b.time = zdt_now();
	b.pid = (long)getpid();
	for (int i = nc - 1; i >= 0; i--)
		len += (size_t)snprintf(b.components + len, sizeof(b.components) - len, "%s%s",
					len ? "," : "", component_name(comps[i]));
	b.exit = failed ? ZDT_EFAIL : 0;
	b.removed = removed;
	b.leftovers = leftovers;
	b.kept = kept;
	b.failed = failed;
	b.freed = freed;
	if (beacon_write(z->bkfd, &b) < 0)
		warning_errno("cannot record this cleanup in '%s/%s'", escp(zdt_bkdir(z)), BEACON_FILE);
}

int cmd_cleanup(struct zdt *z, int argc, char **argv)
{
	enum { O_OLDER = OPT_CMD, O_KEEP, O_ALL, O_COMPLETED, O_WAIT };
	static const struct option lo[] = {
		{ "component", required_argument, NULL, 'c' },
		{ "older-than", required_argument, NULL, O_OLDER },
		{ "keep-last", required_argument, NULL, O_KEEP },
		{ "all", no_argument, NULL, O_ALL },
		{ "completed", required_argument, NULL, O_COMPLETED },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "wait", required_argument, NULL, O_WAIT },
		ZDT_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 },
	};
	unsigned mask = 0;
	uint64_t older = 0, keep = 0, wait_s = 0;
	int has_older = 0, all = 0, completed = -1, dry = 0, c;

	while ((c = zdt_getopt(z, argc, argv, "c:n", lo)) != -1) {
		switch (c) {
		case 'c': mask |= 1u << component_arg("-c", optarg); break;
		case O_OLDER:
			older = parse_opt_duration("--older-than", optarg);
			has_older = 1;
			break;
		case O_KEEP: keep = parse_opt_u64("--keep-last", optarg, 1, 1000); break;
		case O_ALL: all = 1; break;
		case O_COMPLETED: completed = component_arg("--completed", optarg); break;
		case 'n': dry = 1; break;
		case O_WAIT: wait_s = parse_opt_u64("--wait", optarg, 0, 86400); break;
		}
	}
	if (optind < argc)
		zdt_usage_error(z, "unexpected argument '%s'", argv[optind]);
	if (all + (completed >= 0) + (has_older || keep) > 1)
		zdt_usage_error(z, "--all, --completed and --older-than/--keep-last exclude each other");
	if (completed >= 0 && mask)
		zdt_usage_error(z, "--completed names its components itself; drop -c");
	zdt_setup(z);
	if (!all && completed < 0 && !has_older && !keep) {
		/* the config's policy; 48h is the server group's default wait
		 * before an upgrade is marked done */
		has_older = 1;
		older = z->cf.has_cleanup_older_than ? z->cf.cleanup_older_than : (uint64_t)48 * 3600;
		keep = z->cf.cleanup_keep_last;
	}
	if (completed >= 0)
		mask = component_chain(completed);
	if (!mask)
		mask = COMP_ALL;
	z->comps = mask;
	z->must_exist = 1;
	z->lock_wait = (double)wait_s;
	if (z->backup_dir) {
		/* from cron before the first backup: nothing to do, no error mail */
		struct sbuf at = SBUF_INIT, to = SBUF_INIT;
		int fd = open_dir_nofollow(z->backup_dir, 0, &at, &to);
		int missing = fd < 0 && errno == ENOENT;
		if (fd >= 0)
			close(fd);
		sbuf_free(&at);
		sbuf_free(&to);
		if (missing) {
			verbose("no backup folder '%s' yet: nothing to clean up", escp(z->backup_dir));
			if (z->json) {
				struct json j;
				json_init(&j, z->jf);
				json_obj(&j, NULL);
				json_str(&j, "command", "cleanup");
				json_bool(&j, "ok", 1);
				json_bool(&j, "dry_run", dry);
				json_arr(&j, "removed");
				json_end(&j);
				json_arr(&j, "kept");
				json_end(&j);
				json_u64(&j, "removed_count", 0);
				json_u64(&j, "leftovers_removed", 0);
				json_u64(&j, "kept_count", 0);
				json_u64(&j, "freed_bytes", 0);
				json_end(&j);
			}
			return 0;
		}
	}
	zdt_open_store(z);

	struct snapinfo *v;
	size_t n;
	if (store_list(z->bkfd, mask, &v, &n) < 0)
		die_errno(ZDT_EFAIL, "cannot list the backup folder: '%s'", escp(zdt_bkdir(z)));
	struct verdict *vd = xcalloc(n ? n : 1, sizeof(*vd));
	time_t now = zdt_now();
	for (int comp = 0; comp < COMP_N; comp++) {
		uint64_t rank = 0;	/* among complete snapshots, newest first */
		int newest_seen = 0;
		for (size_t i = n; i-- > 0;) {
			if (v[i].comp != comp)
				continue;
			struct verdict *d = &vd[i];
			if (v[i].state == SNAP_PARTIAL) {
				d->what = REMOVE;
				d->reason = "leftover of an interrupted backup";
				continue;
			}
			if (v[i].state == SNAP_ROLLBACK_INTERRUPTED) {
				d->what = KEEP;
				d->reason = "an interrupted rollback still needs it";
				rank++;
				newest_seen = 1;
				continue;
			}
			rank++;
			if (all || completed >= 0) {
				d->what = REMOVE;
				d->reason = all ? "--all" : "the upgrade was completed";
			} else if (keep && rank <= keep) {
				d->what = KEEP;
				d->reason = "among the newest kept by keep-last";
			} else if (has_older && !newest_seen) {
				d->what = KEEP;
				d->reason = "newest complete snapshot of the component";
			} else if (has_older && v[i].created > now - (time_t)older) {
				d->what = KEEP;
				d->reason = "younger than older-than";
			} else {
				d->what = REMOVE;
				d->reason = has_older ? "older than older-than" : "beyond keep-last";
			}
			newest_seen = 1;
		}
	}

	struct json j, *jp = NULL;
	if (z->json) {
		jp = &j;
		json_init(&j, z->jf);
		json_obj(&j, NULL);
		json_str(&j, "command", "cleanup");
		json_bool(&j, "dry_run", dry);
	}
	unsigned long removed = 0, kept = 0, failed = 0, leftovers = 0;
	uint64_t freed = 0;
	if (jp)
		json_arr(&j, "removed");
	for (size_t i = 0; i < n; i++) {
		if (vd[i].what != REMOVE)
			continue;
		check_signal();
		int rc = dry ? 0 : remove_snapshot(z, &v[i]);
		if (rc < 0) {
			error_errno("cannot delete the snapshot %s %s in '%s'", component_name(v[i].comp), v[i].id,
				    escp(zdt_bkdir(z)));
			failed++;
			continue;
		}
		if (v[i].state == SNAP_PARTIAL)
			leftovers++;
		else
			removed++;
		freed += v[i].archive_bytes;
		if (jp) {
			json_obj(&j, NULL);
			json_str(&j, "component", component_name(v[i].comp));
			json_str(&j, "id", v[i].id);
			json_str(&j, "state", snap_state_name(v[i].state));
			json_str(&j, "reason", vd[i].reason);
			json_u64(&j, "archive_bytes", v[i].archive_bytes);
			json_end(&j);
		}
		if (dry || zdt_verbosity >= 2)
			fprintf(z->out, "%s %s %s (%s)\n", dry ? "would delete" : "deleted",
				component_name(v[i].comp), v[i].id, vd[i].reason);
	}
	if (jp) {
		json_end(&j);
		json_arr(&j, "kept");
	}
	for (size_t i = 0; i < n; i++) {
		if (vd[i].what != KEEP)
			continue;
		kept++;
		if (v[i].state == SNAP_ROLLBACK_INTERRUPTED && (all || completed >= 0 || zdt_verbosity >= 1))
			note("kept %s %s: an interrupted rollback still needs it (finish it with 'zdt rollback')",
			     component_name(v[i].comp), v[i].id);
		if (jp) {
			json_obj(&j, NULL);
			json_str(&j, "component", component_name(v[i].comp));
			json_str(&j, "id", v[i].id);
			json_str(&j, "reason", vd[i].reason);
			json_end(&j);
		}
		if (dry || zdt_verbosity >= 3)
			fprintf(z->out, "keep %s %s (%s)\n", component_name(v[i].comp), v[i].id, vd[i].reason);
	}
	if (jp) {
		json_end(&j);
		json_bool(&j, "ok", !failed);
		json_u64(&j, "removed_count", removed);
		json_u64(&j, "leftovers_removed", leftovers);
		json_u64(&j, "kept_count", kept);
		json_u64(&j, "freed_bytes", freed);
		json_end(&j);
	}
	if (zdt_verbosity >= 2 || dry) {
		char s1[16];
		fprintf(z->out, "cleanup: %s %lu snapshot%s and %lu leftover%s (%s), kept %lu\n",
			dry ? "would delete" : "deleted", removed, removed == 1 ? "" : "s", leftovers,
			leftovers == 1 ? "" : "s", fmt_size(s1, sizeof(s1), freed), kept);
	}
	if (!dry)
		record_run(z, mask, removed, leftovers, kept, failed, freed);
	free(vd);
	store_list_free(v, n);
	return failed ? ZDT_EFAIL : 0;
}
