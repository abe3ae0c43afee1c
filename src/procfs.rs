//! Reading the kernel's /proc/PID/stat lines, whose second field (the command name) may hold
//! spaces and parentheses.

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
    }
}
