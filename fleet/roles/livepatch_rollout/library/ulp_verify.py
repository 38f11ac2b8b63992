#!/usr/bin/python3
# Runs on a host after a livepatch package was installed or removed there.
DOCUMENTATION = r"""
module: ulp_verify
short_description: Check that every running process has what a livepatch package promises
description:
  - Reads the package's containers (C(rpm -ql), C(ulp dump)), every
    process's livepatchable libraries and applied patches (C(ulp patches
    --json)), and the lines the rpm plugin wrote to the ulp log during the
    transaction.
  - With I(state=present), every process that runs a build one of the
    package's containers covers must have that container's patch, unless
    the host's policy left it out (C(exclude), C(exclude_cgroup) in
    C(/etc/ulp/ulp.conf), or the process opted out): that one is reported
    C(skipped) with the reason. With I(state=absent), no process may keep a
    patch of the package; the processes the transaction reverted are
    reported C(reverted).
  - Fails, naming each process and the plugin's reason, when that does not
    hold. Builds of the target library that no container covers are
    listed, not failed.
options:
  package: {description: Name of the livepatch package., required: true, type: str}
  state: {description: present or absent., default: present, type: str}
  version: {description: VERSION-RELEASE that must be installed (state=present)., type: str}
  since: {description: UTC time (YYYY-MM-DDTHH:MM:SSZ) of the transaction's start; older log lines are ignored., type: str}
  log: {description: The ulp log., default: /var/log/ulp.log, type: path}
  nevra: {description: The package's NEVRA before the transaction (its log lines after a removal)., type: str}
  targets: {description: Library sonames whose patches must also be gone (state=absent)., type: list, elements: str}
"""
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

PROCESS_LINE = re.compile(r"^(?P<name>.*) \(pid (?P<pid>\d+)[,)].*?: (?P<outcome>SUCCESS|SKIPPED|FAILED)(?P<rest>.*)$")
# The plugin's reasons for leaving a process out by the host's own choice.
POLICY_SKIP = re.compile(r"^SKIPPED.*(excluded by |it opted out )")
SUMMARY_LINE = re.compile(r"^(patched|reverted) \d+, skipped \d+, failed \d+$")


