//! The local time, without the cost of jiff's time zone database.
//!
//! `jiff::Zoned::now()` takes the zone's name from the `/etc/localtime` symlink and looks that
//! name up in the zoneinfo database, whose first use lists every directory under
//! `/usr/share/zoneinfo` — in `start` before the panes open and in the supervisor before its
//! first turn. The zone's rules are in `/etc/localtime` itself, so
//! they are read from there; `TZ` and anything unusual are left to jiff.

use std::path::Path;
use std::sync::OnceLock;

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

const LOCALTIME: &str = "/etc/localtime";

/// The system's time zone, worked out once per process.
pub(crate) fn zone() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| {
        if std::env::var_os("TZ").is_some() {
            return TimeZone::system();
        }
        from_tzif_file(Path::new(LOCALTIME)).unwrap_or_else(TimeZone::system)
    })
}

/// Now, in the local time zone.
pub(crate) fn now() -> Zoned {
    Timestamp::now().to_zoned(zone().clone())
}

/// A TZif file as a zone, named after its symlink's target under `zoneinfo/` (`Local` when it
/// is not a link into a zoneinfo tree).
fn from_tzif_file(path: &Path) -> Option<TimeZone> {
    let bytes = std::fs::read(path).ok()?;
    let target = std::fs::read_link(path).ok();
    let name = target
        .as_deref()
        .and_then(Path::to_str)
        .and_then(|t| t.rsplit_once("zoneinfo/"))
        .map(|(_, name)| name)
        .unwrap_or("Local");
    TimeZone::tzif(name, &bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_gives_the_same_offsets_as_jiffs_system_zone() {
        let ours = zone();
        let jiffs = TimeZone::system();
        // Across a year in both directions: any daylight-saving switch is crossed.
        for days in (-400i64..400).step_by(7) {
            let t = Timestamp::now() + jiff::SignedDuration::from_hours(24 * days);
            assert_eq!(ours.to_offset(t), jiffs.to_offset(t), "at {t}");
        }
    }

    #[test]
    fn a_tzif_file_reads_with_its_rules_and_a_missing_or_bad_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(from_tzif_file(&dir.path().join("none")).is_none());
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "not a tzif file").unwrap();
        assert!(from_tzif_file(&bad).is_none());
        // A real zone file, when the machine has one: its offsets are jiff's for that name.
        let berlin = Path::new("/usr/share/zoneinfo/Europe/Berlin");
        if berlin.is_file() {
            let link = dir.path().join("zoneinfo/localtime");
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(berlin, &link).unwrap();
            let tz = from_tzif_file(&link).unwrap();
            assert_eq!(tz.iana_name(), Some("Europe/Berlin"));
            let summer: Timestamp = "2026-07-01T12:00:00Z".parse().unwrap();
            let winter: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
            assert_eq!(tz.to_offset(summer).seconds(), 2 * 3600);
            assert_eq!(tz.to_offset(winter).seconds(), 3600);
        }
    }
}
