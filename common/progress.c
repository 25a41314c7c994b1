/* progress.c - progress bar on stderr; see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "util.h"

int progress_enabled(int mode)
{
	if (mode == PROGRESS_ALWAYS)
		return 1;
	if (mode == PROGRESS_NEVER || zdt_verbosity < 1)
		return 0;
	return isatty(STDERR_FILENO);
}

void progress_start(struct progress *p, int on, const char *label, uint64_t total)
{
	p->on = on;
	p->label = label;
	p->total = total;
	p->done = 0;
	p->start = p->last = now_mono();
	p->drawn = 0;
}

static void draw(struct progress *p, double now)
{
	char a[16], b[16], r[16], eta[16] = "--:--";
	double el = now - p->start;
	double rate = el > 0 ? p->done / el : 0;
	unsigned pct = p->total ? (unsigned)(p->done * 100 / p->total) : 0;
	char bar[21];

	if (pct > 100)
		pct = 100;
	for (int i = 0; i < 20; i++)
		bar[i] = i < (int)(pct / 5) ? '#' : '.';
	bar[20] = '\0';
	if (rate > 0 && p->total > p->done) {
		unsigned s = (unsigned)((p->total - p->done) / rate);
		snprintf(eta, sizeof(eta), "%u:%02u", s / 60, s % 60);
	}
	fprintf(stderr, "\r%s [%s] %3u%% %s/%s %s/s ETA %s  ", p->label, bar, pct,
		fmt_size(a, sizeof(a), p->done), fmt_size(b, sizeof(b), p->total),
		fmt_size(r, sizeof(r), (uint64_t)rate), eta);
	fflush(stderr);
	p->drawn = 1;
	p->last = now;
}

void progress_add(struct progress *p, uint64_t n)
{
	p->done += n;
	if (!p->on)
		return;
	double now = now_mono();
	if (now - p->last >= 0.2)
		draw(p, now);
}

void progress_end(struct progress *p)
{
	if (p->on && p->drawn) {
		fprintf(stderr, "\r%*s\r", 79, "");
		fflush(stderr);
	}
	p->on = 0;
}
