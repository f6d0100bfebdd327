/* sigma_logsource.c - which Sigma logsource (product, category, service) an event belongs to: Sysmon ids, Windows channels, Linux event types. */
#include <pthread.h>
#include <string.h>

#include "engine/sigma_int.h"

#define LS_UNUSED (-3) /* empty slot in a class: equal to no rule value */

/* Every logsource name an event can carry. Rules naming anything else never match. */
static const char *const ls_names[] = {
	/* products */
	"windows", "linux",
	/* categories */
	"process_creation", "file_change", "network_connection", "sysmon_status", "process_termination",
	"driver_load", "image_load", "create_remote_thread", "raw_access_thread", "process_access",
	"file_event", "registry_add", "registry_delete", "registry_set", "registry_rename", "registry_event",
	"create_stream_hash", "pipe_created", "wmi_event", "dns_query", "file_delete", "clipboard_change",
	"process_tampering", "file_block_executable", "file_block_shredding", "file_executable_detected",
	"sysmon_error", "ps_module", "ps_script", "ps_classic_start", "ps_classic_provider_start",
	"ps_classic_script", "dns", "file_rename",
	/* services */
	"sysmon", "security", "system", "application", "powershell", "powershell-classic", "taskscheduler",
	"wmi", "windefend", "bits-client", "dns-server", "dns-server-audit", "dns-server-analytic",
	"firewall-as", "driver-framework", "codeintegrity-operational", "ntlm", "dhcp",
	"msexchange-management", "applocker", "printservice-admin", "printservice-operational",
	"smbclient-security", "smbclient-connectivity", "smbserver-connectivity",
	"terminalservices-localsessionmanager", "microsoft-servicebus-client", "ldap_debug", "ldap",
	"security-mitigations", "diagnosis-scripted", "shell-core", "openssh", "bitlocker", "vhdmp",
	"appxdeployment-server", "lsa-server", "appxpackaging-om", "dns-client", "appmodel-runtime", "capi2",
	"certificateservicesclient-lifecycle-system", "iis-configuration",
};
#define NLS (sizeof(ls_names) / sizeof(*ls_names))

int vg_sigma_ls_id(const char *name)
{
	for (size_t i = 0; i < NLS; i++)
		if (vg_strcaseeq(ls_names[i], name))
			return (int)i;
	return LS_NEVER;
}

const char *vg_sigma_ls_name(int id)
{
	return id >= 0 && (size_t)id < NLS ? ls_names[id] : NULL;
}

/* Sysmon event id -> categories (12 is split by EventType below). */
static const struct {
	uint16_t eid;
	const char *cat, *cat2;
} sysmon_map[] = {
	{ 1, "process_creation", NULL }, { 2, "file_change", NULL }, { 3, "network_connection", NULL },
	{ 4, "sysmon_status", NULL }, { 5, "process_termination", NULL }, { 6, "driver_load", NULL },
	{ 7, "image_load", NULL }, { 8, "create_remote_thread", NULL }, { 9, "raw_access_thread", NULL },
	{ 10, "process_access", NULL }, { 11, "file_event", NULL }, { 12, "registry_event", NULL },
	{ 13, "registry_set", "registry_event" }, { 14, "registry_rename", "registry_event" },
	{ 15, "create_stream_hash", NULL }, { 16, "sysmon_status", NULL }, { 17, "pipe_created", NULL },
	{ 18, "pipe_created", NULL }, { 19, "wmi_event", NULL }, { 20, "wmi_event", NULL },
	{ 21, "wmi_event", NULL }, { 22, "dns_query", NULL }, { 23, "file_delete", NULL },
	{ 24, "clipboard_change", NULL }, { 25, "process_tampering", NULL }, { 26, "file_delete", NULL },
	{ 27, "file_block_executable", NULL }, { 28, "file_block_shredding", NULL },
	{ 29, "file_executable_detected", NULL }, { 255, "sysmon_error", NULL },
};

