"""Write sample_logs/: two finished Noodle 2 studies (layout A and layout B), generic container
trials built from real Docker/kernel output, and deliberately broken files.

Deterministic: `python sample_logs/make_sample.py` rewrites the same bytes. See README.md here.
"""

from __future__ import annotations

import json
import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent

OPENROAD_BANNER = """OpenROAD v2.0-17198-g8396d0866
Features included (+) or not (-): +GPU +GUI +Python
This program is licensed under the BSD-3 license. See the LICENSE file for details.
Components of this program may be licensed under more restrictive licenses which must be honored.
"""

READ_DB = """read_db /snapshot/{design}.odb
[INFO ODB-0227] LEF file: /platforms/{pdk}/lef/{lef}.tech.lef, created 22 layers, 27 vias
[INFO ODB-0227] LEF file: /platforms/{pdk}/lef/{lef}.macro.mod.lef, created 135 library cells
[INFO ODB-0128] Design: {design}
[INFO ODB-0130]     Created 264 pins.
[INFO ODB-0131]     Created {comps} components and {terms} component-terminals.
[INFO ODB-0133]     Created {nets} nets and {conns} connections.
read_liberty /platforms/{pdk}/lib/{lib}
read_sdc /snapshot/{design}.sdc
[WARNING STA-1173] /platforms/{pdk}/lib/{lib} line 1, default_operating_condition typical not found.
"""

ECO_BODY = {
    "noop": "# no-op ECO: re-time the parent design\n",
    "cell_resize": "repair_design -max_wire_length 500\n[INFO RSZ-0058] Using max wire length 500um.\n[INFO RSZ-0039] Resized {n} instances.\n",
    "buffer_insertion": "repair_timing -setup -setup_margin 0.0\n[INFO RSZ-0094] Found {n} endpoints with setup violations.\n[INFO RSZ-0040] Inserted {m} buffers.\n",
    "cell_swap": "replace_cell ...\n[INFO RSZ-0045] Inserted 0 buffers, swapped {n} cells.\n",
    "gate_cloning": "repair_timing -setup -skip_pin_swap\n[INFO RSZ-0049] Cloned {m} instances.\n",
    "placement_density": "global_placement -density 0.72 -incremental\n[INFO GPL-0002] DBU: 2000\n[INFO GPL-0003] SiteSize: (  0.190  1.400 ) um\n[INFO GPL-0006] NumInstances: {n}\nIteration |   Overflow |     HPWL (um) |  HPWL(%) |   Penalty | Group\n        0 |     0.2214 |  1.126845e+06 |   +0.00% |  4.12e-04 |      \n       50 |     0.1077 |  1.131002e+06 |   +0.37% |  1.03e-03 |      \n[INFO GPL-1001] Finished with Overflow: 0.099841\ndetailed_placement\n[INFO DPL-0035] Placed {m} instances.\n",
    "pin_swap": "repair_timing -setup -skip_gate_cloning\n[INFO RSZ-0043] Swapped pins on {m} instances.\n",
    "repair_design": "repair_design\n[INFO RSZ-0034] Found {m} slew violations.\n[INFO RSZ-0039] Resized {n} instances.\n",
    "buffer_removal": "remove_buffers\n[INFO RSZ-0026] Removed {m} buffers.\n",
    "dead_logic_elimination": "eliminate_dead_logic\n[INFO RSZ-0028] Removed {m} unused instances.\n",
    "tie_fanout_repair": "repair_tie_fanout LOGIC1_X1/Z\n[INFO RSZ-0042] Inserted {m} tie LOGIC1_X1 instances.\n",
    "clock_net_repair": "repair_clock_nets\n[INFO RSZ-0047] Found {m} long wires.\n[INFO RSZ-0048] Inserted {m} buffers in {m} nets.\n",
    "full_optimization": "repair_design\nrepair_timing -setup\nglobal_route -congestion_iterations 30\n[INFO GRT-0020] Min routing layer: metal2\n[INFO GRT-0021] Max routing layer: metal10\n[INFO GRT-0022] Global adjustment: 0%\n[INFO GRT-0096] Final congestion report:\n[INFO GRT-0018] Total wirelength: {wl} um\n",
    "sequential_repair": "repair_timing -sequence \"unbuffer,sizeup,swap,buffer\"\n[INFO RSZ-0039] Resized {n} instances.\n",
    "multi_pass_timing": "repair_timing -setup -repair_tns 100\n[INFO RSZ-0039] Resized {n} instances.\n[INFO RSZ-0040] Inserted {m} buffers.\n",
    "aggressive_timing": "repair_timing -setup -repair_tns 100 -max_passes 10000\n[INFO RSZ-0039] Resized {n} instances.\n",
    "hold_repair": "repair_timing -hold -hold_margin 0.05\n[INFO RSZ-0046] Found {m} endpoints with hold violations.\n[INFO RSZ-0032] Inserted {m} hold buffers.\n",
    "power_recovery": "repair_timing -recover_power 100\n[INFO RSZ-0141] Power recovery resized {n} instances.\n",
    "vt_swap": "repair_timing -setup -sequence \"vt_swap\"\n[INFO RSZ-0039] Resized {n} instances.\n",
    "timing_driven_placement": "global_placement -timing_driven\n[INFO GPL-0100] Timing-driven iteration 1/5, virtual: true.\n[INFO GPL-0103] Timing-driven: weighted {m} nets.\n",
    "iterative_timing_driven": "global_placement -timing_driven -incremental\n[INFO GPL-0100] Timing-driven iteration 1/5, virtual: true.\n",
}
BASE_ECOS = ["cell_resize", "buffer_insertion", "cell_swap", "gate_cloning", "placement_density",
             "pin_swap", "repair_design", "buffer_removal", "dead_logic_elimination",
             "tie_fanout_repair", "clock_net_repair"]
