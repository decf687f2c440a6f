#!/usr/bin/env python3
"""Check the Buildroot BR2_EXTERNAL tree in buildroot-package/ without Buildroot.

  kconfig   kconfiglib parses Config.in under a stub of Buildroot's own symbols;
            the defconfig fragment applies without warnings; every recovery
            device choice yields the string stability.mk puts in config.ini.
  lint      what Buildroot's utils/check-package enforces, re-implemented: the
            .mk header block, tab indentation, the STABILITY_ variable prefix,
            $() not ${}, .hash line format (and its LICENSE hash against the
            file), Config.in layout and help text, the S-script's name,
            DAEMON/PIDFILE variables and non-executable mode, whitespace.
  mk        GNU make evaluates stability.mk with Buildroot's helpers stubbed,
            runs its install hooks into a scratch target directory and its
            local-checkout vendoring hook, and compares the results.

Usage: pkg-check-buildroot.py {kconfig,lint,mk} --src TREE --work DIR [--cargo-home DIR]
  TREE: the project's files as a release tarball would hold them.
"""

import argparse
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "buildroot-package"
PKG = EXT / "package/stability"
PREFIX = "STABILITY_"
CHOICES = {
    "BR2_PACKAGE_STABILITY_RECOVERY_WATCHDOG": "watchdog",
    "BR2_PACKAGE_STABILITY_RECOVERY_RTC": "rtc",
    "BR2_PACKAGE_STABILITY_RECOVERY_REBOOT": "reboot",
    "BR2_PACKAGE_STABILITY_RECOVERY_CHAIN": "watchdog, rtc, reboot",
}

# Buildroot's own symbols that the package's Config.in refers to, and the
# wrapper Buildroot generates around a BR2_EXTERNAL's Config.in.
STUB_KCONFIG = """\
mainmenu "Buildroot stub"

config BR2_PACKAGE_HOST_RUSTC_TARGET_ARCH_SUPPORTS
	bool
	default y

config BR2_PACKAGE_HOST_RUSTC
	bool

menu "External options"
source "$BR2_EXTERNAL_STABILITY_PATH/Config.in"
endmenu
"""

problems = []


def problem(path, lineno, msg):
    rel = os.path.relpath(path, ROOT) if Path(path).is_absolute() else path
    problems.append(f"{rel}:{lineno}: {msg}")


# ---------------------------------------------------------------- kconfig

def load_kconfig(work):
    import kconfiglib
    stub = work / "Kconfig"
    stub.write_text(STUB_KCONFIG)
    os.environ["BR2_EXTERNAL_STABILITY_PATH"] = str(EXT)
    os.environ["CONFIG_"] = ""  # Buildroot's .config has no CONFIG_ prefix
    kconf = kconfiglib.Kconfig(str(stub), warn_to_stderr=False)
    for w in kconf.warnings:
        problem(EXT / "Config.in", 0, f"kconfiglib: {w}")
    return kconf


