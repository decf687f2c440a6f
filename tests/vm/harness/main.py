"""Run VM scenarios: python3 main.py --work DIR [--repo DIR] [--no-build] [NAME|GROUP ...]

NAME is a scenario (file name in tests/vm/scenarios without .py); GROUP is
`smoke` (harness mechanics, busybox only), `daemon` (the daemon's scenarios),
`keepalive` (the daemon's keepalive mode, issue 8), `peers` (stability beside
the classic watchdog daemon and BusyBox's, issue 17; bench/run --peers runs
them), or `all` (the default: all but `measure` and `peers`). Prints one line per scenario and a closing
"N passed, N failed" line; exits 1 if any failed.
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
from scenario import run_scenario, Host  # noqa: E402
TRIPLES = {"x86_64": "x86_64-unknown-linux-musl", "aarch64": "aarch64-unknown-linux-musl"}


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


def build_daemon(repo, arch, log):
    """cargo build --release for the static musl target; returns the binary path or None."""
    triple = TRIPLES[arch]
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
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()

    scenarios = load_scenarios()
    if a.list:
        for name, sc in scenarios.items():
            print(f"{name:28} {sc.group:7} {sc.arch:8} {sc.doc}")
        return 0
    wanted = a.names or ["all"]
    selected = []
    for w in wanted:
        if w == "all":
            selected += [n for n, sc in scenarios.items() if sc.group not in ("measure", "peers")]
        elif w in ("smoke", "daemon", "keepalive", "worst", "measure", "peers"):
            selected += [n for n, sc in scenarios.items() if sc.group == w]
        elif w in scenarios:
            selected.append(w)
        else:
            raise SystemExit(f"unknown scenario or group {w!r} (see --list)")
    selected = list(dict.fromkeys(selected))

    results = os.path.join(a.work, "results")
    os.makedirs(results, exist_ok=True)
    binaries = {}
    for arch in sorted({scenarios[n].arch for n in selected if scenarios[n].daemon}):
        path = os.path.join(a.repo, "target", TRIPLES[arch], "release", "stability")
        if a.fake:
            binaries[arch] = FAKE
        elif a.no_build:
            binaries[arch] = path
        else:
            with open(os.path.join(results, f"cargo-{arch}.log"), "w") as log:
                binaries[arch] = build_daemon(a.repo, arch, log)
    host = Host(os.path.abspath(a.work), binaries, fake_bug=a.fake_bug if a.fake else None)

    passed = failed = 0
    t_all = time.monotonic()
    for name in selected:
        metrics = {}
        for i in range(a.repeat):
            sc = scenarios[name]
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
