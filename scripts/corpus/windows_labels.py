#!/usr/bin/env python3
# windows_labels.py [--review]: writes data/corpus/windows-labels.tsv from the per-file decisions below (which processes of each EVTX attack sample are the attacker's); --review prints each file's distinct process starts, the list the decisions were made from.
# Decisions: family, attacker patterns (i: image substring, c: command-line substring); descendants inherit. Never from rule hits.
import collections, json, os, subprocess, sys
ROOT = os.environ.get("VIGIL_SAMPLES", "/work/shared/data/evtx-attack-samples")
VIGIL = os.environ.get("VIGIL", "build/vigil")

def starts():
    out = {}
    for dp, dn, fn in os.walk(ROOT):
        for f in sorted(fn):
            if not f.endswith(".evtx"):
                continue
            p = os.path.join(dp, f)
            r = subprocess.run([VIGIL, "events", p], capture_output=True, text=True)
            rows = collections.OrderedDict()
            for l in r.stdout.splitlines():
                try:
                    d = json.loads(l)
                except ValueError:
                    continue
                if d.get("event", {}).get("type") != "process_start":
                    continue
                pr, pa = d.get("process", {}), d.get("parent", {})
                rows[(pr.get("executable", ""), (pr.get("command_line") or "")[:160], (pa.get("executable") or ""))] = 1
            if rows:
                out[os.path.relpath(p, ROOT)] = list(rows)
    return out
