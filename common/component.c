/* component.c - component names and dependency chain; see component.h. */
#include "component.h"

#include <stddef.h>
#include <strings.h>

#include "err.h"

static const struct {
	const char *name;
	const char *alias[2];
	unsigned deps;
} comps[COMP_N] = {
	[COMP_AR] = { "AR", { "arsystem", NULL }, 0 },
	[COMP_ATRIUMCORE] = { "AtriumCore", { "cmdb", NULL }, 1u << COMP_AR },
	[COMP_ATRIUMINTEGRATOR] = { "AtriumIntegrator", { "ai", NULL },
				    (1u << COMP_ATRIUMCORE) | (1u << COMP_AR) },
};

const char *component_name(int c)
{
	if (c < 0 || c >= COMP_N)
		BUG("component %d", c);
	return comps[c].name;
}

int component_parse(const char *s)
{
	for (int c = 0; c < COMP_N; c++) {
		if (!strcasecmp(s, comps[c].name))
			return c;
		for (int a = 0; a < 2 && comps[c].alias[a]; a++)
			if (!strcasecmp(s, comps[c].alias[a]))
				return c;
	}
	return -1;
}

const char *component_valid_names(void)
{
	return "AR (arsystem), AtriumCore (cmdb), AtriumIntegrator (ai)";
}

int component_arg(const char *opt, const char *s)
{
	int c = component_parse(s);

	if (c < 0)
		die_hint(ZDT_EUSAGE, "valid components: AR (arsystem), AtriumCore (cmdb), AtriumIntegrator (ai)",
			 "unknown component%s%s '%s'", opt ? " in " : "", opt ? opt : "", s);
	return c;
}

unsigned component_chain(int c)
{
	if (c < 0 || c >= COMP_N)
		BUG("component %d", c);
	return (1u << c) | comps[c].deps;
}

int component_order(unsigned mask, int out[COMP_N])
{
	int n = 0;

	for (int c = COMP_N - 1; c >= 0; c--)
		if (mask & (1u << c))
			out[n++] = c;
	return n;
}
