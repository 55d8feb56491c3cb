//! Exact non-negative rational numbers over `u128`.
//!
//! Capacity figures must come out exact ("1.5 PB", not "1.4999999 PB"), and
//! ratios such as a 0.9 CDN hit ratio are not representable in binary floating
//! point. Every quantity in the model is therefore a reduced fraction; all
//! operations are checked and return `None` on overflow instead of wrapping.

use std::cmp::Ordering;
use std::fmt;

use cadenza_units::Decimal;

/// A reduced fraction `num / den` with `den > 0`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ratio {
    num: u128,
    den: u128,
}

const fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Ratio {
    pub const ZERO: Ratio = Ratio { num: 0, den: 1 };
    pub const ONE: Ratio = Ratio { num: 1, den: 1 };

    /// `num / den`, reduced; `None` when `den` is zero.
    pub const fn new(num: u128, den: u128) -> Option<Ratio> {
        if den == 0 {
            return None;
        }
        // gcd(0, den) = den, so zero reduces to 0/1.
        let g = gcd(num, den);
        Some(Ratio {
            num: num / g,
            den: den / g,
        })
    }

    pub const fn integer(n: u128) -> Ratio {
        Ratio { num: n, den: 1 }
    }

    pub fn numer(self) -> u128 {
        self.num
    }

    pub fn denom(self) -> u128 {
        self.den
    }

    pub fn is_zero(self) -> bool {
        self.num == 0
    }

    pub fn is_integer(self) -> bool {
        self.den == 1
    }

    pub fn checked_add(self, other: Ratio) -> Option<Ratio> {
        let g = gcd(self.den, other.den);
        let lcm = (self.den / g).checked_mul(other.den)?;
        let a = self.num.checked_mul(lcm / self.den)?;
        let b = other.num.checked_mul(lcm / other.den)?;
        Ratio::new(a.checked_add(b)?, lcm)
    }

    /// `None` on overflow or when the result would be negative.
    pub fn checked_sub(self, other: Ratio) -> Option<Ratio> {
        let g = gcd(self.den, other.den);
        let lcm = (self.den / g).checked_mul(other.den)?;
        let a = self.num.checked_mul(lcm / self.den)?;
        let b = other.num.checked_mul(lcm / other.den)?;
        Ratio::new(a.checked_sub(b)?, lcm)
    }

    pub fn checked_mul(self, other: Ratio) -> Option<Ratio> {
        // Cancel crosswise first so intermediate products stay small.
        let g1 = gcd(self.num, other.den).max(1);
        let g2 = gcd(other.num, self.den).max(1);
        let num = (self.num / g1).checked_mul(other.num / g2)?;
        let den = (self.den / g2).checked_mul(other.den / g1)?;
        Ratio::new(num, den)
    }

    /// `None` on overflow or division by zero.
    pub fn checked_div(self, other: Ratio) -> Option<Ratio> {
        if other.num == 0 {
            return None;
        }
        self.checked_mul(Ratio {
            num: other.den,
            den: other.num,
        })
    }

    pub fn floor(self) -> u128 {
        self.num / self.den
    }

    pub fn ceil(self) -> u128 {
        self.num / self.den + u128::from(!self.num.is_multiple_of(self.den))
    }

    /// Nearest integer, halves rounded up.
    pub fn round(self) -> u128 {
        let q = self.num / self.den;
        let r = self.num % self.den;
        // r >= den - r  <=>  r / den >= 1/2, written without overflow.
        q + u128::from(r >= self.den - r)
    }

    /// For display only: the model never computes in floating point.
    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Exact decimal text when the fraction terminates in base 10
    /// (`9/10` → `"0.9"`), otherwise `"num/den"`.
    pub fn to_exact_string(self) -> String {
        if self.den == 1 {
            return self.num.to_string();
        }
        match self.to_decimal(40) {
            Some(text) => text,
            None => format!("{}/{}", self.num, self.den),
        }
    }

    /// Exact decimal expansion with at most `max_places` digits after the
    /// point, or `None` if it does not terminate within them.
    fn to_decimal(self, max_places: u32) -> Option<String> {
        let int = self.num / self.den;
        let mut rem = self.num % self.den;
        let mut digits = String::new();
        while rem != 0 {
            if digits.len() as u32 == max_places {
                return None;
            }
            // rem < den, so rem * 10 can only overflow for huge denominators.
            let scaled = rem.checked_mul(10)?;
            digits.push(char::from(b'0' + (scaled / self.den) as u8));
            rem = scaled % self.den;
        }
        if digits.is_empty() {
            Some(int.to_string())
        } else {
            Some(format!("{int}.{digits}"))
        }
    }

    /// Rounds to `places` decimals (halves up) and renders without trailing
    /// zeros: `round_to_string(5/3, 2)` is `"1.67"`, `(3/2, 2)` is `"1.5"`.
    pub fn round_to_string(self, places: u32) -> String {
        let Some(scale) = 10u128.checked_pow(places) else {
            return format!("{}", self.to_f64());
        };
        let Some(scaled) = self.checked_mul(Ratio::integer(scale)) else {
            // Too large for exact rounding; such values have no useful decimals.
            return self.round().to_string();
        };
        let n = scaled.round();
        let int = n / scale;
        let frac = n % scale;
        if frac == 0 {
            return int.to_string();
        }
        let frac = format!("{frac:0width$}", width = places as usize);
        format!("{int}.{}", frac.trim_end_matches('0'))
    }

    /// Parses a plain non-negative decimal: `42`, `0.9`, `1e9`, `2.5E-3`,
    /// `1_000_000`. Units and signs are handled by the caller.
    pub fn parse_decimal(text: &str) -> Result<Ratio, String> {
        let (num, den) = Decimal::parse(text)?.fraction();
        Ratio::new(num, den).ok_or_else(|| "is too large".to_string())
    }

    /// Exact value of a finite, non-negative `f64` as written in its shortest
    /// decimal form (so `0.9` becomes exactly 9/10, not the nearest binary).
    pub fn from_f64(value: f64) -> Option<Ratio> {
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        // `{:e}` avoids long digit strings for very large or small values.
        Ratio::parse_decimal(&format!("{value:e}")).ok()
    }
}

