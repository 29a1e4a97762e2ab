//! End-user phone numbers: legacy Mexican dialling forms and the usual South African
//! forms are normalised before validation against libphonenumber's metadata (the
//! `phonenumber` crate).

use phonenumber::country;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PhoneError {
    #[error("phone must contain only digits, spaces, dashes, dots, parentheses and a leading +")]
    BadCharacters,
    #[error("phone must be a 10-digit Mexican number (also accepted: +52, 52, 521, 044 and 045 forms)")]
    NotMexican,
    #[error("phone is not a valid Mexican number")]
    Invalid,
    #[error("phone must be a South African number: 0XXXXXXXXX, 27XXXXXXXXX or +27XXXXXXXXX")]
    NotSouthAfrican,
    #[error("phone is not a valid South African number")]
    InvalidSouthAfrican,
    #[error("phone numbers of country {0} are not supported")]
    UnsupportedCountry(String),
    /// Of the countries served (listed), none has this number.
    #[error("phone is not a valid number of any country served here ({0}); give it in international form")]
    NoCountry(String),
    /// A national form valid in several countries (listed).
    #[error("phone is valid in several countries ({0}); say which with country")]
    Ambiguous(String),
}

/// Digits of `input` after an optional leading `+`, allowing the usual separators.
fn digits(input: &str) -> Result<(bool, String), PhoneError> {
    let trimmed = input.trim();
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
    {
        return Err(PhoneError::BadCharacters);
    }
    Ok((plus, rest.chars().filter(char::is_ascii_digit).collect()))
}

/// A Mexican number as its bare 10-digit national significant number, which is
/// what LATCOM's `targetMSISDN` takes.
pub fn normalize_mx(input: &str) -> Result<String, PhoneError> {
    let (plus, digits) = digits(input)?;
    // Pre-2019 forms were abolished by the IFT numbering plan but still arrive from old systems.
    let national = match (plus, digits.len()) {
        (false, 10) => digits.as_str(),
        (false, 13) if digits.starts_with("044") || digits.starts_with("045") => &digits[3..],
        (false, 12) if digits.starts_with("01") => &digits[2..],
        (_, 12) if digits.starts_with("52") => &digits[2..],
        (_, 13) if digits.starts_with("521") => &digits[3..],
        _ => return Err(PhoneError::NotMexican),
    };
    let parsed = phonenumber::parse(Some(country::Id::MX), national).map_err(|_| PhoneError::Invalid)?;
    if !phonenumber::is_valid(&parsed) {
        return Err(PhoneError::Invalid);
    }
    Ok(parsed.national().value().to_string())
}

/// A South African number as `27` + its 9-digit national number, the MSISDN form
/// Smartcall takes (providers.md §5). Accepted: `0XXXXXXXXX` (national prefix),
/// `27XXXXXXXXX` and `+27XXXXXXXXX`, with spaces or dashes.
pub fn normalize_za(input: &str) -> Result<String, PhoneError> {
    let (plus, digits) = digits(input)?;
    let national = match (plus, digits.len()) {
        (false, 10) if digits.starts_with('0') => &digits[1..],
        (_, 11) if digits.starts_with("27") => &digits[2..],
        _ => return Err(PhoneError::NotSouthAfrican),
    };
    let parsed = phonenumber::parse(Some(country::Id::ZA), national).map_err(|_| PhoneError::InvalidSouthAfrican)?;
    // A national number starting with 0 would be a second national prefix, not a number.
    if national.starts_with('0') || !phonenumber::is_valid(&parsed) {
        return Err(PhoneError::InvalidSouthAfrican);
    }
    Ok(format!("27{}", parsed.national().value()))
}

/// Normalise for a product's country (ISO alpha-2): the form that country's upstream takes.
pub fn normalize_for_country(country: &str, input: &str) -> Result<String, PhoneError> {
    match country {
        "MX" => normalize_mx(input),
        "ZA" => normalize_za(input),
        other => Err(PhoneError::UnsupportedCountry(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_documented_form() {
        for input in [
            "5512345678",
            "+525512345678",
            "525512345678",
            "5215512345678",
            "+5215512345678",
            "0445512345678",
            "0455512345678",
            "015512345678",
            "55 1234 5678",
            "(55) 1234-5678",
        ] {
            assert_eq!(normalize_mx(input).as_deref(), Ok("5512345678"), "{input}");
        }
    }

    #[test]
    fn seed_test_numbers_are_valid() {
        assert_eq!(normalize_mx("5500000000").as_deref(), Ok("5500000000"));
        assert_eq!(normalize_mx("5500000001").as_deref(), Ok("5500000001"));
    }

    #[test]
    fn rejects_wrong_lengths_and_characters() {
        assert_eq!(normalize_mx("551234567"), Err(PhoneError::NotMexican));
        assert_eq!(normalize_mx("55123456789"), Err(PhoneError::NotMexican));
        assert_eq!(normalize_mx("55abc45678"), Err(PhoneError::BadCharacters));
        assert_eq!(normalize_mx(""), Err(PhoneError::NotMexican));
        assert_eq!(normalize_mx("+15512345678"), Err(PhoneError::NotMexican));
        assert_eq!(normalize_mx("0512345678"), Err(PhoneError::Invalid));
    }

    #[test]
    fn za_accepts_every_documented_form() {
        for input in [
            "0831234567",
            "27831234567",
            "+27831234567",
            "083 123 4567",
            "083-123-4567",
            "+27 83 123 4567",
            " 27 83-123-4567 ",
        ] {
            assert_eq!(normalize_za(input).as_deref(), Ok("27831234567"), "{input}");
        }
        // Smartcall's recorded numbers (providers.md §1) and the other networks' ranges.
        for n in [
            "27830000002",
            "27820000001",
            "27721234567",
            "27841234567",
            "27611234567",
        ] {
            assert_eq!(normalize_za(n).as_deref(), Ok(n));
        }
    }

    #[test]
    fn za_rejects_other_shapes() {
        assert_eq!(normalize_za("831234567"), Err(PhoneError::NotSouthAfrican));
        assert_eq!(normalize_za("+0831234567"), Err(PhoneError::NotSouthAfrican));
        assert_eq!(normalize_za("278312345678"), Err(PhoneError::NotSouthAfrican));
        assert_eq!(normalize_za("5512345678"), Err(PhoneError::NotSouthAfrican));
        assert_eq!(normalize_za("+525512345678"), Err(PhoneError::NotSouthAfrican));
        assert_eq!(normalize_za(""), Err(PhoneError::NotSouthAfrican));
        assert_eq!(normalize_za("083abc4567"), Err(PhoneError::BadCharacters));
        assert_eq!(normalize_za("27031234567"), Err(PhoneError::InvalidSouthAfrican));
        assert_eq!(normalize_za("0001234567"), Err(PhoneError::InvalidSouthAfrican));
    }
}
