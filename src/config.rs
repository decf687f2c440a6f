//! Configuration: the INI file that py-stability-iot users already have, plus
//! the keys stability adds, turned into one validated `Config` value.
//!
//! Strict about values, lenient about form. Every bad value is an error that
//! names the file, the line, the key and what is allowed, and all of them are
//! reported at once; nothing runs while there is one. Comments (`#`, `;`, also
//! after a value when preceded by a space), CRLF line endings, a UTF-8 BOM,
//! spaces around `=`, `key: value` and keys in any case are all accepted, as
//! Python's ConfigParser did. Unknown sections and keys are warnings, so a
//! newer config still runs on an older binary.

use crate::fsutil::show;
use crate::log::strerror;
use std::ffi::CString;
use std::fmt::{self, Write as _};

/// Where the daemon looks when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/stability/config.ini";

/// The largest config file read: anything bigger is not a config file.
const MAX_FILE_BYTES: usize = 64 * 1024;

/// One way to reset the board; `recovery_device` lists them in the order tried.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Device {
    Watchdog,
    Rtc,
    Reboot,
}

impl Device {
    pub const ALL: [(Device, &'static str); 3] = [
        (Device::Watchdog, "watchdog"),
        (Device::Rtc, "rtc"),
        (Device::Reboot, "reboot"),
    ];

    pub fn name(self) -> &'static str {
        lookup_name(&Self::ALL, self)
    }
}

/// What follows the RTC alarm: power off, a kernel sleep state, or nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RtcMode {
    Off,
    Mem,
    Standby,
    Freeze,
    Disk,
    No,
}

impl RtcMode {
    pub const NAMES: [&'static str; 6] = ["off", "mem", "standby", "freeze", "disk", "no"];
    pub const ALL: [(RtcMode, &'static str); 6] = [
        (RtcMode::Off, Self::NAMES[0]),
        (RtcMode::Mem, Self::NAMES[1]),
        (RtcMode::Standby, Self::NAMES[2]),
        (RtcMode::Freeze, Self::NAMES[3]),
        (RtcMode::Disk, Self::NAMES[4]),
        (RtcMode::No, Self::NAMES[5]),
    ];

    pub fn name(self) -> &'static str {
        lookup_name(&Self::ALL, self)
    }

    /// The word written to /sys/power/state, for the modes that suspend.
    pub fn sleep_state(self) -> Option<&'static str> {
        match self {
            RtcMode::Mem | RtcMode::Standby | RtcMode::Freeze | RtcMode::Disk => Some(self.name()),
            RtcMode::Off | RtcMode::No => None,
        }
    }
}

/// When stability opens the watchdog.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WdtMode {
    /// Only at a fault, to force the reset (py-stability-iot's behaviour).
    OnFault,
    /// From start-up, pinged while the system is healthy: a hung system or a
    /// dead daemon also resets the board.
    Keepalive,
}

impl WdtMode {
    pub const NAMES: [&'static str; 2] = ["on-fault", "keepalive"];
    pub const ALL: [(WdtMode, &'static str); 2] = [
        (WdtMode::OnFault, Self::NAMES[0]),
        (WdtMode::Keepalive, Self::NAMES[1]),
    ];

    pub fn name(self) -> &'static str {
        lookup_name(&Self::ALL, self)
    }
}

/// How the RTC alarm is set.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RtcBackend {
    /// RTC ioctls from this process: no dependencies.
    Ioctl,
    /// rtcwake(8), run with an argument vector (never a shell).
    Rtcwake,
}

impl RtcBackend {
    pub const NAMES: [&'static str; 2] = ["ioctl", "rtcwake"];
    pub const ALL: [(RtcBackend, &'static str); 2] = [
        (RtcBackend::Ioctl, Self::NAMES[0]),
        (RtcBackend::Rtcwake, Self::NAMES[1]),
    ];

    pub fn name(self) -> &'static str {
        lookup_name(&Self::ALL, self)
    }
}

fn lookup_name<T: PartialEq + Copy>(table: &[(T, &'static str)], value: T) -> &'static str {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map_or("?", |(_, n)| n)
}

/// The reset chain: each device at most once, in the order tried.
pub type Chain = heapless::Vec<Device, 3>;

/// The chain's device names with `sep` between them: "watchdog, rtc".
pub fn chain_names(chain: &Chain, sep: &str) -> String {
    ChainNames(chain, sep).to_string()
}

/// The chain's device names, for formatting without allocating.
pub struct ChainNames<'a>(pub &'a Chain, pub &'a str);

impl fmt::Display for ChainNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            f.write_str(d.name())?;
        }
        Ok(())
    }
}

/// The heartbeat trigger: reset when `path`'s mtime stops changing.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    pub path: CString,
    pub timeout_ms: u64,
}

#[derive(Clone, Debug)]
pub struct WatchdogConfig {
    pub path: CString,
    /// How long the armed watchdog is given to reset the board.
    pub kill_delay_ms: u64,
    /// Seconds for WDIOC_SETTIMEOUT when forcing a reset.
    pub timeout_s: u32,
    pub mode: WdtMode,
    /// Keepalive mode: the timeout while pinging, and the ping period.
    pub keepalive_timeout_s: u32,
    pub keepalive_interval_ms: u64,
    /// Keepalive mode: write the magic 'V' on a deliberate stop.
    pub disarm_on_exit: bool,
    /// Keepalive mode: stop pinging once a poll has been stuck this long (0: never).
    pub stall_timeout_ms: u64,
}

#[derive(Clone, Debug)]
pub struct RtcConfig {
    /// `rtc_path`, or /dev/rtc when it is not set (`path_set`): the RTC is
    /// then the first of `rtc::DEFAULT_PATHS` that exists, as hwclock does.
    pub path: CString,
    pub path_set: bool,
    pub mode: RtcMode,
    pub wake_delay_s: u32,
    pub backend: RtcBackend,
}

/// The validated configuration. Paths are kept as C strings: the poll loop
/// hands them to lstat(2) without copying or allocating.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file this was read from, for messages.
    pub source: String,
    pub chain: Chain,
    pub interval_ms: u64,
    /// Check once and exit: `single_run = true` or `checking_interval = 0`.
    pub single_run: bool,
    pub indicator: Option<CString>,
    pub heartbeat: Option<Heartbeat>,
    pub state_dir: CString,
    pub max_resets: u32,
    pub reset_window_ms: u64,
    /// From the poll that sees a fault to the reset, whatever blocks.
    pub reset_deadline_ms: u64,
    /// SCHED_RR priority, 0 for normal scheduling.
    pub realtime_priority: u32,
    pub watchdog: WatchdogConfig,
    pub rtc: RtcConfig,
}

/// A message about one place in the config file (`line` 0: the whole file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub line: u32,
    pub message: String,
}

/// A parsed config with the warnings met on the way.
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diag>,
}

