//! A purchase's `callback_url`: where its final state is posted (signed, retried).
//! https only; plain http only in sandbox mode, where receivers run on laptops.

use url::Url;

/// The URL as it will be called, or why it cannot be.
pub fn validate(raw: &str, sandbox: bool) -> Result<String, &'static str> {
    let raw = raw.trim();
    if raw.len() > 2048 {
        return Err("callback_url must be at most 2048 characters");
    }
    let url = Url::parse(raw).map_err(|_| "callback_url must be an absolute URL")?;
    match url.scheme() {
        "https" => {}
        "http" if sandbox => {}
        "http" => return Err("callback_url must use https"),
        _ => return Err("callback_url must be an https URL"),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("callback_url must name a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("callback_url must not carry credentials");
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_always_http_only_in_sandbox_nothing_else() {
        assert!(validate("https://example.com/hook?o=1", false).is_ok());
        assert!(validate("http://127.0.0.1:9000/cb", true).is_ok());
        assert_eq!(
            validate("http://example.com/cb", false),
            Err("callback_url must use https")
        );
        assert!(validate("ftp://example.com/cb", true).is_err());
        assert!(validate("/relative", true).is_err());
        assert!(validate("https://user:pw@example.com/", false).is_err());
    }
}
