//! Exact decimals as typed: `42`, `0.9`, `1.5`, `1e9`, `2.5E-3`, `1_000_000`. Binary floating
//! point cannot hold 0.9 or 1.5 TB in bytes exactly, so the digits are kept as an integer and a
//! power of ten.

/// A non-negative decimal: `digits / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    digits: u128,
    /// Always small enough that `10^scale` fits in a `u128`.
    scale: u32,
}

impl Decimal {
    /// Parses a plain non-negative decimal; units and signs are the caller's. The error is a
    /// phrase about the text ("is not a number").
    pub fn parse(text: &str) -> Result<Decimal, String> {
        let cleaned: String = text.chars().filter(|&c| c != '_').collect();
        if cleaned.is_empty() {
            return Err("is empty".to_string());
        }
        let (mantissa, exponent) = match cleaned.find(['e', 'E']) {
            Some(at) => {
                let exp_text = &cleaned[at + 1..];
                let exp: i32 = exp_text
                    .parse()
                    .map_err(|_| format!("has a bad exponent '{exp_text}'"))?;
                (&cleaned[..at], exp)
            }
            None => (cleaned.as_str(), 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return Err("has no digits".to_string());
        }
        if !int_part
            .chars()
            .chain(frac_part.chars())
            .all(|c| c.is_ascii_digit())
        {
            return Err("is not a number".to_string());
        }
        let too_big = || "is too large".to_string();
        let mut digits: u128 = 0;
        for c in int_part.chars().chain(frac_part.chars()) {
            digits = digits
                .checked_mul(10)
                .and_then(|n| n.checked_add(u128::from(c as u8 - b'0')))
                .ok_or_else(too_big)?;
        }
        let shift = i64::from(exponent) - frac_part.len() as i64;
        if shift >= 0 {
            let power = u32::try_from(shift).map_err(|_| too_big())?;
            let factor = 10u128.checked_pow(power).ok_or_else(too_big)?;
            let digits = digits.checked_mul(factor).ok_or_else(too_big)?;
            Ok(Decimal { digits, scale: 0 })
        } else {
            let scale = u32::try_from(-shift)
                .ok()
                .filter(|&s| 10u128.checked_pow(s).is_some())
                .ok_or_else(|| "has too many decimal places".to_string())?;
            Ok(Decimal { digits, scale })
        }
    }

    /// The value as a fraction `(numerator, denominator)`, not reduced.
    pub fn fraction(self) -> (u128, u128) {
        (self.digits, 10u128.pow(self.scale))
    }

    /// `self × factor` when that is a whole number; `Ok(None)` when it is not, an error
    /// phrase when it does not fit.
    pub fn times(self, factor: u128) -> Result<Option<u128>, String> {
        let (num, den) = self.fraction();
        let product = num
            .checked_mul(factor)
            .ok_or_else(|| "is too large".to_string())?;
        Ok(product.is_multiple_of(den).then_some(product / den))
    }
}

/// Splits `"1.5 MiB"` into `("1.5", "MiB")`. An exponent is part of the number only when
/// digits follow it, so `5EB` is five exabytes.
pub fn split_number(text: &str) -> (&str, &str) {
    let bytes = text.as_bytes();
    let mut end = 0;
    while end < bytes.len()
        && (bytes[end].is_ascii_digit() || bytes[end] == b'.' || bytes[end] == b'_')
    {
        end += 1;
    }
    if end < bytes.len() && (bytes[end] == b'e' || bytes[end] == b'E') {
        let mut exp = end + 1;
        if exp < bytes.len() && (bytes[exp] == b'+' || bytes[exp] == b'-') {
            exp += 1;
        }
        let digits_start = exp;
        while exp < bytes.len() && bytes[exp].is_ascii_digit() {
            exp += 1;
        }
        if exp > digits_start {
            end = exp;
        }
    }
    (&text[..end], text[end..].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fraction(text: &str) -> (u128, u128) {
        Decimal::parse(text).unwrap().fraction()
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(fraction("0.9"), (9, 10));
        assert_eq!(fraction("1e9"), (1_000_000_000, 1));
        assert_eq!(fraction("2.5E-3"), (25, 10_000));
        assert_eq!(fraction("1_000_000"), (1_000_000, 1));
        assert_eq!(fraction(".5"), (5, 10));
        assert_eq!(fraction("5."), (5, 1));
        for bad in [
            "",
            ".",
            "1.2.3",
            "abc",
            "1e",
            "1e99",
            "1e-99",
            "1e99999999999",
        ] {
            assert!(Decimal::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn whole_products() {
        let d = |t| Decimal::parse(t).unwrap();
        assert_eq!(d("1.5").times(1_000), Ok(Some(1_500)));
        assert_eq!(d("0.5").times(1), Ok(None));
        assert!(d("1e38").times(1_000).is_err());
    }

    #[test]
    fn numbers_split_from_units() {
        assert_eq!(split_number("1.5 MiB"), ("1.5", "MiB"));
        assert_eq!(split_number("5EB"), ("5", "EB"));
        assert_eq!(split_number("5e6"), ("5e6", ""));
        assert_eq!(split_number("2.5E-3 s"), ("2.5E-3", "s"));
        assert_eq!(split_number("MiB"), ("", "MiB"));
    }
}
