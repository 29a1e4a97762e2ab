//! End-user phone numbers: legacy Mexican dialling forms are normalised before
//! validation against libphonenumber's metadata (the `phonenumber` crate).

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
}

/// A Mexican number as its bare 10-digit national significant number, which is
/// what LATCOM's `targetMSISDN` takes.
pub fn normalize_mx(input: &str) -> Result<String, PhoneError> {
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
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
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
}
