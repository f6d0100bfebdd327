/* sigma_fields.c - the fields Vigil's mapping produces per logsource, and the dead-rule check that uses them at load. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "engine/sigma_int.h"

/*
 * The schema is what an event of a logsource can carry, by source:
 *   - Sysmon (Windows): the EventData names of Sysmon 15 per event id, which
 *     vg_windows_map keeps as they are (src/event/windows_map.c);
 *   - Security 4688 (process_creation): its EventData plus the Sysmon-named
 *     aliases vg_windows_map adds (Image, ParentImage, User, IntegrityLevel);
 *   - Linux (eBPF sensor): the raw fields of docs/linux-events.md;
 *   - every Windows event: the System values (EventID, Provider_Name, Channel,
 *     Computer, EventRecordID) and the keys that flat-JSON shippers (NXLog,
 *     OTRF) put beside EventData, since src/sources/json_forms.c keeps them;
 *   - every event: the derived Vigil* fields (docs/tree.md).
 * Logsources without a table here (PowerShell, Security ids other than 4688,
 * other channels, unknown products) are open: any field may occur there, and
 * their rules are never declared dead.
 */

#define END NULL

static const char *const win_common[] = {
	"EventID", "Provider_Name", "Channel", "Computer", "EventRecordID",
	/* flat JSON shipper keys kept as fields (NXLog, OTRF) */
	"Hostname", "SourceName", "ProviderName", "ProviderGuid", "Keywords", "Severity", "SeverityValue",
	"Level", "Task", "Opcode", "Version", "Category", "Message", "EventTime", "EventReceivedTime",
	"RecordNumber", "UserID", "AccountName", "AccountType", "Domain", "SourceModuleName",
	"SourceModuleType", "TimeCreated", "host", "@timestamp", END
};

/* Sysmon 15 EventData per event id. */
#define SYS_PROC "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "User"
static const char *const sysmon1[] = { SYS_PROC, "FileVersion", "Description", "Product", "Company",
	"OriginalFileName", "CommandLine", "CurrentDirectory", "LogonGuid", "LogonId", "TerminalSessionId",
	"IntegrityLevel", "Hashes", "ParentProcessGuid", "ParentProcessId", "ParentImage", "ParentCommandLine",
	"ParentUser", END };
static const char *const sysmon2[] = { SYS_PROC, "TargetFilename", "CreationUtcTime", "PreviousCreationUtcTime", END };
static const char *const sysmon3[] = { SYS_PROC, "Protocol", "Initiated", "SourceIsIpv6", "SourceIp",
	"SourceHostname", "SourcePort", "SourcePortName", "DestinationIsIpv6", "DestinationIp",
	"DestinationHostname", "DestinationPort", "DestinationPortName", END };
static const char *const sysmon4[] = { "UtcTime", "State", "Version", "SchemaVersion",
	/* 16: configuration change, same category */
	"Configuration", "ConfigurationFileHash", END };
static const char *const sysmon5[] = { SYS_PROC, END };
static const char *const sysmon6[] = { "RuleName", "UtcTime", "ImageLoaded", "Hashes", "Signed", "Signature",
	"SignatureStatus", END };
static const char *const sysmon7[] = { SYS_PROC, "ImageLoaded", "FileVersion", "Description", "Product",
	"Company", "OriginalFileName", "Hashes", "Signed", "Signature", "SignatureStatus", END };
static const char *const sysmon8[] = { "RuleName", "UtcTime", "SourceProcessGuid", "SourceProcessId",
	"SourceImage", "TargetProcessGuid", "TargetProcessId", "TargetImage", "NewThreadId", "StartAddress",
	"StartModule", "StartFunction", "SourceUser", "TargetUser", END };
static const char *const sysmon9[] = { SYS_PROC, "Device", END };
static const char *const sysmon10[] = { "RuleName", "UtcTime", "SourceProcessGUID", "SourceProcessId",
	"SourceThreadId", "SourceImage", "TargetProcessGUID", "TargetProcessId", "TargetImage", "GrantedAccess",
	"CallTrace", "SourceUser", "TargetUser", END };
static const char *const sysmon11[] = { SYS_PROC, "TargetFilename", "CreationUtcTime", END };
static const char *const sysmon12[] = { SYS_PROC, "EventType", "TargetObject",
	/* 13 and 14 share registry_event */
	"Details", "NewName", END };