def check_kconfig(work):
    import kconfiglib
    try:
        kconf = load_kconfig(work)
    except kconfiglib.KconfigError as e:
        problem(EXT / "Config.in", 0, f"kconfiglib cannot parse it: {e}")
        return
    syms = kconf.syms
    pkg = syms.get("BR2_PACKAGE_STABILITY")
    if pkg is None or not pkg.nodes:
        problem(PKG / "Config.in", 0, "BR2_PACKAGE_STABILITY is not defined")
        return
    if "BR2_PACKAGE_HOST_RUSTC_TARGET_ARCH_SUPPORTS" not in kconfiglib.expr_str(pkg.direct_dep):
        problem(PKG / "Config.in", 0, "BR2_PACKAGE_STABILITY must depend on BR2_PACKAGE_HOST_RUSTC_TARGET_ARCH_SUPPORTS")
    if not any(s.name == "BR2_PACKAGE_HOST_RUSTC" for s, _ in pkg.selects):
        problem(PKG / "Config.in", 0, "BR2_PACKAGE_STABILITY must select BR2_PACKAGE_HOST_RUSTC")
    help_text = (pkg.nodes[0].help or "").strip().splitlines()
    if not help_text or not re.match(r"https?://\S+$", help_text[-1].strip()):
        problem(PKG / "Config.in", 0, "the help text of BR2_PACKAGE_STABILITY must end with the project's URL")

    # The fragment, applied over a config as `cat fragment >> .config` +
    # olddefconfig would: no unknown symbols, no value kconfig refuses.
    fragment = EXT / "stability.config"
    kconf.warnings.clear()
    kconf.warn_assign_undef = True  # a misspelt symbol must not pass silently
    kconf.load_config(str(fragment), replace=True)
    for w in kconf.warnings:
        problem(fragment, 0, f"kconfiglib: {w}")
    for line in fragment.read_text().splitlines():
        m = re.match(r"(BR2_\w+)=(.*)$", line)
        if m and m.group(1) not in syms:
            problem(fragment, 0, f"{m.group(1)} is not a symbol of this tree")
        elif m and syms[m.group(1)].str_value != m.group(2).strip('"'):
            problem(fragment, 0, f"{m.group(1)}={m.group(2)} does not stick "
                                 f"(kconfig makes it {syms[m.group(1)].str_value!r})")
    if syms["BR2_PACKAGE_HOST_RUSTC"].str_value != "y":
        problem(fragment, 0, "selecting stability does not select BR2_PACKAGE_HOST_RUSTC")

    device = syms.get("BR2_PACKAGE_STABILITY_RECOVERY_DEVICE")
    if device is None:
        problem(PKG / "Config.in", 0, "BR2_PACKAGE_STABILITY_RECOVERY_DEVICE is not defined")
        return
    for choice_sym, expected in CHOICES.items():
        if choice_sym not in syms or not syms[choice_sym].nodes:
            problem(PKG / "Config.in", 0, f"{choice_sym} is not defined")
            continue
        syms[choice_sym].set_value(2)
        if device.str_value != expected:
            problem(PKG / "Config.in", 0, f"with {choice_sym}, RECOVERY_DEVICE is "
                                          f"{device.str_value!r}, expected {expected!r}")


# ---------------------------------------------------------------- lint

def lint_common(path, lines):
    for i, line in enumerate(lines, 1):
        if line != line.rstrip():
            problem(path, i, "trailing whitespace")
        if i > 1 and not line.strip() and not lines[i - 2].strip():
            problem(path, i, "consecutive empty lines")
    if lines and not lines[-1].strip():
        problem(path, len(lines), "empty last line")


def read_lines(path):
    text = path.read_text()
    if text and not text.endswith("\n"):
        problem(path, text.count("\n") + 1, "no newline at end of file")
    return text.splitlines()


def lint_mk(path):
    lines = read_lines(path)
    lint_common(path, lines)
    name = path.stem
    header = ["#" * 80, "#", f"# {name}", "#", "#" * 80, ""]
    if lines[:6] != header:
        problem(path, 1, f"expected the package header block:\n" + "\n".join(header))
    in_define = False
    continued = False
    for i, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            continued = False
            continue
        if re.match(r"define\s+\w+", line):
            in_define = True
            var = line.split()[1]
            if not var.startswith(PREFIX):
                problem(path, i, f"{var}: variables of this package start with {PREFIX}")
            continue
        if stripped == "endef":
            in_define = False
            continue
        if (in_define or continued) and stripped and not line.startswith("\t"):
            problem(path, i, "indent with tabs")
        if not in_define and not continued:
            m = re.match(r"([A-Za-z0-9_.-]+)\s*(\+=|\?=|:=|=)", line)
            if m and not m.group(1).startswith(PREFIX):
                problem(path, i, f"{m.group(1)}: variables of this package start with {PREFIX}")
            if line.startswith((" ", "\t")) and stripped:
                problem(path, i, "unexpected indentation")
        if line.endswith("\\") and not re.search(r"[^ \t] \\$", line):
            problem(path, i, "exactly one space before a line-continuation backslash")
        if re.search(r"(?<!\$)\$\{", line):
            problem(path, i, "use $() for make variables, not ${}")
        continued = line.endswith("\\")
    if continued:
        problem(path, len(lines), "last line ends with a backslash")
    defined = {m.group(1) for line in lines
               for m in [re.match(r"(?:define\s+)?(STABILITY_\w+)", line)] if m}
    for var in ("VERSION", "SITE", "LICENSE", "LICENSE_FILES",
                "INSTALL_INIT_SYSV", "INSTALL_INIT_SYSTEMD"):
        if PREFIX + var not in defined:
            problem(path, 0, f"{PREFIX}{var} is not defined")
    if not lines or lines[-1] != "$(eval $(cargo-package))":
        problem(path, len(lines), "the last line must be $(eval $(cargo-package))")


