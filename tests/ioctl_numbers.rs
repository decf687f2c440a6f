//! Every ioctl request the crate issues (`stability::uapi::IOCTLS`) must equal
//! the number the Linux uapi headers give on the architecture this test was
//! built for. The encodings differ between families (MIPS swaps `_IOR` and
//! `_IOW`), so a number that is right on x86_64 can be ENOTTY on a router.
//!
//! The truth is never typed in here: it is what a C compiler for the target
//! architecture computes from its kernel headers (`scripts/ioctl-truth.sh CC`
//! over `tests/ioctl/ioctl_truth.c`).
//! - `STABILITY_IOCTL_TRUTH=FILE`: read that output (scripts/cross-test.sh
//!   makes one per target with Debian's cross compiler of that architecture);
//! - unset: run the script with the host `cc`, which is accepted only if `cc`
//!   targets this test's architecture (a native build), so a foreign target
//!   without a truth file fails instead of comparing against x86 numbers.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use stability::uapi::IOCTLS;

const TRUTH_ENV: &str = "STABILITY_IOCTL_TRUTH";

/// The kernel's numbers for one architecture: the `machine` triple of the
/// compiler that produced them, and request name -> number.
struct Truth {
    origin: String,
    machine: String,
    numbers: BTreeMap<String, u32>,
}

impl Truth {
    fn parse(origin: String, text: &str) -> Truth {
        let mut machine = None;
        let mut numbers = BTreeMap::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (key, value) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("{origin}: malformed line {line:?}"));
            if key == "machine" {
                machine = Some(value.to_string());
                continue;
            }
            let hex = value.strip_prefix("0x").unwrap_or_else(|| {
                panic!("{origin}: {key}: expected a 0x-prefixed number, got {value:?}")
            });
            let number = u32::from_str_radix(hex, 16)
                .unwrap_or_else(|e| panic!("{origin}: {key}: bad number {value:?}: {e}"));
            numbers.insert(key.to_string(), number);
        }
        let machine = machine.unwrap_or_else(|| panic!("{origin}: no `machine` line"));
        assert!(!numbers.is_empty(), "{origin}: no ioctl numbers");
        Truth {
            origin,
            machine,
            numbers,
        }
    }
}

/// Whether a GNU triple's architecture (`gcc -dumpmachine`) is the one this
/// test binary was compiled for.
fn machine_is_this_target(machine: &str) -> bool {
    let arch = machine.split('-').next().unwrap_or("");
    let little = cfg!(target_endian = "little");
    match std::env::consts::ARCH {
        "arm" => arch.starts_with("arm") && arch.ends_with("eb") != little,
        "mips" => arch == if little { "mipsel" } else { "mips" },
        "x86" => matches!(arch, "i386" | "i486" | "i586" | "i686"),
        other => arch == other,
    }
}

fn this_target() -> String {
    format!(
        "{} ({}-endian)",
        std::env::consts::ARCH,
        if cfg!(target_endian = "little") {
            "little"
        } else {
            "big"
        }
    )
}

fn load_truth() -> Truth {
    match std::env::var_os(TRUTH_ENV) {
        Some(path) => {
            let path = Path::new(&path);
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
                panic!(
                    "{TRUTH_ENV}={}: cannot read the ioctl truth file: {e}\n\
                     make it with: scripts/ioctl-truth.sh <cross gcc of the target> > FILE",
                    path.display()
                )
            });
            Truth::parse(path.display().to_string(), &text)
        }
        None => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ioctl-truth.sh");
            let output = Command::new("bash")
                .arg(&script)
                .arg("cc")
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
            assert!(
                output.status.success(),
                "{TRUTH_ENV} is not set and `{} cc` failed ({}):\n{}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            let truth = Truth::parse(
                "the host `cc`".to_string(),
                &String::from_utf8_lossy(&output.stdout),
            );
            assert!(
                machine_is_this_target(&truth.machine),
                "{TRUTH_ENV} is not set, and the host `cc` targets {}, not this test's \
                 architecture {}: on a foreign target, make the truth with that \
                 architecture's cross compiler (scripts/ioctl-truth.sh mips-linux-gnu-gcc \
                 > FILE) and set {TRUTH_ENV}=FILE (scripts/cross-test.sh does)",
                truth.machine,
                this_target()
            );
            truth
        }
    }
}

#[test]
fn every_ioctl_request_matches_the_kernel_headers_of_this_architecture() {
    assert!(!IOCTLS.is_empty(), "stability::uapi::IOCTLS is empty");
    let truth = load_truth();
    assert!(
        machine_is_this_target(&truth.machine),
        "{}: made by a compiler for {}, but this test runs for {}",
        truth.origin,
        truth.machine,
        this_target()
    );

    let mut wrong = Vec::new();
    for &(name, request) in IOCTLS {
        // `Request` is c_int on musl and c_ulong on glibc; the kernel's
        // request numbers are 32 bits wide either way.
        let ours = request as u32;
        match truth.numbers.get(name) {
            None => wrong.push(format!(
                "  {name}: absent from the truth (add EMIT({name}) to tests/ioctl/ioctl_truth.c)"
            )),
            Some(&kernel) if kernel != ours => wrong.push(format!(
                "  {name}: crate 0x{ours:08x}, kernel headers 0x{kernel:08x}"
            )),
            Some(_) => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} ioctl requests differ from the kernel headers for {} ({}):\n{}",
        wrong.len(),
        IOCTLS.len(),
        truth.machine,
        truth.origin,
        wrong.join("\n")
    );
    println!(
        "{} ioctl requests match the kernel headers for {} ({})",
        IOCTLS.len(),
        truth.machine,
        truth.origin
    );
}
