//! Microsoft's answers in plain words, each with the exact fix for IT: the sign-in's AADSTS codes
//! and Exchange Online's SMTP replies, filled in with this relay's tenant, app and mailbox. The
//! provider's code stays in every text, so IT can look it up. Used by `relay sign-in`, `relay
//! test`, `relay status` (and so the event log and the help desk's mail).

use crate::oauth::app::AppError;

/// What this relay is, for the fixes' words.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub account: String,
    pub client_id: String,
    pub tenant: String,
    /// Where setup-microsoft-365.ps1 is (when `relay microsoft-app` wrote one).
    pub script: Option<String>,
}

impl Ctx {
    fn client(&self) -> &str {
        if self.client_id.is_empty() {
            "<Application (client) ID>"
        } else {
            &self.client_id
        }
    }

    fn script_line(&self) -> String {
        self.script.as_ref().map_or_else(String::new, |s| {
            format!(" Running {s} again does this for you.")
        })
    }

    fn sign_in_line(&self) -> String {
        format!(
            "scanmail relay sign-in --client-id {} --tenant <Directory (tenant) ID>",
            self.client()
        )
    }
}

/// A problem in plain words: what happened, and what IT does about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub what: String,
    pub fix: String,
}

impl Fix {
    /// Both, as one text.
    pub fn words(&self) -> String {
        format!("{} {}", self.what, self.fix)
    }
}

/// The app-only or delegated sign-in refused by Microsoft's identity platform.
pub fn sign_in(e: &AppError, ctx: &Ctx) -> Fix {
    let client = ctx.client();
    let code = e
        .aadsts
        .map_or_else(|| e.error.clone(), |n| format!("AADSTS{n}"));
    let app = format!("the app {client} (Entra admin center, App registrations)");
    let (what, fix) = match e.aadsts {
        _ if e.network => (
            format!("The relay could not reach Microsoft's sign-in service ({}).", e.description),
            "Check that this computer can reach login.microsoftonline.com (HTTPS, port 443) through its firewall or proxy, then: scanmail relay test".to_string(),
        ),
        Some(700016) => (
            format!("Microsoft does not know the relay's app {client} in this organization ({code})."),
            format!("Open the app on the Overview page of App registrations and copy its two IDs, then run: {}", ctx.sign_in_line()),
        ),
        Some(90002) => (
            format!("Microsoft does not know the tenant \"{}\" ({code}).", ctx.tenant),
            format!("Use the Directory (tenant) ID from the app's Overview page: {}", ctx.sign_in_line()),
        ),
        Some(7000218) => (
            format!("The sign-in gave no certificate or secret ({code}). A sign-in with a code needs \"Allow public client flows\" on the app."),
            format!("For the sign-in with a code: {app}, Authentication, Allow public client flows: Yes. Better, use the app-only sign-in, which no password change ends: scanmail relay microsoft-app"),
        ),
        Some(65001) => (
            format!("Nobody gave the relay's app the admin consent it needs ({code})."),
            format!("In {app}, API permissions, press \"Grant admin consent\".{}", ctx.script_line()),
        ),
        Some(700027) => (
            format!("The certificate the relay signs with is not on its app ({code})."),
            format!("In {app}, Certificates & secrets, Certificates, upload relay-app.cer (it is beside relay.toml).{}", ctx.script_line()),
        ),
        Some(7000222) => (
            format!("The relay's client secret has run out ({code})."),
            format!("Use the certificate instead, which lasts as long as you choose: scanmail relay microsoft-app, run the script it writes, then {}. Or make a new secret in {app} and run: scanmail relay sign-in --client-id {client} --client-secret-stdin", ctx.sign_in_line()),
        ),
        Some(7000215) => (
            format!("The relay's client secret is wrong ({code})."),
            format!("Copy the secret's Value (not its ID) from {app}, Certificates & secrets, and run: scanmail relay sign-in --client-id {client} --client-secret-stdin"),
        ),
        Some(700082) => (
            format!("The relay's sign-in was not used for 90 days, so Microsoft ended it ({code})."),
            "Sign the relay in again: scanmail relay sign-in. The app-only sign-in does not run out this way: scanmail relay microsoft-app".to_string(),
        ),
        Some(50173) => (
            format!("The password of the mailbox {} changed, which ends the relay's sign-in ({code}).", ctx.account),
            "Sign the relay in again: scanmail relay sign-in. The app-only sign-in does not end with a password change: scanmail relay microsoft-app".to_string(),
        ),
        Some(53003) => (
            format!("A Conditional Access policy blocks the relay's sign-in ({code})."),
            format!("In the Entra admin center, Conditional Access, find the policy in the sign-in logs and exclude the app {client} (app-only) or the mailbox {}, or allow this computer's network.", ctx.account),
        ),
        Some(700024) => (
            format!("This computer's clock is too far off for Microsoft ({code})."),
            "Set this computer to take its time from the network (automatic time), then: scanmail relay test".to_string(),
        ),
        Some(500011) => (
            format!("Exchange Online was not found in this organization ({code})."),
            "Check that the organization has Exchange Online (Microsoft 365 admin center, Billing, Your products), and that relay.toml names the right tenant.".to_string(),
        ),
        Some(70011) => (
            format!("Microsoft refused the permission the relay asked for ({code})."),
            "Make sure relay.toml's [upstream] auth is \"app\" for the app-only sign-in, then: scanmail relay test".to_string(),
        ),
        Some(n) => (
            format!("Microsoft refused the relay's sign-in ({code}: {}).", e.description),
            format!("Look the code up at https://login.microsoftonline.com/error?code={n} and check {app}."),
        ),
        None => (
            format!("Microsoft refused the relay's sign-in ({code}: {}).", e.description),
            format!("Check {app}, then: scanmail relay test"),
        ),
    };
    Fix { what, fix }
}