HASH_LEN = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}


def lint_hash(path, src, license_files):
    lines = read_lines(path)
    lint_common(path, lines)
    hashed = {}
    for i, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3:
            problem(path, i, "expected 3 fields: <type>  <hash>  <file>")
            continue
        kind, value, name = fields
        if line != f"{kind}  {value}  {name}":
            problem(path, i, "separate the fields with two spaces")
        if kind not in HASH_LEN:
            problem(path, i, f"unknown hash type {kind}")
        elif not re.fullmatch(f"[0-9a-f]{{{HASH_LEN[kind]}}}", value):
            problem(path, i, f"{kind} must be {HASH_LEN[kind]} lowercase hex digits")
        hashed[name] = (kind, value, i)
    for name in license_files:
        if name not in hashed:
            problem(path, 0, f"no hash for {name} (in {PREFIX}LICENSE_FILES)")
            continue
        kind, value, i = hashed[name]
        f = src / name
        actual = hashlib.new(kind, f.read_bytes()).hexdigest() if f.exists() else "(missing)"
        if actual != value:
            problem(path, i, f"{name}: {kind} {value}, the file's is {actual}")


def lint_config_in(path):
    lines = read_lines(path)
    lint_common(path, lines)
    entry_re = re.compile(r"(config|menuconfig|choice|endchoice|if|endif|menu|endmenu|comment|source)\b")
    order = {"bool": 0, "string": 0, "int": 0, "prompt": 0, "default": 1,
             "depends": 2, "select": 3, "help": 4}
    last = -1
    in_help = False
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if in_help:
            if line.startswith("\t  "):
                text = line[3:]
                if len(text) > 62 and not re.fullmatch(r"\S+://\S+", text):
                    problem(path, i, "help text: at most 62 characters after <tab><2 spaces>")
                continue
            in_help = False
        if entry_re.match(line):
            last = -1
            continue
        if line.startswith((" ", "\t\t")) or not line.startswith("\t"):
            problem(path, i, "attributes are indented with one tab, help text with <tab><2 spaces>")
            continue
        word = line.split()[0]
        if word in order:
            if order[word] < last:
                problem(path, i, f"attribute order: type/prompt, default, depends on, select, help ({word} out of place)")
            last = order[word]
        if word == "help":
            in_help = True


def lint_sysv(path):
    lines = read_lines(path)
    lint_common(path, lines)
    daemon = None
    for i, line in enumerate(lines, 1):
        if re.match(r"^\t* ", line.rstrip()):
            problem(path, i, "indent with tabs")
        m = re.match(r"DAEMON=[\"']?([^\"']*)[\"']?$", line)
        if m:
            if daemon is not None:
                problem(path, i, "DAEMON redefined")
            daemon = m.group(1)
            if "/" in daemon:
                problem(path, i, "no path in DAEMON")
        m = re.match(r"PIDFILE=[\"']?([^\"']*)[\"']?$", line)
        if m and not re.fullmatch(r"/var/run/(\$DAEMON|\$\{DAEMON\})\.pid", m.group(1)):
            problem(path, i, 'PIDFILE must be "/var/run/$DAEMON.pid"')
    if daemon is None:
        problem(path, 0, "DAEMON is not defined")
    elif not re.fullmatch(rf"S\d\d{re.escape(daemon)}", path.name):
        problem(path, 0, f"the file must be named S<two digits>{daemon}")
    if path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        problem(path, 0, "must not be executable: the .mk installs it with $(INSTALL) -D -m 0755")


