//! Ops users' passwords: argon2id, stored as a PHC string (algorithm, parameters and salt
//! travel with the hash). Human passwords only; API keys use `keys` (DESIGN "Keys").

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;

/// A new password to show once: 24 random bytes as 48 hex characters (192 bits).
pub fn generate() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The PHC string of `password` under a fresh random salt.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Whether `password` matches the stored PHC string (argon2 compares in constant time).
/// A stored value that does not parse matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let password = generate();
        let stored = hash(&password).unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(&password, &stored));
        assert!(!verify("wrong", &stored));
        assert!(!verify(&password, "not a hash"));
    }
}
