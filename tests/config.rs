//! The configuration is strict: the real binary refuses to start on an unknown key, a
//! database that is not PostgreSQL or an unusable value, naming the key; environment
//! overrides of map keys keep their case.

use recarga::config::Settings;
use rust_decimal_macros::dec;
use std::io::Write;

/// Run `recarga migrate` (it loads the configuration first) with extra environment and
/// an optional config file; (succeeded, stderr).
fn migrate(env: &[(&str, &str)], config: Option<&str>) -> (bool, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_recarga"));
    // Only the environment given here: another test in this binary sets its own.
    for (name, _) in std::env::vars().filter(|(k, _)| k.starts_with("RECARGA")) {
        command.env_remove(name);
    }
    command
        .arg("migrate")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Never reached when the configuration is refused; a closed port otherwise.
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")
        .env("RUST_LOG", "warn")
        .env("RECARGA__DATABASE__START_WAIT_SECS", "0")
        .envs(env.iter().copied());
    let _file;
    if let Some(text) = config {
        let mut file = tempfile();
        file.1.write_all(text.as_bytes()).unwrap();
        command.args(["--config", &file.0]);
        _file = file;
    }
    let out = command.output().expect("binary runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
}

fn tempfile() -> (String, std::fs::File) {
    let path = std::env::temp_dir().join(format!("recarga-config-{}.toml", uuid::Uuid::new_v4()));
    let file = std::fs::File::create(&path).unwrap();
    (path.to_string_lossy().into(), file)
}

#[test]
fn unknown_keys_are_refused_naming_the_key() {
    let (ok, err) = migrate(&[("RECARGA__PURCHASE__SYNC_DEADLINE_SEC", "5")], None);
    assert!(!ok);
    assert!(err.contains("sync_deadline_sec"), "{err}");
    let (ok, err) = migrate(&[], Some("[providers.latcom]\ntimeout_sec = 3\n"));
    assert!(!ok);
    assert!(err.contains("timeout_sec"), "{err}");
    let (ok, err) = migrate(&[], Some("listen_on = \"0.0.0.0:1\"\n"));
    assert!(!ok);
    assert!(err.contains("listen_on"), "{err}");
}

#[test]
fn unusable_values_are_refused_naming_the_key() {
    for (env, key) in [
        (("DATABASE_URL", "mysql://root@localhost/recarga"), "database_url"),
        (("RECARGA__DATABASE__MAX_CONNECTIONS", "0"), "database.max_connections"),
        (("RECARGA__PURCHASE__DEBIT_SHARDS", "0"), "purchase.debit_shards"),
        (
            ("RECARGA__LIMITS__REQUEST_TIMEOUT_SECS", "25"),
            "limits.request_timeout_secs",
        ),
        (
            ("RECARGA__PURCHASE__REVIEW_AFTER_HOURS", "-0.5"),
            "purchase.review_after_hours",
        ),
    ] {
        let (ok, err) = migrate(&[env], None);
        assert!(!ok, "{env:?}");
        assert!(err.contains(key), "{env:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn the_shipped_file_loads_and_environment_map_keys_keep_their_case() {
    // The only test in this binary that touches its own environment.
    std::env::set_var("RECARGA__FX__FIXED_RATES__MXN", "20");
    std::env::set_var("RECARGA__RELIER__OPERATOR_PRODUCTS__BAIT", "MOVISTAR_TAE");
    std::env::set_var("RECARGA__PURCHASE__SYNC_DEADLINE_SECS", "7");
    let manifest = env!("CARGO_MANIFEST_DIR");
    let s = Settings::load(Some(format!("{manifest}/config/recarga.toml").into())).expect("config loads");
    assert_eq!(s.fx.fixed_rates.get("MXN"), Some(&dec!(20)), "{:?}", s.fx.fixed_rates);
    assert_eq!(s.fx.fixed_rates.get("ZAR"), Some(&dec!(18)));
    assert!(!s.fx.fixed_rates.contains_key("mxn"));
    assert_eq!(
        s.relier.operator_products.get("BAIT").map(String::as_str),
        Some("MOVISTAR_TAE")
    );
    assert_eq!(s.purchase.sync_deadline_secs, 7);
}
