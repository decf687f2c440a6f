#!/usr/bin/env python3
"""Parse meta-stability's recipe with bitbake's own parser, as scarthgap and
as wrynose would, and run its do_install.

openembedded-core is not available here, so the OE classes the recipe
inherits are replaced by stubs that define only what the recipe relies on,
and bitbake.conf by a stub with each release's S/UNPACKDIR layout:

  scarthgap  S = ${WORKDIR}/${BP}, no UNPACKDIR (file:// entries land in WORKDIR)
  wrynose    UNPACKDIR ??= ${WORKDIR}/sources, S = ${UNPACKDIR}/${BP}, and
             do_unpack's rule that S must lie inside UNPACKDIR

It first reads conf/layer.conf with the same parser (series, dependency,
BBFILES matching the recipe) and checks that README.md and SECURITY.md say
what yocto-check-layer asks for. For each release it then checks what the
parser makes of the recipe, its crates.inc, the example bbappend and the
README's local.conf lines: the crates and checksums against Cargo.lock,
LIC_FILES_CHKSUM against LICENSE, the inherits and init variables; then it
runs do_install (the shell bitbake would run) against a source tree for
systemd, sysvinit and both, and compares the installed files with their
sources.

Usage: pkg-check-yocto.py --src TREE --work DIR
  TREE: the project's files as a release tarball would hold them.
Needs the `bb` module (PyPI: bitbake-setup).
"""

import argparse
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "meta-stability"
# One recipe; its version follows Cargo.toml (check-packaging.sh: versions).
RECIPE = next(LAYER.glob("recipes-*/stability/stability_*.bb"))
EXAMPLE_APPEND = LAYER / "examples/stability_%.bbappend"
REQUIRED_INHERITS = ["cargo", "cargo-update-recipe-crates", "systemd", "update-rc.d"]

# Stand-ins for the OE classes: only the variables and functions the recipe
# uses. cargo's do_install is represented by a fake binary.
STUB_CLASSES = {
    "cargo": """
cargo_do_install() {
    install -d ${D}${bindir}
    printf '#!/bin/sh\\n' > ${D}${bindir}/stability
    chmod 0755 ${D}${bindir}/stability
}
EXPORT_FUNCTIONS do_install
""",
    "cargo-update-recipe-crates": "CARGO_LOCK_SRC_DIR ??= \"${S}\"\n",
    "systemd": "SYSTEMD_AUTO_ENABLE ??= \"enable\"\n",
    "update-rc.d": "INIT_D_DIR = \"${sysconfdir}/init.d\"\n",
}

BITBAKE_CONF_COMMON = """
PN = "${@bb.parse.vars_from_file(d.getVar('FILE', False), d)[0] or 'defaultpkgname'}"
PV = "${@bb.parse.vars_from_file(d.getVar('FILE', False), d)[1] or '1.0'}"
BPN = "${PN}"
BP = "${BPN}-${PV}"
P = "${PN}-${PV}"
FILE_DIRNAME = "${@os.path.dirname(d.getVar('FILE', False))}"
THISDIR = "${@os.path.dirname(d.getVar('FILE'))}"
FILESPATH = "${FILE_DIRNAME}/${BP}:${FILE_DIRNAME}/${BPN}:${FILE_DIRNAME}/files"
OVERRIDES = "linux:class-target:pn-${PN}"
DISTRO_FEATURES = "systemd sysvinit"
WORKDIR = "@WORKDIR@"
T = "${WORKDIR}/temp"
B = "${WORKDIR}/build"
D = "${WORKDIR}/image"
prefix = "/usr"
exec_prefix = "/usr"
bindir = "${exec_prefix}/bin"
datadir = "${prefix}/share"
mandir = "${datadir}/man"
sysconfdir = "/etc"
localstatedir = "/var"
nonarch_base_libdir = "/usr/lib"
systemd_system_unitdir = "${nonarch_base_libdir}/systemd/system"
"""

RELEASES = {
    "scarthgap": BITBAKE_CONF_COMMON + 'S = "${WORKDIR}/${BP}"\n',
    "wrynose": BITBAKE_CONF_COMMON
    + 'UNPACKDIR ??= "${WORKDIR}/sources"\nS = "${UNPACKDIR}/${BP}"\n',
}


class Failures:
    def __init__(self):
        self.items = []

    def check(self, cond, msg):
        if not cond:
            self.items.append(msg)
        return cond


def import_bb(stub_dir):
    # bb.siggen imports hashserv (bitbake's hash server), which the PyPI
    # package does not ship; parsing never talks to one.
    (stub_dir / "hashserv").mkdir(parents=True, exist_ok=True)
    (stub_dir / "hashserv/__init__.py").write_text("")
    (stub_dir / "hashserv/client.py").write_text("")
    sys.path.insert(0, str(stub_dir))
    import bb.data
    import bb.parse
    import bb.siggen
    import bb.utils
    return bb


