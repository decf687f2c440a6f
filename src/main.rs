//! stability: the binary. Parses the command line, loads the config, and
//! hands over to the module that owns the command.

use std::process::ExitCode;

use stability::cli::exit;
use stability::cli::{self, Command};
use stability::config::{self, Loaded};
use stability::monitor::{self, RunOptions};
use stability::{error, report, warning};

fn main() -> ExitCode {
    ExitCode::from(real_main())
}

fn real_main() -> u8 {
    // Where log lines go, and /dev/kmsg opened once: before anything logs.
    stability::log::init();
    let mut argv = Vec::new();
    for (i, arg) in std::env::args_os().enumerate() {
        match arg.into_string() {
            Ok(s) => argv.push(s),
            Err(bad) => {
                error!("argument {i} is not valid UTF-8: {}", bad.to_string_lossy());
                return exit::USAGE;
            }
        }
    }
    let args = match cli::parse(&argv) {
        Ok(args) => args,
        Err(status) => return status,
    };
    if args.version {
        stability::out!("stability {}\n", env!("CARGO_PKG_VERSION"));
        return exit::OK;
    }
    let path = args.config_path();
    let loaded = match config::load(path) {
        Ok(loaded) => loaded,
        Err(rejected) => {
            for w in &rejected.warnings {
                warning!("{}", w.display(&rejected.source));
            }
            for e in &rejected.errors {
                error!("{}", e.display(&rejected.source));
            }
            error!(
                "configuration rejected ({} error{}); nothing was started",
                rejected.errors.len(),
                if rejected.errors.len() == 1 { "" } else { "s" }
            );
            return exit::CONFIG;
        }
    };
    match &args.command {
        None => monitor::run(
            loaded,
            &RunOptions {
                config_path: path,
                dry_run: args.dry_run,
            },
        ),
        Some(Command::CheckConfig(_)) => {
            print_warnings(&loaded);
            stability::out!("{}", loaded.config.to_ini());
            exit::OK
        }
        Some(Command::Probe(_)) => {
            print_warnings(&loaded);
            report::probe(&loaded.config);
            exit::OK
        }
        Some(Command::Status(_)) => {
            report::status(&loaded.config);
            exit::OK
        }
        Some(Command::Trigger(t)) => {
            print_warnings(&loaded);
            monitor::trigger(
                &loaded.config,
                t.reason.as_deref().unwrap_or("manual trigger"),
                t.dry_run || args.dry_run,
            )
        }
    }
}

fn print_warnings(loaded: &Loaded) {
    for w in &loaded.warnings {
        warning!("{}", w.display(&loaded.config.source));
    }
}
