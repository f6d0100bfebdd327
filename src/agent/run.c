/* run.c - vigild's life cycle: root check, logs, status socket, signals (HUP reload, TERM/INT clean stop), and the loop that feeds sensor events to the pipeline. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vigil/agent.h"
#include "engine/sigma_ext.h"
#include "vigil/buf.h"
#include "vigil/cloud_client.h"
#include "vigil/cloud_poll.h"
#include "vigil/exec_hold.h"
#include "vigil/response.h"

static volatile sig_atomic_t got_hup, got_stop;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* mkdir -p of the folder part of path, mode 0755 (0700 when private). */
static void make_parent(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return;
	memcpy(tmp, path, n + 1);
	char *slash = strrchr(tmp, '/');
	if (!slash || slash == tmp)
		return;
	*slash = '\0';
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, mode);
}

static int listen_status(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	make_parent(path, 0755);
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0660) || listen(fd, 8)) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

struct daemon {
	struct vg_agent *agent;
	struct vg_response *resp; /* the response hook's state (src/response/) */
	struct vg_cloud_client *cloud; /* vigil-cloud client, or NULL (no cloud_url) */
	struct vg_cloud_poll *poll;    /* its verdict long-poll, or NULL */
	struct vg_exec_hold *hold;     /* block at first sight, or NULL (no hold_mounts) */
	struct vg_agent_config *cfg;
	struct vg_agent_source src;
	int64_t started_ns;
	uint64_t reloads, reload_errors;
};

