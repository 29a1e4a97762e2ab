//! Webhook and callback signatures: `Recarga-Signature: t=<unix seconds>,v1=<hex>`,
//! where the hex is HMAC-SHA256(secret, "<t>.<raw body>"). The timestamp is signed too,
//! so a receiver that also refuses old timestamps refuses replays (docs/webhooks.md).

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER: &str = "recarga-signature";

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// The documented recipe, as a receiver runs it: parse `t` and every `v1`, refuse a `t`
/// more than `tolerance_secs` from `now`, and compare the HMAC in constant time.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    candidates.iter().any(|c| mac(secret, t, body).verify_slice(c).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_any_change_does_not() {
        let body = br#"{"type":"transaction.succeeded"}"#;
        let header = sign("whsec_1", 1_700_000_000, body);
        assert!(verify("whsec_1", &header, body, 1_700_000_010, 300));
        assert!(!verify("whsec_2", &header, body, 1_700_000_010, 300), "another secret");
        assert!(!verify(
            "whsec_1",
            &header,
            br#"{"type":"transaction.failed"}"#,
            1_700_000_010,
            300
        ));
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert!(
            !verify("whsec_1", &moved, body, 1_700_000_010, 300),
            "a changed timestamp"
        );
        assert!(
            !verify("whsec_1", &header, body, 1_700_000_301, 300),
            "outside the replay window"
        );
        assert!(!verify("whsec_1", "garbage", body, 1_700_000_010, 300));
    }
}
