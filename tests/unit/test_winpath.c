/* test_winpath.c - unit tests of Windows path classes, program extraction and auto-start locations. */
#include "test.h"
#include "vigil/winpath.h"

#define CLASS(p) vg_path_class_name(vg_path_classify((p), strlen(p)))

TEST(winpath_classes)
{
	ASSERT_STR_EQ(CLASS("C:\\Windows\\System32\\svchost.exe"), "system");
	ASSERT_STR_EQ(CLASS("c:\\windows\\syswow64\\explorer.exe"), "system");
	ASSERT_STR_EQ(CLASS("C:\\Windows\\Temp\\x.exe"), "temp");
	ASSERT_STR_EQ(CLASS("C:\\Users\\bob\\AppData\\Local\\Temp\\a\\setup.exe"), "temp");
	ASSERT_STR_EQ(CLASS("C:\\Users\\bob\\AppData\\Roaming\\x.exe"), "appdata");
	ASSERT_STR_EQ(CLASS("C:\\Users\\bob\\Downloads\\x.exe"), "downloads");
	ASSERT_STR_EQ(CLASS("C:\\Users\\bob\\x.exe"), "user_profile");
	ASSERT_STR_EQ(CLASS("C:\\Users\\Public\\x.exe"), "public");
	ASSERT_STR_EQ(CLASS("C:\\ProgramData\\x\\y.exe"), "programdata");
	ASSERT_STR_EQ(CLASS("C:\\Program Files (x86)\\App\\a.exe"), "program_files");
	ASSERT_STR_EQ(CLASS("\\Device\\HarddiskVolume3\\Windows\\explorer.exe"), "system");
	ASSERT_STR_EQ(CLASS("\\\\?\\C:\\Users\\Public\\x.exe"), "public");
	ASSERT_STR_EQ(CLASS("D:\\tools\\x.exe"), "other");
	ASSERT_STR_EQ(CLASS("c:\\windows\\tasks\\taskhost.exe"), "windows_writable");
	ASSERT_TRUE(vg_path_class_user_writable(VG_PATH_WINDOWS_WRITABLE));
	ASSERT_STR_EQ(CLASS(""), "other");
	ASSERT_TRUE(vg_path_class_user_writable(VG_PATH_APPDATA));
	ASSERT_TRUE(!vg_path_class_user_writable(VG_PATH_SYSTEM));
}

TEST(winpath_cmdline_program)
{
	char out[512];
	ASSERT_EQ(vg_cmdline_program("\"C:\\A B\\x.exe\" /s", 17, out, sizeof(out)), 12);
	ASSERT_STR_EQ(out, "C:\\A B\\x.exe");
	const char *c = "C:\\Program Files\\App\\app.exe -k netsvcs";
	vg_cmdline_program(c, strlen(c), out, sizeof(out));
	ASSERT_STR_EQ(out, "C:\\Program Files\\App\\app.exe");
	c = "%APPDATA%\\evil\\run.exe";
	vg_cmdline_program(c, strlen(c), out, sizeof(out));
	ASSERT_STR_EQ(out, "C:\\Users\\user\\AppData\\Roaming\\evil\\run.exe");
	c = "rundll32.exe C:\\x\\b.dll,Start";
	vg_cmdline_program(c, strlen(c), out, sizeof(out));
	ASSERT_STR_EQ(out, "rundll32.exe");
	ASSERT_EQ(vg_cmdline_program("", 0, out, sizeof(out)), 0);
	c = "\"unterminated";
	vg_cmdline_program(c, strlen(c), out, sizeof(out));
	ASSERT_STR_EQ(out, "unterminated");
	ASSERT_STR_EQ(vg_path_basename("C:\\a\\b.exe"), "b.exe");
	ASSERT_STR_EQ(vg_path_basename("b.exe"), "b.exe");
}

TEST(winpath_autostart)
{
#define REG(k) vg_autostart_registry((k), strlen(k))
	ASSERT_EQ(REG("HKU\\S-1-5-21\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDrive"), VG_PERSIST_RUN_KEY);
	ASSERT_EQ(REG("HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\x"), VG_PERSIST_RUN_KEY);
	ASSERT_EQ(REG("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer\\Run\\x"), VG_PERSIST_RUN_KEY);
	ASSERT_EQ(REG("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\Userinit"), VG_PERSIST_WINLOGON);
	ASSERT_EQ(REG("HKLM\\System\\CurrentControlSet\\Services\\evil\\ImagePath"), VG_PERSIST_SERVICE);
	ASSERT_EQ(REG("HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\sethc.exe\\Debugger"), VG_PERSIST_IFEO);
	ASSERT_EQ(REG("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\x"), VG_PERSIST_NONE);
	ASSERT_EQ(REG("HKLM\\System\\CurrentControlSet\\Services\\evil\\Start"), VG_PERSIST_NONE);
	const char *f = "C:\\Users\\b\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\x.lnk";
	ASSERT_EQ(vg_autostart_file(f, strlen(f)), VG_PERSIST_STARTUP_FOLDER);
	f = "C:\\Windows\\System32\\Tasks\\Updater";
	ASSERT_EQ(vg_autostart_file(f, strlen(f)), VG_PERSIST_SCHEDULED_TASK);
#undef REG
}
