//! Reading what the kernel reports in /proc/PID/stat (whose second field, the command name,
//! may hold spaces and parentheses) and /proc/PID/status.

use std::str::FromStr;

/// Field `n` (1-based, as in proc(5)) of a /proc/PID/stat line, for the fields after the
/// command name; counted from the last ')' so that no command name can shift them.
pub(crate) fn stat_field<T: FromStr>(stat: &[u8], n: usize) -> Option<T> {
    let after_name = stat.iter().rposition(|&b| b == b')')? + 1;
    std::str::from_utf8(stat.get(after_name..)?)
        .ok()?
        .split_ascii_whitespace()
        .nth(n.checked_sub(3)?)?
        .parse()
        .ok()
}

/// The command name of a /proc/PID/stat line: what lies between the first '(' and the last ')'.
pub(crate) fn stat_command(stat: &[u8]) -> Option<&[u8]> {
    let start = stat.iter().position(|&b| b == b'(')? + 1;
    let end = stat.iter().rposition(|&b| b == b')')?;
    stat.get(start..end)
}

/// The calling thread's /proc/thread-self/status, or nothing where /proc cannot tell.
pub(crate) fn thread_status() -> Vec<u8> {
    std::fs::read("/proc/thread-self/status").unwrap_or_default()
}

/// The hexadecimal value of line `key` of a /proc/PID/status text (`CapPrm`, `SigIgn`, ...).
pub(crate) fn status_field(status: &[u8], key: &str) -> Option<u64> {
    let text = std::str::from_utf8(status).ok()?;
    let value = text
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))?;
    u64::from_str_radix(value.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_past_a_command_name_with_spaces_and_parentheses() {
        let stat = b"42 (a) b) c) S 1 42 42 34816 42 4194560 100\n";
        assert_eq!(stat_field(stat, 5), Some(42));
        assert_eq!(stat_field(stat, 7), Some(34816));
        assert_eq!(stat_field(stat, 8), Some(42));
        assert_eq!(stat_field::<i64>(stat, 30), None);
        assert_eq!(stat_field::<u64>(stat, 3), None, "the state is no number");
        assert_eq!(stat_field::<char>(stat, 3), Some('S'));
        assert_eq!(stat_command(stat), Some(&b"a) b) c"[..]));
        assert_eq!(
            stat_command(b"7 (sprout/exec) Z 1"),
            Some(&b"sprout/exec"[..])
        );
    }

    #[test]
    fn status_fields_are_hexadecimal_and_found_by_their_whole_key() {
        let status = b"Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n";
        assert_eq!(status_field(status, "CapPrm"), Some(0x1ff_ffff_ffff));
        assert_eq!(status_field(status, "Cap"), None);
        assert_eq!(status_field(status, "CapBnd"), None);
    }
}