def installed(module, package):
    rc, out, _ = module.run_command(["rpm", "-q", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH} %{VERSION}-%{RELEASE}\\n", package])
    if rc != 0:
        return None, None
    nevra, vr = out.split()[:2]
    return nevra, vr


def containers(module, package):
    rc, out, err = module.run_command(["rpm", "-ql", package])
    if rc != 0:
        return []
    found = []
    for path in out.splitlines():
        if "/ulp/" not in path or not path.endswith(".so"):
            continue
        rc, dump, err = module.run_command(["ulp", "dump", path])
        if rc != 0:
            module.fail_json(msg="ulp dump %s: %s" % (path, err.strip()))
        fields = dict(
            (k.strip(), v.strip())
            for k, v in (line.split(":", 1) for line in dump.splitlines() if ":" in line and not line.startswith(" "))
        )
        found.append({"path": path, "target": fields.get("target"), "build_id": fields.get("build-id"), "patch_id": fields.get("patch id")})
    return found


def processes(module):
    rc, out, err = module.run_command(["ulp", "patches", "--json"])
    if rc != 0:
        module.fail_json(msg="ulp patches --json: %s" % err.strip())
    return json.loads(out)["processes"]


def log_lines(path, package, nevra, since):
    """The plugin's lines about PACKAGE since SINCE: pid -> line, and the
    summary lines."""
    by_pid, summaries, lines = {}, [], []
    prefixes = tuple(p + ": " for p in (nevra, package) if p)
    try:
        with open(path, errors="replace") as f:
            for line in f:
                stamp, _, text = line.rstrip("\n").partition(" ")
                if since and stamp < since:
                    continue
                if not text.startswith(prefixes):
                    continue
                body = text.split(": ", 1)[1]
                lines.append(text)
                m = PROCESS_LINE.match(body)
                if m:
                    by_pid[int(m.group("pid"))] = m.group("outcome") + m.group("rest")
                elif SUMMARY_LINE.match(body):
                    summaries.append(body)
    except FileNotFoundError:
        pass
    return by_pid, summaries, lines


def verify_present(procs, conts, reasons):
    by_build = dict((c["build_id"], c) for c in conts)
    targets = set(c["target"] for c in conts)
    rows, uncovered, problems = [], {}, []
    for p in procs:
        applied = set(x.get("id") for x in p.get("patches", []))
        for lib in p.get("libraries", []):
            covering = by_build.get(lib.get("build_id"))
            soname = lib.get("soname") or os.path.basename(lib.get("path", ""))
            if not covering and soname not in targets:
                continue
            row = {"pid": p["pid"], "name": p["name"], "library": lib.get("path"), "build_id": lib.get("build_id"),
                   "package": lib.get("package"), "report": reasons.get(p["pid"])}
            if not covering:
                row["status"] = "uncovered"
                u = uncovered.setdefault(lib.get("build_id"), {"build_id": lib.get("build_id"), "library": lib.get("path"),
                                                               "package": lib.get("package"), "pids": []})
                u["pids"].append(p["pid"])
            elif covering["patch_id"] in applied:
                row["status"] = "patched"
                row["container"] = covering["path"]
            elif POLICY_SKIP.match(reasons.get(p["pid"]) or ""):
                row["status"] = "skipped"
                row["container"] = covering["path"]
            else:
                row["status"] = "not patched"
                row["container"] = covering["path"]
                problems.append("%s (pid %d) runs %s build %s, which %s covers, without its patch: %s"
                                % (p["name"], p["pid"], soname, lib.get("build_id"), covering["path"],
                                   reasons.get(p["pid"]) or "the transaction reported nothing about it"))
            rows.append(row)
    return rows, list(uncovered.values()), problems


def verify_absent(procs, package, targets, reasons):
    rows, problems = [], []
    marker = "/ulp/%s/" % package
    for p in procs:
        left = [x for x in p.get("patches", []) if marker in x.get("container", "") or x.get("target") in targets]
        if not left:
            if p["pid"] in reasons:
                rows.append({"pid": p["pid"], "name": p["name"], "report": reasons[p["pid"]],
                             "status": "reverted" if reasons[p["pid"]].startswith("SUCCESS") else "not patched"})
            continue
        rows.append({"pid": p["pid"], "name": p["name"], "status": "still patched",
                     "patches": [x.get("container") for x in left], "report": reasons.get(p["pid"])})
        problems.append("%s (pid %d) still has %s: %s" % (p["name"], p["pid"], ", ".join(x.get("container", "?") for x in left),
                                                         reasons.get(p["pid"]) or "the transaction reported nothing about it"))
    return rows, problems


def main():
    module = AnsibleModule(
        argument_spec=dict(
            package=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            version=dict(type="str"),
            since=dict(type="str"),
            log=dict(type="path", default="/var/log/ulp.log"),
            targets=dict(type="list", elements="str", default=[]),
            nevra=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    a = module.params
    nevra, vr = installed(module, a["package"])
    reasons, summaries, lines = log_lines(a["log"], a["package"], nevra or a["nevra"], a["since"])
    procs = processes(module)
    result = dict(changed=False, installed=vr, nevra=nevra, transaction=lines, summaries=summaries)
    if a["state"] == "present":
        if not nevra:
            module.fail_json(msg="%s is not installed" % a["package"], **result)
        if a["version"] and vr != a["version"]:
            module.fail_json(msg="%s %s is installed, not %s" % (a["package"], vr, a["version"]), **result)
        conts = containers(module, a["package"])
        rows, uncovered, problems = verify_present(procs, conts, reasons)
        result.update(containers=conts, processes=rows, uncovered_builds=uncovered)
    else:
        if nevra:
            module.fail_json(msg="%s %s is still installed" % (a["package"], vr), **result)
        rows, problems = verify_absent(procs, a["package"], set(a["targets"]), reasons)
        result.update(containers=[], processes=rows, uncovered_builds=[])
    counts = {}
    for r in result["processes"]:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    result["counts"] = counts
    if problems:
        module.fail_json(msg="; ".join(problems), problems=problems, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