/* Windows channel -> service (pySigma's Windows logsource mapping plus a few SigmaHQ uses). */
static const struct {
	const char *channel, *svc, *svc2;
} channel_map[] = {
	{ "Security", "security", NULL },
	{ "System", "system", NULL },
	{ "Application", "application", NULL },
	{ "Microsoft-Windows-Sysmon/Operational", "sysmon", NULL },
	{ "Microsoft-Windows-PowerShell/Operational", "powershell", NULL },
	{ "PowerShellCore/Operational", "powershell", NULL },
	{ "Windows PowerShell", "powershell-classic", NULL },
	{ "Microsoft-Windows-TaskScheduler/Operational", "taskscheduler", NULL },
	{ "Microsoft-Windows-WMI-Activity/Operational", "wmi", NULL },
	{ "Microsoft-Windows-Windows Defender/Operational", "windefend", NULL },
	{ "Microsoft-Windows-Bits-Client/Operational", "bits-client", NULL },
	{ "DNS Server", "dns-server", NULL },
	{ "Microsoft-Windows-DNS-Server/Audit", "dns-server-audit", NULL },
	{ "Microsoft-Windows-DNS-Server/Analytical", "dns-server-analytic", NULL },
	{ "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall", "firewall-as", NULL },
	{ "Microsoft-Windows-DriverFrameworks-UserMode/Operational", "driver-framework", NULL },
	{ "Microsoft-Windows-CodeIntegrity/Operational", "codeintegrity-operational", NULL },
	{ "Microsoft-Windows-NTLM/Operational", "ntlm", NULL },
	{ "Microsoft-Windows-DHCP-Server/Operational", "dhcp", NULL },
	{ "MSExchange Management", "msexchange-management", NULL },
	{ "Microsoft-Windows-AppLocker/MSI and Script", "applocker", NULL },
	{ "Microsoft-Windows-AppLocker/EXE and DLL", "applocker", NULL },
	{ "Microsoft-Windows-AppLocker/Packaged app-Deployment", "applocker", NULL },
	{ "Microsoft-Windows-AppLocker/Packaged app-Execution", "applocker", NULL },
	{ "Microsoft-Windows-PrintService/Admin", "printservice-admin", NULL },
	{ "Microsoft-Windows-PrintService/Operational", "printservice-operational", NULL },
	{ "Microsoft-Windows-SmbClient/Security", "smbclient-security", NULL },
	{ "Microsoft-Windows-SmbClient/Connectivity", "smbclient-connectivity", NULL },
	{ "Microsoft-Windows-SMBServer/Connectivity", "smbserver-connectivity", NULL },
	{ "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
	  "terminalservices-localsessionmanager", NULL },
	{ "Microsoft-ServiceBus-Client", "microsoft-servicebus-client", NULL },
	{ "Microsoft-Windows-LDAP-Client/Debug", "ldap_debug", "ldap" },
	{ "Microsoft-Windows-Security-Mitigations/Kernel Mode", "security-mitigations", NULL },
	{ "Microsoft-Windows-Security-Mitigations/User Mode", "security-mitigations", NULL },
	{ "Microsoft-Windows-Diagnosis-Scripted/Operational", "diagnosis-scripted", NULL },
	{ "Microsoft-Windows-Shell-Core/Operational", "shell-core", NULL },
	{ "OpenSSH/Operational", "openssh", NULL },
	{ "Microsoft-Windows-BitLocker/BitLocker Management", "bitlocker", NULL },
	{ "Microsoft-Windows-VHDMP/Operational", "vhdmp", NULL },
	{ "Microsoft-Windows-AppXDeploymentServer/Operational", "appxdeployment-server", NULL },
	{ "Microsoft-Windows-LSA/Operational", "lsa-server", NULL },
	{ "Microsoft-Windows-AppxPackaging/Operational", "appxpackaging-om", NULL },
	{ "Microsoft-Windows-DNS Client Events/Operational", "dns-client", NULL },
	{ "Microsoft-Windows-DNS-Client/Operational", "dns-client", NULL },
	{ "Microsoft-Windows-AppModel-Runtime/Admin", "appmodel-runtime", NULL },
	{ "Microsoft-Windows-CAPI2/Operational", "capi2", NULL },
	{ "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
	  "certificateservicesclient-lifecycle-system", NULL },
	{ "Microsoft-IIS-Configuration/Operational", "iis-configuration", NULL },
};
#define NCHAN (sizeof(channel_map) / sizeof(*channel_map))

/* PowerShell categories: (service, event id) -> category. */
static const struct {
	const char *svc;
	uint32_t eid;
	const char *cat;
} ps_map[] = {
	{ "powershell", 4103, "ps_module" },
	{ "powershell", 4104, "ps_script" },
	{ "powershell-classic", 400, "ps_classic_start" },
	{ "powershell-classic", 600, "ps_classic_provider_start" },
	{ "powershell-classic", 800, "ps_classic_script" },
};
#define NPS (sizeof(ps_map) / sizeof(*ps_map))