static const char *const sysmon15[] = { SYS_PROC, "TargetFilename", "CreationUtcTime", "Hash", "Contents", END };
static const char *const sysmon17[] = { SYS_PROC, "EventType", "PipeName", END };
static const char *const sysmon19[] = { "RuleName", "EventType", "UtcTime", "Operation", "User",
	"EventNamespace", "Name", "Query", "Type", "Destination", "Consumer", "Filter", END };
static const char *const sysmon22[] = { SYS_PROC, "QueryName", "QueryStatus", "QueryResults", END };
static const char *const sysmon23[] = { SYS_PROC, "TargetFilename", "Hashes", "IsExecutable", "Archived", END };
static const char *const sysmon24[] = { SYS_PROC, "Session", "ClientInfo", "Hashes", "Archived", END };
static const char *const sysmon25[] = { SYS_PROC, "Type", END };
static const char *const sysmon27[] = { SYS_PROC, "TargetFilename", "Hashes", "IsExecutable", END };
static const char *const sysmon255[] = { "UtcTime", "ID", "Description", END };

static const char *const sec4688[] = { "SubjectUserSid", "SubjectUserName", "SubjectDomainName",
	"SubjectLogonId", "NewProcessId", "NewProcessName", "TokenElevationType", "ProcessId", "CommandLine",
	"TargetUserSid", "TargetUserName", "TargetDomainName", "TargetLogonId", "ParentProcessName",
	"MandatoryLabel", "Image", "ParentImage", "User", "IntegrityLevel", END };

/* Linux (docs/linux-events.md). */
static const char *const lx_common[] = { "ProcessId", "Image", "User", "UtcTime", END };
static const char *const lx_proc[] = { "CommandLine", "CurrentDirectory", "ParentProcessId", "ParentImage",
	"ParentCommandLine", "ParentUser", "LogonId", "Comm", "Argv0", "ExeDeleted", "ExeMemfd", "Cgroup",
	"ContainerId", "Hashes", "Package", "PackageVerified", END };
static const char *const lx_exit[] = { "ExitCode", END };
static const char *const lx_file[] = { "TargetFilename", "Flags", END };
static const char *const lx_rename[] = { "SourceFilename", "TargetFilename", END };
static const char *const lx_delete[] = { "TargetFilename", END };
static const char *const lx_net[] = { "Protocol", "Initiated", "SourceIp", "SourcePort", "DestinationIp",
	"DestinationPort", END };
static const char *const lx_dns[] = { "QueryName", "QueryType", "DestinationIp", "DestinationPort", END };
static const char *const lx_access[] = { "TargetProcessId", "TargetImage", "Request", END };
static const char *const lx_tamper[] = { "TargetProcessId", "TargetImage", "Type", "Request", END };
static const char *const lx_driver[] = { "ModulePath", "Syscall", END };

struct schema {
	const char *category;
	const char *const *fields[3]; /* up to three lists, NULL ends */
};

static const struct schema sysmon_schemas[] = {
	{ "process_creation", { sysmon1 } },
	{ "file_change", { sysmon2 } },
	{ "network_connection", { sysmon3 } },
	{ "sysmon_status", { sysmon4 } },
	{ "process_termination", { sysmon5 } },
	{ "driver_load", { sysmon6 } },
	{ "image_load", { sysmon7 } },
	{ "create_remote_thread", { sysmon8 } },
	{ "raw_access_thread", { sysmon9 } },
	{ "process_access", { sysmon10 } },
	{ "file_event", { sysmon11 } },
	{ "registry_add", { sysmon12 } },
	{ "registry_delete", { sysmon12 } },
	{ "registry_set", { sysmon12 } },
	{ "registry_rename", { sysmon12 } },
	{ "registry_event", { sysmon12 } },
	{ "create_stream_hash", { sysmon15 } },
	{ "pipe_created", { sysmon17 } },
	{ "wmi_event", { sysmon19 } },
	{ "dns_query", { sysmon22 } },
	{ "file_delete", { sysmon23, sysmon27 } },
	{ "clipboard_change", { sysmon24 } },
	{ "process_tampering", { sysmon25 } },
	{ "file_block_executable", { sysmon27 } },
	{ "file_block_shredding", { sysmon27 } },
	{ "file_executable_detected", { sysmon27 } },
	{ "sysmon_error", { sysmon255 } },
};

static const struct schema linux_schemas[] = {
	{ "process_creation", { lx_proc } },
	{ "process_termination", { lx_exit } },
	{ "file_event", { lx_file } },
	{ "file_rename", { lx_rename } },
	{ "file_delete", { lx_delete } },
	{ "network_connection", { lx_net } },
	{ "dns_query", { lx_dns } },
	{ "dns", { lx_dns } },
	{ "process_access", { lx_access } },
	{ "process_tampering", { lx_tamper } },
	{ "driver_load", { lx_driver } },
};

