//! `scanmail listen`: the copier check from the command line. Prints the temporary settings to
//! type into the copier, then one block per connection (or one JSON object per line).

use super::BadInput;
use crate::listen::{self, Event, Options, verdict::Rules};
use clap::Args;
use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The port to listen on with STARTTLS offered.
    #[arg(long, value_name = "N", default_value_t = listen::DEFAULT_PORT)]
    pub port: u16,
    /// Also listen on this port with SSL/TLS from the first byte (implicit TLS).
    #[arg(long, value_name = "N")]
    pub tls_port: Option<u16>,
    /// Listen only on this address of this computer [default: all of them].
    #[arg(long, value_name = "IP")]
    pub address: Option<IpAddr>,
    /// Stop listening after this many seconds (at most 600).
    #[arg(long, value_name = "SECONDS", default_value_t = listen::MAX_SECONDS)]
    pub seconds: u64,
    /// Stop after the first connection ends.
    #[arg(long)]
    pub once: bool,
    /// One JSON object per connection, one per line.
    #[arg(long)]
    pub json: bool,
    /// Judge by this provider's rules [default: from the preset's server; else both].
    #[arg(long, value_name = "PROVIDER", value_parser = ["google", "microsoft"])]
    pub provider: Option<String>,
    /// Compare the copier's password with the one in this environment variable (only over
    /// TLS, in constant time; neither is ever shown).
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// The login the card gives the copier (the device account): another login is called out.
    #[arg(long, value_name = "ADDRESS")]
    pub user: Option<String>,
    /// The security on the card: with ssl, --port speaks TLS from the first byte.
    #[arg(long, value_name = "SECURITY", value_parser = ["starttls", "ssl"])]
    pub security: Option<String>,
    /// The copier's address: a connection from anywhere else is called out.
    #[arg(long, value_name = "IP")]
    pub copier: Option<IpAddr>,
    /// Seconds a client may stay silent between commands.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, hide = true)]
    pub idle: u64,
}

pub fn listen(
    args: &ListenArgs,
    org: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    if args.seconds == 0 || args.seconds > listen::MAX_SECONDS {
        return Err(BadInput("--seconds must be between 1 and 600.".into()));
    }
    let password = match &args.password_env {
        Some(var) => Some(super::password::given_password(
            Some(var),
            &mut std::io::empty(),
        )?),
        None => None,
    };
    let preset = crate::org::locate(org).preset;
    let providers = match args.provider.as_deref() {
        Some(p) => Rules::named(p).into_iter().collect(),
        None => Rules::for_server(&preset.server).map_or_else(Rules::all, |r| vec![r]),
    };
    let options = Options {
        address: args.address,
        port: args.port,
        tls_port: args.tls_port,
        seconds: args.seconds,
        once: args.once,
        limits: crate::receive::Limits {
            idle: Duration::from_secs(args.idle.max(1)),
            data_idle: Duration::from_secs(args.idle.max(1)),
            ..crate::receive::Limits::default()
        },
        password,
        providers,
        expect: crate::listen::ready::Expect {
            login: args.user.clone(),
            security: args.security.as_deref().map(|s| {
                if s == "ssl" {
                    crate::smtp::Security::Ssl
                } else {
                    crate::smtp::Security::Starttls
                }
            }),
            copier: args.copier,
            command_line: true,
        },
        next_free_port: false,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BadInput(format!("Could not start: {e}")))?;
    runtime.block_on(async {
        let mut running = listen::start(options).await.map_err(|e| BadInput(e.to_string()))?;
        if !args.json {
            let _ = write!(
                out,
                "{}",
                settings_text(&running, &preset.server, args.seconds, args.user.as_deref())
            );
            let _ = out.flush();
        }
        let mut seen = 0;
        while let Some(event) = running.events.recv().await {
            match event {
                Event::Connected(peer) if !args.json => {
                    let _ = writeln!(out, "Connection from {peer}...");
                }
                Event::Connected(_) => {}
                Event::Finished(c) => {
                    seen += 1;
                    let text = if args.json {
                        super::json_text(&c, false).unwrap_or_default() + "\n"
                    } else {
                        listen::describe(&c)
                    };
                    let _ = write!(out, "{text}");
                }
                Event::Ended(why) => {
                    if !args.json {
                        let _ = writeln!(out, "{why} Connections seen: {seen}. Now put the copier's real settings back, exactly as on the settings card: server, port, security and login.");
                    }
                    break;
                }
            }
            let _ = out.flush();
        }
        Ok(0)
    })
}

fn settings_text(r: &listen::Running, server: &str, seconds: u64, login: Option<&str>) -> String {
    let address = r
        .address
        .map_or_else(|| "this computer's address".to_string(), |a| a.to_string());
    let security = if r.implicit { "SSL/TLS" } else { "STARTTLS" };
    let mut s = format!(
        "Copier check: listening for {}. Nothing sent here is delivered.\n\nType these into the copier for now:\n  SMTP server: {address}\n  Port:        {}\n  Security:    {security}\n",
        match seconds {
            s if s < 120 => format!("{s} seconds"),
            s => format!("{} minutes", s.div_ceil(60)),
        },
        r.port
    );
    if let Some(p) = r.tls_port {
        s += &format!("  (or Port {p} with SSL/TLS)\n");
    }
    s += &format!(
        "  Login:       {}\n\nThen send a scan to yourself. Afterwards put the copier's real settings back, exactly as on the settings card (server {server}, its port, security and login).\n\n",
        login.unwrap_or("the device account, as on the settings card")
    );
    s
}
