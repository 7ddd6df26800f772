//! The Test send step's page: fields, Advanced, warnings, the live rows and the verdict.

use super::{
    Context, Message, PortRow, RECIPIENT_ID, SERVER_ID, SSL_PORT_ID, STARTTLS_PORT_ID, State,
    TIMEOUT_ID,
};
use crate::gui::style;
use crate::smtp::PortResult;
use iced::widget::{Column, button, checkbox, column, container, row, text, text_input};
use iced::{Element, Length};

impl State {
    pub fn view<'a>(&'a self, cx: &Context<'a>) -> Element<'a, Message> {
        let server_input = text_input("smtp.gmail.com", &self.server)
            .id(SERVER_ID)
            .on_input_maybe((!self.locked).then_some(Message::ServerChanged))
            .on_submit(Message::Start)
            .padding(8);
        let mut fields = column![
            text("Mail server").size(style::BODY),
            server_input,
            text("Send the test message to").size(style::BODY),
            text_input(
                &format!(
                    "{} (the device account)",
                    if cx.account.is_empty() {
                        "the account"
                    } else {
                        cx.account
                    }
                ),
                &self.recipient
            )
            .id(RECIPIENT_ID)
            .on_input(Message::RecipientChanged)
            .on_submit(Message::Start)
            .padding(8),
        ]
        .spacing(6);
        if self.locked {
            fields = fields.push(
                text("The server and ports are set by your organization.")
                    .size(style::SMALL)
                    .style(style::hint),
            );
        }
        for e in self.field_errors() {
            fields = fields.push(text(e).size(style::SMALL).style(style::error));
        }

        let mut advanced = column![
            button(
                text(if self.advanced_open {
                    "Advanced ▾"
                } else {
                    "Advanced ▸"
                })
                .size(style::SMALL)
            )
            .on_press(Message::ToggleAdvanced)
            .style(button::text),
        ]
        .spacing(6);
        if self.advanced_open {
            advanced = advanced.push(self.advanced_view());
        }

        let mut warn_col = Column::new().spacing(6);
        for w in self.warnings(cx) {
            warn_col = warn_col.push(
                container(
                    column![
                        text(w.title).size(style::BODY),
                        text(w.advice).size(style::SMALL)
                    ]
                    .spacing(2),
                )
                .padding(10)
                .width(Length::Fill)
                .style(style::caution),
            );
        }

        let start = if self.signing_in.is_some() {
            row![]
        } else if self.running {
            row![
                button(text("Testing..."))
                    .style(button::primary)
                    .padding([8, 16]),
                button(text("Cancel"))
                    .on_press(Message::Cancel)
                    .style(button::danger)
                    .padding([8, 16]),
                text(format!(
                    "{} This takes up to {} seconds.",
                    if self.ssl_on && self.starttls_on {
                        "Both ports are tested at once."
                    } else {
                        "The port is tested."
                    },
                    self.limit_secs()
                ))
                .size(style::SMALL)
                .style(style::hint),
            ]
            .align_y(iced::Alignment::Center)
        } else {
            row![
                button(text("Test send"))
                    .on_press(Message::Start)
                    .style(button::primary)
                    .padding([8, 16])
            ]
        }
        .spacing(8);

        let mut content = column![
            text("3. Test send").size(style::TITLE),
            text("ScanMail signs in the way the device will and sends a real test message. So you know what works before you go to the device.")
                .size(style::BODY),
        ]
        .spacing(style::GAP);
        // After a test the verdict comes first, visible without scrolling.
        if !self.running
            && let Some(banner) = self.banner(cx)
        {
            content = content.push(banner);
        }
        content = content
            .push(
                container(column![fields, advanced].spacing(8))
                    .padding(14)
                    .width(Length::Fill)
                    .style(style::panel),
            )
            .push(warn_col)
            .push(start);
        for panel in [self.domain_view(), self.sign_in_view(cx.account)]
            .into_iter()
            .flatten()
        {
            content = content.push(panel);
        }
        if let Some(e) = &self.input_error {
            let mut col = column![text(e).size(style::BODY)].spacing(8);
            if let Some(m) = &self.input_for_it {
                col = col
                    .push(text(format!("Message for IT: {m}")).size(style::SMALL))
                    .push(
                        button(text("Copy the message for IT").size(style::SMALL))
                            .on_press(Message::CopyText(m.clone()))
                            .style(button::secondary),
                    );
            }
            content = content.push(
                container(col)
                    .padding(10)
                    .width(Length::Fill)
                    .style(style::bad),
            );
        }
        if let (None, true, Some(last)) = (&self.report, self.rows.is_empty(), &self.last) {
            content = content.push(
                text(format!(
                    "Last test, {}: {}.",
                    crate::time::local_words_from(&last.at),
                    last.summary
                ))
                .size(style::SMALL)
                .style(style::hint),
            );
        }
        for (i, r) in self.rows.iter().enumerate() {
            content = content.push(self.row_view(i, r));
        }
        if let Some(n) = &self.report_notice {
            content = content.push(text(n.clone()).size(style::SMALL));
        }
        content.into()
    }

