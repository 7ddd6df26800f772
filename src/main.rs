//! `scanmail`: the window with no arguments, the command line with a subcommand.

fn main() {
    let stdin = std::io::stdin();
    let parsed = scanmail::cli::run(
        std::env::args_os(),
        &mut stdin.lock(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    match parsed {
        scanmail::cli::Parsed::Exit(code) => std::process::exit(code),
        scanmail::cli::Parsed::Window => {
            println!(
                "The ScanMail window is not part of this build yet. Run: scanmail check --help"
            );
        }
    }
}