/* Linux (eBPF) event types -> categories. */
static const struct {
	enum vg_event_type type;
	const char *cat, *cat2;
} linux_map[] = {
	{ VG_EV_PROCESS_START, "process_creation", NULL }, { VG_EV_FILE_CREATE, "file_event", NULL },
	{ VG_EV_FILE_WRITE, "file_event", NULL }, { VG_EV_NETWORK_CONNECT, "network_connection", NULL },
	{ VG_EV_DNS_QUERY, "dns_query", "dns" }, { VG_EV_FILE_DELETE, "file_delete", NULL },
	{ VG_EV_FILE_RENAME, "file_rename", NULL }, { VG_EV_PROCESS_EXIT, "process_termination", NULL },
	{ VG_EV_IMAGE_LOAD, "image_load", NULL }, { VG_EV_PROCESS_ACCESS, "process_access", NULL },
	{ VG_EV_PROCESS_TAMPER, "process_tampering", NULL }, { VG_EV_DRIVER_LOAD, "driver_load", NULL },
	/* Vigil's own categories for what Sigma has no name for (docs/sigma.md) */
	{ VG_EV_FILE_CHMOD, "file_chmod", NULL }, { VG_EV_NET_PAYLOAD, "network_payload", NULL },
	{ VG_EV_PROCESS_RENAME, "process_rename", NULL }, { VG_EV_MEMFD, "memfd_create", NULL },
	{ VG_EV_BPF_LOAD, "bpf_load", NULL },
};
#define NLINUX (sizeof(linux_map) / sizeof(*linux_map))

#define MAX_CLASSES 160

static struct {
	pthread_once_t once;
	struct sg_class classes[MAX_CLASSES];
	size_t n;
	uint16_t sysmon[256];            /* by event id */
	uint16_t sysmon_other;
	uint16_t reg_add, reg_delete;    /* Sysmon 12 by EventType */
	uint16_t sec_proc, sec_other;
	uint16_t chan[NCHAN];
	size_t chan_len[NCHAN];
	uint16_t ps[NPS];
	uint16_t win_other;
	uint16_t linux_type[VG_EV__COUNT];
	uint16_t linux_other;
	uint16_t none;
} T = { .once = PTHREAD_ONCE_INIT };

static int id_or_unused(const char *name)
{
	return name ? vg_sigma_ls_id(name) : LS_UNUSED;
}

static uint16_t add_class(const char *product, const char *c1, const char *c2, const char *s1, const char *s2)
{
	struct sg_class c = {
		.product = (int16_t)(product ? vg_sigma_ls_id(product) : LS_UNUSED),
		.cat = { (int16_t)id_or_unused(c1), (int16_t)id_or_unused(c2) },
		.svc = { (int16_t)id_or_unused(s1), (int16_t)id_or_unused(s2) },
	};
	for (size_t i = 0; i < T.n; i++)
		if (memcmp(&T.classes[i], &c, sizeof(c)) == 0)
			return (uint16_t)i;
	if (T.n == MAX_CLASSES) /* cannot happen: the tables above are fixed and smaller */
		return (uint16_t)(T.n - 1);
	T.classes[T.n] = c;
	return (uint16_t)T.n++;
}

static void init_classes(void)
{
	T.none = add_class(NULL, NULL, NULL, NULL, NULL);
	T.sysmon_other = add_class("windows", NULL, NULL, "sysmon", NULL);
	for (size_t i = 0; i < 256; i++)
		T.sysmon[i] = T.sysmon_other;
	for (size_t i = 0; i < sizeof(sysmon_map) / sizeof(*sysmon_map); i++)
		T.sysmon[sysmon_map[i].eid] = add_class("windows", sysmon_map[i].cat, sysmon_map[i].cat2, "sysmon", NULL);
	T.reg_add = add_class("windows", "registry_add", "registry_event", "sysmon", NULL);
	T.reg_delete = add_class("windows", "registry_delete", "registry_event", "sysmon", NULL);
	T.sec_proc = add_class("windows", "process_creation", NULL, "security", NULL);
	T.sec_other = add_class("windows", NULL, NULL, "security", NULL);
	for (size_t i = 0; i < NCHAN; i++) {
		T.chan[i] = add_class("windows", NULL, NULL, channel_map[i].svc, channel_map[i].svc2);
		T.chan_len[i] = strlen(channel_map[i].channel);
	}
	for (size_t i = 0; i < NPS; i++)
		T.ps[i] = add_class("windows", ps_map[i].cat, NULL, ps_map[i].svc, NULL);
	T.win_other = add_class("windows", NULL, NULL, NULL, NULL);
	T.linux_other = add_class("linux", NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < VG_EV__COUNT; i++)
		T.linux_type[i] = T.linux_other;
	for (size_t i = 0; i < NLINUX; i++)
		T.linux_type[linux_map[i].type] = add_class("linux", linux_map[i].cat, linux_map[i].cat2, NULL, NULL);
}

