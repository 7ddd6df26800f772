//! Two programs, one devices file: a three-way merge by device name. `base` is what this
//! program last read or wrote, `mine` what it holds now, `theirs` what is on disk now (another
//! program may have saved since). A device this program did not change takes the disk's version
//! (the command line recorded a result, say); a device it changed keeps its own; devices another
//! program added stay; devices another program deleted go, unless this program changed them.

use super::ProfileFile;

pub fn merge(base: &ProfileFile, mine: &ProfileFile, theirs: &ProfileFile) -> ProfileFile {
    let find = |file: &ProfileFile, name: &str| {
        file.profiles
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .cloned()
    };
    let mut out = ProfileFile {
        schema: mine.schema,
        current: mine.current.clone(),
        profiles: Vec::new(),
    };
    for m in &mine.profiles {
        let b = find(base, &m.name);
        let t = find(theirs, &m.name);
        let unchanged_here = b.as_ref() == Some(m);
        match (unchanged_here, t, b) {
            // Not changed here, changed (or kept) there: theirs.
            (true, Some(t), _) => out.profiles.push(t),
            // Not changed here and deleted there: gone.
            (true, None, Some(_)) => {}
            // Changed here (or new here): mine.
            _ => out.profiles.push(m.clone()),
        }
    }
    // Added by another program since this one last looked.
    for t in &theirs.profiles {
        let known_here = find(mine, &t.name).is_some() || find(base, &t.name).is_some();
        if !known_here {
            out.profiles.push(t.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{LastTest, Profile};

    fn device(name: &str, model: &str) -> Profile {
        Profile {
            name: name.into(),
            model: model.into(),
            ..Profile::default()
        }
    }

    fn file(devices: &[Profile]) -> ProfileFile {
        ProfileFile {
            profiles: devices.to_vec(),
            ..ProfileFile::default()
        }
    }

    #[test]
    fn nothing_another_program_saved_is_lost() {
        let a = device("A", "1");
        let b = device("B", "1");
        let base = file(&[a.clone(), b.clone()]);
        // Here: A renamed its model. There: B got a verdict, and C was added.
        let mine = file(&[device("A", "2"), b.clone()]);
        let b_tested = Profile {
            last_test: Some(LastTest {
                works: true,
                ..LastTest::default()
            }),
            ..b.clone()
        };
        let theirs = file(&[a.clone(), b_tested.clone(), device("C", "1")]);
        let merged = merge(&base, &mine, &theirs);
        assert_eq!(
            merged.profiles,
            [device("A", "2"), b_tested, device("C", "1")]
        );
        // Deleted there and untouched here: gone; deleted there but changed here: kept.
        let theirs = file(&[]);
        let merged = merge(&base, &mine, &theirs);
        assert_eq!(merged.profiles, [device("A", "2")]);
    }
}
