//! The command line (argh). Usage errors exit with 64 (EX_USAGE) and the
//! help text is meant to be enough to work from without the README.

use argh::FromArgs;

/// Exit statuses (sysexits.h).
pub mod exit {
    pub const OK: u8 = 0;
    pub const USAGE: u8 = 64;
    pub const UNAVAILABLE: u8 = 69;
    pub const OSERR: u8 = 71;
    pub const IOERR: u8 = 74;
    pub const TEMPFAIL: u8 = 75;
    pub const CONFIG: u8 = 78;
}

/// Force a hard reset of this board (hardware watchdog, RTC wake alarm, or
/// reboot) when an indicator file appears or a heartbeat file goes stale.
/// With no command, run as the configuration says: poll forever, or check
/// once when single_run = true (or checking_interval = 0).
#[derive(FromArgs, Debug)]
#[argh(
    example = "Watch with the shipped config, touching nothing:\n  $ {command_name} --config /etc/stability/config.ini --dry-run\nSee what this board offers:\n  $ {command_name} probe\nWhy did it reset last time?\n  $ {command_name} status",
    note = "Signals: SIGTERM or SIGINT stop the daemon (a reset already under way is not cancelled); SIGHUP re-reads the config and keeps the old one if the new one is invalid.\nFiles: state_dir (default /var/lib/stability) holds `reset-record` and `guard`, both key=value text.",
    error_code(64, "bad command line"),
    error_code(69, "every recovery device failed (the board was not reset), or keepalive mode could not own the watchdog"),
    error_code(71, "cannot set up signal handling"),
    error_code(74, "single run: the indicator could not be checked"),
    error_code(
        75,
        "a fault was refused by the boot-loop guard (single run or trigger)"
    ),
    error_code(78, "configuration error; nothing was started")
)]
pub struct Args {
    /// configuration file (default: /etc/stability/config.ini)
    #[argh(option, short = 'c')]
    pub config: Option<String>,

    /// decide and print every step of a reset without opening a device,
    /// writing a file or removing the indicator
    #[argh(switch, short = 'n')]
    pub dry_run: bool,

    /// print the version and exit
    #[argh(switch, short = 'V')]
    pub version: bool,

    #[argh(subcommand)]
    pub command: Option<Command>,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Command {
    CheckConfig(CheckConfig),
    Probe(Probe),
    Trigger(Trigger),
    Status(Status),
}

/// Validate the configuration and print the effective values (defaults
/// filled in) as INI. Warnings go to stderr; errors exit with 78.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "check-config")]
pub struct CheckConfig {
    /// configuration file (overrides the one before the command)
    #[argh(option, short = 'c')]
    pub config: Option<String>,
}

/// Report, as key=value lines and without arming anything, what the
/// watchdog, the RTC, the sleep states and state_dir offer.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "probe")]
pub struct Probe {
    /// configuration file (overrides the one before the command)
    #[argh(option, short = 'c')]
    pub config: Option<String>,
}

/// Reset the board now, along exactly the path a fault takes: boot-loop
/// guard, reset record, kernel log, then the recovery devices in order.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "trigger")]
pub struct Trigger {
    /// configuration file (overrides the one before the command)
    #[argh(option, short = 'c')]
    pub config: Option<String>,

    /// why: kept in the reset record and the kernel log
    #[argh(option, short = 'r')]
    pub reason: Option<String>,

    /// print every step instead of doing it
    #[argh(switch, short = 'n')]
    pub dry_run: bool,
}

/// Show the last reset record, the boot-loop guard and the watchdog's boot
/// status, as key=value lines.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "status")]
pub struct Status {
    /// configuration file (overrides the one before the command)
    #[argh(option, short = 'c')]
    pub config: Option<String>,
}

impl Args {
    /// The config file to read: the command's `--config`, the global one, or the default.
    pub fn config_path(&self) -> &str {
        let local = match &self.command {
            Some(Command::CheckConfig(c)) => c.config.as_deref(),
            Some(Command::Probe(c)) => c.config.as_deref(),
            Some(Command::Trigger(c)) => c.config.as_deref(),
            Some(Command::Status(c)) => c.config.as_deref(),
            None => None,
        };
        local
            .or(self.config.as_deref())
            .unwrap_or(crate::config::DEFAULT_PATH)
    }
}

/// Parses the command line; on `--help` or an error, says so and tells the
/// caller which status to exit with.
pub fn parse(argv: &[String]) -> Result<Args, u8> {
    let name = argv
        .first()
        .map_or("stability", |s| s.rsplit('/').next().unwrap_or(s));
    let rest: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
    match Args::from_args(&[name], &rest) {
        Ok(args) => Ok(args),
        Err(early) => match early.status {
            Ok(()) => {
                crate::out!("{}\n", early.output);
                Err(0)
            }
            Err(()) => {
                // Straight to descriptor 2: std's eprintln! brings its
                // stderr lock and thread ids (0.3 KB on armv7) for this line.
                crate::log::err_str(&format!(
                    "{}\nRun `{name} --help` for usage.\n",
                    early.output.trim_end()
                ));
                Err(exit::USAGE)
            }
        },
    }
}
