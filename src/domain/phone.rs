//! End-user phone numbers: legacy Mexican dialling forms and the usual South African
//! and Ghanaian forms are normalised before validation against libphonenumber's metadata
//! (the `phonenumber` crate). Ghana's networks are told apart by prefix (providers.md §5).

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
    #[error("phone must be a Ghanaian number: 0XXXXXXXXX, 233XXXXXXXXX or +233XXXXXXXXX")]
    NotGhanaian,
    #[error("phone is not a valid Ghanaian mobile number")]
    InvalidGhanaian,
    #[error("phone is not on the {0} network (by its prefix)")]
    WrongNetwork(String),
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

/// A Ghanaian mobile number as `0` + its 9-digit national number, the form DataMart
/// takes (providers.md §2A). Accepted: `0XXXXXXXXX`, `233XXXXXXXXX` and `+233XXXXXXXXX`.
pub fn normalize_gh(input: &str) -> Result<String, PhoneError> {
    let (plus, digits) = digits(input)?;
    let national = match (plus, digits.len()) {
        (false, 10) if digits.starts_with('0') => &digits[1..],
        (_, 12) if digits.starts_with("233") => &digits[3..],
        _ => return Err(PhoneError::NotGhanaian),
    };
    let parsed = phonenumber::parse(Some(country::Id::GH), national).map_err(|_| PhoneError::InvalidGhanaian)?;
    let mobile = matches!(
        parsed.number_type(&phonenumber::metadata::DATABASE),
        phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile
    );
    if national.starts_with('0') || !phonenumber::is_valid(&parsed) || !mobile {
        return Err(PhoneError::InvalidGhanaian);
    }
    Ok(format!("0{}", parsed.national().value()))
}

/// Ghana's mobile prefixes (after the `0`) by network, in our operator vocabulary: the
/// original assignments (libphonenumber's carrier data), plus 025 and 053, which
/// DataMart also treats as MTN. Numbers are portable, so this is the best an offline
/// check can do; the upstream has the last word.
const GH_NETWORK_PREFIXES: &[(&str, &[&str])] = &[
    ("MTN", &["24", "25", "53", "54", "55", "59"]),
    ("TELECEL", &["20", "50"]),
    ("AIRTELTIGO", &["26", "27", "56", "57"]),
];

/// Normalise for a product's country (ISO alpha-2): the form that country's upstream
/// takes; where the country's networks are known by prefix (Ghana), the number must
/// also belong to the product's `operator`.
pub fn normalize_for_country(country: &str, operator: &str, input: &str) -> Result<String, PhoneError> {
    match country {
        "MX" => normalize_mx(input),
        "ZA" => normalize_za(input),
        "GH" => {
            let number = normalize_gh(input)?;
            match GH_NETWORK_PREFIXES.iter().find(|(network, _)| *network == operator) {
                Some((_, prefixes)) if !prefixes.iter().any(|p| number[1..].starts_with(p)) => {
                    Err(PhoneError::WrongNetwork(operator.to_string()))
                }
                _ => Ok(number),
            }
        }
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

    #[test]
    fn gh_accepts_every_documented_form() {
        for input in [
            "0241234567",
            "233241234567",
            "+233241234567",
            "024 123 4567",
            "+233 24-123-4567",
        ] {
            assert_eq!(normalize_gh(input).as_deref(), Ok("0241234567"), "{input}");
        }
        assert_eq!(normalize_gh("0501234567").as_deref(), Ok("0501234567"));
    }

    #[test]
    fn gh_rejects_other_shapes() {
        assert_eq!(normalize_gh("241234567"), Err(PhoneError::NotGhanaian));
        assert_eq!(normalize_gh("+0241234567"), Err(PhoneError::NotGhanaian));
        assert_eq!(normalize_gh("27831234567"), Err(PhoneError::NotGhanaian));
        assert_eq!(normalize_gh("02412345678"), Err(PhoneError::NotGhanaian));
        assert_eq!(normalize_gh("024abc4567"), Err(PhoneError::BadCharacters));
        assert_eq!(normalize_gh("0001234567"), Err(PhoneError::InvalidGhanaian));
        // 030 is a fixed line (Accra), not a phone a data bundle can go to.
        assert_eq!(normalize_gh("0302123456"), Err(PhoneError::InvalidGhanaian));
    }

    #[test]
    fn gh_numbers_must_be_on_the_products_network() {
        assert_eq!(
            normalize_for_country("GH", "MTN", "+233 55 123 4567").as_deref(),
            Ok("0551234567")
        );
        assert_eq!(
            normalize_for_country("GH", "MTN", "0201234567"),
            Err(PhoneError::WrongNetwork("MTN".into()))
        );
        assert_eq!(
            normalize_for_country("GH", "TELECEL", "0201234567").as_deref(),
            Ok("0201234567")
        );
        assert_eq!(
            normalize_for_country("GH", "AIRTELTIGO", "0241234567"),
            Err(PhoneError::WrongNetwork("AIRTELTIGO".into()))
        );
    }
}