AGGRESSIVE_ECOS = ["full_optimization", "sequential_repair", "multi_pass_timing", "aggressive_timing",
                   "hold_repair", "power_recovery", "vt_swap", "timing_driven_placement",
                   "iterative_timing_driven"]

# failure scenarios: (return_code, stdout tail, stderr, noodle2 failure_type, peak_mb)
SCENARIOS = {
    "oom_137_peak": (137, "[INFO GRT-0101] Running extra iterations to remove overflow.\n", "", "out_of_memory", 8190.2),
    "oom_137_94pct": (137, "[INFO DRT-0195] Start 2nd optimization iteration.\n", "", "out_of_memory", 7702.5),
    "oom_137_nopeak": (137, "[INFO GRT-0101] Running extra iterations to remove overflow.\n", "", "out_of_memory", None),
    "bad_alloc": (134, "[INFO GPL-0006] NumInstances: 1893112\n",
                  "terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc\nAborted (core dumped)\n",
                  "core_dump", 7420.0),
    "hard_timeout": (124, "[INFO DRT-0194] Start detail routing.\n[INFO DRT-0195] Start 0th optimization iteration.\n    Completing 10% with 48213 violations.\n    elapsed time = 00:41:02, memory = 5121.43 (MB).\nwrite_db bloom_filter_top.odb\n",
                     "\n[HARD_TIMEOUT] Trial exceeded hard timeout limit of 3600 seconds\n", "out_of_memory", 5121.4),
    "segfault": (139, "[INFO DPL-0001] Placed 4213 filler instances.\n",
                 "Signal 11 received\nStack trace:\n 0# 0x000055D6F3E1A2B1 in openroad\n 1# 0x00007F2B0C242520 in /lib/x86_64-linux-gnu/libc.so.6\n 2# dpl::Opendp::detailedPlacement(int, int, std::string const&) in openroad\n 3# 0x000055D6F3A9C0E4 in openroad\nSegmentation fault (core dumped)\n",
                 "out_of_memory", 2210.0),
    "core_dump": (134, "[INFO RSZ-0039] Resized 412 instances.\n",
                  "openroad: /OpenROAD/src/rsz/src/Resizer.cc:2231: void rsz::Resizer::repairDesign(): Assertion `drvr_pin' failed.\nAborted (core dumped)\n",
                  "core_dump", 1890.0),
    "grt_congestion": (1, "[INFO GRT-0096] Final congestion report:\nLayer         Resource        Demand        Usage (%)    Max H / Max V / Total Overflow\n---------------------------------------------------------------------------------------\nmetal2          128874         142213          110.35%             12 /  0 / 18211\n",
                       "[ERROR GRT-0116] Global routing finished with congestion. Check the congestion regions in the DRC Viewer.\nError: cr.tcl, 41 GRT-0116\n",
                       "routing_failed", 3110.0),
    "dpl_failed": (1, "[INFO DPL-0034] Detailed placement failed on the following 12 instances:\n[INFO DPL-0035]  _41923_\n[INFO DPL-0035]  _41927_\nno room left in row 12 for cell _41923_\n",
                   "[ERROR DPL-0036] Detailed placement failed.\nError: eco.tcl, 57 DPL-0036\n",
                   "out_of_memory", 2650.0),
    "sta_error": (1, "report_checks -path_delay min_max\n",
                  "[ERROR STA-0562] set_input_delay: clk_i is not a clock.\nError: trial_script.tcl, 12 STA-0562\n",
                  "tool_crash", 900.0),
    "missing_input": (1, "",
                      "couldn't read file \"/snapshot/ibex_core_stage1.odb\": no such file or directory\n    while executing\n\"source $::env(SCRIPTS_DIR)/load.tcl\"\n",
                      "tool_missing", None),
    "misread_signal": (1, "[WARNING ORD-2011] net signal 95 has no driver\nset_timeout 30\n",
                       "[ERROR ODB-0110] Unable to open file /snapshot/alu.def for reading.\nError: eco.tcl, 9 ODB-0110\n",
                       "out_of_memory", 610.0),
    "network": (125, "",
                "docker: Error response from daemon: Get \"https://registry-1.docker.io/v2/\": net/http: TLS handshake timeout.\nSee 'docker run --help'.\n",
                "timeout", None),
    "no_space": (1, "[INFO DRT-0180] Post processing.\n",
                 "[ERROR ORD-0003] write_db failed: No space left on device\n", "filesystem_error", 3300.0),
}