#define NELEM(a) (sizeof(a) / sizeof(*(a)))

static const struct schema *find(const struct schema *t, size_t n, const char *category)
{
	for (size_t i = 0; i < n; i++)
		if (vg_strcaseeq(t[i].category, category))
			return &t[i];
	return NULL;
}

static int in_list(const char *const *l, const char *name)
{
	for (; l && *l; l++)
		if (vg_strcaseeq(*l, name))
			return 1;
	return 0;
}

static int in_schema(const struct schema *s, const char *name)
{
	for (int i = 0; i < 3 && s->fields[i]; i++)
		if (in_list(s->fields[i], name))
			return 1;
	return 0;
}

/* The closed schemas that apply to a rule's logsource; *open set when any applicable source is open. */
struct applicable {
	const struct schema *s[3];
	const char *const *common[3];
	int n, ncommon, open;
};

static int is(const char *v, const char *want)
{
	return !v || vg_strcaseeq(v, want);
}

static void applicable_for(const struct sg_rule *r, struct applicable *ap)
{
	const char *prod = r->pub.product, *cat = r->pub.category, *svc = r->pub.service;
	memset(ap, 0, sizeof(*ap));
	if (!cat) {
		ap->open = 1; /* service- or product-wide rules: open channels */
		return;
	}
	int win = is(prod, "windows"), lx = is(prod, "linux");
	if (!win && !lx) {
		ap->open = 1; /* a product no Vigil event carries: not our question */
		return;
	}
	if (win) {
		const struct schema *s = find(sysmon_schemas, NELEM(sysmon_schemas), cat);
		int sysmon_ok = is(svc, "sysmon");
		int sec_ok = vg_strcaseeq(cat, "process_creation") && is(svc, "security");
		if (!s && !sec_ok) {
			ap->open = 1; /* ps_script and the like: not Sysmon, not described here */
			return;
		}
		if (s && sysmon_ok)
			ap->s[ap->n++] = s;
		if (sec_ok) {
			static const struct schema sec = { "process_creation", { sec4688 } };
			ap->s[ap->n++] = &sec;
		}
		if (svc && !sysmon_ok && !sec_ok) {
			ap->open = 1; /* a service with a category we do not model */
			return;
		}
		ap->common[ap->ncommon++] = win_common;
	}
	if (lx && !svc) {
		const struct schema *s = find(linux_schemas, NELEM(linux_schemas), cat);
		if (s) {
			ap->s[ap->n++] = s;
			ap->common[ap->ncommon++] = lx_common;
		} else if (!win) {
			ap->open = 1; /* Vigil-only Linux categories or none: open */
			return;
		}
	}
	if (ap->n == 0)
		ap->open = 1;
}

static int produced(const struct applicable *ap, const char *name)
{
	if (!name || strncasecmp(name, "Vigil", 5) == 0)
		return 1;
	for (int i = 0; i < ap->ncommon; i++)
		if (in_list(ap->common[i], name))
			return 1;
	for (int i = 0; i < ap->n; i++)
		if (in_schema(ap->s[i], name))
			return 1;
	return 0;
}

/* Three-valued results: a test on a field that never occurs is decided at load. */
enum { T_FALSE = 0, T_TRUE = 1, T_MAYBE = 2 };

struct dctx {
	const struct applicable *ap;
	const char *missing; /* first never-produced field that decided a test */
	unsigned line;       /* its test's line */
};

static int eval_matcher(struct dctx *d, const struct sg_matcher *m)
{
	if (m->field == 0)
		return T_MAYBE; /* keywords search every field */
	const char *name = vg_field_name(m->field);
	if (produced(d->ap, name)) {
		/* fieldref to a field that never occurs is false */
		for (uint32_t i = 0; i < m->nvalues; i++) {
			const struct sg_value *v = &m->values[i];
			if (v->kind == VK_FIELDREF && !produced(d->ap, vg_field_name(v->ref_field)) && (m->all || m->nvalues == 1)) {
				if (!d->missing) {
					d->missing = vg_field_name(v->ref_field);
					d->line = m->line;
				}
				return T_FALSE;
			}
		}
		return T_MAYBE;
	}
	/* the field is always absent */
	if (m->neq)
		goto absent_false;
	int any = 0, every = 1;
	for (uint32_t i = 0; i < m->nvalues; i++) {
		const struct sg_value *v = &m->values[i];
		int t;
		if (v->kind == VK_NULL || (v->kind == VK_EXISTS && v->num == 0))
			t = T_TRUE;
		else if (v->kind == VK_TIME)
			return T_MAYBE; /* falls back to the event time */
		else
			t = T_FALSE;
		any |= t == T_TRUE;
		every &= t == T_TRUE;
	}
	if (m->all ? every : any) {
		if (!d->missing) {
			d->missing = name;
			d->line = m->line;
		}
		return T_TRUE;
	}
absent_false:
	if (!d->missing) {
		d->missing = name;
		d->line = m->line;
	}
	return T_FALSE;
}