static void write_status(struct daemon *d, int fd)
{
	struct vg_buf b = { 0 };
	int first = 1, g;

	vg_buf_put(&b, "{", 1);
	vg_buf_json_kv(&b, &first, "vigild", "status/1");
	vg_buf_json_ku(&b, &first, "pid", (uint64_t)getpid());
	vg_buf_json_ku(&b, &first, "uptime_s", (uint64_t)((now_ns() - d->started_ns) / 1000000000LL));
	vg_buf_json_kv(&b, &first, "mode", d->cfg->mode == VG_AGENT_AUDIT ? "audit" : "protect");
	vg_buf_json_ku(&b, &first, "reloads", d->reloads);
	vg_buf_json_ku(&b, &first, "reload_errors", d->reload_errors);
	vg_buf_json_key(&b, &first, "pipeline");
	vg_buf_put(&b, "{", 1);
	g = 1;
	vg_agent_write_status(d->agent, &b, &g);
	vg_buf_put(&b, "}", 1);
	if (d->resp) {
		const struct vg_response_stats *rs = vg_response_stats(d->resp);
		vg_buf_json_key(&b, &first, "response");
		vg_buf_put(&b, "{", 1);
		g = 1;
		vg_buf_json_ku(&b, &g, "decisions", rs->decisions);
		vg_buf_json_ku(&b, &g, "killed", rs->killed);
		vg_buf_json_ku(&b, &g, "kill_failed", rs->kill_failed);
		vg_buf_json_ku(&b, &g, "quarantined", rs->quarantined);
		vg_buf_json_ku(&b, &g, "quarantine_failed", rs->quarantine_failed);
		vg_buf_json_ku(&b, &g, "persistence_undone", rs->persist_undone);
		vg_buf_json_ku(&b, &g, "snapshots", rs->snapshots);
		vg_buf_put(&b, "}", 1);
	}
	if (d->cloud)
		vg_cloud_client_write_status(d->cloud, &b, &first);
	if (d->poll)
		vg_cloud_poll_write_status(d->poll, &b, &first);
	if (d->hold)
		vg_exec_hold_write_status(d->hold, &b, &first);
	vg_buf_json_key(&b, &first, "sensor");
	vg_buf_put(&b, "{", 1);
	g = 1;
	if (d->src.status)
		d->src.status(d->src.impl, &b, &g);
	vg_buf_put(&b, "}", 1);
	vg_buf_json_key(&b, &first, "config");
	vg_agent_config_write_json(d->cfg, &b);
	vg_buf_put(&b, "}\n", 2);
	if (!b.oom) {
		size_t off = 0;
		/* the client waits for the whole answer: a short blocking write */
		int fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		while (off < b.len) {
			ssize_t w = write(fd, b.p + off, b.len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	vg_buf_free(&b);
}

/*
 * A verdict from vigil-cloud, in the event loop: "block" takes the
 * configured cloud_block_action on the process the signal was about (when
 * its event is still known), and a {"kind":"verdict",...} line in the alert
 * log says what was done.
 */
static void on_verdict(void *ctx, const struct vg_cloud_verdict *v, const struct vg_event *ev, const char *rule_id)
{
	struct daemon *d = ctx;
	struct vg_buf b = { 0 };
	int first = 1;

	if (d->hold && !v->cached)
		vg_exec_hold_learn(d->hold, v->sha256, v->verdict, v->threat_name, v->score, v->ttl);
	vg_buf_put(&b, "{", 1);
	vg_buf_json_kv(&b, &first, "kind", "verdict");
	vg_buf_json_kt(&b, &first, "time", now_ns());
	vg_buf_json_kv(&b, &first, "sha256", v->sha256);
	vg_buf_json_kv(&b, &first, "verdict", v->verdict);
	vg_buf_json_key(&b, &first, "threat_name");
	vg_buf_json_str(&b, v->threat_name[0] ? v->threat_name : NULL);
	vg_buf_json_key(&b, &first, "score");
	vg_buf_printf(&b, "%.4f", v->score);
	vg_buf_json_ku(&b, &first, "ttl", v->ttl);
	vg_buf_json_key(&b, &first, "cached");
	vg_buf_puts(&b, v->cached ? "true" : "false");
	vg_buf_json_kv(&b, &first, "rule_id", rule_id);
	if (v->change_id) /* a change the service announced (long-poll), not an answer to a signal */
		vg_buf_json_ku(&b, &first, "change_id", v->change_id);
	if (ev) {
		vg_buf_json_ku(&b, &first, "pid", ev->proc.pid);
		vg_buf_json_kv(&b, &first, "image", ev->proc.image);
		vg_buf_json_kv(&b, &first, "process_key", ev->proc.key);
	}
	if (strcmp(v->verdict, "block") == 0) {
		if (ev && d->resp) {
			char why[256];
			snprintf(why, sizeof(why), "cloud verdict block%s%s", v->threat_name[0] ? ": " : "", v->threat_name);
			vg_buf_put(&b, ",", 1);
			vg_response_act(d->resp, (enum vg_action)d->cfg->cloud_block_action, why, NULL, rule_id, ev, &b);
		} else if (v->change_id) {
			vg_buf_json_kv(&b, &first, "note", "no action: no process running this file is known");
		} else {
			vg_buf_json_kv(&b, &first, "note",
				       "no action: the process this signal was about is no longer known (queued by an earlier run)");
		}
	}
	vg_buf_put(&b, "}", 1);
	if (!b.oom)
		vg_agent_log_line(d->agent, b.p, b.len);
	vg_buf_free(&b);
}

/* The pipeline's second hook: a match of a rule marked vigil: {cloud: true} becomes a signal. */
static int on_match_cloud(void *ctx, const struct vg_rule *rule, const struct vg_event *ev, struct vg_buf *extra)
{
	struct daemon *d = ctx;
	if (d->cloud && vg_rule_vigil_cloud(rule) == 1)
		vg_cloud_client_on_match(d->cloud, vg_agent_tree(d->agent), rule, ev, extra);
	return 0;
}

/*
 * A decision of the exec hold, in the event loop: the cloud client learns
 * the verdict (a start of that file sends no second signal), a
 * {"kind":"hold",...} line goes to the alert log, and a denied exec's file
 * takes the block action's file part (quarantine): the exec never
 * happened, so there is no process to kill.
 */
static void on_hold(void *ctx, const struct vg_exec_hold_decision *h)
{
	struct daemon *d = ctx;
	struct vg_buf b = { 0 };
	int first = 1;

	if (d->cloud && h->verdict[0] && strcmp(h->source, "cloud") == 0) {
		struct vg_cloud_verdict v = { .score = h->score, .ttl = h->ttl };
		memcpy(v.sha256, h->sha256, sizeof(v.sha256));
		snprintf(v.verdict, sizeof(v.verdict), "%s", h->verdict);
		snprintf(v.threat_name, sizeof(v.threat_name), "%s", h->threat_name);
		vg_cloud_client_learn(d->cloud, &v);
	}
	vg_buf_put(&b, "{", 1);
	vg_buf_json_kv(&b, &first, "kind", "hold");
	vg_buf_json_kt(&b, &first, "time", now_ns());
	vg_buf_json_kv(&b, &first, "exec", h->allowed ? "allowed" : h->audit ? "audit: would deny" : "denied");
	vg_buf_json_kv(&b, &first, "how", h->how);
	vg_buf_json_kv(&b, &first, "source", h->source);
	vg_buf_json_kv(&b, &first, "sha256", h->sha256);
	vg_buf_json_kv(&b, &first, "path", h->path);
	vg_buf_json_ku(&b, &first, "pid", h->pid);
	vg_buf_json_kv(&b, &first, "requester", h->requester);
	vg_buf_json_key(&b, &first, "verdict");
	vg_buf_json_str(&b, h->verdict[0] ? h->verdict : NULL);
	vg_buf_json_key(&b, &first, "threat_name");
	vg_buf_json_str(&b, h->threat_name[0] ? h->threat_name : NULL);
	if (h->why[0])
		vg_buf_json_kv(&b, &first, "why", h->why);
	vg_buf_json_ku(&b, &first, "waited_us", h->waited_us);
	if (!h->allowed && h->verdict[0] && d->resp) {
		/* the file a block verdict names: quarantined if the block action includes it */
		enum vg_action act = (enum vg_action)d->cfg->cloud_block_action;
		if (act == VG_ACT_KILL)
			act = VG_ACT_ALERT; /* nothing runs, nothing to kill */
		else if (act == VG_ACT_REMEDIATE)
			act = VG_ACT_QUARANTINE;
		struct vg_event *ev = vg_event_new();
		if (ev) {
			char why[256];
			ev->type = VG_EV_FILE_CREATE;
			ev->platform = VG_PLATFORM_LINUX;
			ev->source = VG_SRC_VIGIL;
			ev->time_ns = now_ns();
			ev->file.path = vg_event_strdup(ev, h->path, strlen(h->path));
			snprintf(why, sizeof(why), "exec held and denied: cloud verdict block%s%s",
				 h->threat_name[0] ? ": " : "", h->threat_name);
			vg_buf_put(&b, ",", 1);
			vg_response_act(d->resp, act, why, NULL, "exec-hold", ev, &b);
			vg_event_free(ev);
		}
	}
	vg_buf_put(&b, "}", 1);
	if (!b.oom)
		vg_agent_log_line(d->agent, b.p, b.len);
	vg_buf_free(&b);
}

static void on_event(struct vg_event *ev, void *ctx)
{
	struct daemon *d = ctx;
	if (d->hold) /* first: a start allowed by the hold finds its verdict already cached */
		vg_exec_hold_poll(d->hold, on_hold, d);
	vg_agent_handle(d->agent, ev);
	if (d->cloud)
		vg_cloud_client_on_event(d->cloud, vg_agent_tree(d->agent), ev, on_verdict, d);
}

static void reload(struct daemon *d, const char *config_path)
{
	struct vg_agent_config nc;
	char err[512];
	int rc;

	d->reloads++;
	if (vg_agent_config_defaults(&nc)) {
		d->reload_errors++;
		return;
	}
	rc = vg_agent_config_load(&nc, config_path, err, sizeof(err));
	if (rc == -ENOENT)
		rc = 0; /* running on defaults */
	if (!rc)
		rc = vg_agent_reload(d->agent, &nc, err, sizeof(err));
	if (rc) {
		d->reload_errors++;
		vg_log(VG_LOG_ERROR, "reload failed, keeping the running configuration: %s", err);
		vg_agent_config_free(&nc);
		return;
	}
	if (d->resp && vg_response_reload(d->resp, &nc, err, sizeof(err))) {
		d->reload_errors++;
		vg_log(VG_LOG_ERROR, "policy not reloaded, keeping the running policy: %s", err);
	}
	vg_log_set_level(nc.log_level);
	if (d->hold)
		vg_exec_hold_set_audit(d->hold, nc.mode == VG_AGENT_AUDIT);
	vg_agent_config_free(d->cfg);
	*d->cfg = nc;
	vg_log(VG_LOG_INFO, "reloaded %s", config_path);
}

int vg_agent_run(struct vg_agent_config *cfg, const char *config_path, vg_agent_source_open_fn open_source)
{
	struct daemon d = { .cfg = cfg, .started_ns = now_ns() };
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];
	int rc, sock = -1;

	vg_log_set_level(cfg->log_level);
	if (geteuid() != 0) {
		vg_log(VG_LOG_ERROR, "vigild must run as root (it loads eBPF programs and acts on processes)");
		return VG_EINVAL;
	}
	if (strcmp(cfg->alert_log, "-") != 0)
		make_parent(cfg->alert_log, 0750);
	if ((rc = vg_agent_new(cfg, &d.agent, err, sizeof(err)))) {
		vg_log(VG_LOG_ERROR, "%s", err);
		return rc;
	}
	if ((rc = vg_response_new_agent(cfg, vg_agent_tree(d.agent), &d.resp, err, sizeof(err)))) {
		vg_log(VG_LOG_ERROR, "%s", err);
		vg_agent_free(d.agent);
		return rc;
	}
	vg_agent_set_respond(d.agent, vg_response_respond, d.resp);
	if (cfg->cloud_url) {
		/* never fatal: without the service the local rules protect as before */
		if ((rc = vg_cloud_client_new(cfg, &d.cloud, err, sizeof(err)))) {
			vg_log(VG_LOG_ERROR, "cloud client not started: %s", err);
			rc = 0;
		} else {
			vg_agent_set_match_hook(d.agent, on_match_cloud, &d);
			if (vg_cloud_poll_new(cfg, d.cloud, &d.poll, err, sizeof(err)))
				vg_log(VG_LOG_ERROR, "cloud verdict long-poll not started: %s", err);
		}
	}
	if (cfg->hold_mounts && cfg->hold_mounts[0]) {
		/* fatal: an operator who asked for the hold must not get an agent that silently lets everything run */
		if (!d.cloud)
			vg_log(VG_LOG_WARN, "exec hold without the cloud client: every never-seen program gets the hold_fail answer");
		if ((rc = vg_exec_hold_new(cfg, d.cloud, &d.hold, err, sizeof(err)))) {
			vg_log(VG_LOG_ERROR, "%s", err);
			vg_cloud_poll_free(d.poll);
			vg_cloud_client_free(d.cloud);
			vg_agent_free(d.agent);
			vg_response_free(d.resp);
			return rc;
		}
	}
	if ((rc = open_source(cfg, &d.src, err, sizeof(err)))) {
		vg_log(VG_LOG_ERROR, "%s", err);
		vg_cloud_poll_free(d.poll);
		vg_exec_hold_free(d.hold);
		vg_cloud_client_free(d.cloud);
		vg_agent_free(d.agent);
		vg_response_free(d.resp);
		return rc;
	}
	if (d.src.mark_exe && d.src.mark_pid)
		vg_response_set_kernel_hooks(d.resp, d.src.mark_exe, d.src.mark_pid, d.src.impl);
	sock = listen_status(cfg->socket_path);
	if (sock < 0)
		vg_log(VG_LOG_WARN, "status socket %s: %s (vigil status will not work)", cfg->socket_path,
		       strerror(-sock));
	if (cfg->pid_file) {
		FILE *pf = fopen(cfg->pid_file, "w");
		if (pf) {
			fprintf(pf, "%d\n", (int)getpid());
			fclose(pf);
		}
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	vg_log(VG_LOG_INFO, "started (%s mode)", cfg->mode == VG_AGENT_AUDIT ? "audit" : "protect");

	int64_t last_tick = now_ns();
	while (!got_stop) {
		int n = d.src.poll(d.src.impl, 200, on_event, &d);
		if (n == VG_EOF_)
			break;
		if (n < 0 && n != -EINTR) {
			vg_log(VG_LOG_ERROR, "sensor: %s", vg_strerror(n));
			rc = n;
			break;
		}
		for (int k = 0; sock >= 0 && k < 8; k++) {
			int c = accept4(sock, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				break;
			write_status(&d, c);
			close(c);
		}
		if (got_hup) {
			got_hup = 0;
			reload(&d, config_path);
		}
		if (d.cloud)
			vg_cloud_client_poll(d.cloud, on_verdict, &d);
		if (d.poll)
			vg_cloud_poll_apply(d.poll, vg_agent_tree(d.agent), on_verdict, &d);
		if (d.hold) {
			vg_exec_hold_watch(d.hold);
			vg_exec_hold_poll(d.hold, on_hold, &d);
		}
		int64_t t = now_ns();
		if (t - last_tick > 1000000000LL) {
			vg_agent_tick(d.agent, t);
			last_tick = t;
		}
	}
	if (d.poll) { /* stops at once: the open long-poll is abandoned, the last applied id saved */
		vg_cloud_poll_apply(d.poll, vg_agent_tree(d.agent), on_verdict, &d);
		vg_cloud_poll_free(d.poll);
		d.poll = NULL;
	}
	if (d.hold) {
		/* first: its thread uses the cloud client's credential */
		vg_exec_hold_poll(d.hold, on_hold, &d);
		vg_exec_hold_free(d.hold);
		d.hold = NULL;
	}
	if (d.cloud) {
		/* a few seconds for what is queued (a replay's signals, or a backlog): what is left stays on disk */
		uint64_t left = vg_cloud_client_drain(d.cloud, 5000, on_verdict, &d);
		if (left)
			vg_log(VG_LOG_INFO, "cloud: %llu signals stay queued for the next start", (unsigned long long)left);
		vg_cloud_client_free(d.cloud);
		d.cloud = NULL;
	}
	const struct vg_agent_stats *s = vg_agent_stats(d.agent);
	vg_log(VG_LOG_INFO, "stopping: %llu events, %llu alerts", (unsigned long long)s->events,
	       (unsigned long long)s->alerts);
	if (sock >= 0) {
		close(sock);
		unlink(cfg->socket_path);
	}
	if (cfg->pid_file)
		unlink(cfg->pid_file);
	if (d.src.close)
		d.src.close(d.src.impl);
	vg_agent_free(d.agent);
	vg_response_free(d.resp);
	return rc < 0 && rc != -EINTR ? rc : 0;
}