def parse(bb, release, stub_dir, workdir, appends=(), local_conf=""):
    conf_dir = stub_dir / release
    (conf_dir / "conf").mkdir(parents=True, exist_ok=True)
    (conf_dir / "classes-recipe").mkdir(exist_ok=True)
    for name, body in STUB_CLASSES.items():
        (conf_dir / "classes-recipe" / f"{name}.bbclass").write_text(body)
    conf = RELEASES[release].replace("@WORKDIR@", str(workdir)) + local_conf
    (conf_dir / "conf/bitbake.conf").write_text(conf)

    d = bb.data.init()
    d.setVar("BBPATH", f"{conf_dir}:{LAYER}")
    d.setVar("TOPDIR", str(stub_dir))
    bb.parse.handle("conf/bitbake.conf", d)
    d.setVar("__BBAPPEND", " ".join(str(a) for a in appends))
    d.setVar("__bbclasstype", "recipe")  # as bitbake's cooker does: classes-recipe/
    bb.parse.siggen = bb.siggen.init(d)
    return bb.parse.handle(str(RECIPE), d)[""]


def lock_crates():
    with open(ROOT / "Cargo.lock", "rb") as f:
        lock = tomllib.load(f)
    return {(p["name"], p["version"]): p["checksum"]
            for p in lock["package"] if "source" in p}


def check_parsed(bb, d, release, src, fail):
    where = f"{release}:"
    # Crates: every registry crate of Cargo.lock, with its checksum, and nothing else.
    want = lock_crates()
    have = {}
    for uri in d.getVar("SRC_URI").split():
        m = re.match(r"crate://[^/]+/([^/]+)/([^;]+)(?:;name=(\S+))?$", uri)
        if m:
            key = m.group(3) or f"{m.group(1)}-{m.group(2)}"
            have[(m.group(1), m.group(2))] = d.getVarFlag("SRC_URI", f"{key}.sha256sum")
    for crate in sorted(want.keys() - have.keys()):
        fail.check(False, f"{where} crate %s %s of Cargo.lock is not in SRC_URI" % crate)
    for crate in sorted(have.keys() - want.keys()):
        fail.check(False, f"{where} SRC_URI crate %s %s is not in Cargo.lock" % crate)
    for crate in sorted(want.keys() & have.keys()):
        fail.check(have[crate] == want[crate],
                   f"{where} crate %s %s: sha256sum %s, Cargo.lock %s"
                   % (*crate, have[crate], want[crate]))

    fail.check(any(u.endswith(f"/v{d.getVar('PV')}/{d.getVar('BP')}.tar.gz")
                   for u in d.getVar("SRC_URI").split()),
               f"{where} SRC_URI has no release tarball named ${{BP}}.tar.gz")

    # License checksum against the LICENSE the source tree ships.
    for entry in d.getVar("LIC_FILES_CHKSUM").split():
        m = re.match(r"file://([^;]+);md5=([0-9a-f]{32})$", entry)
        if fail.check(m, f"{where} LIC_FILES_CHKSUM entry {entry!r} is not file://F;md5=SUM"):
            path = src / m.group(1)
            actual = hashlib.md5(path.read_bytes()).hexdigest() if path.exists() else "(missing)"
            fail.check(actual == m.group(2),
                       f"{where} LIC_FILES_CHKSUM md5 of {m.group(1)} is {m.group(2)}, the file's is {actual}")

    inherited = d.getVar("__inherit_cache", False) or []
    for cls in REQUIRED_INHERITS:
        fail.check(any(p.endswith(f"/{cls}.bbclass") for p in inherited),
                   f"{where} recipe does not inherit {cls}")
    fail.check(d.getVar("SYSTEMD_SERVICE:stability") == "stability.service",
               f"{where} SYSTEMD_SERVICE:${{PN}} is not stability.service")
    fail.check(d.getVar("INITSCRIPT_NAME") == "stability", f"{where} INITSCRIPT_NAME is not stability")
    fail.check(bool(d.getVar("INITSCRIPT_PARAMS")), f"{where} INITSCRIPT_PARAMS is empty")
    conffiles = (d.getVar("CONFFILES:stability") or "").split()
    fail.check("/etc/stability/config.ini" in conffiles,
               f"{where} CONFFILES:${{PN}} lacks /etc/stability/config.ini")

    # The layout rules of each release.
    s, workdir = d.getVar("S"), d.getVar("WORKDIR")
    if release == "scarthgap":
        fail.check(s == f"{workdir}/{d.getVar('BP')}", f"{where} S is {s}, not ${{WORKDIR}}/${{BP}}")
        fail.check(d.getVar("UNPACKDIR") is None, f"{where} the recipe defines UNPACKDIR")
    else:
        unpackdir = d.getVar("UNPACKDIR")
        fail.check(unpackdir == f"{workdir}/sources",
                   f"{where} UNPACKDIR is {unpackdir}: the recipe overrode bitbake.conf's")
        fail.check(s.startswith(unpackdir + "/"), f"{where} S ({s}) is not inside UNPACKDIR")


