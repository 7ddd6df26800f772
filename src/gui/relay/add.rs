//! "Add a copier": its name and address checked, a password made and kept only as a hash, then
//! relay.toml changed here when this window may, else by an administrator's step (the card with
//! the password shows once relay.toml has the hash; the fields keep their text until then).

use super::{Action, RelayCard, State, WHY_ADMIN, capital};
use crate::relay;

impl State {
    pub(super) fn add(&mut self) -> Action {
        let name = self.name.trim().to_string();
        let addresses: Vec<String> = self
            .address
            .split([',', ' '])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        if let Err(e) = relay::config::check_name(&name) {
            self.said = Some(format!("{}.", capital(&e)));
            return Action::None;
        }
        if let Some(bad) = addresses
            .iter()
            .find(|a| relay::config::parse_net(a).is_err())
        {
            self.said = Some(format!(
                "\"{bad}\" is not an address such as 10.1.2.3. Fix it or leave it empty."
            ));
            return Action::None;
        }
        if self.config().is_some_and(|c| c.device(&name).is_some()) {
            self.said = Some(format!(
                "There is already a copier called {name}. Choose another name."
            ));
            return Action::None;
        }
        let Some(cfg) = self.config().cloned() else {
            self.said = Some(
                "This computer has no relay settings yet. IT sets the relay up first (scanmail relay init)."
                    .into(),
            );
            return Action::None;
        };
        let password = relay::device::new_password();
        let hash = match relay::device::hash(&password) {
            Ok(h) => h,
            Err(e) => {
                self.said = Some(e);
                return Action::None;
            }
        };
        let device = relay::config::Device {
            name: name.clone(),
            password_hash: hash.clone(),
            addresses: addresses.clone(),
            rewrite_from: true,
            allowed_recipients: Vec::new(),
        };
        let card = RelayCard::new(
            &cfg,
            &device,
            &relay::card::this_address(&cfg),
            Some(password.expose()),
        )
        .for_maker(self.maker.as_ref());
        if self.writable() {
            if let Err(e) =
                relay::edit::add_device(&self.config_path, &name, &addresses, &[], &hash)
            {
                self.said = Some(format!("{}.", capital(&e)));
                return Action::None;
            }
            self.card = Some(card);
            self.card_again = None;
            self.said = Some(format!(
                "Added {name}. Type the card below into the copier. Its password is shown only now."
            ));
            self.name.clear();
            self.address.clear();
            self.refresh();
            return Action::None;
        }
        self.card = None;
        self.pending = Some((card, hash.clone()));
        let mut args = vec![
            "relay",
            "add-device",
            name.as_str(),
            "--password-hash",
            hash.as_str(),
        ];
        for a in &addresses {
            args.push("--address");
            args.push(a.as_str());
        }
        // The fields keep their text until the copier is in relay.toml (a refused prompt
        // loses nothing).
        let args = Self::cli(&args);
        self.elevated(
            args,
            format!(
                "{WHY_ADMIN} Once it is allowed, the copier's card shows here. If nothing happens, press Add the copier again."
            ),
        )
    }
}
