/* fuzz_sim.c - libFuzzer harness for the attack simulator's parsers: the stub resolver's DNS query parser and reply builder, and the --stages list parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VIGIL_SIM_PARSERS_ONLY
#include "../tools/vigil_sim.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;
	char err[192];
	uint8_t out[1600];
	static const uint8_t addr[4] = { 127, 0, 0, 2 };
	unsigned set = 0;

	if (dns_parse_query(data, size, &q, err, sizeof(err)) == 0) {
		size_t nl = strlen(q.name);
		if (nl > 253 || q.question_end > size || q.question_end < 17)
			abort();
		size_t rl = dns_build_reply(data, &q, addr, out, sizeof(out));
		if (size <= 1500 && rl == 0)
			abort();
		/* A reply parses back as the same question once its QR bit is cleared. */
		if (rl) {
			struct dns_query back;
			out[2] &= 0x7f;
			if (dns_parse_query(out, rl, &back, err, sizeof(err)) != 0 || strcmp(back.name, q.name) != 0 ||
			    back.qtype != q.qtype)
				abort();
		}
	} else if (!memchr(err, '\0', sizeof(err))) {
		abort();
	}
	if (parse_stages((const char *)data, size, &set, err, sizeof(err)) == 0 && (set & ~(unsigned)ST_ALL))
		abort();
	return 0;
}
