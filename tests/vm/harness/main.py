"""Run VM scenarios: python3 main.py --work DIR [--repo DIR] [--no-build] [NAME|GROUP ...]

NAME is a scenario (file name in tests/vm/scenarios without .py); GROUP is
`smoke` (harness mechanics, busybox only), `daemon` (the daemon's scenarios),
`keepalive` (the daemon's keepalive mode, issue 8), `worst` (the board at its
worst, issue 12), an architecture (`x86_64`, `aarch64`, `armv7`, `mipsel`:
its scenarios of every group but `measure` and `peers`), `peers` (stability
beside the classic watchdog daemon and BusyBox's, issue 17; bench/run --peers
runs them), or `all` (the default: every group but `measure` and `peers`).
Prints one line per scenario and a closing "N passed, N failed" line; exits 1
if any failed.

Binaries: x86_64 and aarch64 are built here (cargo, stable, rustup's std).
The 32-bit ARM and MIPS binaries are the cross matrix's (scripts/cross-test.sh,
which .ci/run runs first): they are taken from the target directory, never
rebuilt; a missing one fails its scenarios with the command that builds it.
"""
import argparse
import glob
import importlib.util
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCEN_DIR = os.path.join(os.path.dirname(HERE), "scenarios")
FAKE = os.path.join(os.path.dirname(HERE), "fake", "stability")
sys.path.insert(0, HERE)
sys.path.insert(0, SCEN_DIR)
from scenario import run_scenario, Host, ARCHES, STALL_S  # noqa: E402
# Targets built here; the others come from the cross matrix.
BUILT_HERE = ("x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl")
GROUPS = ("smoke", "daemon", "keepalive", "worst", "measure", "peers")


def load_scenarios():
    out = {}
    for path in sorted(glob.glob(os.path.join(SCEN_DIR, "*.py"))):
        name = os.path.basename(path)[:-3]
        if name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"scenario_{name}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sc = mod.SCENARIO
        if sc.name != name:
            raise SystemExit(f"{path}: SCENARIO.name must be {name!r}")
        out[name] = sc
    return out


def build_daemon(repo, triple, log):
    """cargo build --release for the static musl target; returns the binary path or None."""
    installed = subprocess.run(["rustup", "target", "list", "--installed"],
                               capture_output=True, text=True, cwd=repo).stdout.split()
    if triple not in installed:
        print(f"vm: rustup target add {triple}", file=sys.stderr)
        subprocess.run(["rustup", "target", "add", triple], cwd=repo, check=True,
                       stdout=log, stderr=log)
    env = dict(os.environ)
    # Link with the lld that ships with Rust (no cross gcc needed) unless the
    # repository or the caller chose a linker.
    env.setdefault(f"CARGO_TARGET_{triple.upper().replace('-', '_')}_LINKER", "rust-lld")
    t = time.monotonic()
    r = subprocess.run(["cargo", "build", "--release", "--locked", "--target", triple],
                       cwd=repo, env=env, stdout=log, stderr=log)
    path = os.path.join(repo, "target", triple, "release", "stability")
    if r.returncode != 0 or not os.path.exists(path):
        print(f"vm: cargo build for {triple} FAILED (see {log.name})", file=sys.stderr)
        return None
    print(f"vm: built {path} in {time.monotonic() - t:.0f} s", file=sys.stderr)
    return path


