//! A password given to a command: from an environment variable or the first line of standard
//! input, never from the command line.

use super::BadInput;
use crate::secrets::AppPassword;
use std::io::BufRead;

/// A password given to the program: from the environment variable `var`, else the first line of
/// standard input. Never from the command line.
pub(super) fn given_password(
    var: Option<&str>,
    stdin: &mut dyn BufRead,
) -> Result<AppPassword, BadInput> {
    if let Some(var) = var {
        return match std::env::var(var) {
            Ok(v) if v.trim().is_empty() => Err(BadInput(format!(
                "The environment variable {var} is empty."
            ))),
            Ok(v) => Ok(AppPassword::new(v)),
            Err(std::env::VarError::NotPresent) => Err(BadInput(format!(
                "The environment variable {var} is not set."
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(BadInput(format!(
                "The environment variable {var} could not be read as text."
            ))),
        };
    }
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .map_err(|_| BadInput("The password could not be read from standard input.".into()))?;
    let line = line.trim_end_matches(['\r', '\n']);
    if line.is_empty() {
        return Err(BadInput("No password on standard input.".into()));
    }
    Ok(AppPassword::new(line))
}
