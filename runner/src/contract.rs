//! The guest contract, `wit/migration.wit`, as the engine knows it. Its version is read from
//! the file itself when godwit is compiled, so the host's bindings, its checks and its messages
//! can never name another version than the one they were built from.

/// The text of `wit/migration.wit`.
pub const WIT: &str = include_str!("../../wit/migration.wit");

/// The version of `wit/migration.wit` the host implements (`0.2.2`).
pub const CONTRACT_VERSION: &str = package_version(WIT);

/// The world a component migration implements, with its version:
/// `godwit:migration/migration-component@0.2.2`.
pub fn world() -> String {
    format!("godwit:migration/migration-component@{CONTRACT_VERSION}")
}

/// Whether a component built against contract `version` runs on this host: the same version,
/// or an older one of the same series (`0.2.0` on a `0.2.2` host; the same major version from
/// `1.0.0` on), as the component model's semver rules have it. A series only ever gains
/// functions, so what an older component imports is all still here.
pub fn compatible(version: &str) -> bool {
    let parse = |v: &str| -> Option<[u64; 3]> {
        let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
        let version = [parts.next()??, parts.next()??, parts.next()??];
        parts.next().is_none().then_some(version)
    };
    let (Some(found), Some(ours)) = (parse(version), parse(CONTRACT_VERSION)) else {
        return false;
    };
    let series = |v: [u64; 3]| if v[0] == 0 { (0, v[1]) } else { (v[0], u64::MAX) };
    series(found) == series(ours) && found <= ours
}

/// The version in the file's `package godwit:migration@<version>;` line.
const fn package_version(wit: &str) -> &str {
    const PREFIX: &[u8] = b"package godwit:migration@";
    let bytes = wit.as_bytes();
    let mut at = 0;
    while at + PREFIX.len() <= bytes.len() {
        let line_start = at == 0 || bytes[at - 1] == b'\n';
        if line_start && starts_with(bytes, at, PREFIX) {
            let start = at + PREFIX.len();
            let mut end = start;
            while end < bytes.len() && bytes[end] != b';' {
                end += 1;
            }
            let (_, rest) = bytes.split_at(start);
            let (version, _) = rest.split_at(end - start);
            return match std::str::from_utf8(version) {
                Ok(version) => version,
                Err(_) => panic!("the version in wit/migration.wit is not UTF-8"),
            };
        }
        at += 1;
    }
    panic!("wit/migration.wit has no `package godwit:migration@<version>;` line")
}

const fn starts_with(bytes: &[u8], at: usize, prefix: &[u8]) -> bool {
    let mut i = 0;
    while i < prefix.len() {
        if bytes[at + i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_one_in_wit() {
        let package = format!("package godwit:migration@{CONTRACT_VERSION};");
        assert!(WIT.lines().any(|line| line == package), "wit/migration.wit lacks `{package}`");
        assert!(
            CONTRACT_VERSION.split('.').all(|n| n.parse::<u32>().is_ok()),
            "{CONTRACT_VERSION}"
        );
        assert_eq!(world(), format!("godwit:migration/migration-component@{CONTRACT_VERSION}"));
    }

    #[test]
    fn older_versions_of_the_series_are_compatible() {
        assert!(compatible(CONTRACT_VERSION));
        assert!(compatible("0.2.0"));
        assert!(compatible("0.2.1"));
        assert!(!compatible("0.1.0"));
        assert!(!compatible("0.2.3"), "a newer contract may import what this host lacks");
        assert!(!compatible("0.3.0"));
        assert!(!compatible("1.2.0"));
        assert!(!compatible("0.2"));
        assert!(!compatible(""));
    }
}