static int eval_sel(struct dctx *d, const struct sg_sel *s)
{
	int res = T_FALSE;
	for (uint32_t g = 0; g < s->n; g++) {
		int gr = T_TRUE;
		for (uint32_t i = 0; i < s->g[g].n && gr != T_FALSE; i++) {
			int t = eval_matcher(d, &s->g[g].m[i]);
			if (t == T_FALSE)
				gr = T_FALSE;
			else if (t == T_MAYBE)
				gr = T_MAYBE;
		}
		if (gr == T_TRUE)
			return T_TRUE;
		if (gr == T_MAYBE)
			res = T_MAYBE;
	}
	return res;
}

static int eval_cond(struct dctx *d, const struct sg_rule *r, const struct sg_cond *c)
{
	switch (c->op) {
	case OP_SEL:
		return c->sel < r->nsels ? eval_sel(d, &r->sels[c->sel]) : T_MAYBE;
	case OP_CONST:
		return c->k ? T_TRUE : T_FALSE;
	case OP_NOT: {
		int t = c->n ? eval_cond(d, r, c->kids[0]) : T_MAYBE;
		return t == T_MAYBE ? T_MAYBE : !t;
	}
	case OP_AND: {
		int res = T_TRUE;
		for (uint32_t i = 0; i < c->n; i++) {
			int t = eval_cond(d, r, c->kids[i]);
			if (t == T_FALSE)
				return T_FALSE;
			if (t == T_MAYBE)
				res = T_MAYBE;
		}
		return res;
	}
	case OP_OR: {
		int res = T_FALSE;
		for (uint32_t i = 0; i < c->n; i++) {
			int t = eval_cond(d, r, c->kids[i]);
			if (t == T_TRUE)
				return T_TRUE;
			if (t == T_MAYBE)
				res = T_MAYBE;
		}
		return res;
	}
	case OP_NOF: {
		uint32_t yes = 0, maybe = 0;
		for (uint32_t i = 0; i < c->n; i++) {
			int t = eval_cond(d, r, c->kids[i]);
			yes += t == T_TRUE;
			maybe += t == T_MAYBE;
		}
		if (yes >= c->k)
			return T_TRUE;
		return yes + maybe >= c->k ? T_MAYBE : T_FALSE;
	}
	default:
		return T_MAYBE;
	}
}

int vg_sigma_field_produced(const char *product, const char *category, const char *service, const char *field)
{
	struct sg_rule r;
	struct applicable ap;
	memset(&r, 0, sizeof(r));
	r.pub.product = product;
	r.pub.category = category;
	r.pub.service = service;
	applicable_for(&r, &ap);
	if (ap.open)
		return -1;
	return produced(&ap, field);
}

int vg_sigma_rule_dead(const struct sg_rule *r, char *why, size_t whylen, unsigned *line)
{
	struct applicable ap;
	struct dctx d = { &ap, NULL, 0 };

	applicable_for(r, &ap);
	if (ap.open || !r->cond)
		return 0;
	if (eval_cond(&d, r, r->cond) != T_FALSE)
		return 0;
	char ls[160];
	snprintf(ls, sizeof(ls), "%s%s%s%s%s", r->pub.product ? r->pub.product : "",
		 r->pub.product && r->pub.category ? "/" : "", r->pub.category ? r->pub.category : "",
		 r->pub.service ? "/" : "", r->pub.service ? r->pub.service : "");
	*line = d.line;
	if (d.missing)
		snprintf(why, whylen, "field %s is never produced for logsource %s", d.missing, ls);
	else
		snprintf(why, whylen, "condition can never be true for logsource %s", ls);
	return 1;
}

void vg_ruleset_set_field_check(struct vg_ruleset *rs, int on)
{
	rs->no_field_check = !on;
}
