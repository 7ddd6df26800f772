//! The preset and profile parsers take anything without panicking: random text, and the real
//! files with random edits (proptest).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use scanmail::org::Preset;
use scanmail::profile::{self, Profile, ProfileFile};

const PRESET: &str = include_str!("../resources/presets/university-special-purpose.toml");

fn sample_profiles() -> String {
    let mut f = ProfileFile::default();
    f.profiles.push(Profile {
        name: "Copier".into(),
        account: "a@b.edu".into(),
        ssl_port: Some(465),
        ..Profile::default()
    });
    f.to_toml()
}

/// The text with `edits` applied: (position, replacement character).
fn mutate(text: &str, edits: &[(usize, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (pos, c) in edits {
        if chars.is_empty() {
            break;
        }
        let i = pos % chars.len();
        chars[i] = *c;
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn presets_never_panic(text in "\\PC{0,400}") {
        let _ = Preset::parse(&text);
    }

    #[test]
    fn edited_presets_never_panic(edits in prop::collection::vec((any::<usize>(), any::<char>()), 1..12)) {
        let text = mutate(PRESET, &edits);
        if let Err(e) = Preset::parse(&text) {
            prop_assert!(!e.is_empty());
        }
    }

    #[test]
    fn profiles_never_panic(text in "\\PC{0,400}") {
        let _ = ProfileFile::parse(&text);
        let _ = profile::import(&text);
    }

    #[test]
    fn edited_profiles_never_panic(edits in prop::collection::vec((any::<usize>(), any::<char>()), 1..12)) {
        let text = mutate(&sample_profiles(), &edits);
        let _ = ProfileFile::parse(&text);
        let _ = profile::import(&text);
    }
}