/// Exchange Online's refusal of the relay's SMTP sign-in or of a message, when it is one IT
/// must fix. `app_only`: the relay signed in as its app (else as a person, or with a password).
pub fn smtp(code: u16, text: &str, app_only: bool, ctx: &Ctx) -> Option<Fix> {
    let said = format!("{code} {}", text.lines().next().unwrap_or(""));
    let account = &ctx.account;
    let client = ctx.client();
    if text.contains("5.7.139") {
        return Some(Fix {
            what: format!(
                "SMTP AUTH is off for the mailbox {account} or for the whole organization ({said}). The relay's SMTP sign-in needs it, with OAuth too."
            ),
            fix: format!(
                "Turn it on for this one mailbox in Exchange Online PowerShell: Set-CASMailbox -Identity {account} -SmtpClientAuthenticationDisabled $false (or Microsoft 365 admin center, Users, Active users, {account}, Mail, Manage email apps, Authenticated SMTP). If your organization keeps SMTP AUTH off, send through Microsoft Graph instead: docs/microsoft-365.md, \"When SMTP is off\"."
            ),
        });
    }
    if text.contains("5.7.3") && code == 535 && app_only {
        return Some(Fix {
            what: format!(
                "Exchange did not accept the relay's app {client} for the mailbox {account} ({said}): Exchange does not know the app yet, or the app may not use that mailbox."
            ),
            fix: format!(
                "In Exchange Online PowerShell: New-ServicePrincipal -AppId {client} -ObjectId <Object ID on the app's Enterprise applications page>; then Add-MailboxPermission -Identity {account} -User <that Object ID> -AccessRights FullAccess. These can take 30 minutes to work.{}",
                ctx.script_line()
            ),
        });
    }
    if text.contains("5.7.60") || text.contains("SendAsDenied") {
        return Some(Fix {
            what: format!(
                "Exchange refused a message because its sender is not {account} ({said})."
            ),
            fix: format!(
                "Keep rewrite_from on for the copier in relay.toml (the relay then sends From {account}), or give {account} Send As for that address: Add-RecipientPermission -Identity <address> -Trustee {account} -AccessRights SendAs"
            ),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(n: u32) -> AppError {
        AppError {
            aadsts: Some(n),
            error: "invalid_client".into(),
            description: format!("AADSTS{n}: words"),
            network: false,
        }
    }

    #[test]
    fn each_code_has_its_own_words_with_this_relays_names() {
        let ctx = Ctx {
            account: "scan@contoso.example".into(),
            client_id: "11111111-aaaa-bbbb-cccc-222222222222".into(),
            tenant: "contoso.example".into(),
            script: Some("/etc/scanmail/relay/setup-microsoft-365.ps1".into()),
        };
        let mut seen = std::collections::HashSet::new();
        for n in [
            700016, 7000218, 65001, 700027, 7000222, 700082, 50173, 53003, 90002,
        ] {
            let f = sign_in(&e(n), &ctx);
            assert!(f.what.contains(&format!("AADSTS{n}")), "{n}: {f:?}");
            assert!(seen.insert(f.fix.clone()), "{n} shares its fix");
        }
        assert!(
            sign_in(&e(700016), &ctx)
                .fix
                .contains("--client-id 11111111-aaaa")
        );
        assert!(
            sign_in(&e(700027), &ctx)
                .fix
                .contains("setup-microsoft-365.ps1")
        );
        let off = smtp(535, "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox", true, &ctx).unwrap();
        assert!(
            off.fix
                .contains("Set-CASMailbox -Identity scan@contoso.example")
        );
        let app = smtp(535, "5.7.3 Authentication unsuccessful", true, &ctx).unwrap();
        assert!(
            app.fix
                .contains("New-ServicePrincipal -AppId 11111111-aaaa")
        );
        assert!(smtp(535, "5.7.3 Authentication unsuccessful", false, &ctx).is_none());
        let send_as = smtp(
            550,
            "5.7.60 SMTP; Client does not have permissions to send as this sender",
            true,
            &ctx,
        )
        .unwrap();
        assert!(send_as.what.contains("550 5.7.60"));
    }
}
