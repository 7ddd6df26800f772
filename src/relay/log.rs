//! The relay's log: one line per event to standard error (the service's log), and the lines IT
//! must see even without a terminal also to the Windows event log. Every line passes
//! [`without_addresses`] on the way out, so a provider's refusal that names a recipient never
//! reaches a log, the event log, the state file, `relay status` or the help-desk mail.

/// A provider's (or anyone's) words with every mail address in them hidden: any run of
/// characters without spaces that holds an `@` becomes "(an address)". Spaces and line breaks
/// stay as they were.
pub fn without_addresses(said: &str) -> String {
    let mut out = String::with_capacity(said.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains('@') {
            out.push_str("(an address)");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in said.chars() {
        if c.is_whitespace() {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// One log line to standard error (the service's log): device, peer address, sizes, reply
/// codes. Never a password, a token, a recipient or the message.
pub fn log(line: &str) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "{} scanmail-relay: {}",
            crate::time::utc_rfc3339(crate::time::now_unix()),
            crate::receive::clean(&without_addresses(line), 400)
        );
    }
}

/// How serious a [`notice`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// A line IT must see even without a terminal: the log, and on Windows the event log too (the
/// service's start and stop, why it cannot run, each new warning).
pub fn notice(level: Level, line: &str) {
    log(line);
    #[cfg(windows)]
    super::eventlog::write(
        match level {
            Level::Info => super::eventlog::Level::Info,
            Level::Warning => super::eventlog::Level::Warning,
            Level::Error => super::eventlog::Level::Error,
        },
        &without_addresses(line),
    );
    #[cfg(not(windows))]
    let _ = level;
}

#[cfg(test)]
mod tests {
    use super::without_addresses;

    #[test]
    fn addresses_are_hidden_wherever_they_stand() {
        assert_eq!(
            without_addresses("550 5.1.1 <boss@lab.example>: Recipient\naddress rejected to=a@b"),
            "550 5.1.1 (an address) Recipient\naddress rejected (an address)"
        );
        assert_eq!(without_addresses("no address here"), "no address here");
        assert_eq!(without_addresses("\"x\"@y\ttab"), "(an address)\ttab");
    }
}
