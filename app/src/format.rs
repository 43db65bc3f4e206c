//! How numbers, counts and URL values are written, the same on every page.

/// Bytes for people, in powers of 1000 as file managers show them: "912 B", "14.2 kB", "1.5 MB",
/// "2.31 GB". (One convention everywhere: the documents page and the dashboard once disagreed
/// about the same file, "1.4 MB" and "1.5 MB".)
pub fn bytes(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    match b {
        b if b < 1000.0 => format!("{} B", bytes.max(0)),
        b if b < 1e6 => format!("{:.1} kB", b / 1e3),
        b if b < 1e9 => format!("{:.1} MB", b / 1e6),
        b => format!("{:.2} GB", b / 1e9),
    }
}

/// Percent-encodes a path or query value (keeps `/` readable).
pub fn url(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A count with its noun: "1 document", "3 documents".
pub fn count(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Collapses runs of spaces, trims lines and drops runs of blank lines beyond one.
pub fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        // NUL and other control characters become spaces (and runs of space one)
        let line = line.replace(|c: char| c.is_control(), " ");
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_convention_for_every_size() {
        assert_eq!(super::bytes(-5), "0 B");
        assert_eq!(super::bytes(912), "912 B");
        assert_eq!(super::bytes(14_200), "14.2 kB");
        assert_eq!(super::bytes(1_500_000), "1.5 MB");
        assert_eq!(super::bytes(2_310_000_000), "2.31 GB");
    }

    #[test]
    fn a_count_of_one_is_singular() {
        assert_eq!(super::count(1, "item", "items"), "1 item");
        assert_eq!(super::count(0, "item", "items"), "0 items");
    }
}
