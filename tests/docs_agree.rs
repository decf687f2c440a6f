//! The configuration keys are stated once, in `config::KEYS` (name, section,
//! default, the values each takes, what it means). The shipped config.ini,
//! the man page stability.ini(5) and the README's key table restate them for
//! people; these tests fail as soon as one of them disagrees with the code.

use stability::config::{Kind, KEYS};

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The words of a line, split at spaces, commas, parentheses, semicolons
/// and quotes.
fn tokens(line: &str) -> Vec<&str> {
    line.split(|c: char| c.is_whitespace() || ",();\"".contains(c))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether the docs must state this kind's range (the bounded ones).
fn bounded(kind: Kind) -> bool {
    match kind {
        Kind::Int(..) | Kind::Seconds(..) | Kind::ZeroOrAtLeast(_) => true,
        Kind::Duration(min, _) => min >= 1000,
        _ => false,
    }
}

#[test]
fn config_ini_lists_every_key_once_with_its_default() {
    let text = read("config.ini");
    let mut section = "";
    let mut seen = Vec::new();
    for line in text.lines() {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = match s {
                "general" => "general",
                "watchdog-device" => "watchdog-device",
                "rtc-device" => "rtc-device",
                other => panic!("config.ini: unknown section [{other}]"),
            };
            continue;
        }
        let body = line.strip_prefix(';').unwrap_or(line);
        let Some((name, value)) = body.split_once(" = ") else {
            continue;
        };
        if name.contains(' ') || name.starts_with('#') {
            continue;
        }
        let key = KEYS
            .iter()
            .find(|k| k.name == name)
            .unwrap_or_else(|| panic!("config.ini names {name}, which the code does not know"));
        assert_eq!(
            key.section, section,
            "config.ini: {name} in the wrong section"
        );
        if !key.default.is_empty() {
            assert_eq!(
                value, key.default,
                "config.ini shows {name} = {value}; the code's default is {}",
                key.default
            );
        }
        seen.push(name);
    }
    for key in KEYS {
        assert_eq!(
            seen.iter().filter(|n| **n == key.name).count(),
            1,
            "config.ini must list {} once (commented out with its default when optional)",
            key.name
        );
    }
}

#[test]
fn the_man_page_states_every_key_with_its_default_and_range() {
    let page = read("docs/man/stability.ini.5");
    let items: Vec<&str> = page.lines().filter(|l| l.starts_with(".It Cm ")).collect();
    for line in &items {
        let name = tokens(line)[2];
        assert!(
            KEYS.iter().any(|k| k.name == name),
            "stability.ini(5) documents {name}, which the code does not know"
        );
    }
    for key in KEYS {
        let line = items
            .iter()
            .find(|l| tokens(l)[2] == key.name)
            .unwrap_or_else(|| panic!("stability.ini(5) has no `.It Cm {}`", key.name));
        let words = tokens(line);
        if key.default.is_empty() {
            assert!(
                line.contains("no default") || line.contains("default:") || line.contains("third"),
                "{}: no default in the code, but the man page gives one: {line}",
                key.name
            );
        } else {
            let at = words.iter().position(|w| *w == "default");
            let given = at.and_then(|i| words[i + 1..].iter().find(|w| !["Ql", "Pa"].contains(w)));
            assert_eq!(
                given.copied(),
                Some(key.default),
                "stability.ini(5): {} — the code's default is {}: {line}",
                key.name,
                key.default
            );
        }
        if bounded(key.kind) {
            let range = key.kind.to_string();
            assert!(
                line.contains(&range),
                "stability.ini(5): {} takes `{range}`: {line}",
                key.name
            );
        }
    }
}

#[test]
fn the_readme_key_table_agrees_with_the_code() {
    let readme = read("README.md");
    let rows: Vec<Vec<&str>> = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    let mut listed = 0;
    for row in rows {
        let name = row[1].trim_matches('`');
        let Some(key) = KEYS.iter().find(|k| k.name == name) else {
            continue;
        };
        listed += 1;
        let default = row[2].trim_matches('`');
        let want = if key.default.is_empty() {
            "—"
        } else {
            key.default
        };
        assert_eq!(default, want, "README: {name}'s default");
    }
    assert!(listed >= 8, "the README's key table lists {listed} keys");
}

/// Each default parses as the key's own values: the code can start from it.
#[test]
fn every_default_is_a_valid_value() {
    let mut text = String::from("[general]\nindicator_file_path = /x\n");
    let mut section = "general";
    for key in KEYS.iter().filter(|k| !k.default.is_empty()) {
        if key.section != section {
            section = key.section;
            text.push_str(&format!("[{section}]\n"));
        }
        text.push_str(&format!("{} = {}\n", key.name, key.default));
    }
    if let Err(r) = stability::config::parse(&text, "defaults.ini") {
        panic!("{:?}", r.errors);
    }
}
