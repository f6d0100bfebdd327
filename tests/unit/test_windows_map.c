/* test_windows_map.c - unit tests of the Windows record mapper (Sysmon and Security events into vg_event) and the JSON forms. */
#include <stdarg.h>

#include "test.h"
#include "vigil/buf.h"
#include "vigil/json.h"
#include "vigil/source.h"
#include "vigil/winrec.h"

#define sysmon vg_test_sysmon

TEST(map_sysmon_process_create)
{
	struct vg_event *ev = sysmon(1, "2018-03-06T20:00:00.000Z", "UtcTime", "2018-03-06 20:00:01.500",
				     "ProcessGuid", "{A-1}", "ProcessId", "1234", "Image", "C:\\x.exe",
				     "CommandLine", "x.exe -a", "ParentProcessGuid", "{A-0}", "ParentProcessId",
				     "99", "ParentImage", "C:\\Windows\\explorer.exe", NULL);
	ASSERT_EQ(ev->type, VG_EV_PROCESS_START);
	ASSERT_EQ(ev->source, VG_SRC_SYSMON);
	ASSERT_EQ(ev->platform, VG_PLATFORM_WINDOWS);
	ASSERT_STR_EQ(ev->proc.key, "{A-1}");
	ASSERT_EQ(ev->proc.pid, 1234);
	ASSERT_STR_EQ(ev->proc.command_line, "x.exe -a");
	ASSERT_STR_EQ(ev->parent.image, "C:\\Windows\\explorer.exe");
	ASSERT_EQ(ev->parent.pid, 99);
	/* UtcTime is the event's own time */
	char t[40];
	ASSERT_STR_EQ(vg_time_format(ev->time_ns, t, sizeof(t)), "2018-03-06T20:00:01.500000Z");
	/* System values are raw fields with Sigma's names, and nothing is lost */
	ASSERT_STR_EQ(vg_event_get(ev, "EventID"), "1");
	ASSERT_STR_EQ(vg_event_get(ev, "Provider_Name"), "Microsoft-Windows-Sysmon");
	ASSERT_STR_EQ(vg_event_get(ev, "Computer"), "host1");
	ASSERT_STR_EQ(vg_event_get(ev, "UtcTime"), "2018-03-06 20:00:01.500");
	ASSERT_EQ(ev->nraw, ev->nfields);
	vg_event_free(ev);
}

TEST(map_sysmon_access_and_registry)
{
	struct vg_event *ev = sysmon(10, "2018-03-06T20:00:00Z", "SourceProcessGUID", "{S}", "SourceProcessId",
				     "10", "SourceImage", "C:\\a.exe", "TargetProcessGUID", "{T}",
				     "TargetProcessId", "11", "TargetImage", "C:\\Windows\\SysWOW64\\explorer.exe",
				     "GrantedAccess", "0x1FFFFF", NULL);
	ASSERT_EQ(ev->type, VG_EV_PROCESS_ACCESS);
	ASSERT_STR_EQ(ev->proc.key, "{S}");
	ASSERT_STR_EQ(ev->target.key, "{T}");
	ASSERT_EQ(ev->access.granted_access, 0x1fffff);
	vg_event_free(ev);

	ev = sysmon(13, "2018-03-06T20:00:00Z", "EventType", "SetValue", "ProcessGuid", "{P}", "Image",
		    "C:\\Windows\\SysWOW64\\explorer.exe", "TargetObject",
		    "HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDrive", "Details",
		    "\"C:\\Users\\u\\AppData\\Roaming\\qwe.exe\" /start", NULL);
	ASSERT_EQ(ev->type, VG_EV_REGISTRY_SET);
	ASSERT_EQ(ev->persist.kind, VG_PERSIST_RUN_KEY);
	ASSERT_STR_EQ(ev->persist.target, "C:\\Users\\u\\AppData\\Roaming\\qwe.exe");
	vg_event_free(ev);

	ev = sysmon(12, "2018-03-06T20:00:00Z", "EventType", "DeleteValue", "TargetObject", "HKLM\\x", NULL);
	ASSERT_EQ(ev->type, VG_EV_REGISTRY_DELETE);
	vg_event_free(ev);
	ev = sysmon(25, "2018-03-06T20:00:00Z", "ProcessGuid", "{H}", "Image", "C:\\e.exe", "Type",
		    "Image is replaced", NULL);
	ASSERT_EQ(ev->type, VG_EV_PROCESS_TAMPER);
	ASSERT_STR_EQ(ev->access.tamper_type, "Image is replaced");
	vg_event_free(ev);
	ev = sysmon(255, "2018-03-06T20:00:00Z", "Whatever", "kept", NULL);
	ASSERT_EQ(ev->type, VG_EV_OTHER);
	ASSERT_STR_EQ(vg_event_get(ev, "Whatever"), "kept");
	vg_event_free(ev);
}

