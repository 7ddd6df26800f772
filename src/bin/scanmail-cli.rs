//! `scanmail-cli`: the command line only, as a console program. On Windows, scripts should call
//! this one: the shell waits for it and sees its exit status. (`scanmail.exe` is a windowed
//! program there; it still prints to a terminal it was started from, but cmd does not wait.)

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
