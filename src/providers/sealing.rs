//! Sealing a bearer token before it goes to the shared session store: ChaCha20-Poly1305
//! under a key derived from the upstream's own credentials (HMAC-SHA256 keyed with the
//! password, over the upstream and user names). Whoever reads the store (a backup, a
//! replica) without the password gets nothing usable; whoever holds the password could
//! log in anyway. A password change makes old tokens unreadable, which only costs a login.

use hmac::{Hmac, Mac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub struct SealingKey {
    key: LessSafeKey,
    /// Bound into every seal, so a token sealed for one upstream or user opens for no other.
    context: Vec<u8>,
}

impl SealingKey {
    pub fn derive(upstream: &str, username: &str, password: &SecretString) -> Self {
        let context = format!("recarga upstream session v1\0{upstream}\0{username}").into_bytes();
        let mut mac =
            Hmac::<Sha256>::new_from_slice(password.expose_secret().as_bytes()).expect("HMAC takes any key length");
        mac.update(&context);
        let bytes = mac.finalize().into_bytes();
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).expect("a 32-byte key");
        Self {
            key: LessSafeKey::new(key),
            context,
        }
    }

    /// The nonce (random: a few logins a day never repeat one) followed by the
    /// ciphertext and its tag.
    pub fn seal(&self, token: &SecretString) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut sealed = token.expose_secret().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.context),
                &mut sealed,
            )
            .expect("a token is far below ChaCha20-Poly1305's size limit");
        [nonce.as_slice(), &sealed].concat()
    }

    /// `None` when it was sealed under another key (the password changed) or altered.
    pub fn open(&self, sealed: &[u8]) -> Option<SecretString> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(&self.context), &mut body)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok().map(SecretString::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_only_under_the_same_credentials_and_unaltered() {
        let key = SealingKey::derive("smartcall", "user", &SecretString::from("pw"));
        let sealed = key.seal(&SecretString::from("tok.en"));
        assert!(!sealed.windows(6).any(|w| w == b"tok.en"), "not stored readable");
        assert_eq!(key.open(&sealed).unwrap().expose_secret(), "tok.en");
        for other in [
            SealingKey::derive("smartcall", "user", &SecretString::from("pw2")),
            SealingKey::derive("smartcall", "other", &SecretString::from("pw")),
            SealingKey::derive("latcom", "user", &SecretString::from("pw")),
        ] {
            assert!(other.open(&sealed).is_none());
        }
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(key.open(&altered).is_none());
        assert!(key.open(&sealed[..5]).is_none());
    }
}