L = {
"UACME_59_Sysmon.evtx": ("UACBypass", ["i:akagi", "c:/S /D /c\" dir"]),
"Privilege Escalation/UACME_59_Sysmon.evtx": ("UACBypass", ["i:akagi", "c:/S /D /c\" dir"]),
"Defense Evasion/DE_BYOV_Zam64_CA_Memdump_sysmon_7_10.evtx": ("CredentialDump", ["i:ppldump"]),
"Defense Evasion/DE_EventLog_Service_Crashed.evtx": ("none", []),
"Defense Evasion/DE_ProcessHerpaderping_Sysmon_11_10_1_7.evtx": ("DefenseEvasion", ["i:samir.exe", "i:ProcessHerpaderping"]),
"Defense Evasion/DE_UAC_Disabled_Sysmon_12_13.evtx": ("DefenseEvasion", ["c:EnableLUA"]),
"Defense Evasion/DE_remote_eventlog_svc_crash_byt3bl33d3r_sysmon_17_1_3.evtx": ("none", []),
"Defense Evasion/DSE_bypass_BYOV_TDL_dummydriver_sysmon_6_7_13.evtx": ("DefenseEvasion", ["i:Furutaka"]),
"Defense Evasion/Sysmon 7  Update Session Orchestrator Dll Hijack.evtx": ("DllHijack", ["c:CreateBackdoor", "i:nc.exe", "c:StartInteractiveScan"]),
"Defense Evasion/Sysmon 7 dllhijack_cdpsshims_CDPSvc.evtx": ("DllHijack", ["i:nc.exe", "c:stop CDPSvc", "c:query CDPSvc", "c:start CDPSvc"]),
"Defense Evasion/apt10_jjs_sideloading_prochollowing_persist_as_service_sysmon_1_7_8_13.evtx": ("APT10", ["i:info.rar\\jjs.exe"]),
"Defense Evasion/de_PsScriptBlockLogging_disabled_sysmon12_13.evtx": ("none", []),
"Defense Evasion/de_hiding_files_via_attrib_cmdlet.evtx": ("DefenseEvasion", ["c:+h nbtscan"]),
"Defense Evasion/de_portforward_netsh_rdp_sysmon_13_1.evtx": ("DefenseEvasion", ["c:connectp=3389"]),
"Defense Evasion/evasion_codeinj_odzhan_conhost_sysmon_10_1.evtx": ("CodeInjection", ["i:chost.exe", "c:notepad"]),
"Defense Evasion/evasion_codeinj_odzhan_spoolsv_sysmon_10_1.evtx": ("CodeInjection", ["i:tools\\cinj\\spooler.exe", "c:notepad"]),
"Defense Evasion/faxhell_sysmon_7_1_18_3_bindshell_dllhijack.evtx": ("DllHijack", ["c:c:\\windows\\system32\\cmd.exe\"", "i:whoami"]),
"Defense Evasion/sideloading_wwlib_sysmon_7_1_11.evtx": ("DllHijack", ["c:calc.exe"]),
"Defense Evasion/sysmon_10_1_ppid_spoofing.evtx": ("DefenseEvasion", ["c:\"C:\\windows\\system32\\cmd.exe\""]),
"Defense Evasion/sysmon_13_rdp_settings_tampering.evtx": ("DefenseEvasion", ["i:RDPWInst", "c:RDPWrap", "i:UniversalTermsrvPatch"]),
"Execution/Exec_sysmon_meterpreter_reversetcp_msipackage.evtx": ("Meterpreter", ["i:\\Installer\\MSI"]),
"Execution/Sysmon_Exec_CompiledHTML.evtx": ("LOLBinExec", ["c:Fax Record"]),
"Execution/Sysmon_meterpreter_ReflectivePEInjection_to_notepad_.evtx": ("Meterpreter", ["i:rundll32.exe"]),
"Execution/evasion_execution_imageload_wuauclt_lolbas.evtx": ("LOLBinExec", ["i:cmd.exe"]),
"Execution/exec_driveby_cve-2018-15982_sysmon_1_10.evtx": ("Exploit", ["i:cmd.exe"]),
"Execution/exec_msxsl_xsl_sysmon_1_7.evtx": ("LOLBinExec", ["i:msxsl.exe"]),
"Execution/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx": ("LOLBinExec", ["c:RunHTMLApplication", "i:mshta.exe", "c:MSOFFICE_"]),
"Execution/exec_sysmon_1_11_lolbin_rundll32_openurl_FileProtocolHandler.evtx": ("WinPwnage", ["c:winpwnage", "c:url.dll", "c:calc.hta"]),
"Execution/exec_sysmon_1_11_lolbin_rundll32_shdocvw_openurl.evtx": ("WinPwnage", ["c:winpwnage"]),
"Execution/exec_sysmon_1_11_lolbin_rundll32_zipfldr_RouteTheCall.evtx": ("WinPwnage", ["c:winpwnage"]),
"Execution/exec_sysmon_1_7_jscript9_defense_evasion.evtx": ("LOLBinExec", ["i:winpm.exe", "c:SCTPersistence"]),
"Execution/exec_sysmon_1_ftp.evtx": ("WinPwnage", ["c:winpwnage", "c:/C c:\\Windows\\system32\\calc.exe"]),
"Execution/exec_sysmon_1_lolbin_pcalua.evtx": ("LOLBinExec", ["i:pcalua.exe"]),
"Execution/exec_sysmon_1_lolbin_renamed_regsvr32_scrobj.evtx": ("LOLBinExec", ["i:jabber.exe"]),
"Execution/exec_sysmon_1_lolbin_rundll32_advpack_RegisterOCX.evtx": ("LOLBinExec", ["c:advpack.dll"]),
"Execution/exec_sysmon_1_rundll32_pcwutl_LaunchApplication.evtx": ("LOLBinExec", ["c:pcwutl.dll"]),
"Execution/exec_sysmon_lobin_regsvr32_sct.evtx": ("LOLBinExec", ["c:pastebin.com"]),
"Execution/exec_wmic_xsl_internet_sysmon_3_1_11.evtx": ("LOLBinExec", ["c:/format:\"https"]),
"Execution/execution_evasion_visual_studio_prebuild_event.evtx": ("LOLBinExec", ["c:AppData\\Local\\Temp\\tmp"]),
"Execution/revshell_cmd_svchost_sysmon_1.evtx": ("ReverseShell", ["c:C:\\Windows\\system32\\cmd.exe"]),
"Execution/susp_explorer_exec.evtx": ("LOLBinExec", ["i:wscript.exe", "c:shell:::{769f9427"]),
"Execution/susp_explorer_exec_root_cmdline_@rimpq_@CyberRaiju.evtx": ("LOLBinExec", ["c:/root,"]),
"Execution/sysmon_11_1_lolbas_downldr_desktopimgdownldr.evtx": ("LOLBinExec", ["c:desktopimgdownldr"]),
"Execution/sysmon_1_11_rundll32_cpl_ostap.evtx": ("Ostap", ["c:Invoice@0582.cpl"]),
"Execution/sysmon_exec_from_vss_persistence.evtx": ("Meterpreter", ["c:whoami /groups", "c:/output:C:\\Windows\\TEMP", "c:vssadmin List Shadows", "c:HarddiskVolumeShadowCopy", "c:eyNQLDvUSuvVPg", "i:svhost64.exe"]),
"Execution/sysmon_lolbas_rundll32_zipfldr_routethecall_shell.evtx": ("LOLBinExec", ["c:RouteTheCall"]),
"Execution/sysmon_lolbin_bohops_vshadow_exec.evtx": ("LOLBinExec", ["i:ProgramData\\vshadow.exe"]),
"Execution/sysmon_mshta_sharpshooter_stageless_meterpreter.evtx": ("Meterpreter", ["i:mshta.exe"]),
"Execution/sysmon_vbs_sharpshooter_stageless_meterpreter.evtx": ("Meterpreter", ["i:wscript.exe"]),
"Execution/sysmon_zipexec.evtx": ("LOLBinExec", ["c:testme.js"]),
"Command and Control/DE_RDP_Tunnel_5156.evtx": ("Tunneling", ["i:plink.exe"]),
"Command and Control/DE_sysmon-3-rdp-tun.evtx": ("Tunneling", ["i:plink.exe"]),
"Lateral Movement/ImpersonateUser-via local Pass The Hash Sysmon and Security.evtx": ("LateralMovement", ["c:-Version 5.1 -s -NoLogo", "i:cmd.exe"]),
"Lateral Movement/LM_4624_mimikatz_sekurlsa_pth_source_machine.evtx": ("Mimikatz", ["i:cmd.exe"]),
"Lateral Movement/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx": ("LateralMovement", ["c:mshta.exe -Embedding"]),
"Lateral Movement/LM_PowershellRemoting_sysmon_1_wsmprovhost.evtx": ("LateralMovement", ["i:HOSTNAME.EXE"]),
"Lateral Movement/LM_ScheduledTask_ATSVC_target_host.evtx": ("LateralMovement", ["i:cmd.exe", "i:tasklist.exe"]),
"Lateral Movement/LM_WMIC_4648_rpcss.evtx": ("LateralMovement", ["i:WMIC.exe"]),
"Lateral Movement/LM_WMI_4624_4688_TargetHost.evtx": ("LateralMovement", ["i:calc.exe"]),
"Lateral Movement/LM_impacket_docmexec_mmc_sysmon_01.evtx": ("Impacket", ["c:ADMIN$\\__"]),
"Lateral Movement/LM_sysmon_1_12_13_3_tsclient_SharpRdp.evtx": ("LateralMovement", ["i:\\\\tsclient\\"]),
"Lateral Movement/LM_sysmon_3_12_13_1_SharpRDP.evtx": ("LateralMovement", ["c:cmd.exe"]),
"Lateral Movement/LM_sysmon_psexec_smb_meterpreter.evtx": ("Meterpreter", ["c:-nop -w hidden"]),
"Lateral Movement/LM_typical_IIS_webshell_sysmon_1_10_traces.evtx": ("Webshell", ["c:/c net user"]),
"Lateral Movement/LM_winrm_exec_sysmon_1_winrshost.evtx": ("LateralMovement", ["c:/C ipconfig"]),
"Lateral Movement/LM_wmi_PoisonHandler_Mr-Un1k0d3r_sysmon_1_13.evtx": ("LateralMovement", ["c:ms-browser://", "c:/c notepad.exe"]),
"Lateral Movement/LM_wmiexec_impacket_sysmon_whoami.evtx": ("Impacket", ["c:ADMIN$\\__"]),
"Lateral Movement/lm_remote_registry_sysmon_1_13_3.evtx": ("none", []),
"Lateral Movement/lm_sysmon_18_remshell_over_namedpipe.evtx": ("LateralMovement", ["c:-s -NoLogo -NoProfile"]),
"Lateral Movement/powercat_revShell_sysmon_1_3.evtx": ("ReverseShell", ["i:NETSTAT.EXE", "c:\"cmd\""]),
"Lateral Movement/remote_file_copy_system_proc_file_write_sysmon_11.evtx": ("LateralMovement", ["i:PSEXESVC"]),
"Lateral Movement/sharprdp_sysmon_7_mstscax.dll.evtx": ("LateralMovement", ["i:SharpRDP"]),
"Lateral Movement/smbmap_upload_exec_sysmon.evtx": ("Impacket", ["c:\\\\127.0.0.1\\C$\\"]),
"Lateral Movement/sysmon_1_exec_via_sql_xpcmdshell.evtx": ("LateralMovement", ["c:netstat.txt"]),
"Lateral Movement/wmi_remote_registry_sysmon.evtx": ("none", []),
"AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx": ("AtomicTests", ["c:powershell", "c:AtomicRedTeam", "i:AtomicService"]),
"AutomatedTestingTools/panache_sysmon_vs_EDRTestingScript.evtx": ("AtomicTests", ["c:runtests.bat"]),
"AutomatedTestingTools/Malware/DE_timestomp_and_dll_sideloading_and_RunPersist.evtx": ("PlugX", ["i:Flash_update.exe", "i:NvSmart.exe"]),
"AutomatedTestingTools/Malware/rundll32_cmd_schtask.evtx": ("Qbot", ["c:conf3234.dll", "c:DATAUS~1.DLL"]),
"AutomatedTestingTools/Malware/rundll32_hollowing_wermgr_masquerading.evtx": ("Qbot", ["i:wermgr.exe"]),
"AutomatedTestingTools/Malware/sideloading_injection_persistence_run_key.evtx": ("PlugX", ["c:Internet Explorer\\iexplore.exe\""]),
"AutomatedTestingTools/Malware/sideloading_uacbypass_rundll32_injection_c2.evtx": ("PlugX", ["i:apt\\wwlib\\test.exe"]),
"Privilege Escalation/CVE-2020-0796_SMBV3Ghost_LocalPrivEsc_Sysmon_3_1_10.evtx": ("Exploit", ["i:cmd.exe"]),
"Privilege Escalation/EfsPotato_sysmon_17_18_privesc_seimpersonate_to_system.evtx": ("PotatoPrivEsc", ["i:EfsPotato"]),
"Privilege Escalation/NTLM2SelfRelay-med0x2e-security_4624_4688.evtx": ("PotatoPrivEsc", ["i:notepad.exe"]),
"Privilege Escalation/PrivEsc_Imperson_NetSvc_to_Sys_Decoder_Sysmon_1_17_18.evtx": ("PotatoPrivEsc", ["i:NetworkServiceExploit"]),
"Privilege Escalation/RogueWinRM.evtx": ("PotatoPrivEsc", ["i:RogueWinRM"]),
"Privilege Escalation/Sysmon_13_1_UACBypass_SDCLTBypass.evtx": ("UACBypass", ["i:sdclt.exe"]),
"Privilege Escalation/Sysmon_13_1_UAC_Bypass_EventVwrBypass.evtx": ("UACBypass", ["i:eventvwr.exe"]),
"Privilege Escalation/Sysmon_UACME_22.evtx": ("UACBypass", ["i:UACME.exe", "c:\"C:\\Windows\\system32\\cmd.exe\""]),
"Privilege Escalation/Sysmon_UACME_23.evtx": ("UACBypass", ["i:UACME.exe"]),
"Privilege Escalation/Sysmon_UACME_30.evtx": ("UACBypass", ["i:UACME.exe"]),
"Privilege Escalation/Sysmon_UACME_32.evtx": ("UACBypass", ["i:UACME.exe"]),
"Privilege Escalation/Sysmon_UACME_33.evtx": ("UACBypass", ["i:UACME.exe"]),
"Privilege Escalation/Sysmon_UACME_34.evtx": ("UACBypass", ["i:UACME.exe", "c:cleanmgr.exe /autoclean"]),
"Privilege Escalation/Sysmon_UACME_36_FileCreate.evtx": ("UACBypass", ["i:UACME.exe"]),
"Privilege Escalation/Sysmon_UACME_37_FileCreate.evtx": ("UACBypass", ["i:UACME.exe"]),
"Privilege Escalation/Sysmon_UACME_38.evtx": ("UACBypass", ["i:UACME.exe"]),
"Privilege Escalation/Sysmon_UACME_39.evtx": ("UACBypass", ["i:UACME.exe"]),
"Privilege Escalation/Sysmon_UACME_41.evtx": ("UACBypass", ["i:UACME.exe", "c:\"C:\\Windows\\system32\\cmd.exe\" "]),
"Privilege Escalation/Sysmon_UACME_43.evtx": ("UACBypass", ["i:UACME.exe", "c:\"C:\\Windows\\system32\\cmd.exe\" "]),
"Privilege Escalation/Sysmon_UACME_45.evtx": ("UACBypass", ["i:UACME.exe", "i:ChangePk.exe"]),
"Privilege Escalation/Sysmon_UACME_53.evtx": ("UACBypass", ["i:UACME.exe", "c:Folder\\shell\\open"]),
"Privilege Escalation/Sysmon_UACME_54.evtx": ("UACBypass", ["i:UACME.exe"]),
"Privilege Escalation/Sysmon_UACME_56.evtx": ("UACBypass", ["i:UACME.exe", "c:AppX82a6gwre4fdg3bt635t"]),
"Privilege Escalation/Sysmon_UACME_63.evtx": ("UACBypass", ["i:cmd.exe"]),
"Privilege Escalation/Sysmon_UACME_64.evtx": ("UACBypass", ["i:Akagi64", "i:[1]consent.exe"]),
"Privilege Escalation/Sysmon_uacme_58.evtx": ("UACBypass", ["i:Akagi.exe", "i:DNeruK"]),
"Privilege Escalation/UACME_61_Changepk.evtx": ("UACBypass", ["i:cmd.exe"]),
"Privilege Escalation/eop_appcontainer_il_broker_filewrite.evtx": ("Exploit", ["i:POC.exe"]),
"Privilege Escalation/privesc_roguepotato_sysmon_17_18.evtx": ("PotatoPrivEsc", ["i:RoguePotato"]),
"Privilege Escalation/privesc_rotten_potato_from_webshell_metasploit_sysmon_1_8_3.evtx": ("PotatoPrivEsc", ["i:notepad.exe"]),
"Privilege Escalation/privesc_seimpersonate_tosys_spoolsv_sysmon_17_18.evtx": ("PotatoPrivEsc", ["i:PrintSpoofer"]),
"Privilege Escalation/privesc_spoolfool_mahdihtm_sysmon_1_11_7_13.evtx": ("Exploit", ["i:SpoolFool"]),
"Privilege Escalation/privesc_spoolsv_spl_file_write_sysmon11.evtx": ("Exploit", ["c:WER\\ReportQueue", "c:\"C:\\Windows\\system32\\cmd.exe\""]),
"Privilege Escalation/privesc_sysmon_cve_20201030_spooler.evtx": ("Exploit", ["i:pocacct"]),
"Privilege Escalation/privesc_unquoted_svc_sysmon_1_11.evtx": ("Persistence", ["c:vulnsvc\\mmm.exe"]),
"Privilege Escalation/security_4624_4673_token_manip.evtx": ("PotatoPrivEsc", ["i:python.exe"]),
"Privilege Escalation/sysmon_11_1_15_WScriptBypassUAC.evtx": ("UACBypass", ["c:wscript.exe.manifest", "c:uf3huvkczgk", "c:Dim objShell"]),
"Privilege Escalation/sysmon_11_1_7_uacbypass_cliconfg.evtx": ("WinPwnage", ["c:winpwnage"]),
"Privilege Escalation/sysmon_11_7_1_uacbypass_windirectory_mocking.evtx": ("UACBypass", ["i:UACBypass.exe"]),
"Privilege Escalation/sysmon_13_1_12_11_perfmonUACBypass.evtx": ("WinPwnage", ["c:winpwnage", "i:local\\temp\\system32\\mmc.exe"]),
"Privilege Escalation/sysmon_13_1_compmgmtlauncherUACBypass.evtx": ("WinPwnage", ["c:winpwnage", "c:whoami  /priv"]),
"Privilege Escalation/sysmon_13_1_meterpreter_getsystem_NamedPipeImpersonation.evtx": ("Meterpreter", ["c:\\\\.\\pipe\\"]),
"Privilege Escalation/sysmon_1_11_exec_as_system_via_schedtask.evtx": ("WinPwnage", ["c:winpwnage"]),
"Privilege Escalation/sysmon_1_13_11_cmstp_ini_uacbypass.evtx": ("WinPwnage", ["c:winpwnage"]),
"Privilege Escalation/sysmon_1_13_UACBypass_AppPath_Control.evtx": ("UACBypass", ["i:sdclt.exe"]),
"Privilege Escalation/sysmon_1_7_11_mcx2prov_uacbypass.evtx": ("WinPwnage", ["c:winpwnage"]),
"Privilege Escalation/sysmon_1_7_11_migwiz.evtx": ("WinPwnage", ["c:winpwnage"]),
"Privilege Escalation/sysmon_1_7_11_sysprep_uacbypass.evtx": ("WinPwnage", ["c:winpwnage"]),
"Privilege Escalation/sysmon_1_7_elevate_uacbypass_sysprep.evtx": ("UACBypass", ["i:sysprep.exe", "c:whoami.exe\"  /groups"]),
"Privilege Escalation/sysmon_privesc_from_admin_to_system_handle_inheritance.evtx": ("WinPwnage", ["c:winpwnage", "c:c:\\Windows\\System32\\cmd.exe"]),
"Privilege Escalation/sysmon_privesc_psexec_dwell.evtx": ("PrivEsc", ["i:psexecprivesc", "i:mspaint.exe"]),
"Privilege Escalation/sysmon_uacbypass_CDSSync_schtask_hijack_byeintegrity5.evtx": ("UACBypass", ["i:byeintegrity5", "c:\"C:\\windows\\system32\\cmd.exe\""]),
"Persistence/persist_firefox_comhijack_sysmon_11_13_7_1.evtx": ("Persistence", ["i:com-hijack.exe"]),
"Persistence/persistence_SilentProcessExit_ImageHijack_sysmon_13_1.evtx": ("Persistence", ["c:Image File Execution Options", "i:evil.exe"]),
"Persistence/persistence_accessibility_features_osk_sysmon1.evtx": ("Persistence", ["i:whoami.exe"]),
"Persistence/persistence_sysmon_11_13_1_shime_appfix.evtx": ("Persistence", ["c:malwr.vbs", "i:sdbinst.exe", "c:hello from run key", "c:osk.exe\" ", "i:whoami.exe"]),
"Persistence/sysmon_13_1_persistence_via_winlogon_shell.evtx": ("InfoStealer", ["i:Downloads\\a.exe", "i:BRE6BgE2JubB"]),
"Persistence/sysmon_1_persist_bitsjob_SetNotifyCmdLine.evtx": ("Persistence", ["c:/c notepad.exe", "c:SCTPersistence"]),
"Persistence/sysmon_1_smss_child_proc_bootexecute_setupexecute.evtx": ("Persistence", ["i:cmd.exe"]),
"Persistence/sysmon_20_21_1_CommandLineEventConsumer.evtx": ("WinPwnage", ["c:winpwnage", "c:c:\\Windows\\System32\\cmd.exe"]),
"Persistence/wmighost_sysmon_20_21_1.evtx": ("WMIGhost", ["i:WMIGhost"]),
"Credential Access/CA_keefarce_keepass_credump.evtx": ("CredentialDump", ["i:KeeFarce"]),
"Credential Access/babyshark_mimikatz_powershell.evtx": ("Mimikatz", ["c:Powershell"]),
"Credential Access/discovery_sysmon_1_iis_pwd_and_config_discovery_appcmd.evtx": ("Webshell", ["c:-nop -noni -enc"]),
"Credential Access/ppl_bypass_ppldump_knowdll_hijack_sysmon_security.evtx": ("CredentialDump", ["i:PPLdump", "c:lsass.dmp"]),
"Credential Access/sysmon_10_11_outlfank_dumpert_and_andrewspecial_memdump.evtx": ("CredentialDump", ["i:Dumpert", "c:Dumpert", "i:AndrewSpecial"]),
"Credential Access/sysmon_10_1_memdump_comsvcs_minidump.evtx": ("CredentialDump", ["c:memdump.vbs", "c:comsvcs.dll"]),
"Credential Access/sysmon_13_keylogger_directx.evtx": ("none", []),
"Credential Access/sysmon_rdrleakdiag_lsass_dump.evtx": ("CredentialDump", ["i:rdrleakdiag"]),
"Credential Access/tutto_malseclogon.evtx": ("CredentialDump", ["i:MalSeclogon"]),
"Other/maldoc_mshta_via_shellbrowserwind_rundll32.evtx": ("Maldoc", ["c:memViewData", "c:KDECO.bat", "c:stats"]),
"Other/emotet/exec_emotet_sysmon_1.evtx": ("Emotet", ["i:Dyxxur4gx"]),
}
d = starts()
if "--review" in sys.argv:
    for f, rows in sorted(d.items()):
        print("##", f)
        for img, cmd, par in rows:
            print("  %s <- %s | %s" % (img, par, cmd))
    sys.exit(0)
missing = [f for f in d if f not in L]
extra = [f for f in L if f not in d]
print("missing", missing, "extra", extra)
with open('data/corpus/windows-labels.tsv', 'w') as o:
    o.write("# windows-labels.tsv - labels of the Windows corpus (vigil corpus --data /work/shared/data/evtx-attack-samples);\n")
    o.write("# one recording line per EVTX file (group = the file; every process is benign unless an attacker line names it),\n")
    o.write("# then the attacker lines: processes whose image/command line contains the text, and their descendants, are the attacker's.\n")
    o.write("# Decided by reading each file's process starts (image, command line, parent), never from rule hits. docs/corpus.md.\n")
    for f in sorted(L):
        fam, pats = L[f]
        group = "win-" + os.path.splitext(os.path.basename(f))[0]
        o.write("%s\tbenign\tnone\t%s\twindows\n" % (f, group))
    for f in sorted(L):
        fam, pats = L[f]
        for p in pats:
            kind = "image" if p.startswith("i:") else "command"
            o.write("attacker\t%s\t%s\t%s=%s\n" % (f, fam, kind, p[2:]))