/// Why a config was rejected: every error found, in line order.
pub struct Rejected {
    pub source: String,
    pub errors: Vec<Diag>,
    pub warnings: Vec<Diag>,
}

impl Diag {
    fn new(line: u32, message: String) -> Diag {
        Diag { line, message }
    }

    /// `file:line: message`, as compilers print it.
    pub fn display<'a>(&'a self, source: &'a str) -> impl fmt::Display + 'a {
        DiagDisplay { source, diag: self }
    }
}

struct DiagDisplay<'a> {
    source: &'a str,
    diag: &'a Diag,
}

impl fmt::Display for DiagDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.diag.line == 0 {
            write!(f, "{}: {}", self.source, self.diag.message)
        } else {
            write!(
                f,
                "{}:{}: {}",
                self.source, self.diag.line, self.diag.message
            )
        }
    }
}

/// Reads and validates the config file at `path`.
pub fn load(path: &str) -> Result<Loaded, Rejected> {
    match read_file(path) {
        Ok(text) => parse(&text, path),
        Err(message) => Err(Rejected {
            source: path.to_owned(),
            errors: vec![Diag::new(0, message)],
            warnings: Vec::new(),
        }),
    }
}

/// Reads the file without blocking on a FIFO or opening a device for real
/// use, and refuses anything that is not a small regular UTF-8 file.
fn read_file(path: &str) -> Result<String, String> {
    use nix::fcntl::OFlag;
    let fix = "pass --config PATH, or install the default config as /etc/stability/config.ini";
    let fd = crate::fsutil::open(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY)
        .map_err(|e| format!("cannot open: {}; {fix}", strerror(e)))?;
    let st = nix::sys::stat::fstat(&fd).map_err(|e| format!("cannot stat: {}", strerror(e)))?;
    let kind =
        nix::sys::stat::SFlag::from_bits_truncate(st.st_mode) & nix::sys::stat::SFlag::S_IFMT;
    if kind != nix::sys::stat::SFlag::S_IFREG {
        return Err(format!("not a regular file; {fix}"));
    }
    let bytes =
        crate::fsutil::read_to_end(&fd, st.st_size, MAX_FILE_BYTES).map_err(|e| match e {
            nix::errno::Errno::EFBIG => {
                format!("too large for a config file (at most {MAX_FILE_BYTES} bytes)")
            }
            e => format!("cannot read: {}", strerror(e)),
        })?;
    String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        format!("line {line}: not valid UTF-8 text; save the file as UTF-8")
    })
}

/// The three sections, in file order.
pub const SECTIONS: [&str; 3] = ["general", "watchdog-device", "rtc-device"];

/// What values a key takes: the validation's bounds, and the range the
/// documentation states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// An absolute path naming a file.
    File,
    /// An absolute path naming a directory.
    Dir,
    /// A device, or an ordered chain of them.
    Chain,
    /// One of these words.
    Word(&'static [&'static str]),
    /// A whole number from .0 to .1.
    Int(u32, u32),
    /// A duration from .0 to .1 milliseconds.
    Duration(u64, u64),
    /// 0, or a duration of at least .0 milliseconds.
    ZeroOrAtLeast(u64),
    /// Whole seconds from .0 to .1.
    Seconds(u32, u32),
}

/// One configuration key. `KEYS` is the one list of them: the parser's
/// known keys, the defaults `build` starts from, the bounds it checks, and
/// what `check-config` prints (in this order, each with its meaning and
/// range); tests hold config.ini, the man page stability.ini(5) and the
/// README to it.
#[derive(Debug)]
pub struct Key {
    pub section: &'static str,
    pub name: &'static str,
    /// As written in a file; "" when there is none (see `meaning`).
    pub default: &'static str,
    pub kind: Kind,
    pub meaning: &'static str,
}

const fn key(
    section: &'static str,
    name: &'static str,
    default: &'static str,
    kind: Kind,
    meaning: &'static str,
) -> Key {
    Key {
        section,
        name,
        default,
        kind,
        meaning,
    }
}

const DEVICES: [&str; 3] = ["watchdog", "rtc", "reboot"];
/// The longest duration accepted anywhere: 10 years, far below overflow.
const MAX_DURATION_MS: u64 = 10 * 366 * 86_400_000;
const G: &str = SECTIONS[0];
const W: &str = SECTIONS[1];
const R: &str = SECTIONS[2];

pub const KEYS: &[Key] = &[
    key(
        G,
        "recovery_device",
        "watchdog",
        Kind::Chain,
        "how the board is reset, tried in order until one works",
    ),
    key(
        G,
        "checking_interval",
        "5",
        Kind::Duration(0, MAX_DURATION_MS),
        "time between two checks; 0: check once and exit",
    ),
    key(
        G,
        "indicator_file_path",
        "",
        Kind::File,
        "reset when this path exists (any file type; a link is never followed)",
    ),
    key(G, "single_run", "false", Kind::Bool, "check once and exit"),
    key(
        G,
        "heartbeat_file_path",
        "",
        Kind::File,
        "reset when this file's mtime stops changing",
    ),
    key(
        G,
        "heartbeat_timeout",
        "",
        Kind::Duration(1000, MAX_DURATION_MS),
        "how long the heartbeat may go untouched; needed with heartbeat_file_path",
    ),
    key(
        G,
        "state_dir",
        "/var/lib/stability",
        Kind::Dir,
        "the reset record, the guard and the boot file: persistent storage",
    ),
    key(
        G,
        "max_resets",
        "3",
        Kind::Int(1, 1000),
        "boot-loop guard: resets allowed before the window clears",
    ),
    key(
        G,
        "reset_window",
        "3600",
        Kind::Duration(1, MAX_DURATION_MS),
        "boot-loop guard: time without a fault that clears the count",
    ),
    key(
        G,
        "reset_deadline",
        "10",
        Kind::Duration(2000, 3_600_000),
        "from the poll that sees a fault to the reset, whatever blocks",
    ),
    key(
        G,
        "realtime_priority",
        "0",
        Kind::Int(0, 99),
        "SCHED_RR priority; 0: normal scheduling at nice -20",
    ),
    key(
        W,
        "wdt_path",
        "/dev/watchdog",
        Kind::File,
        "the watchdog device (never created)",
    ),
    key(
        W,
        "wdt_kill_delay",
        "300",
        Kind::Duration(0, MAX_DURATION_MS),
        "how long the armed watchdog gets before the next device",
    ),
    key(
        W,
        "wdt_timeout",
        "1",
        Kind::Seconds(1, 65_535),
        "the watchdog's timeout once storage is done or given up",
    ),
    key(
        W,
        "wdt_mode",
        "on-fault",
        Kind::Word(&WdtMode::NAMES),
        "on-fault: open it only to reset; keepalive: own and ping it from start-up",
    ),
    key(
        W,
        "keepalive_timeout",
        "30",
        Kind::Seconds(1, 65_535),
        "keepalive: the watchdog's timeout while pinged",
    ),
    key(
        W,
        "keepalive_interval",
        "",
        Kind::Duration(1, MAX_DURATION_MS),
        "keepalive: the ping period (default: a third of keepalive_timeout)",
    ),
    key(
        W,
        "disarm_on_exit",
        "true",
        Kind::Bool,
        "keepalive: on SIGTERM, write the magic 'V' (or leave it armed)",
    ),
    key(
        W,
        "stall_timeout",
        "0",
        Kind::ZeroOrAtLeast(1000),
        "keepalive: stop pinging once the main loop is stuck this long; 0: never",
    ),
    key(
        R,
        "rtc_path",
        "",
        Kind::File,
        "the RTC (not set: the first of /dev/rtc, /dev/rtc0, /dev/misc/rtc)",
    ),
    key(
        R,
        "rtc_mode",
        "off",
        Kind::Word(&RtcMode::NAMES),
        "after the alarm: power off, a sleep state, or no (alarm only)",
    ),
    key(
        R,
        "rtc_wake_delay",
        "60",
        Kind::Seconds(2, 365 * 86_400),
        "from the alarm being set to the wake-up",
    ),
    key(
        R,
        "rtc_backend",
        "ioctl",
        Kind::Word(&RtcBackend::NAMES),
        "ioctl: set the alarm directly; rtcwake: run rtcwake(8)",
    ),
];