def check_lint(src):
    desc = EXT / "external.desc"
    d = dict(l.split(":", 1) for l in desc.read_text().splitlines() if ":" in l)
    if d.get("name", "").strip() != "STABILITY" or not re.fullmatch(r"[A-Za-z0-9_]+", d["name"].strip()):
        problem(desc, 1, "name must be STABILITY")
    if not d.get("desc", "").strip():
        problem(desc, 0, "desc is missing")
    for cfg in [EXT / "Config.in", *sorted(EXT.glob("package/*/Config.in"))]:
        lint_config_in(cfg)
    mk = PKG / "stability.mk"
    lint_mk(mk)
    license_files = []
    for line in mk.read_text().splitlines():
        m = re.match(r"STABILITY_LICENSE_FILES\s*=\s*(.*)", line)
        if m:
            license_files = m.group(1).split()
    lint_hash(PKG / "stability.hash", src, license_files)
    # The init script is installed from the source tree (service/), the one
    # copy the Yocto recipe installs too; it follows the S-script rules.
    scripts = sorted(p for p in (src / "service").iterdir() if re.match(r"S\d\d", p.name))
    if not scripts:
        problem(src / "service", 0, "no S<NN>stability init script")
    if "$(@D)/service/S50stability" not in mk.read_text():
        problem(mk, 0, "does not install the init script from $(@D)/service/")
    for script in scripts:
        lint_sysv(script)


# ---------------------------------------------------------------- mk

HARNESS = """\
# Buildroot's helpers, reduced to what stability.mk uses.
BR2_EXTERNAL_STABILITY_PATH := {ext}
include {config}
INSTALL := install
SED := sed -i -e
HOST_MAKE_ENV :=
PKG_CARGO_ENV := CARGO_HOME={cargo_home}
TARGET_DIR := {target}
qstrip = $(strip $(subst ",,$(1)))
cargo-package :=
STABILITY_PKGDIR := {pkgdir}/
include $(BR2_EXTERNAL_STABILITY_PATH)/external.mk
define sep


endef

{build}/.stamp_target_installed:
	$(foreach hook,$(STABILITY_PRE_BUILD_HOOKS),$(call $(hook))$(sep))
	$(STABILITY_INSTALL_INIT_SYSV)
	$(STABILITY_INSTALL_INIT_SYSTEMD)
	$(foreach hook,$(STABILITY_POST_INSTALL_TARGET_HOOKS),$(call $(hook))$(sep))
"""


def run_mk(work, src, config, cargo_home, override):
    build = work / "build/stability"
    target = work / "target"
    for d in (build.parent, target):
        shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(src, build, symlinks=True)
    target.mkdir(parents=True)
    harness = work / "harness.mk"
    harness.write_text(HARNESS.format(ext=EXT, config=config, cargo_home=cargo_home,
                                      target=target, pkgdir=PKG, build=build))
    cmd = ["make", "--no-print-directory", "-f", str(harness)]
    if override:
        cmd.append(f"STABILITY_OVERRIDE_SRCDIR={src}")
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
    if r.returncode != 0:
        problem(PKG / "stability.mk", 0, f"make failed ({' '.join(cmd)}):\n{r.stdout}{r.stderr}")
        return None, None
    return build, target


def mk_cargo_env(work, config):
    """STABILITY_CARGO_ENV as stability.mk sets it under these .config lines
    and Buildroot's toolchain variables."""
    mk = work / "cargo-env.mk"
    mk.write_text(config + """
UPPERCASE = $(shell echo '$(1)' | tr 'a-z-' 'A-Z_')
qstrip = $(strip $(subst ",,$(1)))
cargo-package :=
include %s
print:
	@printf '%%s\\n' '$(strip $(STABILITY_CARGO_ENV))'
""" % (PKG / "stability.mk"))
    r = subprocess.run(["make", "--no-print-directory", "-f", str(mk), "print"],
                       capture_output=True, text=True, cwd=work)
    if r.returncode != 0:
        problem(PKG / "stability.mk", 0, f"make cannot read it: {r.stderr.strip()}")
        return None
    return r.stdout.strip()


def check_time64(work):
    """musl builds get the libc crate's 64-bit time_t (the cfg for musl >= 1.2),
    ARM keeps pkg-cargo.mk's own flag, glibc builds get nothing."""
    cfg = "--cfg libc_unstable_musl_v1_2"
    cases = (
        ("BR2_TOOLCHAIN_USES_MUSL = y\nNORMALIZED_ARCH = arm\n"
         "RUSTC_TARGET_NAME = armv7-unknown-linux-musleabihf\n",
         f'CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_RUSTFLAGS="{cfg} '
         '-Clink-arg=-Wl,--allow-multiple-definition"'),
        ("BR2_TOOLCHAIN_USES_MUSL = y\nNORMALIZED_ARCH = mips\n"
         "RUSTC_TARGET_NAME = mipsel-unknown-linux-musl\n",
         f'CARGO_TARGET_MIPSEL_UNKNOWN_LINUX_MUSL_RUSTFLAGS="{cfg}"'),
        ("BR2_TOOLCHAIN_USES_GLIBC = y\nNORMALIZED_ARCH = arm\n"
         "RUSTC_TARGET_NAME = armv7-unknown-linux-gnueabihf\n", ""),
    )
    for config, want in cases:
        got = mk_cargo_env(work, config)
        if got is not None and got != want:
            problem(PKG / "stability.mk", 0,
                    f"with {config.strip().replace(chr(10), ', ')}: STABILITY_CARGO_ENV is "
                    f"{got!r}, expected {want!r}")


