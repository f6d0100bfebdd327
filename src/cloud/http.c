/* http.c - vigil-cloud's HTTP server: libmicrohttpd, one epoll daemon per thread on a shared port (SO_REUSEPORT) and keep-alive, body limits and gzip decoding, long-polls suspended until a verdict arrives. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "cloud_int.h"

#define MAX_ARGS 32

struct waiter {
	struct MHD_Connection *conn;
	int64_t deadline_ns;
	struct waiter *next;
};

#define MAX_DAEMONS 256

struct vg_cloud_server {
	struct vg_cloud *c;
	struct MHD_Daemon *d[MAX_DAEMONS]; /* one per HTTP thread, each with its own listening socket */
	unsigned nd;
	size_t max_body;
	pthread_t waker;
	pthread_mutex_t mu;   /* guards waiters, notified, stopping */
	pthread_cond_t cond;
	struct waiter *waiters;
	int notified, stopping, waker_started;
};

/* Per-request state, from the first call of the access handler to completion. */
struct conn_state {
	struct vg_buf body;
	int64_t start_ns;
	int64_t deadline_ns;  /* long-poll: answer at the latest then */
	int too_big;
	int suspended;
	struct vg_cloud_server *s;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	vg_log(VG_LOG_INFO, "vigil-cloud http: %s", msg);
}

struct args {
	struct vg_cloud_arg a[MAX_ARGS];
	size_t n;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct args *a = cls;
	(void)kind;
	if (a->n < MAX_ARGS) {
		a->a[a->n].name = key;
		a->a[a->n].value = value ? value : "";
		a->n++;
	}
	return MHD_YES;
}

static enum MHD_Result send_json(struct vg_cloud_server *s, struct MHD_Connection *conn, struct conn_state *st,
				 struct vg_cloud_response *rs)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!rs->status) {
		rs->status = 500;
		vg_buf_puts(&rs->body, "{\"error\":\"no answer\"}");
	}
	r = MHD_create_response_from_buffer(rs->body.len, rs->body.len ? rs->body.p : (void *)"",
					    rs->body.len ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	if (rs->body.len)
		rs->body.p = NULL, rs->body.len = rs->body.cap = 0;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type ? rs->content_type : "application/json");
	if (rs->allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rs->allow);
	if (rs->es)
		MHD_add_response_header(r, "X-Elastic-Product", "Elasticsearch");
	if (rs->status == 401 && !rs->es)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"vigil-cloud\"");
	/* the service time (request read to answer queued), for clients and load generators: W3C Server-Timing */
	double took = (double)(mono_ns() - st->start_ns) / 1e9;
	char timing[48];
	snprintf(timing, sizeof(timing), "app;dur=%.3f", took * 1e3);
	MHD_add_response_header(r, "Server-Timing", timing);
	ret = MHD_queue_response(conn, (unsigned)rs->status, r);
	MHD_destroy_response(r);
	vg_cloud_observe(s->c, rs->route, rs->status, took);
	return ret;
}

static enum MHD_Result send_error(struct vg_cloud_server *s, struct MHD_Connection *conn, struct conn_state *st,
				  const char *url, int status, const char *msg)
{
	struct vg_cloud_response rs = { 0 };
	vg_cloud_error(&rs, status, msg, -1);
	rs.route = vg_cloud_route_of(url);
	enum MHD_Result ret = send_json(s, conn, st, &rs);
	vg_cloud_response_free(&rs);
	return ret;
}