impl Key {
    /// The key named `name` (a name of `KEYS`).
    pub fn named(name: &str) -> &'static Key {
        KEYS.iter().find(|k| k.name == name).unwrap_or(&KEYS[0])
    }
}

/// A span of time as the documentation writes it: `2 s`, `1 h`, `365 d`.
fn span(ms: u64) -> impl fmt::Display {
    struct S(u64);
    impl fmt::Display for S {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for (unit, size) in [
                ("d", 86_400_000),
                ("h", 3_600_000),
                ("min", 60_000),
                ("s", 1000),
            ] {
                if self.0 >= size && self.0 % size == 0 {
                    return write!(f, "{} {unit}", self.0 / size);
                }
            }
            write!(f, "{} ms", self.0)
        }
    }
    S(ms)
}

impl fmt::Display for Kind {
    /// The values a key takes, in words: `1 to 1000`, `2 s to 1 h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Kind::Bool => f.write_str("true or false"),
            Kind::File => f.write_str("a file's absolute path"),
            Kind::Dir => f.write_str("a directory's absolute path"),
            Kind::Chain => write!(f, "{}, or several in order", DEVICES.join(", ")),
            Kind::Word(words) => f.write_str(&words.join(", ")),
            Kind::Int(a, b) => write!(f, "{a} to {b}"),
            Kind::Duration(0, MAX_DURATION_MS) => f.write_str("a duration"),
            Kind::Duration(1, MAX_DURATION_MS) => f.write_str("a duration over 0"),
            Kind::Duration(a, MAX_DURATION_MS) => write!(f, "at least {}", span(a)),
            Kind::Duration(a, b) => write!(f, "{} to {}", span(a), span(b)),
            Kind::ZeroOrAtLeast(a) => write!(f, "0, or at least {}", span(a)),
            Kind::Seconds(a, b) => write!(
                f,
                "{} to {}",
                span(u64::from(a) * 1000),
                span(u64::from(b) * 1000)
            ),
        }
    }
}

/// One `key = value` line, after the INI layer.
struct Entry<'a> {
    section: &'static str,
    key: &'static str,
    value: &'a str,
    line: u32,
}

/// Parses config text; `source` names it in messages.
pub fn parse(text: &str, source: &str) -> Result<Loaded, Rejected> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let entries = scan(text, &mut errors, &mut warnings);
    let config = build(&entries, source, &mut errors, &mut warnings);
    errors.sort_by_key(|d| d.line);
    warnings.sort_by_key(|d| d.line);
    match config {
        Some(config) if errors.is_empty() => Ok(Loaded { config, warnings }),
        _ => Err(Rejected {
            source: source.to_owned(),
            errors,
            warnings,
        }),
    }
}

/// The INI layer: sections and keys, comments, duplicates, unknown names.
fn scan<'a>(text: &'a str, errors: &mut Vec<Diag>, warnings: &mut Vec<Diag>) -> Vec<Entry<'a>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut scan = Scan {
        entries: Vec::new(),
        section: None,
        seen_sections: Vec::new(),
        errors,
        warnings,
    };
    let mut parser = ini_core::Parser::new(text).comment_char(b'#');
    loop {
        let line = parser.line() + 1;
        let Some(item) = parser.next() else { break };
        match item {
            ini_core::Item::SectionEnd | ini_core::Item::Blank | ini_core::Item::Comment(_) => {}
            ini_core::Item::Section(name) => scan.open(name, line),
            // A line starting with '[' but not ending in ']': a header followed by
            // a comment, or a malformed one; `line` sorts them out.
            ini_core::Item::Error(text) => scan.line(line, text, None),
            ini_core::Item::Property(key, value) => scan.line(line, key, value),
        }
    }
    scan.entries
}

/// The INI layer's state while it reads a file.
struct Scan<'a, 'e> {
    entries: Vec<Entry<'a>>,
    /// The current section: known (Some(name)), unknown (None), or none yet.
    section: Option<Option<&'static str>>,
    seen_sections: Vec<(&'static str, u32)>,
    errors: &'e mut Vec<Diag>,
    warnings: &'e mut Vec<Diag>,
}

impl<'a> Scan<'a, '_> {
    fn open(&mut self, name: &str, line: u32) {
        self.section = Some(open_section(
            name,
            line,
            &mut self.seen_sections,
            self.errors,
            self.warnings,
        ));
    }

    fn error(&mut self, line: u32, message: String) {
        self.errors.push(Diag::new(line, message));
    }

    /// A line that is not a plain `[section]`: `key = value`, or without
    /// '=' an indented section header, `key: value`, or junk.
    fn line(&mut self, line: u32, key: &'a str, value: Option<&'a str>) {
        let key = key.trim();
        if key.starts_with('#') || key.starts_with(';') || (key.is_empty() && value.is_none()) {
            return;
        }
        let (key, value) = match value {
            Some(value) => (key, value),
            None => {
                let header = strip_comment(key);
                if header.starts_with('[') {
                    if header.len() >= 2 && header.ends_with(']') {
                        self.open(&header[1..header.len() - 1], line);
                    } else {
                        self.error(
                            line,
                            format!("malformed section header `{header}`; expected `[name]`"),
                        );
                    }
                    return;
                }
                match key.split_once(':') {
                    Some((k, v)) => (k.trim(), v),
                    None => {
                        self.error(
                            line,
                            format!("`{key}` is not `key = value`, a [section] or a comment"),
                        );
                        return;
                    }
                }
            }
        };
        self.property(line, key, value);
    }

