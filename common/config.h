/*
 * config.h - the configuration file (zdt.conf(5)).
 *
 *     # comment
 *     backup-dir = /opt/bmc/zdt_backup
 *     ar-port = 46262
 *     [AR]
 *     path = /opt/bmc/ARSystem
 *     exclude = *.log
 *
 * config_load() parses FILE into a zeroed struct config; on a syntax error
 * or unknown key it returns -1 with "FILE:LINE: reason" in err.  Values are
 * checked here (ports, sizes, durations), so a bad file is found at start,
 * not at the moment a value is used.  config_release() frees it.
 */
#ifndef ZDT_CONFIG_H
#define ZDT_CONFIG_H

#include <stdint.h>

#include "component.h"
#include "util.h"

struct config {
	char *file;			/* the file read, or NULL */
	char *backup_dir;
	char *ar_server;
	char *key_file;			/* signed manifests (sign.h), NULL = unset */
	unsigned ar_port;		/* 0 = unset */
	char *compress;			/* default for backup --compress */
	uint64_t reserve;		/* 0 = unset */
	uint64_t cleanup_older_than;	/* seconds, 0 = unset */
	int has_cleanup_older_than;
	uint64_t cleanup_keep_last;	/* 0 = unset */
	uint64_t cleanup_interval;	/* seconds between cron cleanups, 0 = unset */
	struct {
		char *path;
		char **exclude;
		int nexclude;
	} comp[COMP_N];
};

int config_load(struct config *cf, const char *file, struct sbuf *err);
/* parses a buffer; name is used in messages */
int config_parse(struct config *cf, const char *name, const char *text, struct sbuf *err);
void config_release(struct config *cf);

#endif