/* Inflates a gzip (or zlib) body into out, at most max bytes. 0, VG_ELIMIT or VG_EPARSE. */
static int gunzip(const char *in, size_t len, size_t max, struct vg_buf *out)
{
	z_stream z;
	char chunk[16384];
	int zr = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return VG_ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	while (zr != Z_STREAM_END) {
		z.next_out = (Bytef *)chunk;
		z.avail_out = sizeof(chunk);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END) {
			inflateEnd(&z);
			return VG_EPARSE;
		}
		size_t got = sizeof(chunk) - z.avail_out;
		if (out->len + got > max) {
			inflateEnd(&z);
			return VG_ELIMIT;
		}
		vg_buf_put(out, chunk, got);
		if (zr == Z_OK && got == 0 && z.avail_in == 0) {
			inflateEnd(&z);
			return VG_EPARSE; /* truncated stream */
		}
	}
	inflateEnd(&z);
	return out->oom ? VG_ENOMEM : 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct vg_cloud_server *s = cls;
	struct conn_state *st = *con_cls;
	(void)version;

	if (!st) {
		st = vg_calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		st->start_ns = mono_ns();
		st->s = s;
		*con_cls = st;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > s->max_body)
			return send_error(s, conn, st, url, 413, "request body larger than max_body_kb");
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!st->too_big && st->body.len + *upload_data_size <= s->max_body)
			vg_buf_put(&st->body, upload_data, *upload_data_size);
		else
			st->too_big = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (st->too_big)
		return send_error(s, conn, st, url, 413, "request body larger than max_body_kb");
	if (st->body.oom)
		return send_error(s, conn, st, url, 500, "out of memory");

	struct args a = { .n = 0 };
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
	struct vg_buf plain = { 0 };
	const char *body = st->body.p;
	size_t blen = st->body.len;
	const char *enc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (enc && blen && (!strcasecmp(enc, "gzip") || !strcasecmp(enc, "deflate"))) {
		int rc = gunzip(body, blen, s->max_body, &plain);
		if (rc) {
			vg_buf_free(&plain);
			return send_error(s, conn, st, url, rc == VG_ELIMIT ? 413 : 400,
					  rc == VG_ELIMIT ? "decoded request body larger than max_body_kb"
							  : "Content-Encoding: gzip body does not decode");
		}
		body = plain.p;
		blen = plain.len;
	} else if (enc && blen && strcasecmp(enc, "identity")) {
		return send_error(s, conn, st, url, 415, "unsupported Content-Encoding (gzip, deflate, identity)");
	}
	struct vg_cloud_request rq = {
		.method = method,
		.path = url,
		.args = a.a,
		.nargs = a.n,
		.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
		.body = body,
		.body_len = blen,
		.no_wait = st->deadline_ns && mono_ns() >= st->deadline_ns,
	};
	struct vg_cloud_response rs = { 0 };
	enum MHD_Result ret;
	for (;;) {
		int64_t head = vg_cloud_verdict_head(s->c);
		vg_cloud_handle(s->c, &rq, &rs);
		if (!rs.wait)
			break;
		pthread_mutex_lock(&s->mu);
		if (s->stopping) {
			pthread_mutex_unlock(&s->mu);
			rq.no_wait = 1;
			continue;
		}
		if (vg_cloud_verdict_head(s->c) != head) { /* a verdict landed meanwhile: look again */
			pthread_mutex_unlock(&s->mu);
			continue;
		}
		struct waiter *w = vg_calloc(1, sizeof(*w));
		if (!w) {
			pthread_mutex_unlock(&s->mu);
			rq.no_wait = 1;
			continue;
		}
		if (!st->deadline_ns)
			st->deadline_ns = mono_ns() + (int64_t)rs.wait * 1000000000;
		w->conn = conn;
		w->deadline_ns = st->deadline_ns;
		w->next = s->waiters;
		s->waiters = w;
		MHD_suspend_connection(conn);
		s->c->longpolls_waiting++;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->mu);
		vg_buf_free(&plain);
		vg_cloud_response_free(&rs);
		return MHD_YES;
	}
	ret = send_json(s, conn, st, &rs);
	vg_cloud_response_free(&rs);
	vg_buf_free(&plain);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct conn_state *st = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (st) {
		vg_buf_free(&st->body);
		free(st);
	}
	*con_cls = NULL;
}

