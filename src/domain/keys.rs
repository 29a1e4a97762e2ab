//! API keys and secrets: random 256-bit values, stored only as SHA-256, compared in
//! constant time. (High-entropy keys need no slow hash; argon2 is for human passwords.)

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new key: `prefix` followed by 64 hex characters (256 random bits).
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Constant-time check of a presented key against a stored hash.
pub fn verify(presented: &str, stored_hash: &[u8]) -> bool {
    let digest = Sha256::digest(presented.as_bytes());
    digest.as_slice().ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_verify_and_differ() {
        let a = generate("rk_");
        let b = generate("rk_");
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 64);
        assert!(verify(&a, &hash(&a)));
        assert!(!verify(&b, &hash(&a)));
        assert!(!verify("", &hash(&a)));
    }
}
