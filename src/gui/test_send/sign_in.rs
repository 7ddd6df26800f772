//! The OAuth 2.0 sign-in before a test send: Microsoft's code (shown big, with Copy and Open)
//! or Google's page in the browser; Cancel at any time. The token goes straight into the test's
//! request and is gone when the test ends.

use super::{Action, Context, State};
use crate::gui::style as style_of;
use crate::oauth::{AccessToken, Provider, SignInError};
use crate::smtp::Request;
use iced::widget::{button, column, container, row, text};
use iced::{Element, Length};

/// Microsoft's page, when the browser is already signed in as the person.
pub const OTHER_ACCOUNT_MICROSOFT: &str = "If the page shows your own account, pick \"Use another account\". Or open the page in a private window: Ctrl+Shift+N in Chrome and Edge, Ctrl+Shift+P in Firefox (Cmd instead of Ctrl on a Mac).";
/// Google's page, opened by ScanMail in the browser's normal window.
pub const OTHER_ACCOUNT_GOOGLE: &str = "If the page shows your own account, pick \"Use another account\". Or copy the page's address into a private window. To open one, press Ctrl+Shift+N in Chrome and Edge, Ctrl+Shift+P in Firefox (Cmd instead of Ctrl on a Mac).";

/// What the window shows while the sign-in waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    Starting(Provider),
    /// Microsoft: type this code at this address.
    Code {
        user_code: String,
        uri: String,
        /// Safe to open (https); otherwise shown as text with a warning.
        openable: bool,
        minutes: u64,
    },
    /// Google: the browser was sent to this address.
    Browser {
        url: String,
    },
}

#[derive(Debug, Clone)]
pub enum Message {
    Show(Show),
    Done(Result<AccessToken, SignInError>),
    CopyCode,
    OpenPage,
    /// Google: the sign-in page's address, for a private window.
    CopyPage,
    /// "Ways forward": switch the device to the Microsoft 365 sign-in.
    UseMicrosoftSignIn,
}

impl State {
    /// The fields are fine: sign in first, and keep the request for when the token comes.
    pub(super) fn sign_in_first(&mut self, request: Request, cx: &Context<'_>) -> Action {
        let Some(provider) = cx.sign_in else {
            return Action::None;
        };
        self.input_error = None;
        self.input_for_it = None;
        self.report = None;
        self.report_notice = None;
        self.rows.clear();
        self.running = true;
        self.cancelled = false;
        self.signing_in = Some(Show::Starting(provider));
        self.pending = Some(request);
        Action::SignIn(provider)
    }

    pub(super) fn sign_in_update(&mut self, message: Message, cx: &Context<'_>) -> Action {
        match message {
            Message::Show(show) if self.signing_in.is_some() => {
                // Google: the sign-in page opens in the browser (an effect, like every other).
                let open = match &show {
                    Show::Browser { url } => Action::Open(url.clone()),
                    _ => Action::None,
                };
                self.signing_in = Some(show);
                return open;
            }
            Message::Show(_) => {}
            Message::Done(result) => {
                let (Some(_), Some(mut request)) = (self.signing_in.take(), self.pending.take())
                else {
                    return Action::None;
                };
                self.running = false;
                match result {
                    Ok(token) => {
                        request.token = Some(token);
                        return self.begin(request);
                    }
                    Err(e) => {
                        let who = cx.sign_in.map_or("", Provider::label);
                        self.input_error = Some(format!("The {who} sign-in did not work: {e}"));
                        self.input_for_it = e.for_it(who, cx.account.trim());
                    }
                }
            }
            Message::CopyCode => {
                if let Some(Show::Code { user_code, .. }) = &self.signing_in {
                    return Action::Copy(user_code.clone());
                }
            }
            Message::CopyPage => {
                if let Some(Show::Browser { url }) = &self.signing_in {
                    return Action::Copy(url.clone());
                }
            }
            Message::UseMicrosoftSignIn => return Action::UseSignIn(Provider::Microsoft),
            Message::OpenPage => match &self.signing_in {
                Some(Show::Code { uri, openable, .. }) if *openable => {
                    return Action::Open(uri.clone());
                }
                Some(Show::Browser { url }) => return Action::Open(url.clone()),
                _ => {}
            },
        }
        Action::None
    }