def _ts(base: datetime, seconds: float) -> str:
    return (base + timedelta(seconds=seconds)).isoformat()


def _stdout(rng: random.Random, design: str, eco: str, ok: bool, extra: str = "") -> str:
    body = ECO_BODY[eco].format(n=rng.randint(40, 2400), m=rng.randint(3, 400), wl=rng.randint(500000, 900000))
    text = OPENROAD_BANNER + READ_DB.format(
        design=design, pdk="nangate45", lef="NangateOpenCellLibrary", lib="NangateOpenCellLibrary_typical.lib",
        comps=19263, terms=99843, nets=21456, conns=61283) + body + extra
    if ok:
        wns, tns = -rng.randint(20, 400), -rng.randint(100, 9000)
        text += (f"report_worst_slack\nworst slack {wns / 1000:.3f}\nPost-ECO WNS: {wns} ps\n"
                 f"Post-ECO TNS: {tns} ps\nPost-ECO hot_ratio: {rng.uniform(0.05, 0.4):.4f}\n"
                 f"write_db /work/modified_design_{rng.randint(1, 9)}.odb\n")
    return text


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def make_study(report_dir: Path, telemetry_dir: Path, study: str, base_case: str, design: str,
               start: datetime, plan: dict[tuple[int, int], str], trials_per_stage: int,
               crashed: set[tuple[int, int]], rng: random.Random, with_inspect: set[tuple[int, int]],
               timeout_seconds: float = 3600.0, same_as: dict[tuple[int, int], dict] | None = None,
               changes: dict[tuple[int, int], dict] | None = None,
               verification_metrics: dict | None = None, metrics_json: bool = False) -> dict[tuple[int, int], dict]:
    """Write one study; return its trial summaries by (stage, trial).

    `same_as`: a previous night's summaries whose runtime, peak and metrics this night repeats
    (the same study run again); `changes`: per trial, fields that differ from that night
    (`metrics` merged, `runtime_seconds`, `stderr_prefix`)."""
    written: dict[tuple[int, int], dict] = {}
    changes = changes or {}
    stage_results = []
    events = [{"event_type": "study_start", "timestamp": start.isoformat(),
               "event_data": {"study_name": study, "safety_domain": "guarded", "total_stages": 3}}]
    clock = 30.0
    # the base-case verification trial (not in study_summary.json)
    ver = report_dir / base_case / "stage_0" / "trial_0"
    _write(ver / "logs" / "stdout.txt", OPENROAD_BANNER + READ_DB.format(
        design=design, pdk="nangate45", lef="NangateOpenCellLibrary", lib="NangateOpenCellLibrary_typical.lib",
        comps=19263, terms=99843, nets=21456, conns=61283) + "report_worst_slack\nworst slack -0.412\n")
    _write(ver / "logs" / "stderr.txt", "")
    _write(ver / "trial_summary.json", json.dumps({
        "study_name": study, "case_name": base_case, "stage_index": 0, "trial_index": 0, "success": True,
        "return_code": 0, "runtime_seconds": 21.4, "start_time": _ts(start, 2), "end_time": _ts(start, 23.4),
        "timed_out": False, "metrics": verification_metrics or {}, "container_id": "0b4c1e9d2a11",
        "metadata": {"verification": True, "pdk": "nangate45"}}, indent=2))
    total = ok_count = 0
    for stage in range(3):
        trial_results = []
        events.append({"event_type": "stage_start", "timestamp": _ts(start, clock),
                       "event_data": {"study_name": study, "stage_index": stage, "stage_name": f"stage_{stage}",
                                      "trial_budget": trials_per_stage}})
        ecos = BASE_ECOS if stage < 2 else AGGRESSIVE_ECOS + BASE_ECOS
        for t in range(trials_per_stage):
            eco = "noop" if t == 0 else ecos[(t - 1) % len(ecos)]
            scenario = plan.get((stage, t))
            rc, out_tail, err, n2type, peak = SCENARIOS[scenario] if scenario else (0, "", "", None, None)
            runtime = timeout_seconds if scenario == "hard_timeout" else round(rng.uniform(40, 900), 1)
            if peak is None and not scenario:
                peak = round(rng.uniform(900, 6800), 1)
            if scenario == "hard_timeout":
                err = err.replace("limit of 3600 seconds", f"limit of {timeout_seconds:.0f} seconds")
            change = changes.get((stage, t), {})
            previous = (same_as or {}).get((stage, t))
            if previous is not None:
                runtime, peak = previous["runtime_seconds"], previous.get("peak_memory_mb")
            runtime = timeout_seconds if scenario == "hard_timeout" else change.get("runtime_seconds", runtime)
            err = change.get("stderr_prefix", "") + err
            case = f"{base_case}_{stage}_{t}"
            t_start = clock
            clock += runtime + rng.uniform(1, 5)
            summary = {
                "study_name": study, "case_name": case, "stage_index": stage, "trial_index": t,
                "success": rc == 0, "return_code": rc, "runtime_seconds": runtime,
                "start_time": _ts(start, t_start), "end_time": _ts(start, t_start + runtime),
                "timed_out": scenario == "hard_timeout", "metrics": {},
                "artifacts": {"trial_dir": f"output/{study}/trials/{study}/{case}/stage_{stage}/trial_{t}",
                              "logs": f"output/{study}/trials/{study}/{case}/stage_{stage}/trial_{t}/logs"},
                "container_id": f"{rng.getrandbits(48):012x}",
                "metadata": {"stage_name": f"stage_{stage}", "execution_mode": "sta_congestion", "pdk": "nangate45",
                             "eco_type": eco, "eco_parameters": {"variant": ((t - 1) // 3) % 3} if t else {},
                             "input_odb_path": None, "input_odb_container_path": None},
                "provenance": {"container_image": "openroad/orfs", "container_tag": "latest",
                               "tool_name": "openroad", "tool_version": None, "pdk_name": "nangate45",
                               "command": f"openroad -exit /work/trial_{t}.tcl"},
            }
            if peak is not None:
                summary["peak_memory_mb"] = peak
            if rc == 0:
                wns = -rng.randint(20, 400)
                summary["metrics"] = {"wns_ps": wns, "tns_ps": wns * rng.randint(5, 40), "hot_ratio": round(rng.uniform(0.05, 0.4), 4)}
                if previous is not None:
                    summary["metrics"] = dict(previous["metrics"])
                summary["metrics"].update(change.get("metrics", {}))
                ok_count += 1
            else:
                reason = {"out_of_memory": "Out of memory error", "core_dump": f"Core dump detected (exit code {rc})",
                          "routing_failed": f"Routing failed (exit code {rc})", "tool_crash": f"Tool exited with non-zero code: {rc}",
                          "tool_missing": f"Required tool not found (exit code {rc})", "timeout": f"Trial exceeded timeout limit (exit code {rc})",
                          "filesystem_error": f"Filesystem error (exit code {rc})"}[n2type]
                metrics = {}
                if n2type == "out_of_memory":
                    parts = ["Out of memory error"]
                    if peak:
                        parts.append(f"(peak usage: {peak:.1f} MB)")
                    parts.append("(limit: 8192.0 MB)")
                    if peak and peak >= 0.95 * 8192:
                        parts.append("Suggest increasing memory limit to 12288 MB")
                    elif not peak:
                        parts.append("Consider increasing memory limit to 12288 MB")
                    reason = ". ".join(parts)
                    metrics = {"memory_limit_mb": 8192.0, **({"peak_memory_mb": peak} if peak else {})}
                lines = (err or out_tail).strip().splitlines()[-20:]
                summary["failure"] = {"failure_type": n2type,
                                      "severity": "critical" if n2type in ("out_of_memory", "core_dump", "segfault", "tool_missing") else "high",
                                      "reason": reason, "log_excerpt": "\n".join(lines), "metrics": metrics,
                                      "recoverable": n2type == "filesystem_error"}
            total += 1
            trial_results.append(summary)
            written[(stage, t)] = summary
            events.append({"event_type": "trial_complete", "timestamp": _ts(start, t_start + runtime),
                           "event_data": {"study_name": study, "case_name": case, "stage_index": stage,
                                          "trial_index": t, "success": rc == 0, "runtime_seconds": runtime,
                                          "metrics": summary["metrics"]}})
            if (stage, t) in crashed:
                # Trial.execute raised: no directory; the executor's own record only
                trial_results[-1] = {k: v for k, v in summary.items() if k not in ("failure", "peak_memory_mb")}
                trial_results[-1].update(success=False, return_code=1, metrics={})
                continue
            tdir = report_dir / case / f"stage_{stage}" / f"trial_{t}"
            _write(tdir / "trial_summary.json", json.dumps(summary, indent=2))
            _write(tdir / "logs" / "stdout.txt", _stdout(rng, design, eco, rc == 0, out_tail))
            _write(tdir / "logs" / "stderr.txt", err)
            _write(tdir / "trial_script.tcl", f"read_db /snapshot/{design}.odb\nsource /work/eco_{eco}.tcl\n")
            if metrics_json and rc == 0:
                # what the ECO-injected Tcl writes at the trial root (noodle2-layout.md section 6)
                m = summary["metrics"]
                _write(tdir / "metrics.json", json.dumps({
                    "design": design, "pdk": "nangate45", "execution_type": "real_sta_with_eco",
                    "wns_ps": m["wns_ps"], "tns_ps": m["tns_ps"], "hot_ratio": m["hot_ratio"],
                    "clock_period_ns": 10.0, "status": "timing_violation" if m["wns_ps"] < 0 else "timing_met"}, indent=2))
            _write(tdir / "artifact_index.json", json.dumps({
                "study_name": study, "case_name": case, "stage_index": stage, "trial_index": t,
                "trial_root": str(tdir.relative_to(HERE)), "entries": [], "metadata": {}}, indent=2))
            if (stage, t) in with_inspect:
                # the operator's wrapper also saved `docker inspect` (Noodle 2 itself does not)
                _write(tdir / "docker_inspect.json", json.dumps([{
                    "Id": summary["container_id"] + "9f1c2d3e4b5a6978" * 3 + "abcd",
                    "State": {"Status": "exited", "Running": False, "Paused": False, "Restarting": False,
                              "OOMKilled": True, "Dead": False, "Pid": 0, "ExitCode": 137, "Error": "",
                              "StartedAt": _ts(start, t_start).replace("+00:00", "Z"),
                              "FinishedAt": _ts(start, t_start + runtime).replace("+00:00", "Z")},
                    "HostConfig": {"Memory": 8589934592, "MemorySwap": 17179869184}}], indent=4))
        stage_results.append({
            "stage_index": stage, "stage_name": f"stage_{stage}", "trials_executed": trials_per_stage,
            "survivors": [r["case_name"] for r in trial_results if r["return_code"] == 0][:3],
            "total_runtime_seconds": round(sum(r["runtime_seconds"] for r in trial_results), 1),
            "trial_results": trial_results,
            "metadata": {"execution_mode": "sta_congestion", "trial_budget": trials_per_stage},
            "abort_decision": {"should_abort": False, "reason": None, "details": "", "violating_trials": []}})
        events.append({"event_type": "stage_complete", "timestamp": _ts(start, clock),
                       "event_data": {"study_name": study, "stage_index": stage,
                                      "survivors": stage_results[-1]["survivors"], "trials_executed": trials_per_stage,
                                      "runtime_seconds": stage_results[-1]["total_runtime_seconds"]}})
        _write(telemetry_dir / f"stage_{stage}_telemetry.json", json.dumps({
            "stage_index": stage, "stage_name": f"stage_{stage}", "trial_budget": trials_per_stage,
            "survivor_count": len(stage_results[-1]["survivors"]), "trials_executed": trials_per_stage,
            "successful_trials": sum(r["return_code"] == 0 for r in trial_results),
            "failed_trials": sum(r["return_code"] != 0 for r in trial_results),
            "survivors": stage_results[-1]["survivors"], "cases_processed": [r["case_name"] for r in trial_results],
            "failure_types": {}, "metadata": {}}, indent=2))
    events.append({"event_type": "study_complete", "timestamp": _ts(start, clock),
                   "event_data": {"study_name": study, "final_survivors": stage_results[-1]["survivors"],
                                  "runtime_seconds": clock}})
    _write(report_dir / "study_summary.json", json.dumps({
        "study_name": study, "total_stages": 3, "stages_completed": 3, "total_runtime_seconds": round(clock, 1),
        "stage_results": stage_results, "final_survivors": stage_results[-1]["survivors"], "aborted": False,
        "abort_reason": None, "aggregate_statistics": {"total_trials": total, "successful_trials": ok_count,
                                                       "failed_trials": total - ok_count}}, indent=2))
    _write(telemetry_dir / "study_telemetry.json", json.dumps({
        "study_name": study, "safety_domain": "guarded", "total_stages": 3, "stages_completed": 3,
        "total_trials": total, "successful_trials": ok_count, "failed_trials": total - ok_count,
        "success_rate": round(ok_count / total, 4), "total_runtime_seconds": round(clock, 1),
        "final_survivors": stage_results[-1]["survivors"], "aborted": False, "abort_reason": None,
        "start_time": start.timestamp(), "end_time": start.timestamp() + clock, "metadata": {}}, indent=2))
    _write(telemetry_dir / "event_stream.ndjson", "".join(json.dumps(e) + "\n" for e in events))
    return written


# Real outputs copied from ../shared/examples/formats (sources in that folder's SOURCES.md).
INSPECT_OOM_137 = '''"State": {
            "Status": "exited",
            "Running": false,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": true,
            "Dead": false,
            "Pid": 0,
            "ExitCode": 137,
            "Error": "",
            "StartedAt": "2017-04-29T15:01:24.940805854Z",
            "FinishedAt": "2017-04-29T15:01:25.092588915Z"
        }
'''
INSPECT_FALSE_137 = '''    "State": {
        "Status": "exited",
        "Running": false,
        "Paused": false,
        "Restarting": false,
        "OOMKilled": false,
        "Dead": false,
        "Pid": 0,
        "ExitCode": 137,
        "Error": "",
        "StartedAt": "2020-07-31T22:26:20.031194Z",
        "FinishedAt": "2020-07-31T22:28:17.557863Z"
    }
'''
INSPECT_CHILD_EXIT0 = '''{"Status":"exited","Running":false,"Paused":false,"Restarting":false,"OOMKilled":true,"Dead":false,"Pid":0,"ExitCode":0,"Error":"","StartedAt":"2016-06-13T13:33:32.861200851Z","FinishedAt":"2016-06-13T13:33:43.929282195Z"}
'''
KERNEL_MEMCG = '''Oct 30 10:13:57 main kernel: [ 7096.161113] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=fd92d65e92f9edc800266ece977e4316a31716bf6f008ba834b4a930b19b20e3,mems_allowed=0,oom_memcg=/docker/fd92d65e92f9edc800266ece977e4316a31716bf6f008ba834b4a930b19b20e3,task_memcg=/docker/fd92d65e92f9edc800266ece977e4316a31716bf6f008ba834b4a930b19b20e3,task=openroad,pid=79699,uid=1000
Oct 30 10:13:57 main kernel: [ 7096.161121] Memory cgroup out of memory: Killed process 79699 (openroad) total-vm:9568056kB, anon-rss:8307940kB, file-rss:11516kB, shmem-rss:6280kB, UID:1000 pgtables:17524kB oom_score_adj:0
'''
STATS_TABLE = '''CONTAINER ID   NAME                 CPU %     MEM USAGE / LIMIT     MEM %     NET I/O      BLOCK I/O         PIDS
22030b705436   competent_ishizaka   99.12%    3.41GiB / 4GiB        85.25%    1.2kB / 0B   31.3MB / 42.1MB   7
22030b705436   competent_ishizaka   99.87%    3.998GiB / 4GiB       99.95%    1.2kB / 0B   31.3MB / 42.1MB   7
'''
TIME_V = '''Command exited with non-zero status 1
\tCommand being timed: "python3 run_eco.py --design aes"
\tUser time (seconds): 412.02
\tSystem time (seconds): 21.40
\tPercent of CPU this job got: 99%
\tElapsed (wall clock) time (h:mm:ss or m:ss): 7:15.71
\tAverage shared text size (kbytes): 0
\tAverage unshared data size (kbytes): 0
\tAverage stack size (kbytes): 0
\tAverage total size (kbytes): 0
\tMaximum resident set size (kbytes): 3911212
\tAverage resident set size (kbytes): 0
\tMajor (requiring I/O) page faults: 12
\tMinor (reclaiming a frame) page faults: 1941452
\tVoluntary context switches: 75
\tInvoluntary context switches: 4211
\tSwaps: 0
\tFile system inputs: 0
\tFile system outputs: 16
\tSocket messages sent: 0
\tSocket messages received: 0
\tSignals delivered: 0
\tPage size (bytes): 4096
\tExit status: 1
'''
ORFS_MAKE_OOM = '''[INFO GRT-0020] Min routing layer: metal2
[INFO GRT-0021] Max routing layer: metal10
Elapsed time: 0:41.20[h:]min:sec. CPU time: user 40.10 sys 1.02 (99%). Peak memory: 2310412KB.
Running detail_route.tcl, stage 5_2_route
[INFO DRT-0149] Reading tech and libs.
[INFO DRT-0194] Start detail routing.
[INFO DRT-0195] Start 0th optimization iteration.
    Completing 10% with 91233 violations.
    elapsed time = 00:12:51, memory = 3890.12 (MB).
Killed
make[1]: *** [Makefile:582: results/nangate45/ibex/base/5_2_route.odb] Error 137
make: *** [Makefile:572: do-route] Error 2
'''


def make_generic(root: Path) -> None:
    def trial(name: str, rc: str | None, **files: str | bytes) -> None:
        d = root / name
        if rc is not None:
            _write(d / "exit_code", rc)
        for fname, content in files.items():
            _write(d / fname.replace("__", "/").replace("_DOT_", "."), content)

    cfg = lambda **kw: json.dumps({"study": "orfs_nightly_generic", **kw}, indent=2)  # noqa: E731
    trial("route_oom_confirmed", "137\n",
          stdout_DOT_txt=OPENROAD_BANNER + "[INFO DRT-0194] Start detail routing.\n", stderr_DOT_txt="",
          docker_inspect_DOT_json=INSPECT_OOM_137, dmesg_DOT_txt=KERNEL_MEMCG,
          memory_DOT_events="low 0\nhigh 0\nmax 211\noom 3\noom_kill 1\noom_group_kill 0\n",
          memory_DOT_peak="4294967296\n", memory_DOT_max="4294967296\n",
          trial_DOT_json=cfg(case="ibex", stage=2, trial=1, eco_name="full_optimization", memory_limit="4g",
                             started_at="2026-11-27T03:10:00Z", finished_at="2026-11-27T03:41:12Z"))
    trial("route_137_oomkilled_false", "137\n",
          stdout_DOT_txt=OPENROAD_BANNER + "[INFO DRT-0195] Start 1st optimization iteration.\n", stderr_DOT_txt="",
          docker_inspect_DOT_json=INSPECT_FALSE_137, docker_stats_DOT_txt=STATS_TABLE,
          trial_DOT_json=cfg(case="ibex", stage=2, trial=2, eco_name="aggressive_timing", memory_limit="4g"))
    trial("child_oom_exit0", "0\n",
          stdout_DOT_txt=OPENROAD_BANNER + "Post-ECO WNS: -41 ps\n", stderr_DOT_txt="",
          docker_inspect_DOT_json=INSPECT_CHILD_EXIT0,
          trial_DOT_json=cfg(case="ibex", stage=1, trial=4, eco_name="cell_resize"))
    trial("python_memoryerror", "1\n",
          stdout_DOT_txt="Loading netlist aes_core.v\nBuilding timing graph\n",
          stderr_DOT_txt='Traceback (most recent call last):\n  File "run_eco.py", line 88, in <module>\n    graph = build_graph(netlist)\n  File "run_eco.py", line 41, in build_graph\n    adj = [[0] * n for _ in range(n)]\nMemoryError\n',
          time_DOT_txt=TIME_V,
          trial_DOT_json=cfg(case="aes", stage=0, trial=3, eco_name="buffer_insertion", memory_limit="4g"))
    trial("orfs_make_killed", "2\n", stdout_DOT_txt=OPENROAD_BANNER + ORFS_MAKE_OOM, stderr_DOT_txt="",
          trial_DOT_json=cfg(case="ibex", stage=2, trial=5, eco_name="timing_driven_placement", memory_limit="4096m"))
    # cgroup v2 success, Engine API stats copied from the v2 fixture's memory figures
    trial("cgroupv2_success", "0\n", stdout_DOT_txt=OPENROAD_BANNER + "Post-ECO WNS: -12 ps\n", stderr_DOT_txt="",
          cgroup__memory_DOT_peak="339906560\n", cgroup__memory_DOT_max="max\n", cgroup__memory_DOT_current="139350016\n",
          cgroup__memory_DOT_events="low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
          trial_DOT_json=cfg(case="gcd", stage=0, trial=1, eco_name="pin_swap"))
    trial("engine_api_v1", "0\n", stdout_DOT_txt=OPENROAD_BANNER + "Post-ECO WNS: -3 ps\n", stderr_DOT_txt="",
          docker_stats_DOT_json=json.dumps({
              "read": "2026-11-27T02:11:03.719828114Z", "preread": "0001-01-01T00:00:00Z", "name": "/trial_gcd_0_2",
              "id": "a1b2c3d4e5f6", "memory_stats": {"usage": 2516582400, "max_usage": 2831155200, "failcnt": 0,
                                                      "limit": 8589934592, "stats": {"total_inactive_file": 104857600, "cache": 209715200}}}) + "\n",
          trial_DOT_json=cfg(case="gcd", stage=0, trial=2, eco_name="vt_swap", memory_limit="8g"))
    # ORFS `metadata.json` (genMetrics.py keys: stage__category__name) beside two finished gcd runs
    for name, power, area, drc, ws in (("cgroupv2_success", 0.00133, 512.3, 0, 0.0412),
                                       ("engine_api_v1", 0.00141, 530.8, 2, -0.0127)):
        _write(root / name / "metadata.json", json.dumps({
            "run__flow__design": "gcd", "run__flow__platform": "nangate45", "run__flow__variant": "base",
            "finish__timing__setup__ws": ws, "finish__timing__setup__tns": min(ws, 0) * 7,
            "finish__power__total": power, "finish__design__instance__area": area,
            "finish__design__instance__count": 424, "detailedroute__route__drc_errors": drc,
            "detailedroute__route__wirelength": 4211, "finish__design__instance__utilization": 0.36,
            "flow__warnings__count": 11}, indent=2))
    # a GNU `timeout --verbose 1800 openroad ...` wrapper: exit 124 and its own stderr line
    trial("route_gnu_timeout", "124\n",
          stdout_DOT_txt=OPENROAD_BANNER + "[INFO DRT-0194] Start detail routing.\n[INFO DRT-0195] Start 0th optimization iteration.\n    Completing 20% with 30112 violations.\n",
          stderr_DOT_txt="timeout: sending signal TERM to command 'openroad'\n",
          trial_DOT_json=cfg(case="ibex", stage=3, trial=1, eco_name="full_optimization", timeout_seconds=1800,
                             started_at="2026-11-28T02:00:00Z", finished_at="2026-11-28T02:30:00Z"))
    # finished, but at 95 % of its time limit
    trial("route_near_timeout", "0\n", stdout_DOT_txt=OPENROAD_BANNER + "Post-ECO WNS: -18 ps\n", stderr_DOT_txt="",
          trial_DOT_json=cfg(case="ibex", stage=3, trial=2, eco_name="clock_net_repair", timeout_seconds=1800,
                             started_at="2026-11-28T02:31:00Z", finished_at="2026-11-28T02:59:30Z"))
    # deliberately broken artifacts
    trial("broken_truncated_inspect", "1\n", trial_DOT_json=cfg(case="aes", stage=1, trial=7),
          stdout_DOT_txt="[ERROR ORD-0233] Failed to read design\n", stderr_DOT_txt="",
          docker_inspect_DOT_json='[\n    {\n        "Id": "dbcda45e71c7",\n        "State": {\n            "Status": "exited",\n            "OOMKilled": fa')
    trial("broken_binary_log", "139\n",
          stdout_DOT_txt=b"[INFO DPL-0001] Placed 4213 filler instances.\n\x00\xff\xfe\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xc3\x28\nSegmentation fault (core dumped)\n",
          stderr_DOT_txt="", trial_DOT_json=cfg(case="aes", stage=1, trial=8))
    trial("broken_empty_exit_code", None, trial_DOT_json=cfg(case="aes", stage=1, trial=9), stdout_DOT_txt="[INFO GRT-0018] Total wirelength: 612345 um\n")
    _write(root / "broken_empty_exit_code" / "exit_code", "")
    trial("broken_stats", "0\n", trial_DOT_json=cfg(case="aes", stage=1, trial=10), stdout_DOT_txt="Post-ECO WNS: -5 ps\n",
          docker_stats_DOT_txt="this is not docker stats output\n\x1b[2J\x1b[H\n")


def main() -> None:
    rng = random.Random(20261127)
    for sub in ("noodle2", "generic"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    night1 = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)
    night2 = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)
    # Layout A (run_demo.py): output/<study>/{trials/<study>, telemetry/<study>}
    a = HERE / "noodle2" / "output" / "nangate45_extreme_demo"
    make_study(a / "trials" / "nangate45_extreme_demo", a / "telemetry" / "nangate45_extreme_demo",
               "nangate45_extreme_demo", "nangate45_extreme_ibex", "ibex_core", night1,
               plan={(0, 3): "missing_input", (0, 6): "sta_error", (0, 9): "misread_signal",
                     (1, 5): "oom_137_peak", (1, 8): "grt_congestion", (1, 11): "dpl_failed",
                     (1, 12): "network",
                     (2, 2): "oom_137_94pct", (2, 4): "hard_timeout",
                     (2, 6): "segfault", (2, 8): "bad_alloc", (2, 10): "core_dump", (2, 13): "oom_137_nopeak",
                     (2, 15): "no_space"},
               trials_per_stage=16, crashed={(1, 14)}, rng=rng, with_inspect={(1, 5)})
    _write(HERE / "noodle2" / "nangate45_extreme_demo.yaml", """# Noodle 2 study config (nested form, run_demo.py)
study:
  name: nangate45_extreme_demo
  pdk: nangate45
  safety_domain: guarded
  base_case: nangate45_extreme_ibex
  snapshot_dir: studies/nangate45_extreme_ibex
docker:
  image: openroad/orfs:latest
  memory_limit: 8g
stages:
  defaults:
    timeout_seconds: 3600
  count: 3
""")
    # Layout B (noodle2 run): artifacts/<study>, telemetry/<study>
    b = HERE / "noodle2" / "nightly"
    night2_trials = make_study(b / "artifacts" / "sky130_ibex_nightly", b / "telemetry" / "sky130_ibex_nightly",
               "sky130_ibex_nightly", "sky130_ibex", "ibex_core", night2,
               plan={(0, 4): "oom_137_peak", (1, 2): "grt_congestion", (2, 3): "oom_137_peak",
                     (2, 7): "hard_timeout"},
               trials_per_stage=8, crashed=set(), rng=rng, with_inspect=set(), metrics_json=True)
    make_generic(HERE / "generic" / "orfs_nightly_generic")
    # a truncated trial summary inside the layout-A study
    broken = next((a / "trials" / "nangate45_extreme_demo").glob("*_0_12/stage_0/trial_12/trial_summary.json"))
    broken.write_text(broken.read_text()[:400], encoding="utf-8")
    make_next_night(rng, night2_trials)


NEXT_NIGHT = "sky130_ibex_nightly_20261128"


def make_next_night(rng: random.Random, previous: dict[tuple[int, int], dict]) -> None:
    """The sky130_ibex study run again the next night (same design, same ECO per slot, same
    runtimes and metrics) with what a nightly alert should catch: one metric regression
    (stage 1 `cell_swap` WNS 180 ps worse), a new segfault, a soft timeout, and a hard timeout
    at the study's 2400 s limit."""
    c = HERE / "noodle2" / "nightly-20261128"
    make_study(c / "artifacts" / NEXT_NIGHT, c / "telemetry" / NEXT_NIGHT, NEXT_NIGHT, "sky130_ibex", "ibex_core",
               datetime(2026, 11, 28, 1, 0, tzinfo=timezone.utc),
               plan={(0, 4): "oom_137_peak", (1, 2): "grt_congestion", (2, 3): "oom_137_peak",
                     (2, 5): "segfault", (2, 7): "hard_timeout"},
               trials_per_stage=8, crashed=set(), rng=rng, with_inspect=set(), timeout_seconds=2400.0,
               same_as=previous,
               changes={(1, 3): {"metrics": {"wns_ps": previous[(1, 3)]["metrics"]["wns_ps"] - 180}},
                        (0, 6): {"runtime_seconds": 2210.4, "stderr_prefix":
                                 "\n[SOFT_TIMEOUT] Trial exceeded soft timeout of 1800s but completed before hard timeout\n"}},
               verification_metrics={"wns_ps": -412, "tns_ps": -18230, "hot_ratio": 0.2113}, metrics_json=True)
    _write(c / f"{NEXT_NIGHT}.yaml", f"""# Noodle 2 study config (flat form, `noodle2 run`)
study:
  name: {NEXT_NIGHT}
  pdk: sky130hd
  base_case: sky130_ibex
stages:
  defaults:
    timeout_seconds: 2400
""")


if __name__ == "__main__":
    main()
