//! ScanMail: gets printers, scanners and apps sending scan-to-email, and proves it works.
//!
//! The library holds every rule; the binary (`main.rs`) only parses arguments and hands over to
//! [`cli`] or, later, the window.

pub mod card;
pub mod catalog;
pub mod cli;
pub mod fsutil;
pub mod gui;
pub mod org;
pub mod profile;
pub mod secrets;
pub mod smtp;
pub mod time;
pub mod winconsole;