/* Resumes long-polls on a new verdict or at their deadline. */
static void *waker(void *arg)
{
	struct vg_cloud_server *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		int64_t now = mono_ns(), next = 0;
		struct waiter **pp = &s->waiters;
		while (*pp) {
			struct waiter *w = *pp;
			if (s->notified || s->stopping || w->deadline_ns <= now) {
				*pp = w->next;
				s->c->longpolls_waiting--;
				MHD_resume_connection(w->conn);
				free(w);
				continue;
			}
			if (!next || w->deadline_ns < next)
				next = w->deadline_ns;
			pp = &w->next;
		}
		s->notified = 0;
		if (s->stopping)
			break;
		if (next) {
			/* The condition variable uses CLOCK_MONOTONIC (set at init). */
			struct timespec ts = { .tv_sec = next / 1000000000, .tv_nsec = next % 1000000000 };
			pthread_cond_timedwait(&s->cond, &s->mu, &ts);
		} else
			pthread_cond_wait(&s->cond, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

void vg_cloud_server_notify(struct vg_cloud_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->notified = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

int vg_cloud_server_start(struct vg_cloud *c, const struct vg_cloud_config *cfg, struct vg_cloud_server **out,
			  unsigned *port)
{
	struct vg_cloud_server *s;
	struct sockaddr_in sa;
	char host[64];
	const char *listen = cfg->listen ? cfg->listen : "127.0.0.1:8443";
	const char *colon = strrchr(listen, ':');
	pthread_condattr_t ca;
	char *end;

	*out = NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return VG_EINVAL;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p > 65535 || inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa.sin_addr) != 1)
		return VG_EINVAL;
	sa.sin_port = htons((uint16_t)p);
	if (!(s = vg_calloc(1, sizeof(*s))))
		return VG_ENOMEM;
	s->c = c;
	s->max_body = (size_t)cfg->max_body_kb * 1024;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	/*
	 * One daemon per thread, each with its own listening socket on the same
	 * port (SO_REUSEPORT): the kernel spreads new connections over them by
	 * address hash. A thread pool sharing one listening socket let whichever
	 * thread woke first accept bursts of connections, and one thread ended up
	 * with most of them (measured: 83% of the work on one of two threads).
	 */
	unsigned want = cfg->threads ? cfg->threads : 1, per = (cfg->max_conns ? cfg->max_conns : 4096) / want;
	if (want > MAX_DAEMONS)
		want = MAX_DAEMONS;
	for (unsigned i = 0; i < want; i++) {
		s->d[i] = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO |
						   MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG,
					   0, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
					   MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_CONNECTION_LIMIT,
					   per ? per : 1, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
					   MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_NOTIFY_COMPLETED,
					   completed, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_END);
		if (!s->d[i]) {
			int e = errno ? -errno : VG_EINVAL;
			while (i--)
				MHD_stop_daemon(s->d[i]);
			pthread_cond_destroy(&s->cond);
			pthread_mutex_destroy(&s->mu);
			free(s);
			return e;
		}
		s->nd = i + 1;
		if (i == 0) { /* port 0: the others bind the port the first one got */
			const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d[0], MHD_DAEMON_INFO_BIND_PORT);
			*port = info ? info->port : (unsigned)p;
			sa.sin_port = htons((uint16_t)*port);
		}
	}
	if (pthread_create(&s->waker, NULL, waker, s) == 0)
		s->waker_started = 1;
	vg_cloud_set_server(c, s);
	*out = s;
	return 0;
}

void vg_cloud_server_stop(struct vg_cloud_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nd; i++)
		MHD_quiesce_daemon(s->d[i]);
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
	if (s->waker_started)
		pthread_join(s->waker, NULL);
	vg_cloud_set_server(s->c, NULL);
	for (unsigned i = 0; i < s->nd; i++)
		MHD_stop_daemon(s->d[i]);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
