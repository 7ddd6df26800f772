//! `scanmail-cli`: the command line as a console program. On Windows, scripts should call this
//! one: the shell waits for it and sees its exit status (`scanmail.exe` is a windowed program
//! there; cmd does not wait for it). On Windows it is a small twin: it runs `scanmail.exe` beside
//! it with the same arguments and this console, waits, and passes its exit status on, so the
//! installer carries the program once. Elsewhere it is the command line itself.

#[cfg(windows)]
fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.is_empty() {
        eprintln!(
            "scanmail-cli has no window: run scanmail for the window, or scanmail-cli --help."
        );
        std::process::exit(2);
    }
    let Some(exe) = std::env::current_exe()
        .ok()
        .map(|p| p.with_file_name("scanmail.exe"))
        .filter(|p| p.exists())
    else {
        eprintln!("scanmail.exe is missing beside scanmail-cli.exe. Install ScanMail again.");
        std::process::exit(2);
    };
    // Ctrl+C goes to every program on this console: scanmail.exe stops (a relay lets its
    // messages finish); this twin waits for it instead of leaving first.
    ignore_ctrl_c();
    match std::process::Command::new(&exe).args(&args).status() {
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(e) => {
            eprintln!(
                "{} could not start ({e}). Install ScanMail again.",
                exe.display()
            );
            std::process::exit(2);
        }
    }
}

#[cfg(windows)]
#[allow(unsafe_code)]
fn ignore_ctrl_c() {
    // SAFETY: no handler routine, `TRUE`: this process ignores Ctrl+C; plain values only.
    unsafe {
        windows_sys::Win32::System::Console::SetConsoleCtrlHandler(None, 1);
    }
}

#[cfg(not(windows))]
fn main() {
    match scanmail::cli::run_process() {
        scanmail::cli::Parsed::Exit(code) => std::process::exit(code),
        scanmail::cli::Parsed::Window(_) => {
            eprintln!(
                "scanmail-cli has no window: run scanmail for the window, or scanmail-cli --help."
            );
            std::process::exit(2);
        }
    }
}