TEST(map_security_4688_aliases)
{
	struct vg_winrec rec = { 0 };
	struct vg_event *ev = vg_event_new();

	vg_event_reset(ev);
	rec.event_id = 4688;
	rec.has_event_id = 1;
	rec.channel = (struct vg_slice){ "Security", 8 };
	rec.provider = (struct vg_slice){ "Microsoft-Windows-Security-Auditing", 35 };
	rec.time = (struct vg_slice){ "2019-01-01T00:00:00Z", 20 };
#define ADD(n, v) vg_winrec_add(&rec, n, strlen(n), v, strlen(v))
	ADD("SubjectUserName", "bob");
	ADD("NewProcessId", "0x1a4");
	ADD("NewProcessName", "C:\\Windows\\System32\\cmd.exe");
	ADD("ProcessId", "0x10");
	ADD("CommandLine", "cmd /c whoami");
	ADD("ParentProcessName", "C:\\Windows\\explorer.exe");
	ADD("MandatoryLabel", "S-1-16-12288");
#undef ADD
	vg_windows_map(&rec, ev);
	ASSERT_EQ(ev->type, VG_EV_PROCESS_START);
	ASSERT_EQ(ev->source, VG_SRC_SECURITY);
	ASSERT_EQ(ev->proc.pid, 0x1a4);
	ASSERT_EQ(ev->parent.pid, 0x10);
	ASSERT_STR_EQ(vg_event_get(ev, "Image"), "C:\\Windows\\System32\\cmd.exe");
	ASSERT_STR_EQ(vg_event_get(ev, "ParentImage"), "C:\\Windows\\explorer.exe");
	ASSERT_STR_EQ(vg_event_get(ev, "IntegrityLevel"), "High");
	ASSERT_NULL(ev->proc.key); /* the tree gives it one */
	vg_winrec_free_items(&rec);
	vg_event_free(ev);
}

static struct vg_event *from_json(const char *text, int *rc)
{
	struct vg_json_doc doc;
	struct vg_event *ev = vg_event_new();
	vg_event_reset(ev);
	vg_json_doc_init(&doc);
	*rc = vg_json_flatten(&doc, text, strlen(text), NULL);
	if (*rc == 0)
		*rc = vg_event_from_json(&doc, ev);
	vg_json_doc_free(&doc);
	return ev;
}

TEST(json_forms_all_map_alike)
{
	const char *forms[] = {
		"{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":\"Microsoft-Windows-Sysmon\"}},"
		"\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":\"h\","
		"\"TimeCreated\":{\"#attributes\":{\"SystemTime\":\"2020-01-01T00:00:00Z\"}}},"
		"\"EventData\":{\"ProcessGuid\":\"{G}\",\"Image\":\"C:\\\\a.exe\",\"ProcessId\":5}}}",
		"{\"EventTime\":\"2020-01-01 00:00:00\",\"Hostname\":\"h\",\"SourceName\":\"Microsoft-Windows-Sysmon\","
		"\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"ProcessID\":777,"
		"\"ProcessGuid\":\"{G}\",\"Image\":\"C:\\\\a.exe\",\"ProcessId\":\"5\"}",
		"{\"@timestamp\":\"2020-01-01T00:00:00.000Z\",\"winlog\":{\"event_id\":1,\"channel\":"
		"\"Microsoft-Windows-Sysmon/Operational\",\"provider_name\":\"Microsoft-Windows-Sysmon\","
		"\"computer_name\":\"h\",\"event_data\":{\"ProcessGuid\":\"{G}\",\"Image\":\"C:\\\\a.exe\",\"ProcessId\":\"5\"}}}",
	};
	for (size_t i = 0; i < 3; i++) {
		int rc;
		struct vg_event *ev = from_json(forms[i], &rc);
		ASSERT_EQ(rc, 0);
		ASSERT_EQ(ev->type, VG_EV_PROCESS_START);
		ASSERT_EQ(ev->source, VG_SRC_SYSMON);
		ASSERT_STR_EQ(ev->proc.image, "C:\\a.exe");
		ASSERT_EQ(ev->proc.pid, 5);
		ASSERT_STR_EQ(ev->host, "h");
		ASSERT_EQ(ev->time_ns, 1577836800000000000LL);
		vg_event_free(ev);
	}
	int rc;
	struct vg_event *ev = from_json("{\"hello\":\"world\"}", &rc);
	ASSERT_EQ(rc, VG_EFORMAT);
	vg_event_free(ev);
}

TEST(json_vg_event_round_trip)
{
	struct vg_event *ev = sysmon(3, "2018-03-06T20:00:00Z", "ProcessGuid", "{N}", "Image", "C:\\m.exe",
				     "Protocol", "tcp", "Initiated", "true", "DestinationIp", "203.0.113.9",
				     "DestinationPort", "3333", NULL);
	struct vg_buf b = { 0 };
	int rc;

	vg_event_write_json(ev, &b);
	struct vg_event *back = from_json(b.p, &rc);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(back->type, VG_EV_NETWORK_CONNECT);
	ASSERT_EQ(back->net.dst_port, 3333);
	ASSERT_STR_EQ(back->net.dst_ip, "203.0.113.9");
	ASSERT_EQ(back->net.initiated, 1);
	ASSERT_STR_EQ(back->proc.key, "{N}");
	ASSERT_EQ(back->time_ns, ev->time_ns);
	ASSERT_EQ(back->nraw, ev->nraw);
	ASSERT_STR_EQ(vg_event_get(back, "DestinationPort"), "3333");
	vg_buf_free(&b);
	vg_event_free(ev);
	vg_event_free(back);
}
