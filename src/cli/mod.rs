//! The command line for IT and scripts. Every subcommand prints plain words, or one JSON object
//! with `--json`, and exits 2 with a one-line reason on bad input.

mod check;
mod check_words;
mod discover;
mod listen;
mod lookup;
mod oauth;
mod password;
mod relay;
mod saved;

pub use check::{CheckArgs, request_from};
pub use check_words::{human, warnings_text};
pub use lookup::LookupArgs;

use clap::{Parser, Subcommand};
use std::io::{BufRead, Write};

#[derive(Debug, Parser)]
#[command(
    name = "scanmail",
    version,
    about = "Gets copiers and scanners sending scan-to-email, and proves it works.",
    long_about = None
)]
pub struct Cli {
    /// Use this organization preset (org.toml) instead of looking for one.
    #[arg(long, value_name = "FILE", global = true)]
    pub org: Option<std::path::PathBuf>,
    /// At the end, wait for Enter before the window closes (the window's administrator steps
    /// run in a console of their own, which would otherwise close before it is read).
    #[arg(long, global = true, hide = true)]
    pub pause_at_end: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test SSL/TLS (465) and STARTTLS (587) at once with a real login and a real test message.
    Check(CheckArgs),
    /// What ScanMail knows before any test (device, provider, warnings), without the network.
    Lookup(LookupArgs),
    /// Saved devices.
    #[command(subcommand)]
    Profiles(saved::ProfilesCommand),
    /// Print a saved device's settings card.
    Card(saved::CardArgs),
    /// The organization preset (what IT ships as org.toml).
    #[command(subcommand)]
    Org(saved::OrgCommand),
    /// Check the copier itself: a temporary receiving server that shows what the copier sends.
    Listen(listen::ListenArgs),
    /// Copiers and scanners that announce themselves on this network (a few seconds).
    Discover(discover::DiscoverArgs),
    /// The bridge: a relay copiers sign in to on the local network, which sends on with OAuth.
    #[command(subcommand)]
    Relay(relay::RelayCommand),
}

/// Writes text with control characters (other than line breaks and tabs) shown escaped, as
/// `\u{1b}`: terminal escape sequences from a server or a file are printed, never obeyed. A
/// character split across two writes is held until it is whole.
pub struct Safe<'a> {
    out: &'a mut dyn Write,
    pending: Vec<u8>,
}

impl<'a> Safe<'a> {
    pub fn new(out: &'a mut dyn Write) -> Self {
        Self {
            out,
            pending: Vec::new(),
        }
    }
}

impl Write for Safe<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        // Whole characters go out; an incomplete one at the end waits for the next write.
        let whole = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        let rest = self.pending.split_off(whole);
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = rest;
        self.out.write_all(escape_controls(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let text = String::from_utf8_lossy(&self.pending).into_owned();
            self.pending.clear();
            self.out.write_all(escape_controls(&text).as_bytes())?;
        }
        self.out.flush()
    }
}

impl Drop for Safe<'_> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Plain words on their way out, line by line, with ScanMail's commands as typed on this
/// system ([`crate::typed`]).
pub struct Typed<'a> {
    out: &'a mut dyn Write,
    line: Vec<u8>,
    typing: crate::typed::Typing,
    started: bool,
}

impl<'a> Typed<'a> {
    pub fn new(out: &'a mut dyn Write, typing: crate::typed::Typing) -> Self {
        Self {
            out,
            line: Vec::new(),
            typing,
            started: false,
        }
    }

    fn pass(&mut self, upto: usize) -> std::io::Result<()> {
        let rest = self.line.split_off(upto);
        let text = String::from_utf8_lossy(&self.line).into_owned();
        self.line = rest;
        // An output is JSON or words, never both: JSON from its first character on.
        if !self.started && !text.trim_start().is_empty() {
            self.started = true;
            if text.trim_start().starts_with(['{', '[']) {
                self.typing = self.typing.clone().json();
            }
        }
        self.out.write_all(self.typing.apply(&text).as_bytes())
    }
}

impl Write for Typed<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        if let Some(end) = self.line.iter().rposition(|&b| b == b'\n') {
            self.pass(end + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.pass(self.line.len())?;
        self.out.flush()
    }
}

impl Drop for Typed<'_> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// JSON for scripts: valid whatever a server, a copier or a file put in a string. serde escapes
/// the C0 controls; DEL and the C1 controls (U+0080..U+009F) are escaped here too, so the text
/// holds no control character at all and passes the terminal filter unchanged.
pub fn json_text<T: serde::Serialize>(value: &T, pretty: bool) -> Result<String, BadInput> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(|e| BadInput(e.to_string()))?;
    if !text.chars().any(char::is_control) {
        return Ok(text);
    }
    // Outside strings JSON has only ASCII punctuation, digits, letters and white space, so any
    // other control character is inside a string, where \u00XX is its valid escape.
    Ok(text
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | ' ') {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect())
}

