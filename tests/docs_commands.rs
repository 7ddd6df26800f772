//! Every command line in the fenced blocks of README.md and docs/*.md goes through ScanMail's own
//! command-line parser, as typed on its system (`sudo scanmail ...`, `& "C:\Program
//! Files\ScanMail\scanmail-cli.exe" ...`, `/Applications/ScanMail.app/Contents/MacOS/ScanMail
//! ...`): a documented verb or flag that does not exist fails here. Synopses (with `[...]`, `|`
//! or `...`) are not commands and are left out; `<placeholders>` stand for a value.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use std::path::Path;

/// Splits a line the way a shell would for our purposes: spaces, double and single quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_program(w: &str) -> bool {
    let w = w.replace('\\', "/");
    w == "scanmail"
        || w.ends_with("/scanmail")
        || w.ends_with("scanmail-cli.exe")
        || w.ends_with("MacOS/ScanMail")
}

/// The arguments after the program, when the line runs ScanMail; `None` otherwise (or for a
/// synopsis).
fn command(line: &str) -> Option<Vec<String>> {
    let line = line.trim().trim_start_matches("$ ");
    let line = line.split(" # ").next().unwrap_or(line);
    // A command and its description in columns: the description starts after two spaces.
    let line = line.split("  ").next().unwrap_or(line);
    let w = words(line);
    let at = w.iter().position(|x| is_program(x))?;
    let args: Vec<String> = w[at + 1..]
        .iter()
        .take_while(|a| !a.starts_with('#'))
        .cloned()
        .collect();
    let synopsis = args
        .iter()
        .any(|a| a.contains('[') || a.contains('|') || a.contains("..."));
    if synopsis {
        return None;
    }
    Some(args)
}

/// Placeholders such as `<Application (client) ID>` become one value.
fn fill(line: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in line.chars() {
        match c {
            '<' => {
                depth += 1;
                if depth == 1 {
                    out.push_str("VALUE");
                }
            }
            '>' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn every_documented_command_line_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for e in std::fs::read_dir(root.join("docs")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "md") {
            files.push(e.path());
        }
    }
    let mut checked = 0;
    let mut failed = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let mut inside = false;
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                inside = !inside;
                continue;
            }
            if !inside {
                continue;
            }
            let Some(args) = command(&fill(line)) else {
                continue;
            };
            checked += 1;
            let argv = std::iter::once("scanmail".to_string()).chain(args);
            if let Err(e) = scanmail::cli::Cli::try_parse_from(argv) {
                use clap::error::ErrorKind;
                if !matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                    failed.push(format!(
                        "{}:{}: {}\n  {}",
                        f.file_name().unwrap().to_string_lossy(),
                        n + 1,
                        line.trim(),
                        e.to_string().lines().next().unwrap_or("")
                    ));
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} command lines found");
    assert!(
        failed.is_empty(),
        "{} of {checked} do not parse:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn the_reader_finds_commands_as_typed_on_each_system() {
    assert_eq!(
        command(&fill(
            r#"& "C:\Program Files\ScanMail\scanmail-cli.exe" relay sign-in --client-id <Application (client) ID>"#
        )),
        Some(vec![
            "relay".into(),
            "sign-in".into(),
            "--client-id".into(),
            "VALUE".into()
        ])
    );
    assert_eq!(
        command("sudo /Applications/ScanMail.app/Contents/MacOS/ScanMail relay test   # a note"),
        Some(vec!["relay".into(), "test".into()])
    );
    assert_eq!(command("scanmail listen [--port 2525]"), None, "a synopsis");
    assert_eq!(command("systemctl status scanmail-relay"), None);
    // A flag that does not exist is caught.
    let argv = ["scanmail", "relay", "sign-in", "--no-such-flag"];
    assert!(scanmail::cli::Cli::try_parse_from(argv).is_err());
}
