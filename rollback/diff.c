/*
 * diff.c - zdt diff: what an upgrade changed in an install folder since a
 * snapshot.  The comparison is rollback's plan (plan.h): diff and
 * 'rollback --dry-run' always agree.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../common/component.h"
#include "../common/json.h"
#include "../common/store.h"
#include "../zdt.h"
#include "plan.h"

const char diff_usage[] =
	"usage: zdt diff -c COMPONENT [--snapshot ID] [--checksum]\n"
	"\n"
	"Compares the live install folder with a snapshot (default: the newest\n"
	"complete one): added, removed, modified (content), type changed and\n"
	"metadata changed (mode, owner, mtime, link target, attributes).  Files\n"
	"are compared by size and mtime; with --checksum, by content hash.\n"
	"Exit 0 when identical, 1 when there are differences.\n"
	"\n"
	"  -c, --component NAME   AR (arsystem), AtriumCore (cmdb), AtriumIntegrator (ai)\n"
	"  -s, --snapshot ID      this snapshot\n"
	"      --checksum         compare file contents by XXH3-128\n";

struct drun {
	struct zdt *z;
	struct json *j;
	uint64_t added, removed, modified, type, meta;
};

static const char *diff_word(unsigned ch)
{
	if (ch & CH_ADDED)
		return "added";
	if (ch & CH_REMOVED)
		return "removed";
	if (ch & CH_TYPE)
		return "type-changed";
	if (ch & (CH_CONTENT | CH_LINK))
		return "modified";
	return "metadata";
}

static void diff_report(struct rbctx *r, unsigned ch, const char *path, const struct mentry *m,
			const struct stat *st)
{
	struct drun *d = r->arg;
	struct sbuf p = SBUF_INIT, why = SBUF_INIT;
	const char *w = diff_word(ch);

	if (ch & CH_ADDED)
		d->added++;
	else if (ch & CH_REMOVED)
		d->removed++;
	else if (ch & CH_TYPE)
		d->type++;
	else if (ch & (CH_CONTENT | CH_LINK))
		d->modified++;
	else
		d->meta++;
	rb_describe(&why, ch & ~(unsigned)(CH_ADDED | CH_REMOVED), m, st);
	if (d->j) {
		json_obj(d->j, NULL);
		json_str(d->j, "change", w);
		json_str(d->j, "path", path);
		json_str(d->j, "details", why.buf ? why.buf : "");
		json_end(d->j);
	}
	if (zdt_verbosity >= 1) {	/* stderr under --json */
		esc_path(&p, path);
		fprintf(d->z->out, "%-12s %s%s%s%s\n", w, p.buf, why.len ? " (" : "", why.len ? why.buf : "",
			why.len ? ")" : "");
	}
	sbuf_free(&p);
	sbuf_free(&why);
}

int cmd_diff(struct zdt *z, int argc, char **argv)
{
	enum { O_CHECKSUM = OPT_CMD };
	static const struct option lo[] = {
		{ "component", required_argument, NULL, 'c' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "checksum", no_argument, NULL, O_CHECKSUM },
		ZDT_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 },
	};
	int comp = -1, checksum = 0, c;
	const char *id = NULL;

	while ((c = zdt_getopt(z, argc, argv, "c:s:", lo)) != -1) {
		switch (c) {
		case 'c':
			if (comp >= 0)
				zdt_usage_error(z, "diff takes one component (-c given twice)");
			comp = component_arg("-c", optarg);
			break;
		case 's': id = optarg; break;
		case O_CHECKSUM: checksum = 1; break;
		}
	}
	if (optind < argc)
		zdt_usage_error(z, "unexpected argument '%s'", argv[optind]);
	if (comp < 0)
		zdt_usage_error(z, "no component given (-c AR, AtriumCore or AtriumIntegrator)");
	if (id) {
		int partial;
		if (!store_parse_name(id, &partial) || partial)
			zdt_usage_error(z, "invalid --snapshot '%s' (an ID as 'zdt list' shows it)", id);
	}
	zdt_setup(z);
	z->comps = 1u << comp;
	zdt_open_store(z);

	struct rbctx r;
	memset(&r, 0, sizeof(r));
	r.snapfd = r.mfd = r.afd = r.rootfd = -1;
	if (store_pick(z->bkfd, comp, id, &r.si) < 0) {
		if (id)
			die_hint(ZDT_ENOSNAP, "see 'zdt list'", "no complete snapshot %s of %s in '%s'", id,
				 component_name(comp), escp(zdt_bkdir(z)));
		die_hint(ZDT_ENOSNAP, "make one with 'zdt backup -c COMPONENT'", "no complete snapshot of %s in '%s'",
			 component_name(comp), escp(zdt_bkdir(z)));
	}
	r.z = z;
	r.comp = comp;
	r.checksum = checksum;
	r.report = diff_report;
	struct drun d = { z, NULL, 0, 0, 0, 0, 0 };
	struct json j;
	r.arg = &d;
	rb_open(&r, z->bkfd);
	if (z->json) {
		d.j = &j;
		json_init(&j, z->jf);
		json_obj(&j, NULL);
		json_str(&j, "command", "diff");
		json_str(&j, "component", component_name(comp));
		json_str(&j, "snapshot", r.si.id);
		json_str(&j, "source", r.root);
		json_arr(&j, "changes");
	}
	rb_merge(&r, RB_PLAN);
	uint64_t total = d.added + d.removed + d.modified + d.type + d.meta;
	if (d.j) {
		json_end(&j);
		json_bool(&j, "ok", 1);
		json_bool(&j, "identical", total == 0);
		json_u64(&j, "added", d.added);
		json_u64(&j, "removed", d.removed);
		json_u64(&j, "modified", d.modified);
		json_u64(&j, "type_changed", d.type);
		json_u64(&j, "metadata_changed", d.meta);
		json_end(&j);
	}
	if (zdt_verbosity >= 1)
		fprintf(stderr, "%s %s: %" PRIu64 " added, %" PRIu64 " removed, %" PRIu64 " modified, %" PRIu64
			" type changed, %" PRIu64 " metadata changed\n", component_name(comp), r.si.id,
			d.added, d.removed, d.modified, d.type, d.meta);
	rb_close(&r);
	return total ? 1 : 0;
}
