//! Human sizes on the command line: `512KiB`, `4MiB`, `1GB`, `1.5G`, or plain bytes.

/// Parses a size. Binary units (KiB, MiB, GiB, TiB) are powers of 1024; decimal units
/// (KB, MB, GB, TB) powers of 1000; a bare K/M/G/T is binary, as in most tools.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (try 512KiB, 4MiB or 1GB)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{text}' (use B, KiB, MiB, GiB, KB, MB or GB)"
            ))
        }
    };
    let bytes = value * factor as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("'{text}' is out of range"));
    }
    Ok(bytes.round() as u64)
}

/// Parses a chunk size: a size of at least 1 KiB (0 used to mean 1-byte chunks, a million
/// requests a megabyte).
pub fn parse_chunk_size(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    if bytes < 1024 {
        return Err(format!(
            "a chunk size of {bytes} bytes is too small: use at least 1KiB (e.g. 1MiB)"
        ));
    }
    Ok(bytes)
}

/// Formats bytes for people, binary units.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_size_below_one_kib_is_refused() {
        assert!(parse_chunk_size("0").unwrap_err().contains("too small"));
        assert!(parse_chunk_size("512").is_err());
        assert_eq!(parse_chunk_size("1KiB"), Ok(1024));
    }

    #[test]
    fn sizes_accept_binary_and_decimal_units() {
        assert_eq!(parse_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size(" 2 mib "), Ok(2 << 20));
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        assert!(parse_size("3 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
    }

    #[test]
    fn bytes_are_formatted_for_people() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(200 << 20), "200.0 MiB");
    }
}