def run_do_install(bb, d, features, src, out, fail, release):
    """Run do_install as bitbake would; return {installed path: mode}."""
    d = bb.data.createCopy(d)
    d.setVar("DISTRO_FEATURES", features)
    workdir = Path(d.getVar("WORKDIR"))
    if workdir.exists():
        shutil.rmtree(workdir)
    s = Path(d.getVar("S"))
    s.parent.mkdir(parents=True)
    shutil.copytree(src, s, symlinks=True)
    for var in ("B", "T", "D"):
        Path(d.getVar(var)).mkdir(parents=True, exist_ok=True)
    script = out / f"run.do_install.{release}.{features.replace(' ', '_') or 'none'}"
    with open(script, "w") as f:
        f.write("#!/bin/sh\nset -e\n")
        bb.data.emit_func("do_install", f, d)
        f.write(f"cd {d.getVar('B')}\ndo_install\n")
    r = subprocess.run(["sh", str(script)], capture_output=True, text=True)
    if not fail.check(r.returncode == 0,
                      f"{release}: do_install ({features}) failed:\n{r.stderr.strip()}\n(script: {script})"):
        return {}, None
    image = Path(d.getVar("D"))
    installed = {}
    for p in sorted(image.rglob("*")):
        if p.is_file():
            installed["/" + str(p.relative_to(image))] = stat.S_IMODE(p.stat().st_mode)
    return installed, image


def check_install(bb, d, release, src, out, fail):
    unit = "/usr/lib/systemd/system/stability.service"
    init = "/etc/init.d/stability"
    common = {
        "/usr/bin/stability": (None, 0o755),
        "/etc/stability/config.ini": ("config.ini", 0o644),
        "/etc/default/stability": ("service/stability.default", 0o644),
        "/usr/share/man/man8/stability.8": ("docs/man/stability.8", 0o644),
        "/usr/share/man/man5/stability.ini.5": ("docs/man/stability.ini.5", 0o644),
    }
    cases = {
        "systemd sysvinit": {unit: ("service/stability.service", 0o644), init: ("service/S50stability", 0o755)},
        "systemd": {unit: ("service/stability.service", 0o644)},
        "sysvinit": {init: ("service/S50stability", 0o755)},
    }
    for features, extra in cases.items():
        installed, image = run_do_install(bb, d, features, src, out, fail, release)
        if image is None:
            continue
        want = {**common, **extra}
        where = f"{release} [{features}]:"
        fail.check(set(installed) == set(want),
                   f"{where} do_install installed {sorted(installed)}, expected {sorted(want)}")
        for path, (source, mode) in want.items():
            if path not in installed:
                continue
            fail.check(installed[path] == mode,
                       f"{where} {path} has mode {installed[path]:o}, expected {mode:o}")
            if source:
                fail.check((image / path.lstrip("/")).read_bytes() == (src / source).read_bytes(),
                           f"{where} {path} differs from {source}")


def check_example_append(bb, release, stub_dir, workdir, fail):
    """The bbappend README tells users to copy must select their config on both releases."""
    d = parse(bb, release, stub_dir, workdir, appends=[EXAMPLE_APPEND])
    expected = f"{workdir}/config.ini" if release == "scarthgap" else f"{workdir}/sources/config.ini"
    got = d.getVar("STABILITY_CONFIG")
    fail.check(got == expected,
               f"{release}: with examples/stability_%.bbappend, STABILITY_CONFIG is {got}, expected {expected}")
    fail.check("file://config.ini" in d.getVar("SRC_URI").split(),
               f"{release}: examples/stability_%.bbappend does not add file://config.ini")


