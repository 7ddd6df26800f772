//! `scanmail`: the command line (and, later, the window).

fn main() {
    let stdin = std::io::stdin();
    let code = scanmail::cli::run(
        std::env::args_os(),
        &mut stdin.lock(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(code);
}