impl From<u64> for Ratio {
    fn from(n: u64) -> Ratio {
        Ratio::integer(u128::from(n))
    }
}

impl From<u32> for Ratio {
    fn from(n: u32) -> Ratio {
        Ratio::integer(u128::from(n))
    }
}

impl Ord for Ratio {
    fn cmp(&self, other: &Ratio) -> Ordering {
        // Compare by continued fractions: never multiplies, so never overflows.
        let (mut a, mut b, mut c, mut d) = (self.num, self.den, other.num, other.den);
        let mut flipped = false;
        loop {
            let (qa, qc) = (a / b, c / d);
            let ord = qa.cmp(&qc);
            if ord != Ordering::Equal {
                return if flipped { ord.reverse() } else { ord };
            }
            let (ra, rc) = (a % b, c % d);
            let ord = match (ra == 0, rc == 0) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => {
                    // ra/b vs rc/d  <=>  d/rc vs b/ra, with the order flipped.
                    (a, b, c, d) = (b, ra, d, rc);
                    flipped = !flipped;
                    continue;
                }
            };
            return if flipped { ord.reverse() } else { ord };
        }
    }
}

impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Ratio) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_exact_string())
    }
}

impl serde::Serialize for Ratio {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_exact_string())
    }
}

impl<'de> serde::Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Ratio, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Ratio;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative number or fraction such as 0.9 or \"9/10\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Ratio, E> {
                Ok(Ratio::from(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Ratio, E> {
                u64::try_from(v)
                    .map(Ratio::from)
                    .map_err(|_| E::custom(format!("{v} is negative")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Ratio, E> {
                Ratio::from_f64(v)
                    .ok_or_else(|| E::custom(format!("{v} is not a non-negative finite number")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Ratio, E> {
                parse_fraction(v).map_err(|problem| E::custom(format!("'{v}' {problem}")))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A decimal or an explicit fraction `a/b`.
pub fn parse_fraction(text: &str) -> Result<Ratio, String> {
    let text = text.trim();
    match text.split_once('/') {
        Some((a, b)) => {
            let a = Ratio::parse_decimal(a.trim())?;
            let b = Ratio::parse_decimal(b.trim())?;
            if b.is_zero() {
                return Err("divides by zero".to_string());
            }
            a.checked_div(b).ok_or_else(|| "is too large".to_string())
        }
        None => Ratio::parse_decimal(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: u128, d: u128) -> Ratio {
        Ratio::new(n, d).unwrap()
    }

    #[test]
    fn reduces_and_compares() {
        assert_eq!(r(6, 4), r(3, 2));
        assert_eq!(r(0, 7), Ratio::ZERO);
        assert!(r(1, 3) < r(1, 2));
        assert!(r(2, 3) > r(3, 5));
        assert!(r(7, 1) > r(13, 2));
        assert_eq!(r(10, 4).cmp(&r(5, 2)), Ordering::Equal);
        assert!(r(u128::MAX, u128::MAX - 1) > Ratio::ONE);
        assert!(r(u128::MAX - 1, u128::MAX) > r(u128::MAX - 2, u128::MAX - 1));
        assert!(Ratio::new(1, 0).is_none());
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(r(1, 10).checked_add(r(2, 10)), Some(r(3, 10)));
        assert_eq!(Ratio::ONE.checked_sub(r(9, 10)), Some(r(1, 10)));
        assert_eq!(r(1, 10).checked_sub(Ratio::ONE), None);
        assert_eq!(r(2, 3).checked_mul(r(9, 4)), Some(r(3, 2)));
        assert_eq!(r(2, 3).checked_div(r(4, 3)), Some(r(1, 2)));
        assert_eq!(Ratio::ONE.checked_div(Ratio::ZERO), None);
        assert_eq!(
            Ratio::integer(u128::MAX).checked_mul(Ratio::integer(2)),
            None
        );
        // Cross-cancellation keeps this in range although MAX * 2 overflows.
        assert_eq!(
            Ratio::integer(u128::MAX).checked_mul(r(2, 2)),
            Some(Ratio::integer(u128::MAX))
        );
    }

    #[test]
    fn rounding() {
        assert_eq!(r(7, 2).floor(), 3);
        assert_eq!(r(7, 2).ceil(), 4);
        assert_eq!(r(7, 2).round(), 4);
        assert_eq!(r(5, 2).round(), 3);
        assert_eq!(r(7, 3).round(), 2);
        assert_eq!(Ratio::integer(9).ceil(), 9);
        assert_eq!(r(5, 3).round_to_string(2), "1.67");
        assert_eq!(r(3, 2).round_to_string(2), "1.5");
        assert_eq!(r(1999, 1000).round_to_string(2), "2");
        assert_eq!(r(1, 200).round_to_string(2), "0.01");
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(Ratio::parse_decimal("0.9"), Ok(r(9, 10)));
        assert_eq!(
            Ratio::parse_decimal("1e9"),
            Ok(Ratio::integer(1_000_000_000))
        );
        assert_eq!(Ratio::parse_decimal("2.5E-3"), Ok(r(1, 400)));
        assert_eq!(
            Ratio::parse_decimal("1_000_000"),
            Ok(Ratio::integer(1_000_000))
        );
        assert_eq!(Ratio::parse_decimal(".5"), Ok(r(1, 2)));
        assert_eq!(Ratio::parse_decimal("5."), Ok(Ratio::integer(5)));
        assert!(Ratio::parse_decimal("").is_err());
        assert!(Ratio::parse_decimal(".").is_err());
        assert!(Ratio::parse_decimal("1.2.3").is_err());
        assert!(Ratio::parse_decimal("abc").is_err());
        assert!(Ratio::parse_decimal("1e").is_err());
        assert!(Ratio::parse_decimal("1e99").is_err());
        assert_eq!(parse_fraction("3/4"), Ok(r(3, 4)));
        assert!(parse_fraction("3/0").is_err());
    }

    #[test]
    fn from_f64_uses_the_shortest_decimal() {
        assert_eq!(Ratio::from_f64(0.9), Some(r(9, 10)));
        assert_eq!(Ratio::from_f64(2.5), Some(r(5, 2)));
        assert_eq!(Ratio::from_f64(1e9), Some(Ratio::integer(1_000_000_000)));
        assert_eq!(Ratio::from_f64(-1.0), None);
        assert_eq!(Ratio::from_f64(f64::NAN), None);
        assert_eq!(Ratio::from_f64(f64::INFINITY), None);
    }

    #[test]
    fn exact_strings_round_trip() {
        for value in [r(9, 10), r(1, 3), Ratio::integer(42), r(1, 400)] {
            assert_eq!(parse_fraction(&value.to_exact_string()), Ok(value));
        }
        assert_eq!(r(1, 3).to_exact_string(), "1/3");
        assert_eq!(r(9, 10).to_exact_string(), "0.9");
    }
}