/// `s` with every control character but `\n` and `\t` written as `\u{..}`.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A reason to exit with status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl<E: std::fmt::Display> From<E> for BadInput {
    fn from(e: E) -> Self {
        BadInput(e.to_string())
    }
}

/// What `main` should do after parsing.
pub enum Parsed {
    /// No subcommand: open the window, with `--org` if given.
    Window(Option<std::path::PathBuf>),
    /// A subcommand ran (or parsing failed); exit with this status.
    Exit(i32),
}

/// [`run`] with this process's arguments and standard streams (what both programs' `main` do).
pub fn run_process() -> Parsed {
    let stdin = std::io::stdin();
    run(
        std::env::args_os(),
        &mut stdin.lock(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
}

/// Parses the arguments and runs a subcommand, if one was given.
pub fn run<I, T>(
    args: I,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut safe_err = Safe::new(err);
    let err: &mut dyn Write = &mut safe_err;
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = write!(out, "{e}");
                return Parsed::Exit(0);
            }
            // clap's message up to its first blank line, on one line.
            let text = e.to_string();
            let reason: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(|l| l.trim().trim_start_matches("error: "))
                .collect();
            let _ = writeln!(err, "scanmail: {} (see scanmail --help)", reason.join(" "));
            return Parsed::Exit(2);
        }
    };
    // Server replies, device names and presets can hold control characters: shown escaped, so
    // they cannot rewrite what an admin's terminal shows. (JSON escapes them itself.)
    let mut safe = Safe::new(out);
    let out: &mut dyn Write = &mut safe;
    let mut typing = crate::typed::Typing::new(crate::typed::System::this());
    if let Some(Command::Relay(cmd)) = &cli.command {
        // Next steps name the settings file in use when it is not the machine-wide one.
        let given = cmd
            .config_arg()
            .and_then(|c| c.config.clone())
            .filter(|c| !relay::same_file(c, &crate::relay::config::path_or_default(None)));
        typing = typing.config(given.as_deref());
    }
    // Commands in what is said are written as typed on this system.
    let mut typed_out = Typed::new(out, typing.clone());
    let out: &mut dyn Write = &mut typed_out;
    let result = match cli.command {
        None => return Parsed::Window(cli.org),
        Some(Command::Check(args)) => check::check(&args, cli.org.as_deref(), stdin, out),
        Some(Command::Lookup(args)) => lookup::lookup(&args, cli.org.as_deref(), out),
        Some(Command::Profiles(cmd)) => saved::profiles(&cmd, stdin, out),
        Some(Command::Card(args)) => saved::card(&args, out),
        Some(Command::Org(cmd)) => saved::org_cmd(&cmd, cli.org.as_deref(), out),
        Some(Command::Listen(args)) => listen::listen(&args, cli.org.as_deref(), out),
        Some(Command::Discover(args)) => discover::discover(&args, out),
        Some(Command::Relay(cmd)) => relay::relay_cmd(&cmd, cli.org.as_deref(), stdin, out, err),
    };
    let code = match result {
        Ok(code) => code,
        Err(BadInput(reason)) => {
            let reason = typing.apply(&reason);
            let _ = writeln!(err, "scanmail: {}", escape_controls(&reason));
            2
        }
    };
    if cli.pause_at_end {
        let _ = out.flush();
        let _ = writeln!(
            err,
            "\n{} Press Enter to close this window.",
            if code == 0 {
                "Done."
            } else {
                "This did not work: the lines above say why."
            }
        );
        let mut line = String::new();
        let _ = stdin.read_line(&mut line);
    }
    Parsed::Exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_writes_arrives_whole() {
        let mut buf = Vec::new();
        {
            let mut safe = Safe::new(&mut buf);
            let bytes = "é\u{1b}ü".as_bytes();
            for b in bytes {
                safe.write_all(std::slice::from_ref(b)).unwrap();
            }
        }
        assert_eq!(String::from_utf8(buf).unwrap(), "é\\u{1b}ü");
    }

    #[test]
    fn json_escapes_del_and_c1_itself() {
        let text = json_text(&serde_json::json!({"a": "x\u{7f}\u{9b}\u{1b}\"y"}), false).unwrap();
        assert_eq!(text, r#"{"a":"x\u007f\u009b\u001b\"y"}"#);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["a"], "x\u{7f}\u{9b}\u{1b}\"y");
    }
}
