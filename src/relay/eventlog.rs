//! The Windows event log (Application, source `ScanMailRelay`): what IT must see of a service
//! that has no window: its start and stop, why it cannot run (a relay.toml a standard user could
//! edit, no sign-in), and each new health warning. Per-message lines stay out of it.
//! `relay install-service` registers the source with the message file .NET itself uses (every
//! event ID shows its text as given).

#![cfg(windows)]
#![allow(unsafe_code)]

use windows_sys::Win32::System::EventLog::{
    DeregisterEventSource, EVENTLOG_ERROR_TYPE, EVENTLOG_INFORMATION_TYPE, EVENTLOG_WARNING_TYPE,
    RegisterEventSourceW, ReportEventW,
};

/// How serious an event is.
#[derive(Debug, Clone, Copy)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// The registry key that registers the source.
pub const SOURCE_KEY: &str =
    r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\ScanMailRelay";
/// The message file whose every ID is "%1" (shipped with the .NET Framework in Windows).
pub const MESSAGE_FILE: &str =
    r"%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll";

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Writes one event; does nothing when the log cannot be opened.
pub fn write(level: Level, text: &str) {
    let source = wide(super::service::WINDOWS_NAME);
    let text = wide(&crate::receive::clean(text, 2000));
    let kind = match level {
        Level::Info => EVENTLOG_INFORMATION_TYPE,
        Level::Warning => EVENTLOG_WARNING_TYPE,
        Level::Error => EVENTLOG_ERROR_TYPE,
    };
    // SAFETY: both strings are NUL-terminated and outlive the calls; the handle is checked and
    // released.
    unsafe {
        let h = RegisterEventSourceW(std::ptr::null(), source.as_ptr());
        if h.is_null() {
            return;
        }
        let strings = [text.as_ptr()];
        ReportEventW(
            h,
            kind,
            0,
            1000,
            std::ptr::null_mut(),
            1,
            0,
            strings.as_ptr(),
            std::ptr::null(),
        );
        DeregisterEventSource(h);
    }
}
