//! `scanmail`: the window with no arguments, the command line with a subcommand.

// Release builds on Windows are windowed programs: no console window flashes up when staff start
// ScanMail from the Start menu. From a terminal, the command line attaches to it (winconsole).
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

fn main() {
    if std::env::args_os().len() > 1 {
        scanmail::winconsole::attach_to_terminal();
    }
    let parsed = scanmail::cli::run_process();
    match parsed {
        scanmail::cli::Parsed::Exit(code) => std::process::exit(code),
        scanmail::cli::Parsed::Window(org) => open_window(org.as_deref()),
    }
}

#[cfg(feature = "gui")]
fn open_window(org: Option<&std::path::Path>) {
    if let Err(e) = scanmail::gui::run(org) {
        eprintln!("scanmail: the window could not open: {e}");
        eprintln!("The command line still works: scanmail check --help");
        std::process::exit(1);
    }
}

#[cfg(not(feature = "gui"))]
fn open_window(_org: Option<&std::path::Path>) {
    eprintln!("scanmail: this build has no window. Use the command line: scanmail check --help");
    std::process::exit(2);
}