    /// The sign-in panel, while one waits.
    pub fn sign_in_view<'a>(&'a self, account: &'a str) -> Option<Element<'a, super::Message>> {
        let show = self.signing_in.as_ref()?;
        let m = |m: Message| super::Message::SignIn(m);
        let cancel = button(text("Cancel"))
            .on_press(super::Message::Cancel)
            .style(button::secondary);
        let body: Element<'a, super::Message> = match show {
            Show::Starting(p) => column![
                text(format!("Starting the {} sign-in...", p.label())).size(style_of::BODY),
                cancel,
            ]
            .spacing(10)
            .into(),
            Show::Code {
                uri,
                openable: false,
                ..
            } => column![
                text(format!("The sign-in page ScanMail was given is not a safe web address, so ScanMail will not open it: {uri}")).size(style_of::BODY),
                text("Do not type the code there. Send IT this message: the Microsoft sign-in in ScanMail's preset gives a sign-in page that is not https.").size(style_of::BODY),
                cancel,
            ]
            .spacing(10)
            .into(),
            Show::Code {
                user_code,
                uri,
                minutes,
                ..
            } => column![
                text(format!("Sign in to Microsoft 365 as {account}")).size(style_of::BODY),
                text(format!(
                    "1. Open {uri} on this computer or your phone.\n2. Enter this code, then sign in as the device account:"
                ))
                .size(style_of::BODY),
                text(user_code.as_str()).size(40).font(iced::Font::MONOSPACE),
                row![
                    button(text("Copy the code")).on_press(m(Message::CopyCode)),
                    button(text("Open the sign-in page"))
                        .on_press(m(Message::OpenPage))
                        .style(button::secondary),
                    cancel,
                ]
                .spacing(8),
                text(OTHER_ACCOUNT_MICROSOFT).size(style_of::SMALL),
                text(format!(
                    "ScanMail waits until you finish (the code works for {minutes} minutes). Then it tests sending as this account. This checks the account, not the copier."
                ))
                .size(style_of::SMALL)
                .style(style_of::hint),
            ]
            .spacing(10)
            .into(),
            Show::Browser { .. } => column![
                text(format!("Sign in to Google as {account}")).size(style_of::BODY),
                text("Your browser opened Google's sign-in page. Sign in as the device account and allow ScanMail to send mail. Then come back here.")
                    .size(style_of::BODY),
                row![
                    button(text("Open the page again")).on_press(m(Message::OpenPage)),
                    button(text("Copy the page's address"))
                        .on_press(m(Message::CopyPage))
                        .style(button::secondary),
                    cancel,
                ]
                .spacing(8),
                text(OTHER_ACCOUNT_GOOGLE).size(style_of::SMALL),
                text("ScanMail waits up to 5 minutes. Then it tests sending as this account. It keeps nothing from the sign-in.")
                    .size(style_of::SMALL)
                    .style(style_of::hint),
            ]
            .spacing(10)
            .into(),
        };
        Some(
            container(body)
                .padding(14)
                .width(Length::Fill)
                .style(style_of::panel)
                .into(),
        )
    }
}

/// The sign-in as a stream of messages for the window: what to show, then the token or why not.
/// Dropping it (Cancel) stops the polling or closes the loopback listener.
pub fn run(
    provider: Provider,
    apps: crate::oauth::Apps,
    account: String,
) -> impl iced::futures::Stream<Item = Message> {
    use iced::futures::SinkExt;
    iced::stream::channel(
        4,
        async move |mut out: iced::futures::channel::mpsc::Sender<Message>| {
            let result = sign_in(provider, &apps, &account, &mut out).await;
            let _ = out.send(Message::Done(result)).await;
        },
    )
}

async fn sign_in(
    provider: Provider,
    apps: &crate::oauth::Apps,
    account: &str,
    out: &mut iced::futures::channel::mpsc::Sender<Message>,
) -> Result<AccessToken, SignInError> {
    use crate::oauth::{device, loopback};
    use iced::futures::SinkExt;
    let missing = || {
        SignInError::Setup(format!(
            "The organization preset has no {} sign-in. Send IT the message below.",
            provider.label()
        ))
    };
    match provider {
        Provider::Microsoft => {
            let app = apps.microsoft.as_ref().ok_or_else(missing)?;
            let code = device::start(app).await?;
            let _ = out
                .send(Message::Show(Show::Code {
                    user_code: code.user_code.clone(),
                    uri: code.verification_uri.clone(),
                    openable: code.openable,
                    minutes: code.expires_in.as_secs().div_ceil(60),
                }))
                .await;
            device::finish(app, &code).await
        }
        Provider::Google => {
            let app = apps.google.as_ref().ok_or_else(missing)?;
            let pending = loopback::start(app, account).await?;
            let url = pending.url.clone();
            let _ = out.send(Message::Show(Show::Browser { url })).await;
            loopback::finish(app, pending, std::time::Duration::from_secs(300)).await
        }
    }
}
