//! On Windows targets: the icon and the version resource in scanmail.exe (winresource, with
//! rc.exe on Windows or mingw's windres when cross-compiling). Elsewhere nothing.

fn main() {
    println!("cargo:rerun-if-changed=resources/icons/scanmail.ico");
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let mut res = winresource::WindowsResource::new();
    res.set_icon("resources/icons/scanmail.ico")
        .set("ProductName", "ScanMail")
        .set(
            "FileDescription",
            "ScanMail: set up and prove scan-to-email",
        )
        .set("CompanyName", "ScanMail")
        .set("LegalCopyright", "ScanMail contributors, MIT OR Apache-2.0");
    if let Err(e) = res.compile() {
        // A missing resource compiler costs the icon, not the build.
        println!("cargo:warning=the Windows icon and version were not embedded: {e}");
    }
}