def check_mk(work, src, cargo_home):
    check_time64(work)
    config_ini = (src / "config.ini").read_text()
    if len(re.findall(r"^recovery_device = .*$", config_ini, re.M)) != 1:
        problem("config.ini", 0, "has not exactly one 'recovery_device = ' line, "
                                       "which STABILITY_INSTALL_CONFIG rewrites")
    # The .config lines Buildroot would include, as the kconfig check proves
    # Config.in produces them.
    configs = {}
    for choice_sym, device in CHOICES.items():
        configs[device] = work / f"{choice_sym}.config"
        configs[device].write_text(f'BR2_PACKAGE_STABILITY=y\n{choice_sym}=y\n'
                                   f'BR2_PACKAGE_STABILITY_RECOVERY_DEVICE="{device}"\n')
    for device, config in configs.items():
        build, target = run_mk(work, src, config, cargo_home, override=False)
        if target is None:
            continue
        installed = {"/" + str(p.relative_to(target)): stat.S_IMODE(p.stat().st_mode)
                     for p in target.rglob("*") if p.is_file()}
        want = {"/etc/stability/config.ini": 0o644, "/etc/init.d/S50stability": 0o755,
                "/usr/lib/systemd/system/stability.service": 0o644,
                "/usr/share/man/man8/stability.8": 0o644,
                "/usr/share/man/man5/stability.ini.5": 0o644}
        if installed != want:
            problem(PKG / "stability.mk", 0, f"[{device}] installed {installed}, expected {want}")
            continue
        for path, source in (("/etc/init.d/S50stability", src / "service" / "S50stability"),
                             ("/usr/lib/systemd/system/stability.service",
                              src / "service" / "stability.service"),
                             ("/usr/share/man/man8/stability.8", src / "docs/man/stability.8"),
                             ("/usr/share/man/man5/stability.ini.5",
                              src / "docs/man/stability.ini.5")):
            if (target / path.lstrip("/")).read_bytes() != source.read_bytes():
                problem(PKG / "stability.mk", 0, f"{path} differs from {source.name}")
        expected = re.sub(r"^recovery_device = .*$", f"recovery_device = {device}", config_ini, flags=re.M)
        got = (target / "etc/stability/config.ini").read_text()
        # Kept for check-packaging.sh's configs check (the daemon must accept it).
        (work / f"installed-{device.replace(', ', '-')}.ini").write_text(got)
        if got != expected:
            problem(PKG / "stability.mk", 0, f"[{device}] /etc/stability/config.ini is not config.ini "
                                             f"with recovery_device = {device}")

    # The local-checkout path: the vendoring hook must leave a tree cargo can
    # build offline (the build itself is check-packaging.sh's vendoring check).
    build, _ = run_mk(work, src, configs["watchdog"], cargo_home, override=True)
    if build is not None:
        cfg = build / ".cargo/config.toml"
        if not (build / "VENDOR").is_dir() or not cfg.exists() or "replace-with" not in cfg.read_text():
            problem(PKG / "stability.mk", 0, "with STABILITY_OVERRIDE_SRCDIR, STABILITY_VENDOR_CRATES "
                                             "left no VENDOR/ and .cargo/config.toml")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("check", choices=["kconfig", "lint", "mk"])
    ap.add_argument("--src", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--cargo-home", type=Path)
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.check == "kconfig":
        check_kconfig(work)
    elif args.check == "lint":
        check_lint(args.src)
    else:
        if not args.cargo_home:
            ap.error("mk needs --cargo-home")
        check_mk(work, args.src, args.cargo_home.resolve())
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