def check_local_conf(bb, release, stub_dir, workdir, fail):
    """README's local.conf lines must move the fetch and HOMEPAGE, one variable each."""
    url, sha = "https://stability.test/project", "ab" * 32
    d = parse(bb, release, stub_dir, workdir, local_conf=(
        f'STABILITY_URL:pn-stability = "{url}"\n'
        f'STABILITY_RELEASE_SHA256:pn-stability = "{sha}"\n'))
    tarball = d.getVar("SRC_URI").split()[0]
    fail.check(tarball == f"{url}/releases/download/v{d.getVar('PV')}/{d.getVar('BP')}.tar.gz",
               f"{release}: with STABILITY_URL set, the tarball is fetched from {tarball}")
    fail.check(d.getVar("HOMEPAGE") == url, f"{release}: with STABILITY_URL set, HOMEPAGE is {d.getVar('HOMEPAGE')}")
    fail.check(d.getVarFlag("SRC_URI", "sha256sum") == sha,
               f"{release}: STABILITY_RELEASE_SHA256 does not reach SRC_URI[sha256sum]")


def check_time64(bb, release, stub_dir, workdir, fail):
    """A musl build gets the libc crate's 64-bit time_t (musl >= 1.2); a glibc
    build gets nothing it does not ask for."""
    cfg = "--cfg libc_unstable_musl_v1_2"
    d = parse(bb, release, stub_dir, workdir, local_conf='OVERRIDES .= ":libc-musl"\n')
    fail.check(cfg in (d.getVar("RUSTFLAGS") or ""),
               f"{release}: with TCLIBC = musl, RUSTFLAGS lacks {cfg} (32-bit time_t after 2038)")
    d = parse(bb, release, stub_dir, workdir, local_conf='OVERRIDES .= ":libc-glibc"\n')
    fail.check(cfg not in (d.getVar("RUSTFLAGS") or ""),
               f"{release}: with glibc, RUSTFLAGS has {cfg}")


def check_layer(bb, fail):
    """layer.conf as bitbake reads it, and the files yocto-check-layer asks for."""
    import fnmatch
    d = bb.data.init()
    d.setVar("LAYERDIR", str(LAYER))
    d.setVar("BBPATH", "")
    d.setVar("BBFILES", "")
    try:
        bb.parse.handle(str(LAYER / "conf/layer.conf"), d)
    except Exception as e:
        fail.check(False, f"layer.conf: bitbake cannot parse it: {e}")
        return
    compat = (d.getVar("LAYERSERIES_COMPAT_stability") or "").split()
    for series in ("scarthgap", "wrynose"):
        fail.check(series in compat, f"layer.conf: LAYERSERIES_COMPAT_stability lacks {series}")
    fail.check("core" in (d.getVar("LAYERDEPENDS_stability") or "").split(),
               "layer.conf: LAYERDEPENDS_stability lacks core")
    fail.check("stability" in (d.getVar("BBFILE_COLLECTIONS") or "").split(),
               "layer.conf: BBFILE_COLLECTIONS lacks stability")
    fail.check(re.match(d.getVar("BBFILE_PATTERN_stability") or "^$", str(RECIPE)) is not None,
               "layer.conf: BBFILE_PATTERN_stability does not match the recipe")
    fail.check(any(fnmatch.fnmatch(str(RECIPE), g) for g in d.getVar("BBFILES").split()),
               "layer.conf: BBFILES does not match the recipe")
    fail.check(str(LAYER) in d.getVar("BBPATH").split(":"), "layer.conf: BBPATH lacks the layer")
    readme = LAYER / "README.md"
    text = readme.read_text() if readme.exists() else ""
    for word in ("Maintainer", "patch", "@"):
        fail.check(word in text, f"meta-stability/README.md does not mention {word!r} "
                                 "(yocto-check-layer wants maintainer, patches, e-mail)")
    fail.check((LAYER / "SECURITY.md").exists(), "meta-stability/SECURITY.md is missing")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    args = ap.parse_args()
    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    bb = import_bb(work / "stubs")
    fail = Failures()
    check_layer(bb, fail)
    for release in RELEASES:
        workdir = work / release / "work"
        try:
            d = parse(bb, release, work / "stubs", workdir)
        except Exception as e:  # the parser's own errors: syntax, missing files
            fail.check(False, f"{release}: bitbake cannot parse the recipe: {type(e).__name__}: {e}")
            continue
        check_parsed(bb, d, release, args.src, fail)
        check_install(bb, d, release, args.src, work, fail)
        try:
            check_example_append(bb, release, work / "stubs", workdir, fail)
        except Exception as e:
            fail.check(False, f"{release}: bitbake cannot parse the example bbappend: {e}")
        check_local_conf(bb, release, work / "stubs", workdir, fail)
        check_time64(bb, release, work / "stubs", workdir, fail)
    for item in fail.items:
        print(item, file=sys.stderr)
    if not fail.items:
        print(f"layer.conf and recipe parsed, recipe installed, as {', '.join(RELEASES)} would")
    return 1 if fail.items else 0


if __name__ == "__main__":
    sys.exit(main())
