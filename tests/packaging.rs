//! The installers' pieces that can be checked on Linux: the macOS bundle tree and Info.plist
//! (scripts/macos-bundle.sh --dry-run), the icons made from the one SVG, and the WiX source.
//! The MSI itself is built and checked by wix/build-msi.sh and wix/check-msi.sh in CI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_macos_bundle_tree_and_plist_are_right() {
    let out = std::env::temp_dir().join(format!("scanmail-bundle-{}", std::process::id()));
    let status = Command::new("bash")
        .args(["scripts/macos-bundle.sh", "--dry-run", "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    let app = out.join("ScanMail.app/Contents");
    for f in [
        "Info.plist",
        "PkgInfo",
        "MacOS/ScanMail",
        "Resources/scanmail.icns",
    ] {
        assert!(app.join(f).is_file(), "missing {f}");
    }
    // Read the plist back with Python's plistlib, as a second opinion on the script's check.
    let json = Command::new("python3")
        .args([
            "-c",
            "import plistlib,json,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))",
        ])
        .arg(app.join("Info.plist"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["CFBundleShortVersionString"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["CFBundleIdentifier"], "org.scanmail.ScanMail");
    assert_eq!(v["CFBundleExecutable"], "ScanMail");
    assert_eq!(v["LSMinimumSystemVersion"], "11.0");
    assert!(
        v["NSHumanReadableCopyright"]
            .as_str()
            .unwrap()
            .contains("ScanMail")
    );
    assert_eq!(std::fs::read(app.join("PkgInfo")).unwrap(), b"APPL????");
    let icns = std::fs::read(app.join("Resources/scanmail.icns")).unwrap();
    assert_eq!(&icns[..4], b"icns");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn every_icon_comes_from_the_svg() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/icons");
    for size in [16, 24, 32, 48, 64, 128, 256, 512, 1024] {
        let png = std::fs::read(dir.join(format!("scanmail-{size}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let (w, h) = (
            u32::from_be_bytes(png[16..20].try_into().unwrap()),
            u32::from_be_bytes(png[20..24].try_into().unwrap()),
        );
        assert_eq!((w, h), (size, size));
    }
    let ico = std::fs::read(dir.join("scanmail.ico")).unwrap();
    assert_eq!(&ico[..4], &[0, 0, 1, 0], "an .ico header");
    assert!(
        u16::from_le_bytes([ico[4], ico[5]]) >= 6,
        "several sizes in the .ico"
    );
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("resources/icon.svg")
            .is_file()
    );
}

#[test]
fn the_wix_source_has_what_it_and_staff_need() {
    let wxs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("wix/main.wxs"))
        .unwrap();
    for needle in [
        "UpgradeCode=\"A8F1A19D-A348-4371-8C5D-832E64C472F6\"",
        "<MajorUpgrade",
        "InstallScope=\"perMachine\"",
        "ProgramFiles64Folder",
        "<Shortcut Id=\"ScanMailShortcut\"",
        "ARPPRODUCTICON",
        "org install &quot;[ORGPRESET]&quot;",
        "Version=\"$(var.Version)\"",
        "WixUILicenseRtf",
    ] {
        assert!(wxs.contains(needle), "main.wxs lacks {needle}");
    }
    // Nothing wixl rejects (cargo-wix's template uses these).
    for bad in ["sys.BUILDARCH", "<Environment", "WixUI_FeatureTree"] {
        assert!(!wxs.contains(bad), "main.wxs uses {bad}");
    }
}
