/* config.c - the configuration file; see config.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static int global_key(struct config *cf, const char *k, const char *v, struct sbuf *why)
{
	uint64_t n;

	if (!strcmp(k, "backup-dir")) {
		if (v[0] != '/')
			return sbuf_adds(why, "backup-dir must be an absolute path"), -1;
		set_str(&cf->backup_dir, v);
	} else if (!strcmp(k, "ar-port")) {
		if (parse_u64(v, 1, 65535, &n))
			return sbuf_addf(why, "invalid ar-port '%s' (1..65535)", v), -1;
		cf->ar_port = (unsigned)n;
	} else if (!strcmp(k, "ar-server")) {
		set_str(&cf->ar_server, v);
	} else if (!strcmp(k, "key-file")) {
		if (v[0] != '/')
			return sbuf_adds(why, "key-file must be an absolute path"), -1;
		set_str(&cf->key_file, v);
	} else if (!strcmp(k, "compress")) {
		uint64_t lvl;
		if (strcmp(v, "none") && strcmp(v, "gzip") &&
		    (strncmp(v, "gzip:", 5) || parse_u64(v + 5, 1, 9, &lvl)))
			return sbuf_addf(why, "invalid compress '%s' (none, gzip or gzip:1..9)", v), -1;
		set_str(&cf->compress, v);
	} else if (!strcmp(k, "reserve")) {
		if (parse_size(v, &cf->reserve))
			return sbuf_addf(why, "invalid reserve '%s' (a size: 64M, 1G)", v), -1;
	} else if (!strcmp(k, "cleanup-older-than")) {
		if (parse_duration(v, &cf->cleanup_older_than))
			return sbuf_addf(why, "invalid cleanup-older-than '%s' (a duration: 48h, 14d)", v), -1;
		cf->has_cleanup_older_than = 1;
	} else if (!strcmp(k, "cleanup-interval")) {
		if (parse_duration(v, &cf->cleanup_interval) || !cf->cleanup_interval)
			return sbuf_addf(why, "invalid cleanup-interval '%s' (a duration: 1h, 1d)", v), -1;
	} else if (!strcmp(k, "cleanup-keep-last")) {
		if (parse_u64(v, 1, 1000, &cf->cleanup_keep_last))
			return sbuf_addf(why, "invalid cleanup-keep-last '%s' (1..1000)", v), -1;
	} else {
		return sbuf_addf(why, "unknown key '%s'", k), -1;
	}
	return 0;
}

static int section_key(struct config *cf, int c, const char *k, const char *v, struct sbuf *why)
{
	if (!strcmp(k, "path")) {
		if (v[0] != '/')
			return sbuf_addf(why, "path must be an absolute path"), -1;
		set_str(&cf->comp[c].path, v);
	} else if (!strcmp(k, "exclude")) {
		cf->comp[c].exclude = xrealloc(cf->comp[c].exclude,
			sizeof(char *) * (size_t)(cf->comp[c].nexclude + 1));
		while (v[0] == '.' && v[1] == '/')
			v += 2;
		char *g = xstrdup(v);
		size_t n = strlen(g);
		while (n > 1 && g[n - 1] == '/')
			g[--n] = '\0';
		cf->comp[c].exclude[cf->comp[c].nexclude++] = g;
	} else {
		return sbuf_addf(why, "unknown key '%s' in section [%s]", k, component_name(c)), -1;
	}
	return 0;
}

int config_parse(struct config *cf, const char *name, const char *text, struct sbuf *err)
{
	struct sbuf why = SBUF_INIT;
	char *copy = xstrdup(text), *line, *next;
	int lineno = 0, section = -1, rc = 0;

	for (line = copy; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		sbuf_reset(&why);
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (!e || *trim(e + 1)) {
				sbuf_adds(&why, "malformed section header (expected [AR], [AtriumCore] or [AtriumIntegrator])");
			} else {
				*e = '\0';
				section = component_parse(trim(s + 1));
				if (section < 0)
					sbuf_addf(&why, "unknown component [%s] (valid: %s)",
						  trim(s + 1), component_valid_names());
			}
		} else {
			char *eq = strchr(s, '=');
			if (!eq) {
				sbuf_adds(&why, "expected 'key = value'");
			} else {
				*eq = '\0';
				char *k = trim(s), *v = trim(eq + 1);
				if (!*k)
					sbuf_adds(&why, "missing key before '='");
				else if (!*v)
					sbuf_addf(&why, "missing value for '%s'", k);
				else if (section < 0)
					global_key(cf, k, v, &why);
				else
					section_key(cf, section, k, v, &why);
			}
		}
		if (why.len) {
			sbuf_addf(err, "%s:%d: %s", name, lineno, why.buf);
			rc = -1;
			break;
		}
	}
	sbuf_free(&why);
	free(copy);
	return rc;
}

int config_load(struct config *cf, const char *file, struct sbuf *err)
{
	struct sbuf text = SBUF_INIT;
	char buf[8192];
	ssize_t n;
	int fd, rc;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sbuf_addf(err, "cannot open config file: '%s': %s", file, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (memchr(buf, '\0', (size_t)n)) {
			close(fd);
			sbuf_free(&text);
			sbuf_addf(err, "%s: not a text file", file);
			return -1;
		}
		sbuf_add(&text, buf, (size_t)n);
		if (text.len > (1u << 20)) {
			n = -1;
			errno = EFBIG;
			break;
		}
	}
	if (n < 0) {
		sbuf_addf(err, "cannot read config file: '%s': %s", file, strerror(errno));
		close(fd);
		sbuf_free(&text);
		return -1;
	}
	close(fd);
	set_str(&cf->file, file);
	rc = config_parse(cf, file, text.buf ? text.buf : "", err);
	sbuf_free(&text);
	return rc;
}

void config_release(struct config *cf)
{
	free(cf->file);
	free(cf->backup_dir);
	free(cf->ar_server);
	free(cf->key_file);
	free(cf->compress);
	for (int c = 0; c < COMP_N; c++) {
		free(cf->comp[c].path);
		for (int i = 0; i < cf->comp[c].nexclude; i++)
			free(cf->comp[c].exclude[i]);
		free(cf->comp[c].exclude);
	}
	memset(cf, 0, sizeof(*cf));
}
