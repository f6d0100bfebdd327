/* dns.c - DNS query parser for the sensor's dns_query events: header, first question, bounds checked before every read. */
#include <stdio.h>
#include <string.h>

#include "sensor/dns.h"
#include "vigil/common.h"

static int fail(char *err, size_t errlen, int rc, const char *what, size_t off)
{
	if (err && errlen)
		snprintf(err, errlen, "DNS query: %s at offset %zu", what, off);
	return rc;
}

int vg_dns_parse_query(const uint8_t *p, size_t len, int tcp, struct vg_dns_query *q, char *err, size_t errlen)
{
	size_t off = 0, n = 0;

	memset(q, 0, sizeof(*q));
	if (tcp) {
		if (len < 2)
			return fail(err, errlen, VG_ETRUNC, "TCP length prefix cut", 0);
		size_t mlen = (size_t)p[0] << 8 | p[1];
		off = 2;
		if (mlen < len - 2)
			len = mlen + 2; /* ignore bytes past the message */
	}
	if (len - off < 12)
		return fail(err, errlen, VG_ETRUNC, "header cut", off);
	q->id = (uint16_t)(p[off] << 8 | p[off + 1]);
	if (p[off + 2] & 0x80)
		return fail(err, errlen, VG_EPARSE, "a response, not a query", off + 2);
	if ((p[off + 2] >> 3 & 0xf) != 0)
		return fail(err, errlen, VG_EPARSE, "opcode is not QUERY", off + 2);
	q->qdcount = (uint16_t)(p[off + 4] << 8 | p[off + 5]);
	if (q->qdcount == 0)
		return fail(err, errlen, VG_EPARSE, "no question", off + 4);
	off += 12;
	for (;;) {
		if (off >= len)
			return fail(err, errlen, VG_ETRUNC, "name cut", off);
		uint8_t l = p[off];
		if (l == 0) {
			off++;
			break;
		}
		if (l & 0xc0)
			return fail(err, errlen, VG_EPARSE, "compressed or reserved label", off);
		if (l > len - off - 1)
			return fail(err, errlen, VG_ETRUNC, "label runs past the end", off);
		if (n + l + 1 >= sizeof(q->name))
			return fail(err, errlen, VG_EPARSE, "name longer than 255 bytes", off);
		if (n)
			q->name[n++] = '.';
		for (size_t i = 0; i < l; i++) {
			uint8_t c = p[off + 1 + i];
			if (c == '.' || c < 0x21 || c > 0x7e)
				return fail(err, errlen, VG_EPARSE, "unprintable byte or dot in a label", off + 1 + i);
			q->name[n++] = (char)c;
		}
		off += 1 + (size_t)l;
	}
	if (n == 0)
		q->name[n++] = '.';
	q->name[n] = 0;
	if (len - off < 4)
		return fail(err, errlen, VG_ETRUNC, "question type/class cut", off);
	q->qtype = (uint16_t)(p[off] << 8 | p[off + 1]);
	return 0;
}

const char *vg_dns_type_name(uint16_t t)
{
	switch (t) {
	case 1: return "A";
	case 2: return "NS";
	case 5: return "CNAME";
	case 6: return "SOA";
	case 12: return "PTR";
	case 15: return "MX";
	case 16: return "TXT";
	case 28: return "AAAA";
	case 33: return "SRV";
	case 64: return "SVCB";
	case 65: return "HTTPS";
	case 255: return "ANY";
	default: return NULL;
	}
}