    /// `key = value` in the current section.
    fn property(&mut self, line: u32, key: &'a str, value: &'a str) {
        if key.starts_with('[') {
            return self.error(line, format!("malformed section header `{key}`"));
        }
        if key.is_empty() {
            return self.error(line, "a value without a key".to_owned());
        }
        let section = match self.section {
            None => {
                return self.error(
                    line,
                    format!("`{key}` comes before any [section]; put it under [general]"),
                )
            }
            Some(None) => return, // inside an unknown section: already warned about
            Some(Some(section)) => section,
        };
        let value = strip_comment(value.trim());
        let Some(known) = known_key(section, key) else {
            self.warnings.push(Diag::new(
                line,
                format!("unknown key `{key}` in [{section}] (ignored)"),
            ));
            return;
        };
        if let Some(first) = self
            .entries
            .iter()
            .find(|e| e.section == section && e.key == known)
        {
            let first = first.line;
            return self.error(
                line,
                format!("[{section}] {known} is set twice (first on line {first}); keep one"),
            );
        }
        self.entries.push(Entry {
            section,
            key: known,
            value,
            line,
        });
    }
}

/// Opens a section; a known one may appear once. Only known sections are
/// remembered (three at most), so a file of thousands of distinct unknown
/// sections still parses in linear time (found by the config fuzzer).
fn open_section(
    name: &str,
    line: u32,
    seen: &mut Vec<(&'static str, u32)>,
    errors: &mut Vec<Diag>,
    warnings: &mut Vec<Diag>,
) -> Option<&'static str> {
    let name = name.trim();
    let known = SECTIONS.iter().copied().find(|s| *s == name);
    if let Some(known) = known {
        match seen.iter().find(|(s, _)| *s == known) {
            Some((_, first)) => errors.push(Diag::new(
                line,
                format!("section [{name}] appears twice (first on line {first}); merge them"),
            )),
            None => seen.push((known, line)),
        }
    } else {
        warnings.push(Diag::new(
            line,
            format!(
                "unknown section [{name}] (its keys are ignored); known: [general], [watchdog-device], [rtc-device]"
            ),
        ));
    }
    known
}

fn known_key(section: &str, key: &str) -> Option<&'static str> {
    KEYS.iter()
        .find(|k| k.section == section && k.name.eq_ignore_ascii_case(key))
        .map(|k| k.name)
}

/// Drops a trailing comment: `#` or `;` preceded by white space.
fn strip_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b'#' || bytes[i] == b';') && bytes[i - 1].is_ascii_whitespace() {
            return value[..i].trim_end();
        }
    }
    value
}

/// The value layer: every key checked, defaults filled, cross-checks made.
fn build(
    entries: &[Entry],
    source: &str,
    errors: &mut Vec<Diag>,
    warnings: &mut Vec<Diag>,
) -> Option<Config> {
    let mut v = Values { entries, errors };
    // Each value: the file's, or the default of KEYS; bounds from KEYS too.
    let chain = v
        .get("recovery_device", |s, _| parse_chain(s))
        .unwrap_or_default();
    let interval_ms = v.get("checking_interval", parse_span).unwrap_or(0);
    let single_run = v.get("single_run", |s, _| parse_bool(s)).unwrap_or(false) || interval_ms == 0;
    let indicator = v.get("indicator_file_path", |s, _| parse_file_path(s));
    let hb_path = v.get("heartbeat_file_path", |s, _| parse_file_path(s));
    let hb_timeout = v.get("heartbeat_timeout", parse_span);
    let state_dir = v
        .get("state_dir", |s, _| parse_dir_path(s))
        .unwrap_or_default();
    let max_resets = v.get("max_resets", parse_number).unwrap_or(1);
    let reset_window_ms = v.get("reset_window", parse_span).unwrap_or(1);
    let reset_deadline_ms = v.get("reset_deadline", parse_span).unwrap_or(2000);
    let realtime_priority = v.get("realtime_priority", parse_number).unwrap_or(0);
    let mut watchdog = WatchdogConfig {
        path: v
            .get("wdt_path", |s, _| parse_file_path(s))
            .unwrap_or_default(),
        kill_delay_ms: v.get("wdt_kill_delay", parse_span).unwrap_or(0),
        timeout_s: v.get("wdt_timeout", parse_number).unwrap_or(1),
        mode: v
            .get("wdt_mode", |s, _| parse_word(s, &WdtMode::ALL))
            .unwrap_or(WdtMode::OnFault),
        keepalive_timeout_s: v.get("keepalive_timeout", parse_number).unwrap_or(1),
        keepalive_interval_ms: 0, // from keepalive_timeout unless set, below
        disarm_on_exit: v
            .get("disarm_on_exit", |s, _| parse_bool(s))
            .unwrap_or(true),
        stall_timeout_ms: v.get("stall_timeout", parse_span).unwrap_or(0),
    };
    watchdog.keepalive_interval_ms = v
        .get("keepalive_interval", parse_span)
        .unwrap_or(u64::from(watchdog.keepalive_timeout_s) * 1000 / 3);
    let rtc_path = v.get("rtc_path", |s, _| parse_file_path(s));
    let rtc = RtcConfig {
        path_set: rtc_path.is_some(),
        path: rtc_path.unwrap_or_else(|| c_path(crate::rtc::DEFAULT_PATHS[0])),
        mode: v
            .get("rtc_mode", |s, _| parse_word(s, &RtcMode::ALL))
            .unwrap_or(RtcMode::Off),
        wake_delay_s: v.get("rtc_wake_delay", parse_number).unwrap_or(2),
        backend: v
            .get("rtc_backend", |s, _| parse_word(s, &RtcBackend::ALL))
            .unwrap_or(RtcBackend::Ioctl),
    };

    let heartbeat = match (hb_path, hb_timeout) {
        (Some(path), Some(timeout_ms)) => Some(Heartbeat { path, timeout_ms }),
        (None, None) => None,
        (Some(_), None) => {
            v.fail(
                "general",
                "heartbeat_file_path",
                "needs heartbeat_timeout as well (e.g. 60)",
            );
            None
        }
        (None, Some(_)) => {
            v.fail(
                "general",
                "heartbeat_timeout",
                "needs heartbeat_file_path as well",
            );
            None
        }
    };
    let config = Config {
        source: source.to_owned(),
        chain,
        interval_ms,
        single_run,
        indicator,
        heartbeat,
        state_dir,
        max_resets,
        reset_window_ms,
        reset_deadline_ms,
        realtime_priority,
        watchdog,
        rtc,
    };
    cross_check(&mut v, warnings, &config);
    Some(config)
}

