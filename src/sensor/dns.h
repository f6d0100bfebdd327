/* dns.h - parses the DNS query a process sent (the payload the sensor saw on a socket) into the queried name and record type. */
#ifndef VIGIL_SENSOR_DNS_H
#define VIGIL_SENSOR_DNS_H

#include <stddef.h>
#include <stdint.h>

struct vg_dns_query {
	char name[256];   /* dotted, no trailing dot; "." for the root */
	uint16_t qtype;   /* 1 A, 28 AAAA, 16 TXT ... */
	uint16_t id;
	uint16_t qdcount;
};

/*
 * Parses the header and the first question of a DNS message. tcp = 1 when
 * the bytes start with the 2-byte length prefix of DNS over TCP. Compression
 * pointers are refused in a query (they cannot point anywhere useful).
 * Returns 0, or VG_EPARSE/VG_ETRUNC with "<what> at offset N" in err. Does
 * no I/O.
 */
int vg_dns_parse_query(const uint8_t *p, size_t len, int tcp, struct vg_dns_query *q, char *err, size_t errlen);
/* "A", "AAAA", "TXT"... or NULL when the type has no common name. */
const char *vg_dns_type_name(uint16_t t);

#endif /* VIGIL_SENSOR_DNS_H */
