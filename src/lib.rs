//! ScanMail: gets printers, scanners and apps sending scan-to-email, and proves it works.
//!
//! The library holds every rule; the binaries (`main.rs`, `bin/scanmail-cli.rs`) only hand the
//! arguments to [`cli`] or open the window. The domain (`smtp`, `catalog`, `profile`, `org`,
//! `secrets`, `card`) knows nothing of iced: the window lives in `gui`, behind the default-on
//! cargo feature `gui`, and `cargo build --no-default-features` builds the command line alone.

pub mod card;
pub mod catalog;
pub mod cli;
pub mod discover;
pub mod fsutil;
#[cfg(feature = "gui")]
pub mod gui;
pub mod listen;
pub mod oauth;
pub mod org;
pub mod profile;
pub mod receive;
pub mod relay;
pub mod report;
pub mod secrets;
pub mod smtp;
pub mod time;
pub mod trust;
pub mod typed;
pub mod winacl;
pub mod winconsole;
pub mod winfolders;