/// The checks between keys: what each key alone cannot tell.
fn cross_check(v: &mut Values, warnings: &mut Vec<Diag>, cfg: &Config) {
    let (chain, watchdog, rtc) = (&cfg.chain, &cfg.watchdog, &cfg.rtc);
    let (single_run, interval_ms) = (cfg.single_run, cfg.interval_ms);
    let reset_deadline_ms = cfg.reset_deadline_ms;
    let heartbeat = &cfg.heartbeat;
    if cfg.indicator.is_none() && heartbeat.is_none() && !v.has("general", "indicator_file_path") {
        v.errors.push(Diag::new(
            0,
            "nothing to watch: set [general] indicator_file_path (or heartbeat_file_path)"
                .to_owned(),
        ));
    }
    if let Some(hb) = &heartbeat {
        if !single_run && hb.timeout_ms <= interval_ms {
            v.fail(
                "general",
                "heartbeat_timeout",
                "must be longer than checking_interval, or every check could find it stale",
            );
        }
        if single_run {
            v.warn(
                warnings,
                "general",
                "heartbeat_file_path",
                "a single run cannot see a heartbeat stop; it only works when the daemon polls",
            );
        } else if hb.timeout_ms < SLOW_STORAGE_MS {
            v.warn(warnings, "general", "heartbeat_timeout", SLOW_STORAGE);
        }
    }
    if chain.contains(&Device::Watchdog)
        && watchdog.kill_delay_ms < 1000 * (u64::from(watchdog.timeout_s) + 2)
    {
        v.warn(
            warnings,
            "watchdog-device",
            "wdt_kill_delay",
            "is shorter than wdt_timeout + 2 s: the watchdog may not get the time to reset the board",
        );
    }
    check_keepalive(v, warnings, watchdog, single_run);
    if chain.contains(&Device::Watchdog)
        && reset_deadline_ms <= u64::from(watchdog.timeout_s) * 1000
    {
        v.fail(
            "general",
            "reset_deadline",
            "must be longer than wdt_timeout: the watchdog's short timeout has to fit in the deadline",
        );
    }
    if chain.contains(&Device::Rtc)
        && rtc.mode == RtcMode::Off
        && u64::from(rtc.wake_delay_s) * 1000 < reset_deadline_ms + 10_000
    {
        v.warn(
            warnings,
            "rtc-device",
            "rtc_wake_delay",
            "is shorter than reset_deadline + 10 s: a power-off while storage hangs can take as long as the storage's own timeouts, and an alarm that fires before the power is off leaves the board off",
        );
    }
}

/// The keepalive keys' cross-checks.
fn check_keepalive(
    v: &mut Values,
    warnings: &mut Vec<Diag>,
    wd: &WatchdogConfig,
    single_run: bool,
) {
    const KEYS: [&str; 4] = [
        "keepalive_timeout",
        "keepalive_interval",
        "disarm_on_exit",
        "stall_timeout",
    ];
    if wd.mode == WdtMode::OnFault {
        for key in KEYS {
            if v.has("watchdog-device", key) {
                v.warn(
                    warnings,
                    "watchdog-device",
                    key,
                    "is only used with wdt_mode = keepalive",
                );
            }
        }
        return;
    }
    if single_run {
        v.fail(
            "watchdog-device",
            "wdt_mode",
            "= keepalive needs the daemon to keep running: not with single_run or checking_interval = 0",
        );
    }
    if wd.stall_timeout_ms > 0 && wd.stall_timeout_ms < SLOW_STORAGE_MS {
        v.warn(warnings, "watchdog-device", "stall_timeout", SLOW_STORAGE);
    }
    // A ping may come up to one period late; half the timeout leaves room for it.
    if wd.keepalive_interval_ms * 2 > u64::from(wd.keepalive_timeout_s) * 1000 {
        let line = v
            .entry("watchdog-device", "keepalive_interval")
            .map_or(0, |e| e.line);
        v.errors.push(Diag::new(
            line,
            format!(
                "[watchdog-device] keepalive_interval must be at most half of keepalive_timeout ({} s), \
                 so that one late ping cannot let the watchdog reset the board",
                wd.keepalive_timeout_s
            ),
        ));
    }
}

/// Looks keys up and turns bad values into diagnostics.
struct Values<'e, 'a> {
    entries: &'e [Entry<'a>],
    errors: &'e mut Vec<Diag>,
}

impl<'e, 'a> Values<'e, 'a> {
    fn entry(&self, section: &str, key: &str) -> Option<&'e Entry<'a>> {
        self.entries
            .iter()
            .find(|e| e.section == section && e.key == key)
    }

    fn has(&self, section: &str, key: &str) -> bool {
        self.entry(section, key).is_some()
    }

    /// The value of key `name`: the file's, parsed and checked against the
    /// key's kind (a bad one is an error, and None), or the key's default
    /// (None when it has none).
    fn get<T>(&mut self, name: &str, parse: fn(&str, Kind) -> Result<T, String>) -> Option<T> {
        let k = Key::named(name);
        let Some(entry) = self.entry(k.section, k.name) else {
            return (!k.default.is_empty())
                .then(|| parse(k.default, k.kind).ok())
                .flatten();
        };
        let (line, value) = (entry.line, entry.value);
        match parse(value, k.kind) {
            Ok(v) => Some(v),
            Err(why) => {
                self.reject(line, k.section, k.name, value, &why);
                None
            }
        }
    }

    /// The error for a bad value; kept out of line, so that each `get`
    /// (one per value type and parser) does not carry its own copy.
    #[inline(never)]
    fn reject(&mut self, line: u32, section: &str, key: &str, value: &str, why: &str) {
        self.errors.push(Diag::new(
            line,
            format!("[{section}] {key} = {}: {why}", Quoted(value)),
        ));
    }

    fn fail(&mut self, section: &str, key: &str, why: &str) {
        let line = self.entry(section, key).map_or(0, |e| e.line);
        self.errors
            .push(Diag::new(line, format!("[{section}] {key} {why}")));
    }

    fn warn(&self, warnings: &mut Vec<Diag>, section: &str, key: &str, why: &str) {
        let line = self.entry(section, key).map_or(0, |e| e.line);
        warnings.push(Diag::new(line, format!("[{section}] {key} {why}")));
    }
}

/// A value in double quotes, escaped as `{:?}` escapes a str: quotes,
/// backslashes, control characters, and the invisible spaces and format
/// characters of Latin-1 and General Punctuation and the BOM (what a pasted
/// value may hide). `{:?}` would need Unicode tables for the rest; other
/// characters it escapes (unassigned, private use, combining marks) are shown
/// as they are.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\t' => f.write_str("\\t")?,
                '\r' => f.write_str("\\r")?,
                '\n' => f.write_str("\\n")?,
                '\0' => f.write_str("\\0")?,
                c if c.is_control()
                    || matches!(
                        u32::from(c),
                        0xa0 | 0xad | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x206f | 0xfeff
                    ) =>
                {
                    write!(f, "\\u{{{:x}}}", u32::from(c))?
                }
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

