/*
 * progress.h - a one-line progress bar on stderr: percent, bytes done of
 * total, rate and ETA, redrawn at most 5 times a second.
 *
 *     struct progress p;
 *     progress_start(&p, on, "backup", total_bytes);
 *     progress_add(&p, n);      as bytes are done (cheap when off)
 *     progress_end(&p);         clears the line
 *
 * on comes from --progress: always, never, or auto (stderr is a terminal).
 */
#ifndef ZDT_PROGRESS_H
#define ZDT_PROGRESS_H

#include <stdint.h>

enum { PROGRESS_AUTO, PROGRESS_ALWAYS, PROGRESS_NEVER };

struct progress {
	int on;
	const char *label;
	uint64_t total, done;
	double start, last;
	int drawn;
};

int progress_enabled(int mode);
void progress_start(struct progress *p, int on, const char *label, uint64_t total);
void progress_add(struct progress *p, uint64_t n);
void progress_end(struct progress *p);

#endif
