/* fuzz_cloud_api.c - libFuzzer harness for vigil-cloud's request handler without the network: the first byte picks a route, the rest is the body (or the path/argument); every answer must be a known status with a JSON body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/cloud.h"
#include "vigil/common.h"
#include "vigil/json.h"

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static struct vg_cloud *cloud;
static char auth[128];
static unsigned runs;

static void handle(const char *method, const char *path, const struct vg_cloud_arg *args, size_t nargs,
		   const char *authz, const char *body, size_t len, struct vg_cloud_response *rs)
{
	struct vg_cloud_request rq = { .method = method, .path = path, .args = args, .nargs = nargs,
				       .authorization = authz, .body = body, .body_len = len, .no_wait = 1 };
	vg_cloud_handle(cloud, &rq, rs);
}

static void setup(void)
{
	struct vg_cloud_config cfg;
	struct vg_cloud_response rs = { 0 };
	char err[256];
	const char *enroll = "{\"endpoint_id\":\"fuzz-ep\"}";

	vg_log_set_level(VG_LOG_ERROR);
	vg_cloud_free(cloud);
	vg_cloud_config_defaults(&cfg);
	free(cfg.db);
	cfg.db = strdup(":memory:");
	cfg.enroll_token = strdup("fuzz-token");
	CHECK(vg_cloud_new(&cfg, &cloud, err, sizeof(err)) == 0);
	vg_cloud_config_free(&cfg);
	handle("POST", "/v1/enroll", NULL, 0, "Bearer fuzz-token", enroll, strlen(enroll), &rs);
	CHECK(rs.status == 200);
	const char *c = strstr(rs.body.p, "\"credential\":\"");
	CHECK(c);
	c += 14;
	snprintf(auth, sizeof(auth), "Bearer %.*s", (int)(strchr(c, '"') - c), c);
	vg_cloud_response_free(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_cloud_response rs = { 0 };
	struct vg_json_doc d;
	struct vg_json_error e;
	char text[256];
	struct vg_cloud_arg args[2];

	if (!cloud || ++runs % 4096 == 0)
		setup(); /* a fresh in-memory store now and then keeps memory flat */
	if (size < 1)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1, tl = len < sizeof(text) - 16 ? len : sizeof(text) - 16;
	memcpy(text, body, tl);
	text[tl] = 0;
	switch (data[0] % 10) {
	case 0: handle("POST", "/v1/signals", NULL, 0, auth, body, len, &rs); break;
	case 1: handle("POST", "/v1/events", NULL, 0, auth, body, len, &rs); break;
	case 2: handle("POST", "/_bulk", NULL, 0, auth, body, len, &rs); break;
	case 3: handle("POST", "/v1/enroll", NULL, 0, "Bearer fuzz-token", body, len, &rs); break;
	case 4: {
		char path[300];
		snprintf(path, sizeof(path), "/v1/files/%s", text);
		handle("GET", path, NULL, 0, auth, NULL, 0, &rs);
		break;
	}
	case 5:
		args[0].name = "since", args[0].value = text;
		args[1].name = "limit", args[1].value = "3";
		handle("GET", "/v1/alerts", args, 2, auth, NULL, 0, &rs);
		break;
	case 6:
		args[0].name = "since", args[0].value = text;
		args[1].name = "timeout", args[1].value = "5";
		handle("GET", "/v1/verdicts", args, 2, auth, NULL, 0, &rs);
		break;
	case 7: handle("PUT", text[0] == '/' ? text : "/_index_template/x", NULL, 0, auth, body, len, &rs); break;
	case 8: handle("POST", "/v1/signals", NULL, 0, text, body, len, &rs); break; /* hostile Authorization */
	default: handle(len & 1 ? "GET" : "DELETE", text[0] == '/' ? text : "/v1/x", NULL, 0, auth, NULL, 0, &rs); break;
	}
	CHECK(rs.status >= 200 && rs.status < 600);
	CHECK(rs.body.len > 0 && !rs.body.oom);
	/* every answer except the Prometheus text is one JSON document */
	if (rs.content_type && !strncmp(rs.content_type, "application/json", 16)) {
		vg_json_doc_init(&d);
		CHECK(vg_json_flatten(&d, rs.body.p, rs.body.len, &e) == 0);
		vg_json_doc_free(&d);
	}
	vg_cloud_response_free(&rs);
	return 0;
}
