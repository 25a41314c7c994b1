/*
 * fuzz_config.c - libFuzzer target: the config parser (common/config.h).
 *
 * The input is the text of a zdt.conf: config_parse() must return 0 or -1
 * with a message, never crash, leak or read out of bounds; a config that
 * parsed is released and parsed again from the same text (no state kept).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct config cf;
	struct sbuf err = SBUF_INIT;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&cf, 0, sizeof(cf));
	if (config_parse(&cf, "fuzz.conf", text, &err) == 0) {
		config_release(&cf);
		memset(&cf, 0, sizeof(cf));
		sbuf_reset(&err);
		if (config_parse(&cf, "fuzz.conf", text, &err) != 0)
			abort();
	}
	config_release(&cf);
	sbuf_free(&err);
	free(text);
	return 0;
}
