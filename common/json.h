/*
 * json.h - a small streaming JSON writer for --json documents.
 *
 *     struct json j;
 *     json_init(&j, stdout);
 *     json_obj(&j, NULL);                     {
 *       json_str(&j, "command", "list");        "command": "list",
 *       json_arr(&j, "snapshots");              "snapshots": [
 *         json_obj(&j, NULL); ... json_end(&j);   {...}
 *       json_end(&j);                           ]
 *     json_end(&j);                           }
 *
 * Keys are given inside objects and NULL inside arrays.  Strings are
 * written as valid UTF-8: bytes that are not part of a valid UTF-8
 * sequence come out as \u00XX (their Latin-1 reading) so the output always
 * parses; such paths are the exception in install trees.
 */
#ifndef ZDT_JSON_H
#define ZDT_JSON_H

#include <stdint.h>
#include <stdio.h>

struct json {
	FILE *f;
	int depth;
	int first[32];
	char close[32];
};

void json_init(struct json *j, FILE *f);
void json_obj(struct json *j, const char *key);
void json_arr(struct json *j, const char *key);
void json_end(struct json *j);
void json_str(struct json *j, const char *key, const char *s);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_dbl(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
void json_time(struct json *j, const char *key, int64_t t);

#endif
