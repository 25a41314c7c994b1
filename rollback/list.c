/* list.c - zdt list: the snapshots in the backup folder, oldest first. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../common/component.h"
#include "../common/json.h"
#include "../common/store.h"
#include "../zdt.h"

const char list_usage[] =
	"usage: zdt list [-c COMPONENT]...\n"
	"\n"
	"Lists the snapshots in the backup folder, oldest first: component, ID,\n"
	"created (UTC), state (complete, partial, rollback-interrupted), files,\n"
	"bytes, archive size and source folder.\n"
	"\n"
	"  -c, --component NAME   only this component (repeatable)\n";

int cmd_list(struct zdt *z, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "component", required_argument, NULL, 'c' },
		ZDT_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 },
	};
	unsigned mask = 0;
	int c;
	struct snapinfo *v;
	size_t n;

	while ((c = zdt_getopt(z, argc, argv, "c:", lo)) != -1)
		if (c == 'c')
			mask |= 1u << component_arg("-c", optarg);
	if (optind < argc)
		zdt_usage_error(z, "unexpected argument '%s'", argv[optind]);
	zdt_setup(z);
	if (!mask)
		mask = COMP_ALL;
	z->comps = mask;
	zdt_open_store(z);
	if (store_list(z->bkfd, mask, &v, &n) < 0)
		die_errno(ZDT_EFAIL, "cannot list the backup folder: '%s'", escp(zdt_bkdir(z)));

	if (z->json) {
		struct json j;
		json_init(&j, z->jf);
		json_obj(&j, NULL);
		json_str(&j, "command", "list");
		json_bool(&j, "ok", 1);
		json_str(&j, "backup_dir", zdt_bkdir(z));
		json_arr(&j, "snapshots");
		for (size_t i = 0; i < n; i++) {
			json_obj(&j, NULL);
			json_str(&j, "component", component_name(v[i].comp));
			json_str(&j, "id", v[i].id);
			if (v[i].meta_ok)
				json_time(&j, "created", v[i].created);
			else
				json_null(&j, "created");
			json_str(&j, "state", snap_state_name(v[i].state));
			json_u64(&j, "files", v[i].files);
			json_u64(&j, "bytes", v[i].bytes);
			json_u64(&j, "archive_bytes", v[i].archive_bytes);
			json_str(&j, "source", v[i].source);
			json_str(&j, "compress", v[i].compress);
			json_end(&j);
		}
		json_end(&j);
		json_end(&j);
	} else {
		/* the listing is the result: printed even with -q */
		FILE *o = stdout;
		if (n)
			fprintf(o, "%-16s  %-19s  %-20s  %-20s  %8s  %10s  %10s  %s\n", "COMPONENT", "ID",
				"CREATED", "STATE", "FILES", "BYTES", "ARCHIVE", "SOURCE");
		for (size_t i = 0; i < n; i++) {
			char t[32], s1[16], s2[16];
			struct sbuf src = SBUF_INIT;
			esc_path(&src, v[i].source ? v[i].source : "-");
			fprintf(o, "%-16s  %-19s  %-20s  %-20s  %8" PRIu64 "  %10s  %10s  %s\n",
				component_name(v[i].comp), v[i].id,
				v[i].meta_ok ? fmt_time(t, sizeof(t), v[i].created) : "-",
				snap_state_name(v[i].state), v[i].files,
				fmt_size(s1, sizeof(s1), v[i].bytes), fmt_size(s2, sizeof(s2), v[i].archive_bytes),
				src.buf);
			sbuf_free(&src);
		}
		if (!n)
			note("no snapshots in '%s'", escp(zdt_bkdir(z)));
	}
	store_list_free(v, n);
	return 0;
}
