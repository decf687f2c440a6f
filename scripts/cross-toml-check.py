#!/usr/bin/env python3
"""Offline check of Cross.toml against what cross (cross-rs) 0.2.5 accepts.

cross needs Docker, so it cannot run here; this check stands in for it in CI.
cross 0.2.5 only warns about unknown keys and silently ignores a lowercase
cross.toml, so a typo would quietly drop a setting: this checker fails instead.

Checks:
- the file is named exactly Cross.toml (no cross.toml beside it);
- every table and key is one cross 0.2.5 knows, with the type it expects
  (schema read from cross 0.2.5's src/cross_toml.rs and docs/cross_toml.md);
- runner values are ones its qemu runner accepts; env passthrough entries are
  NAME or NAME=VALUE and not CROSS_RUNNER;
- every [target.X] is a target rustc knows, and every target configured in
  .cargo/config.toml has a [target.X] table;
- a target for which rustup has no std (tier 3, e.g. mips*-musl) has cargo
  build it: with panic = "abort" in [profile.release], through
  CARGO_UNSTABLE_BUILD_STD=std,panic_abort in env.passthrough, because
  build-std = true makes cross 0.2.5 pass a bare -Zbuild-std, which then fails
  ("can't find crate for `panic_abort`", seen with the nightly of 2026-05-19).

Usage: scripts/cross-toml-check.py [PROJECT_DIR]   (default: the repository)
       scripts/cross-toml-check.py --self-test     (shows that it rejects bad files)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

# cross 0.2.5: CrossEnvConfig, CrossBuildConfig, CrossTargetConfig,
# CrossTargetDockerfileConfig (serde rename_all = "kebab-case").
STR, BOOL, STR_LIST, STR_OR_LIST, ENV, DOCKERFILE, STR_MAP = (
    "string", "boolean", "array of strings", "string or array of strings",
    "env table", "string or dockerfile table", "table of strings")
ENV_KEYS = {"volumes": STR_LIST, "passthrough": STR_LIST}
BUILD_KEYS = {
    "env": ENV, "xargo": BOOL, "build-std": BOOL, "default-target": STR,
    "pre-build": STR_OR_LIST, "dockerfile": DOCKERFILE,
}
TARGET_KEYS = {
    "xargo": BOOL, "build-std": BOOL, "image": STR, "dockerfile": DOCKERFILE,
    "pre-build": STR_OR_LIST, "runner": STR, "env": ENV,
}
DOCKERFILE_KEYS = {"file": STR, "context": STR, "build-args": STR_MAP}
RUNNERS = {"native", "qemu-user", "qemu-system"}
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_str_list(v):
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def check_table(errors, path, table, keys):
    if not isinstance(table, dict):
        errors.append(f"{path}: expected a table, got {type(table).__name__}")
        return
    for key, value in table.items():
        where = f"{path}.{key}"
        if key not in keys:
            errors.append(f"{where}: unknown key (cross 0.2.5 accepts: {', '.join(sorted(keys))})")
            continue
        check_value(errors, where, value, keys[key])


def check_value(errors, where, value, kind):
    ok = {
        STR: lambda v: isinstance(v, str),
        BOOL: lambda v: isinstance(v, bool),
        STR_LIST: is_str_list,
        STR_OR_LIST: lambda v: isinstance(v, str) or is_str_list(v),
        STR_MAP: lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
    }
    if kind == ENV:
        check_table(errors, where, value, ENV_KEYS)
        for entry in value.get("passthrough", []) if isinstance(value, dict) else []:
            if not isinstance(entry, str):
                continue
            name = entry.split("=", 1)[0]
            if not ENV_NAME.match(name):
                errors.append(f"{where}.passthrough: {entry!r} is not NAME or NAME=VALUE")
            elif name == "CROSS_RUNNER":
                errors.append(f"{where}.passthrough: CROSS_RUNNER is reserved by cross")
    elif kind == DOCKERFILE:
        if isinstance(value, dict):
            check_table(errors, where, value, DOCKERFILE_KEYS)
            if "file" not in value:
                errors.append(f"{where}: a dockerfile table needs `file`")
        elif not isinstance(value, str):
            errors.append(f"{where}: expected {kind}")
    elif not ok[kind](value):
        errors.append(f"{where}: expected a {kind}, got {value!r}")


def command_lines(*argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def check(project):
    errors, notes = [], []
    path = os.path.join(project, "Cross.toml")
    names = os.listdir(project)
    if "Cross.toml" not in names:
        return [f"{path}: missing (cross reads only Cross.toml)"], notes
    for name in names:
        if name != "Cross.toml" and name.lower() == "cross.toml":
            errors.append(f"{os.path.join(project, name)}: cross 0.2.5 ignores this name; "
                          "only Cross.toml is read")
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        return errors + [f"{path}: not TOML: {e}"], notes

    for key, value in doc.items():
        if key == "build":
            check_table(errors, "build", value, BUILD_KEYS)
        elif key == "target":
            if not isinstance(value, dict):
                errors.append("target: expected a table of [target.<triple>] tables")
                continue
            for triple, table in value.items():
                check_table(errors, f"target.{triple}", table, TARGET_KEYS)
                runner = table.get("runner") if isinstance(table, dict) else None
                if isinstance(runner, str) and runner not in RUNNERS:
                    errors.append(f"target.{triple}.runner: {runner!r} is not one of "
                                  f"{', '.join(sorted(RUNNERS))}")
        else:
            errors.append(f"{key}: unknown top-level key (cross 0.2.5 accepts: build, target)")

    targets = doc.get("target", {}) if isinstance(doc.get("target"), dict) else {}
    known = command_lines("rustc", "+nightly", "--print", "target-list") or \
        command_lines("rustc", "--print", "target-list")
    if known is None:
        notes.append("rustc not found: target names not checked")
    else:
        for triple in targets:
            if triple not in known:
                errors.append(f"target.{triple}: not a target rustc knows")

    # Tier 3 (rustup has no std): cargo must build std. cross's build-std =
    # true passes a bare -Zbuild-std, which fails when the release profile
    # aborts on panic (no panic_abort); CARGO_UNSTABLE_BUILD_STD can name it.
    with open(os.path.join(project, "Cargo.toml"), "rb") as f:
        panic = tomllib.load(f).get("profile", {}).get("release", {}).get("panic", "unwind")
    with_std = command_lines("rustup", "target", "list")
    if with_std is None:
        notes.append("rustup not found: build-std for tier-3 targets not checked")
    else:
        for triple, table in targets.items():
            if triple in with_std or not isinstance(table, dict):
                continue
            env = table.get("env", {}) if isinstance(table.get("env"), dict) else {}
            crates = [e.split("=", 1)[1].replace(",", " ").split()
                      for e in env.get("passthrough", [])
                      if isinstance(e, str) and e.startswith("CARGO_UNSTABLE_BUILD_STD=")]
            crates = crates[-1] if crates else None
            if panic == "abort":
                if table.get("build-std") is True:
                    errors.append(f"target.{triple}: build-std = true makes cross pass a bare "
                                  "-Zbuild-std, which fails with panic = \"abort\" in "
                                  "[profile.release]; pass CARGO_UNSTABLE_BUILD_STD="
                                  "std,panic_abort through env.passthrough instead")
                elif not crates or "panic_abort" not in crates:
                    errors.append(f"target.{triple}: rustup has no std for it (tier 3): "
                                  "env.passthrough = [\"CARGO_UNSTABLE_BUILD_STD=std,panic_abort\"] "
                                  "(and cross +nightly)")
            elif table.get("build-std") is not True and not crates:
                errors.append(f"target.{triple}: rustup has no std for it (tier 3): set "
                              "build-std = true (and use cross +nightly)")

    cargo_config = os.path.join(project, ".cargo", "config.toml")
    if os.path.exists(cargo_config):
        with open(cargo_config, "rb") as f:
            configured = tomllib.load(f).get("target", {})
        for triple in configured:
            if triple not in targets:
                errors.append(f"target.{triple}: configured in .cargo/config.toml "
                              "but missing from Cross.toml")
    return errors, notes


def self_test():
    """Each broken copy of the real Cross.toml must be rejected."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Cross.toml")) as f:
        good = f.read()
    tier3 = '"CARGO_UNSTABLE_BUILD_STD=std,panic_abort"'
    cases = {
        "misspelt key (pasthrough)": {"Cross.toml": good.replace("env.passthrough", "env.pasthrough", 1)},
        "misspelt key (buildstd)": {"Cross.toml": good + "\n[target.x86_64-unknown-linux-gnu]\nbuildstd = true\n"},
        "misspelt table (targets)": {"Cross.toml": good.replace("[target.mipsel", "[targets.mipsel", 1)},
        "lowercase cross.toml": {"cross.toml": good},
        "lowercase cross.toml beside Cross.toml": {"Cross.toml": good, "cross.toml": good},
        "wrong type": {"Cross.toml": good + '\n[target.x86_64-unknown-linux-gnu]\nbuild-std = "yes"\n'},
        "unknown target": {"Cross.toml": good + "\n[target.mips-unknown-linux-muls]\nenv.passthrough = [" + tier3 + "]\n"},
        "bad runner": {"Cross.toml": good + '\n[target.x86_64-unknown-linux-gnu]\nrunner = "qemu"\n'},
        "reserved passthrough": {"Cross.toml": good.replace('"QEMU_CPU=arm1176"', '"CROSS_RUNNER=native"')},
        "tier 3 without std built": {"Cross.toml": good.replace(tier3, '"QEMU_CPU=24Kc"')},
        "tier 3 with build-std = true and panic = abort": {
            "Cross.toml": good.replace("env.passthrough = [" + tier3 + "]", "build-std = true")},
    }
    failures = 0
    for label, files in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, ".cargo"))
            shutil.copy(os.path.join(root, ".cargo", "config.toml"), os.path.join(tmp, ".cargo"))
            shutil.copy(os.path.join(root, "Cargo.toml"), tmp)
            for name, text in files.items():
                with open(os.path.join(tmp, name), "w") as f:
                    f.write(text)
            errors, _ = check(tmp)
        if errors:
            print(f"self-test: {label}: rejected: {errors[0]}")
        else:
            failures += 1
            print(f"self-test: {label}: NOT rejected")
    errors, _ = check(root)
    if errors:
        failures += 1
        print(f"self-test: the real Cross.toml: rejected: {errors}")
    else:
        print("self-test: the real Cross.toml: accepted")
    print(f"cross-toml-check self-test: {len(cases) + 1 - failures} passed, {failures} failed")
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    project = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    errors, notes = check(project)
    for note in notes:
        print(f"cross-toml-check: note: {note}")
    for error in errors:
        print(f"cross-toml-check: {error}", file=sys.stderr)
    if errors:
        return 1
    print(f"cross-toml-check: {os.path.join(project, 'Cross.toml')} is valid for cross 0.2.5")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