def cross_binary(repo, triple, profile):
    """(path, None) of the cross matrix's binary, or (None, why) when it is missing."""
    target_dir = os.environ.get("CARGO_TARGET_DIR") or os.path.join(repo, "target")
    path = os.path.join(target_dir, triple, profile, "stability")
    sizes = " --sizes" if profile != "release" else ""
    build = f"scripts/cross-test.sh --no-test{sizes} {triple}"
    if not os.path.exists(path):
        return None, f"{path} is missing: build it with `{build}` (.ci/run does, before the VM scenarios)"
    # Older than the sources: say so (it is still used, as built).
    newest, newest_path = 0.0, None
    for base in ("src", "Cargo.toml", "Cargo.lock", ".cargo/config.toml"):
        full = os.path.join(repo, base)
        for p in ([full] if os.path.isfile(full) else glob.glob(os.path.join(full, "**"), recursive=True)):
            if os.path.isfile(p) and os.path.getmtime(p) > newest:
                newest, newest_path = os.path.getmtime(p), p
    if newest > os.path.getmtime(path):
        print(f"vm: warning: {path} is older than {os.path.relpath(newest_path, repo)}:"
              f" rebuild it with `{build}`", file=sys.stderr)
    return path, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--repo", default=os.path.abspath(os.path.join(HERE, "..", "..", "..")))
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="run each selected scenario N times")
    ap.add_argument("--fake", action="store_true",
                    help="run the daemon scenarios against the shell stand-in daemon "
                         "(tests/vm/fake/stability) instead of the real one, to check "
                         "that the scenarios pass and fail as they should")
    ap.add_argument("--fake-bug", metavar="BUG", default="none",
                    help="with --fake: the bug the stand-in plays (see tests/vm/fake/stability)")
    ap.add_argument("--binary", metavar="TARGET[:PROFILE]=PATH", action="append", default=[],
                    help="run this binary where the scenarios want TARGET's (PROFILE: release"
                         " unless given), e.g. a scratch build with a deliberate bug")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()

    scenarios = load_scenarios()
    if a.list:
        for name, sc in scenarios.items():
            print(f"{name:28} {sc.group:9} {sc.arch:7} {sc.doc}")
        return 0
    wanted = a.names or ["all"]
    selected = []
    for w in wanted:
        if w == "all":
            selected += [n for n, sc in scenarios.items() if sc.group not in ("measure", "peers")]
        elif w in GROUPS:
            selected += [n for n, sc in scenarios.items() if sc.group == w]
        elif w in ARCHES:
            selected += [n for n, sc in scenarios.items()
                         if sc.arch == w and sc.group not in ("measure", "peers")]
        elif w in scenarios:
            selected.append(w)
        else:
            raise SystemExit(f"unknown scenario or group {w!r} (see --list)")
    selected = list(dict.fromkeys(selected))

    results = os.path.join(a.work, "results")
    os.makedirs(results, exist_ok=True)
    overrides = {}
    for spec in a.binary:
        key, _, path = spec.partition("=")
        triple, _, profile = key.partition(":")
        if not path or not os.path.exists(path):
            raise SystemExit(f"--binary {spec}: no such file")
        overrides[(triple, profile or "release")] = os.path.abspath(path)
    binaries, missing = {}, {}
    for key in sorted({scenarios[n].binary_key for n in selected if scenarios[n].daemon}):
        triple, profile = key
        if a.fake:
            binaries[key] = FAKE
        elif key in overrides:
            binaries[key] = overrides[key]
            print(f"vm: {triple} ({profile}): {overrides[key]}", file=sys.stderr)
        elif triple not in BUILT_HERE or profile != "release":
            binaries[key], why = cross_binary(a.repo, triple, profile)
            if why:
                missing[key] = why
                print(f"vm: {why}", file=sys.stderr)
        elif a.no_build:
            binaries[key] = os.path.join(a.repo, "target", triple, "release", "stability")
        else:
            arch = triple.split("-")[0]
            with open(os.path.join(results, f"cargo-{arch}.log"), "w") as log:
                binaries[key] = build_daemon(a.repo, triple, log)
    host = Host(os.path.abspath(a.work), binaries, fake_bug=a.fake_bug if a.fake else None,
                missing=missing)

    passed = failed = 0
    t_all = time.monotonic()
    for name in selected:
        metrics = {}
        for i in range(a.repeat):
            sc = scenarios[name]
            ok, msg, wall, run = run_scenario(sc, host, results)
            if not ok and run is not None and run.stall_s >= STALL_S:
                # Once, and said: a failure during which the guest kernel's
                # clock stood still is not evidence about the daemon.
                print(f"RETRY {name} ({wall:.1f} s): {msg}", flush=True)
                keep = os.path.join(results, f"{name}.stalled")
                subprocess.run(["rm", "-rf", keep])
                os.rename(os.path.join(results, name), keep)
                ok, msg, wall, run = run_scenario(sc, host, results)
            if a.repeat > 1:
                keep = os.path.join(results, f"{name}.{i + 1}")
                subprocess.run(["rm", "-rf", keep])
                os.rename(os.path.join(results, name), keep)
            for k, v in (run.metrics.items() if run else ()):
                metrics.setdefault(k, []).append(v)
            tag = "PASS" if ok else "FAIL"
            rep = f" #{i + 1}" if a.repeat > 1 else ""
            print(f"{tag} {name}{rep} ({wall:.1f} s): {msg}", flush=True)
            if not ok:
                print(f"     logs: {os.path.join(results, name)}", flush=True)
            passed += ok
            failed += not ok
        if a.repeat > 1:
            for k, vs in metrics.items():
                if all(isinstance(v, (int, float)) for v in vs):
                    vs = sorted(vs)
                    print(f"     {name} {k}: median {statistics.median(vs):.3f} "
                          f"min {vs[0]:.3f} max {vs[-1]:.3f} (n={len(vs)})", flush=True)
    print(f"vm: total {time.monotonic() - t_all:.0f} s", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