static void init(void)
{
	pthread_once(&T.once, init_classes);
}

size_t vg_sigma_class_count(void)
{
	init();
	return T.n;
}

const struct sg_class *vg_sigma_class(size_t i)
{
	init();
	return i < T.n ? &T.classes[i] : NULL;
}

int vg_sigma_class_accepts(const struct sg_class *c, int product, int category, int service)
{
	return (product == LS_ANY || product == c->product) &&
	       (category == LS_ANY || category == c->cat[0] || category == c->cat[1]) &&
	       (service == LS_ANY || service == c->svc[0] || service == c->svc[1]);
}

static const char *field_text(const struct vg_event *ev, const char *name)
{
	uint32_t id = vg_field_lookup(name, strlen(name));
	const struct vg_field *f = id ? vg_event_field(ev, id) : NULL;
	return f ? f->value : NULL;
}

static size_t sysmon_class(const struct vg_event *ev)
{
	if (ev->event_id == 12) {
		const char *t;
		if (ev->type == VG_EV_REGISTRY_CREATE)
			return T.reg_add;
		if (ev->type == VG_EV_REGISTRY_DELETE)
			return T.reg_delete;
		if ((t = field_text(ev, "EventType"))) {
			if (vg_strcaseeq(t, "CreateKey"))
				return T.reg_add;
			if (vg_strcaseeq(t, "DeleteKey") || vg_strcaseeq(t, "DeleteValue"))
				return T.reg_delete;
		}
	}
	return ev->event_id < 256 ? T.sysmon[ev->event_id] : T.sysmon_other;
}

static size_t windows_class(const struct vg_event *ev)
{
	const char *ch;

	if (ev->source == VG_SRC_SYSMON)
		return sysmon_class(ev);
	if (ev->source == VG_SRC_SECURITY)
		return ev->event_id == 4688 ? T.sec_proc : T.sec_other;
	ch = ev->channel ? ev->channel : field_text(ev, "Channel");
	if (!ch)
		return T.win_other;
	size_t chlen = strlen(ch);
	for (size_t i = 0; i < NCHAN; i++) {
		if (T.chan_len[i] != chlen || !vg_strncaseeq(channel_map[i].channel, ch, chlen))
			continue;
		if (i == 0)
			return ev->event_id == 4688 ? T.sec_proc : T.sec_other;
		if (strcmp(channel_map[i].svc, "sysmon") == 0)
			return sysmon_class(ev);
		for (size_t k = 0; k < NPS; k++)
			if (strcmp(ps_map[k].svc, channel_map[i].svc) == 0 && ps_map[k].eid == ev->event_id)
				return T.ps[k];
		return T.chan[i];
	}
	return T.win_other;
}

size_t vg_sigma_event_class(const struct vg_event *ev)
{
	enum vg_platform p = ev->platform;

	init();
	if (p == VG_PLATFORM_UNKNOWN) {
		if (ev->source == VG_SRC_SYSMON || ev->source == VG_SRC_SECURITY || ev->source == VG_SRC_WINDOWS)
			p = VG_PLATFORM_WINDOWS;
		else if (ev->source == VG_SRC_EBPF)
			p = VG_PLATFORM_LINUX;
	}
	if (p == VG_PLATFORM_WINDOWS)
		return windows_class(ev);
	if (p == VG_PLATFORM_LINUX)
		return (unsigned)ev->type < VG_EV__COUNT ? T.linux_type[ev->type] : T.linux_other;
	return T.none;
}

const char *vg_event_sigma_category(const struct vg_event *ev)
{
	return vg_sigma_ls_name(vg_sigma_class(vg_sigma_event_class(ev))->cat[0]);
}

const char *vg_event_sigma_service(const struct vg_event *ev)
{
	return vg_sigma_ls_name(vg_sigma_class(vg_sigma_event_class(ev))->svc[0]);
}

const char *vg_event_sigma_product(const struct vg_event *ev)
{
	return vg_sigma_ls_name(vg_sigma_class(vg_sigma_event_class(ev))->product);
}