fn c_path(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

fn unquoted(s: &str) -> Result<&str, String> {
    if s.len() >= 2 && (s.starts_with('"') || s.starts_with('\'')) {
        return Err("quotes are kept as part of the value; write it without them".to_owned());
    }
    if s.is_empty() {
        return Err("empty; remove the line to use the default".to_owned());
    }
    Ok(s)
}

/// `true/false`, `yes/no`, `on/off`, `1/0`, in any case.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    let s = unquoted(s)?;
    const WORDS: [(&str, bool); 8] = [
        ("true", true),
        ("yes", true),
        ("on", true),
        ("1", true),
        ("false", false),
        ("no", false),
        ("off", false),
        ("0", false),
    ];
    WORDS
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(s))
        .map(|(_, b)| *b)
        .ok_or_else(|| "expected a boolean: true/false, yes/no, on/off or 1/0".to_owned())
}

/// A whole number in `min..=max`.
pub fn parse_int(s: &str, min: u32, max: u32) -> Result<u32, String> {
    let s = unquoted(s)?;
    match s.parse::<u64>() {
        Ok(n) if n >= u64::from(min) && n <= u64::from(max) => Ok(n as u32),
        Ok(_) => Err(format!("out of range; allowed: {min} to {max}")),
        Err(_) => Err(format!("expected a whole number from {min} to {max}")),
    }
}

/// A number of a key of kind `Int` or `Seconds`, within its bounds.
fn parse_number(s: &str, kind: Kind) -> Result<u32, String> {
    match kind {
        Kind::Int(min, max) => parse_int(s, min, max),
        Kind::Seconds(min, max) => {
            let ms = parse_duration_ms(s)?;
            if ms % 1000 != 0 {
                return Err("must be whole seconds".to_owned());
            }
            u32::try_from(ms / 1000)
                .ok()
                .filter(|secs| (min..=max).contains(secs))
                .ok_or_else(|| format!("out of range; allowed: {kind}"))
        }
        _ => Err("not a number".to_owned()),
    }
}

/// A duration of a key of kind `Duration` or `ZeroOrAtLeast`, in bounds.
fn parse_span(s: &str, kind: Kind) -> Result<u64, String> {
    let ms = parse_duration_ms(s)?;
    let ok = match kind {
        Kind::Duration(min, max) => (min..=max).contains(&ms),
        Kind::ZeroOrAtLeast(min) => ms == 0 || ms >= min,
        _ => false,
    };
    if ok {
        Ok(ms)
    } else if ms == 0 {
        Err("must be more than 0".to_owned())
    } else if matches!(kind, Kind::ZeroOrAtLeast(_))
        || kind == Kind::Duration(1000, MAX_DURATION_MS)
    {
        Err(format!(
            "out of range; allowed: {kind} (one check on healthy flash can take hundreds of ms)"
        ))
    } else {
        Err(format!("out of range; allowed: {kind}"))
    }
}

/// Below this, `heartbeat_timeout` and `stall_timeout` are warned about. A
/// check is one lstat(2), which waits on storage when the entry is not
/// cached; SD cards and eMMC stall single requests for seconds during their
/// garbage collection or behind a burst of writeback (an ext4 commit every
/// 5 s), and the heartbeat's writer waits on the same storage.
const SLOW_STORAGE_MS: u64 = 10_000;
const SLOW_STORAGE: &str =
    "is under 10 s: flash can stall a check for seconds, and a healthy board would be reset";

/// A duration in milliseconds: seconds (`5`, `0.5`) or a number with a unit
/// (`500ms`, `30s`, `5m`, `1h`).
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let s = unquoted(s)?;
    let bad = || {
        "expected a duration: seconds (5, 0.5) or a number with a unit (500ms, 30s, 5m, 1h)"
            .to_owned()
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = (&s[..split], s[split..].trim_start());
    let scale: u64 = match unit {
        "" | "s" => 1000,
        "ms" => 1,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad()),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    // Fractions are kept to the millisecond; finer digits must be zero.
    let mut frac_ms = 0u64;
    let mut digit_scale = scale;
    for b in frac.bytes() {
        let digit = u64::from(b - b'0');
        if digit_scale % 10 != 0 {
            if digit != 0 {
                return Err("finer than a millisecond".to_owned());
            }
            continue;
        }
        digit_scale /= 10;
        frac_ms += digit * digit_scale;
    }
    whole
        .checked_mul(scale)
        .and_then(|ms| ms.checked_add(frac_ms))
        .filter(|&ms| ms <= MAX_DURATION_MS)
        .ok_or_else(|| "too long; at most 10 years".to_owned())
}

/// An absolute path.
fn parse_path(s: &str) -> Result<&str, String> {
    let s = unquoted(s)?;
    if !s.starts_with('/') {
        return Err("must be an absolute path (starting with /)".to_owned());
    }
    if s.len() >= libc::PATH_MAX as usize {
        return Err("longer than PATH_MAX".to_owned());
    }
    if s.bytes().any(|b| b == 0) {
        return Err("contains a NUL byte".to_owned());
    }
    Ok(s)
}

/// The path of a file (the indicator, the heartbeat, a device node): it must
/// end in the file's name. `/run/flags/`, `/run/flags/.` or `/..` name a
/// directory, which lstat finds at once: an indicator path like that was a
/// fault at the first poll. `.` and `..` inside the path are the kernel's to
/// resolve, like the links in it.
fn parse_file_path(s: &str) -> Result<CString, String> {
    let s = parse_path(s)?;
    let b = s.as_bytes();
    let name = &b[b.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1)..];
    if matches!(name, b"" | b"." | b"..") {
        return Err("names a directory: give the path of a file".to_owned());
    }
    Ok(c_path(s))
}

/// The path of a directory stability creates and writes (state_dir). A
/// trailing slash is dropped. `.` and `..` are refused: its missing parents
/// are created, and `/var/lib/x/../stability` would create `/var/lib/x`. The
/// root directory is refused too: the guard and the record would sit in `/`.
fn parse_dir_path(s: &str) -> Result<CString, String> {
    let s = parse_path(s)?;
    let s = &s[..s.bytes().rposition(|c| c != b'/').map_or(0, |i| i + 1)];
    if s.is_empty()
        || s.as_bytes()
            .split(|&c| c == b'/')
            .any(|c| c == b"." || c == b"..")
    {
        return Err("must be a directory of its own, without `.` or `..`".to_owned());
    }
    Ok(c_path(s))
}

