//! `scanmail discover`: copiers and scanners that announce themselves on this network.

use super::BadInput;
use clap::Args;
use std::io::Write;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// How long to listen for answers.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub seconds: u64,
    /// Print one JSON object: {"devices": [...]}.
    #[arg(long)]
    pub json: bool,
}

pub fn discover(args: &DiscoverArgs, out: &mut dyn Write) -> Result<i32, BadInput> {
    if args.seconds == 0 || args.seconds > 60 {
        return Err(BadInput("--seconds must be between 1 and 60.".into()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BadInput(format!("Could not start: {e}")))?;
    let devices = runtime
        .block_on(crate::discover::discover(Duration::from_secs(args.seconds)))
        .map_err(BadInput)?;
    if args.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            devices: &'a [crate::discover::Device],
        }
        let text = super::json_text(&Out { devices: &devices }, true)?;
        let _ = writeln!(out, "{text}");
        return Ok(0);
    }
    if devices.is_empty() {
        let _ = writeln!(out, "{}", crate::discover::NOTHING_FOUND);
    }
    for d in &devices {
        let _ = writeln!(out, "{}", d.name);
        let what = [d.manufacturer.as_deref(), d.model.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !what.is_empty() {
            let _ = writeln!(out, "  Device: {what}");
        }
        if let Some(a) = &d.address {
            let _ = writeln!(out, "  Address: {a}");
        }
        if let Some(u) = &d.admin_url {
            let _ = writeln!(out, "  Settings page: {u}");
        }
        if let Some(m) = &d.catalog_match {
            let _ = writeln!(
                out,
                "  ScanMail knows {m} devices: scanmail lookup --manufacturer \"{m}\""
            );
        }
        let _ = writeln!(out, "  Announces: {}", d.services.join(", "));
    }
    Ok(0)
}
