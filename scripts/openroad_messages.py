"""Build analyzer/rules/openroad_messages.tsv from an OpenROAD git directory.

OpenROAD kept one `messages.txt` per module until June 2021 (commit 4e1fa1fa2a removed them:
"now auto-generated" by `etc/find_messages.py` from the logger calls). This script does the same
scan, read straight from git objects (nothing is checked out or run): every
`logger->error(TOOL, id, "...")` / `->warn` / `->info` / `->critical` call in C++ and every
`utl::error TOOL id "..."` in Tcl, at the given revision. Ids only present in the 2021
`messages.txt` files (no level recorded there) are added with level `UNKNOWN`.

Usage: python scripts/openroad_messages.py GIT_DIR [REV] > analyzer/rules/openroad_messages.tsv

Columns: tool, id, level, family, failure_type, text, source.
family is the stage the module belongs to; failure_type is what analyzer calls an ERROR line with
this id (whatever the id's level in the current sources): `configuration_error` when the message says a required input or setting is missing,
invalid or not found, else the stage's failure type (tool_crash when the stage has none).
"""

from __future__ import annotations

import re
import subprocess
import sys

# module prefix -> stage family
FAMILIES = {
    "routing": ("GRT", "DRT", "FRT", "ANT", "TRT", "STT", "FLU"),
    "placement": ("GPL", "DPL", "DPO", "MPL", "PPL", "RMP", "RSZ", "CGT"),
    "cts": ("CTS",),
    "sta": ("STA", "EST", "RCX", "PSM", "UPF"),
    "floorplan-pdn": ("IFP", "PDN", "PAD", "TAP", "FIN", "ICW", "PDNSIM"),
    "database-input": ("ODB", "ORD", "DEF", "LEF", "UTL", "VLG", "SYN"),
}
STAGE_TYPE = {"routing": "routing_failed", "placement": "placement_failed", "cts": "placement_failed",
              "sta": "sta_failed", "floorplan-pdn": "configuration_error",
              "database-input": "configuration_error", "other": "tool_crash"}
# The message itself says a required input or setting is missing, invalid or not found.
CONFIG_TEXT = re.compile(
    r"\b(?:not found|cannot find|can't find|could not find|unable to find|no such|does not exist|"
    r"doesn't exist|not exist|missing|is not defined|not defined|undefined|is required|are required|"
    r"must be (?:specified|set|defined|given|provided|positive|greater|less|between|a |an |one of|in)|"
    r"must specify|must have|should be|not specified|not set|unknown|unrecognized|unsupported|not supported|"
    r"invalid|illegal|out of range|expects?|expected|requires?|no \w+ (?:found|defined|specified)|"
    r"use -|please (?:set|specify|define|provide)|cannot open|can't open|could not open|unable to open|"
    r"failed to open|cannot read|failed to read|no liberty|no lef|no def|not loaded|no design|"
    r"no technology|no tech|no block|no chip|no rows|no sites?\b|wrong|mismatch|\bfirst\.?$|has not been (?:run|loaded|read))", re.I)

CPP = re.compile(r"""(?:->|\.)(?P<level>info|warn|fileWarn|error|fileError|critical)\s*\(\s*(?:utl::)?
    (?P<tool>[A-Z]{3})\s*,\s*(?P<id>\d+)\s*,\s*(?P<msg>(?:"(?:[^"\\]|\\.)*"\s*)+)""", re.X)
TCL = re.compile(r"""(?P<level>info|warn|error|critical)\s+(?P<tool>[A-Z]{3}|"[A-Z]{3}")\s+(?P<id>\d+)\s+
    (?P<msg>"(?:[^"\\]|\\.)*")""", re.X)
OLD_MSG = re.compile(r"^(?P<tool>[A-Z]{3})\s+(?P<id>\d+)\s+(?P<src>\S+)\s+(?P<msg>.*)$")
LEVELS = {"info": "INFO", "warn": "WARNING", "fileWarn": "WARNING", "error": "ERROR",
          "fileError": "ERROR", "critical": "CRITICAL"}
OLD_REV = "4e1fa1fa2a^"


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True, capture_output=True,
                          text=True, errors="replace").stdout


def family(tool: str) -> str:
    return next((f for f, tools in FAMILIES.items() if tool in tools), "other")


def failure_type(level: str, tool: str, text: str) -> str:
    # computed for every level: an id that is a WARNING today was an ERROR in older releases,
    # and the log line's own `[ERROR ...]` is what decides that it failed
    return "configuration_error" if CONFIG_TEXT.search(text) else STAGE_TYPE[family(tool)]


def scan(git_dir: str, rev: str) -> dict[tuple[str, int], tuple[str, str, str]]:
    found: dict[tuple[str, int], tuple[str, str, str]] = {}
    files = git(git_dir, "ls-tree", "-r", "--name-only", rev, "src").splitlines()
    files = [f for f in files if re.search(r"\.(c|cc|cpp|cxx|h|hh|hpp|yy|ll|i|tcl)$", f) and "/test/" not in f]
    for path in files:
        body = git(git_dir, "show", f"{rev}:{path}")
        regex = TCL if path.endswith(".tcl") else CPP
        for m in regex.finditer(body):
            msg = m.group("msg").strip()
            msg = re.sub(r'"\s*"', "", msg.replace("\n", " "))[1:-1]
            key = (m.group("tool").strip('"'), int(m.group("id")))
            line = body.count("\n", 0, m.start()) + 1
            level = LEVELS[m.group("level")]
            # the most severe level wins when an id is used at several places
            if key not in found or level in ("ERROR", "CRITICAL"):
                found[key] = (level, " ".join(msg.split()), f"{path}:{line}")
    return found


def old_catalog(git_dir: str) -> dict[tuple[str, int], tuple[str, str, str]]:
    out = {}
    for path in git(git_dir, "ls-tree", "-r", "--name-only", OLD_REV).splitlines():
        if path.endswith("messages.txt"):
            for row in git(git_dir, "show", f"{OLD_REV}:{path}").splitlines():
                m = OLD_MSG.match(row.strip())
                if m:
                    out[(m.group("tool"), int(m.group("id")))] = ("UNKNOWN", " ".join(m.group("msg").split()),
                                                                  f"{path} (2021)")
    return out


def main(git_dir: str, rev: str = "HEAD") -> None:
    sha = git(git_dir, "rev-parse", rev).strip()
    rows = {**old_catalog(git_dir), **scan(git_dir, rev)}
    print(f"# OpenROAD message catalog: github.com/The-OpenROAD-Project/OpenROAD at {sha} "
          f"(logger calls in src/) plus ids only in the messages.txt files of {OLD_REV}. "
          f"Built by scripts/openroad_messages.py.")
    print("tool\tid\tlevel\tfamily\tfailure_type\ttext\tsource")
    for (tool, num), (level, text, src) in sorted(rows.items()):
        text = text.replace("\t", " ")
        print(f"{tool}\t{num:04d}\t{level}\t{family(tool)}\t{failure_type(level, tool, text)}\t{text}\t{src}")


if __name__ == "__main__":
    main(*sys.argv[1:])