    fn advanced_view(&self) -> Element<'_, Message> {
        let ports = row![
            checkbox(self.ssl_on)
                .label("SSL/TLS on port")
                .on_toggle_maybe((!self.locked).then_some(Message::SslToggled)),
            text_input("465", &self.ssl_port)
                .id(SSL_PORT_ID)
                .on_input_maybe((!self.locked).then_some(Message::SslPortChanged))
                .width(80),
            checkbox(self.starttls_on)
                .label("STARTTLS on port")
                .on_toggle_maybe((!self.locked).then_some(Message::StarttlsToggled)),
            text_input("587", &self.starttls_port)
                .id(STARTTLS_PORT_ID)
                .on_input_maybe((!self.locked).then_some(Message::StarttlsPortChanged))
                .width(80),
        ]
        .spacing(10)
        .align_y(iced::Alignment::Center);
        let timeout = row![
            text("Time limit for each port (seconds)").size(style::SMALL),
            text_input("10", &self.timeout)
                .id(TIMEOUT_ID)
                .on_input(Message::TimeoutChanged)
                .width(80),
        ]
        .spacing(10)
        .align_y(iced::Alignment::Center);
        let mut ca = column![
            text("Also trust this certificate (only for your organization's own mail server)")
                .size(style::SMALL),
            row![
                text(
                    self.ca_file
                        .as_ref()
                        .map_or("None".to_string(), |p| p.display().to_string())
                )
                .size(style::SMALL)
                .width(Length::Fill),
                button(text("Choose file...").size(style::SMALL))
                    .on_press(Message::PickCaFile)
                    .style(button::secondary),
                button(text("Remove").size(style::SMALL))
                    .on_press_maybe(self.ca_file.is_some().then_some(Message::ClearCaFile))
                    .style(button::secondary),
            ]
            .spacing(8)
            .align_y(iced::Alignment::Center),
        ]
        .spacing(4);
        if let Some(e) = &self.ca_error {
            ca = ca.push(text(e).size(style::SMALL).style(style::error));
        }
        column![ports, timeout, ca].spacing(10).into()
    }

    fn row_view<'a>(&'a self, i: usize, r: &'a PortRow) -> Element<'a, Message> {
        let head = format!("Port {} with {}", r.port, r.security.label());
        let ms = self.row_elapsed_ms(r);
        let secs = if ms < 1000 {
            format!("{ms} ms")
        } else {
            format!("{:.1} s", ms as f64 / 1000.0)
        };
        let status: String = match (&r.result, r.stage) {
            (Some(res), _) if res.works && res.sent => {
                "✓ Works: the test message was accepted".into()
            }
            (Some(res), _) if res.works => "✓ Works: signed in".into(),
            (Some(res), _) => format!(
                "✗ Failed: {}",
                res.advice
                    .as_ref()
                    .map_or("see details", |a| a.title.as_str())
            ),
            (None, _) if self.cancelled => "Cancelled".into(),
            (None, None) => "Waiting".into(),
            (None, Some(stage)) => format!("{}: {}...", stage.doing(), stage.waiting_for()),
        };
        let mut col = column![
            row![
                text(head).size(style::BODY).width(Length::FillPortion(2)),
                text(status).size(style::BODY).width(Length::FillPortion(4)),
                text(secs).size(style::SMALL),
            ]
            .spacing(10)
            .align_y(iced::Alignment::Center)
        ]
        .spacing(6);
        let style_fn: fn(&iced::Theme) -> container::Style = match &r.result {
            Some(res) if res.works => style::good,
            Some(_) => style::bad,
            None => style::panel,
        };
        if let Some(res) = r.result.as_ref().filter(|res| !res.works) {
            if let Some(a) = &res.advice {
                col = col
                    .push(text(format!("What happened: {}", a.what_happened)).size(style::SMALL));
            }
            col = col.push(
                button(
                    text(if r.details_open {
                        "Hide details"
                    } else {
                        "Details"
                    })
                    .size(style::SMALL),
                )
                .on_press(Message::ToggleDetails(i))
                .style(button::text),
            );
            if r.details_open {
                col = col.push(details(res));
            }
        }
        container(col)
            .padding(12)
            .width(Length::Fill)
            .style(style_fn)
            .into()
    }
}

/// What stays behind Details: the server's words, the technical detail, TLS facts and the
/// conversation.
fn details(res: &PortResult) -> Element<'_, Message> {
    let mut col = column![].spacing(4);
    if let Some(reply) = &res.reply {
        col = col.push(text(format!("The server said: {reply}")).size(style::SMALL));
    }
    if let Some(d) = &res.detail {
        col = col.push(text(format!("Detail: {d}")).size(style::SMALL));
    }
    if let Some(t) = &res.tls {
        col = col.push(
            text(format!(
                "Certificate: {} (issued by {}, valid until {})",
                t.subject, t.issuer, t.not_after
            ))
            .size(style::SMALL),
        );
    }
    if let Some(p) = res.problem {
        col = col.push(
            text(format!("Problem id: {p} (stage: {})", res.stage.id()))
                .size(style::SMALL)
                .style(style::hint),
        );
    }
    if !res.transcript.is_empty() {
        col = col.push(
            text(format!("The conversation:\n{}", res.transcript.join("\n")))
                .size(12)
                .font(style::MONO),
        );
    }
    col.into()
}