/// One word from `table`, in any case.
fn parse_word<T: Copy>(s: &str, table: &[(T, &'static str)]) -> Result<T, String> {
    let s = unquoted(s)?;
    table
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(s))
        .map(|(v, _)| *v)
        .ok_or_else(|| format!("allowed: {}", names(table)))
}

fn names<T>(table: &[(T, &'static str)]) -> String {
    let mut out = String::new();
    for (i, (_, name)) in table.iter().enumerate() {
        out.push_str(if i == 0 { "" } else { ", " });
        out.push_str(name);
    }
    out
}

/// `watchdog`, or an ordered chain such as `watchdog, rtc, reboot`.
fn parse_chain(s: &str) -> Result<Chain, String> {
    let s = unquoted(s)?;
    let mut chain = Chain::new();
    for word in s
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        let device = parse_word(word, &Device::ALL)
            .map_err(|_| format!("unknown device `{word}`; allowed: {}", names(&Device::ALL)))?;
        if chain.contains(&device) {
            return Err(format!("`{word}` is listed twice"));
        }
        let _ = chain.push(device); // cannot overflow: three distinct devices exist
    }
    if chain.is_empty() {
        return Err(format!("name at least one of: {}", names(&Device::ALL)));
    }
    Ok(chain)
}

/// `key = value` and a newline: one copy of the code for every line of
/// `to_ini`.
#[inline(never)]
fn kv(out: &mut String, key: &str, value: &dyn fmt::Display) {
    let _ = writeln!(out, "{key} = {value}");
}

/// A duration in the form the parser reads back: seconds when whole, else ms.
pub fn fmt_duration(ms: u64) -> impl fmt::Display {
    struct D(u64);
    impl fmt::Display for D {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.0 % 1000 == 0 {
                write!(f, "{}", self.0 / 1000)
            } else {
                write!(f, "{}ms", self.0)
            }
        }
    }
    D(ms)
}

impl Config {
    /// The effective configuration as INI text that parses back to the same
    /// values: what `check-config` prints. Every key of `KEYS`, in order,
    /// after a comment with its meaning and the values it takes.
    pub fn to_ini(&self) -> String {
        let mut out = String::new();
        let o = &mut out;
        let _ = writeln!(o, "# effective configuration read from {}", self.source);
        if self.single_run {
            o.push_str("# single run: check once, then exit\n");
        } else {
            let _ = writeln!(o, "# poll every {} s", crate::clock::secs(self.interval_ms));
        }
        let mut section = "";
        for k in KEYS {
            if k.section != section {
                section = k.section;
                let _ = writeln!(
                    o,
                    "{}[{section}]",
                    if o.ends_with("]\n") || section == SECTIONS[0] {
                        ""
                    } else {
                        "\n"
                    }
                );
            }
            let _ = writeln!(o, "# {} ({})", k.meaning, k.kind);
            match self.value_of(k.name) {
                Some(value) => kv(o, k.name, &value),
                None => {
                    let _ = writeln!(o, "# {} is not set", k.name);
                }
            }
        }
        out
    }

    /// The effective value of key `name`, as a file would give it.
    fn value_of(&self, name: &str) -> Option<String> {
        let wd = &self.watchdog;
        let hb = self.heartbeat.as_ref();
        Some(match name {
            "recovery_device" => chain_names(&self.chain, ", "),
            "checking_interval" => fmt_duration(self.interval_ms).to_string(),
            "indicator_file_path" => show(self.indicator.as_deref()?).to_string(),
            "single_run" => self.single_run.to_string(),
            "heartbeat_file_path" => show(&hb?.path).to_string(),
            "heartbeat_timeout" => fmt_duration(hb?.timeout_ms).to_string(),
            "state_dir" => show(&self.state_dir).to_string(),
            "max_resets" => self.max_resets.to_string(),
            "reset_window" => fmt_duration(self.reset_window_ms).to_string(),
            "reset_deadline" => fmt_duration(self.reset_deadline_ms).to_string(),
            "realtime_priority" => self.realtime_priority.to_string(),
            "wdt_path" => show(&wd.path).to_string(),
            "wdt_kill_delay" => fmt_duration(wd.kill_delay_ms).to_string(),
            "wdt_timeout" => wd.timeout_s.to_string(),
            "wdt_mode" => wd.mode.name().to_owned(),
            "keepalive_timeout" => wd.keepalive_timeout_s.to_string(),
            "keepalive_interval" => fmt_duration(wd.keepalive_interval_ms).to_string(),
            "disarm_on_exit" => wd.disarm_on_exit.to_string(),
            "stall_timeout" => fmt_duration(wd.stall_timeout_ms).to_string(),
            "rtc_path" if self.rtc.path_set => show(&self.rtc.path).to_string(),
            "rtc_mode" => self.rtc.mode.name().to_owned(),
            "rtc_wake_delay" => self.rtc.wake_delay_s.to_string(),
            "rtc_backend" => self.rtc.backend.name().to_owned(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn ok(text: &str) -> Config {
        match parse(text, "t.ini") {
            Ok(l) => l.config,
            Err(r) => panic!("rejected: {:?}", r.errors),
        }
    }

    fn errors(text: &str) -> Vec<Diag> {
        match parse(text, "t.ini") {
            Ok(_) => panic!("accepted: {text}"),
            Err(r) => r.errors,
        }
    }

    const MINIMAL: &str = "[general]\nindicator_file_path = /run/x\n";

    #[test]
    fn paths_are_shown_as_path_display_shows_them() {
        for bytes in [
            &b"/run/x"[..],
            b"/run/\xff\xfe/x",
            "/run/é/\u{1f600}".as_bytes(),
            b"/run/\xe2\x82",
            b"\xc3",
            b"",
        ] {
            let c = CString::new(bytes).unwrap();
            let want = std::path::Path::new(std::ffi::OsStr::from_bytes(bytes))
                .display()
                .to_string();
            assert_eq!(show(&c).to_string(), want, "{bytes:?}");
        }
    }

    #[test]
    fn values_are_quoted_as_debug_quotes_them() {
        let mut samples: Vec<String> = (0u32..0x100)
            .chain(0x2000..0x2070)
            .chain([0xfeff, 0x4e2d, 0x1f600])
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b"))
            .collect();
        samples.push("/tmp/\"x\"\\y\tz".to_owned());
        for s in samples {
            assert_eq!(Quoted(&s).to_string(), format!("{s:?}"), "{s:?}");
        }
    }

    #[test]
    fn durations_accept_seconds_fractions_and_units() {
        assert_eq!(parse_duration_ms("5"), Ok(5000));
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert_eq!(parse_duration_ms("0.5"), Ok(500));
        assert_eq!(parse_duration_ms(".25"), Ok(250));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert_eq!(parse_duration_ms("30s"), Ok(30_000));
        assert_eq!(parse_duration_ms("5m"), Ok(300_000));
        assert_eq!(parse_duration_ms("1.5h"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("2 s"), Ok(2000));
        for bad in [
            "",
            "five",
            "-1",
            "1.2.3",
            ".",
            "5x",
            "1e3",
            "0.0001",
            "99999999999999999999",
        ] {
            assert!(parse_duration_ms(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn booleans_accept_the_documented_words_only() {
        for (s, b) in [
            ("TRUE", true),
            ("Yes", true),
            ("on", true),
            ("1", true),
            ("false", false),
            ("NO", false),
            ("Off", false),
            ("0", false),
        ] {
            assert_eq!(parse_bool(s), Ok(b));
        }
        for bad in ["", "y", "2", "truth", "\"true\""] {
            assert!(parse_bool(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn seed_single_run_false_means_polling() {
        let c =
            ok("[general]\nindicator_file_path = /x\nsingle_run = false\nchecking_interval = 5\n");
        assert!(!c.single_run);
        assert_eq!(c.interval_ms, 5000);
    }

    #[test]
    fn interval_zero_means_single_run() {
        assert!(ok("[general]\nindicator_file_path = /x\nchecking_interval = 0\n").single_run);
    }

    #[test]
    fn chain_keeps_order_and_rejects_repeats_and_unknowns() {
        let c = ok("[general]\nindicator_file_path=/x\nrecovery_device = rtc,watchdog reboot\n");
        assert_eq!(
            c.chain.as_slice(),
            &[Device::Rtc, Device::Watchdog, Device::Reboot]
        );
        assert!(errors(
            "[general]\nindicator_file_path=/x\nrecovery_device = watchdog, watchdog\n"
        )[0]
        .message
        .contains("twice"));
        let e = errors("[general]\nindicator_file_path=/x\nrecovery_device = wdt\n");
        assert!(e[0].message.contains("unknown device `wdt`"), "{:?}", e);
        assert_eq!(e[0].line, 3);
    }

    #[test]
    fn form_is_lenient_bom_crlf_comments_colon_case() {
        let text = "\u{feff}; leading comment\r\n  # indented comment\r\n[general] # trailing\r\nINDICATOR_FILE_PATH : /x\r\nchecking_interval=7 ; seven\r\n";
        let c = ok(text);
        assert_eq!(
            c.indicator.as_deref().map(std::ffi::CStr::to_bytes),
            Some(&b"/x"[..])
        );
        assert_eq!(c.interval_ms, 7000);
    }

    #[test]
    fn errors_carry_line_numbers_and_all_are_reported() {
        let e = errors(
            "[general]\nindicator_file_path = /x\nchecking_interval = soon\nsingle_run = maybe\n",
        );
        assert_eq!(e.iter().map(|d| d.line).collect::<Vec<_>>(), vec![3, 4]);
        assert!(e[0].message.contains("checking_interval"));
        assert!(e[1].message.contains("true/false"));
    }

    #[test]
    fn unknown_keys_and_sections_are_warnings() {
        match parse(
            "[general]\nindicator_file_path=/x\ncolour = blue\n[extra]\nk = v\n",
            "t",
        ) {
            Ok(l) => {
                assert_eq!(l.warnings.len(), 2);
                assert_eq!(l.warnings[0].line, 3);
                assert_eq!(l.warnings[1].line, 4);
            }
            Err(r) => panic!("{:?}", r.errors),
        }
    }

    #[test]
    fn duplicates_and_orphans_are_errors() {
        assert_eq!(
            errors("[general]\nindicator_file_path=/x\nindicator_file_path=/y\n")[0].line,
            3
        );
        assert_eq!(
            errors("[general]\nindicator_file_path=/x\n[general]\n")[0].line,
            3
        );
        let e = errors("indicator_file_path=/x\n[general]\n");
        assert!(
            e.iter()
                .any(|d| d.line == 1 && d.message.contains("before any [section]")),
            "{e:?}"
        );
        assert!(errors("[general\nindicator_file_path=/x\n")
            .iter()
            .any(|d| d.line == 1));
        assert_eq!(
            errors("[general]\nindicator_file_path=/x\njunk line\n")[0].line,
            3
        );
    }

    #[test]
    fn paths_must_be_absolute() {
        assert!(errors("[general]\nindicator_file_path = tmp/x\n")[0]
            .message
            .contains("absolute"));
        assert!(errors("[general]\nindicator_file_path = \"/tmp/x\"\n")[0]
            .message
            .contains("quotes"));
    }

    #[test]
    fn heartbeat_needs_both_keys_and_a_timeout_longer_than_the_interval() {
        assert!(!errors("[general]\nindicator_file_path=/x\nheartbeat_file_path=/hb\n").is_empty());
        assert!(!errors("[general]\nindicator_file_path=/x\nheartbeat_timeout=10\n").is_empty());
        assert!(!errors(
            "[general]\nheartbeat_file_path=/hb\nheartbeat_timeout=5\nchecking_interval=5\n"
        )
        .is_empty());
        let c = ok("[general]\nheartbeat_file_path=/hb\nheartbeat_timeout=1m\n");
        assert_eq!(c.heartbeat.map(|h| h.timeout_ms), Some(60_000));
    }

    #[test]
    fn nothing_to_watch_is_an_error() {
        assert!(errors("[general]\nrecovery_device = watchdog\n")[0]
            .message
            .contains("nothing to watch"));
    }

    #[test]
    fn effective_config_parses_back_to_the_same_values() {
        let c = ok("[general]\nindicator_file_path=/x\nrecovery_device = rtc, reboot\nchecking_interval = 250ms\nheartbeat_file_path=/hb\nheartbeat_timeout=90\nmax_resets=5\n[rtc-device]\nrtc_mode=mem\nrtc_backend=rtcwake\n");
        let again = ok(&c.to_ini());
        assert_eq!(
            again.to_ini().lines().skip(1).collect::<Vec<_>>(),
            c.to_ini().lines().skip(1).collect::<Vec<_>>()
        );
        assert_eq!(again.chain.as_slice(), &[Device::Rtc, Device::Reboot]);
        assert_eq!(again.interval_ms, 250);
        assert_eq!(again.rtc.mode, RtcMode::Mem);
    }

    #[test]
    fn defaults_match_the_documentation() {
        let c = ok(MINIMAL);
        assert_eq!(c.chain.as_slice(), &[Device::Watchdog]);
        assert_eq!(c.interval_ms, 5000);
        assert_eq!(c.state_dir.to_bytes(), b"/var/lib/stability");
        assert_eq!((c.max_resets, c.reset_window_ms), (3, 3_600_000));
        assert_eq!((c.reset_deadline_ms, c.realtime_priority), (10_000, 0));
        assert_eq!(
            (c.watchdog.timeout_s, c.watchdog.kill_delay_ms),
            (1, 300_000)
        );
        assert_eq!(
            (c.rtc.mode, c.rtc.wake_delay_s, c.rtc.backend),
            (RtcMode::Off, 60, RtcBackend::Ioctl)
        );
    }
}
