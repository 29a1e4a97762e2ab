//! docker-compose.yml, checked against recarga itself (no Docker engine runs here to
//! start it): every instance's and the sandbox's environment loads as our settings
//! (unknown keys are refused), the three instances are in sandbox mode on one database
//! and point at the sandbox service, DataMart's webhooks go through the proxy, the proxy
//! is a trusted proxy, and nginx balances over exactly the instances at their ports.

use recarga::config::{LimitStoreKind, Settings};
use secrecy::ExposeSecret;
use serde_yaml::Value;
use std::collections::BTreeSet;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn compose() -> Value {
    let text = std::fs::read_to_string(format!("{MANIFEST}/docker-compose.yml")).unwrap();
    serde_yaml::from_str(&text).expect("docker-compose.yml is YAML")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// The settings a service's environment gives, loaded as `recarga` loads them.
fn settings_of(service: &Value) -> Settings {
    let env: Vec<(String, String)> = service["environment"]
        .as_mapping()
        .expect("environment as a mapping")
        .iter()
        .map(|(k, v)| (text(k), text(v)))
        .collect();
    // The only test of this binary: nothing else reads the environment meanwhile.
    for (k, v) in &env {
        std::env::set_var(k, v);
    }
    let settings = Settings::load(Some(format!("{MANIFEST}/config/recarga.toml").into()));
    for (k, _) in &env {
        std::env::remove_var(k);
    }
    settings.unwrap_or_else(|e| panic!("the service's environment is not our settings: {e}"))
}

fn port_of(address: &str) -> u16 {
    address.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn docker_compose_runs_three_instances_on_one_sandbox_behind_the_proxy() {
    let compose = compose();
    let services = compose["services"].as_mapping().unwrap();
    let names: BTreeSet<String> = services.keys().map(text).collect();
    let expected = [
        "postgres", "redis", "sandbox", "recarga1", "recarga2", "recarga3", "proxy",
    ];
    assert_eq!(names, expected.iter().map(|s| s.to_string()).collect());

    let sandbox = &compose["services"]["sandbox"];
    assert_eq!(sandbox["command"], Value::from(vec!["sandbox"]));
    let sandbox_port = port_of(&settings_of(sandbox).sandbox.listen);

    let proxy = &compose["services"]["proxy"];
    let proxy_ip = text(&proxy["networks"]["recarga"]["ipv4_address"]);
    let published = text(&proxy["ports"][0]);
    let proxy_port: u16 = published.rsplit(':').next().unwrap().parse().unwrap();

    let nginx = std::fs::read_to_string(format!("{MANIFEST}/deploy/nginx.conf")).unwrap();
    assert!(
        nginx.contains(&format!("listen {proxy_port};")),
        "nginx listens where compose publishes"
    );
    let upstreams: BTreeSet<String> = nginx
        .lines()
        .filter_map(|l| l.trim().strip_prefix("server ")?.strip_suffix(';'))
        .map(str::to_string)
        .collect();

    let mut databases = BTreeSet::new();
    let mut instances = BTreeSet::new();
    for name in ["recarga1", "recarga2", "recarga3"] {
        let settings = settings_of(&compose["services"][name]);
        assert!(settings.is_sandbox(), "{name} runs in sandbox mode");
        assert_eq!(
            settings.sandbox.simulators_url.as_deref(),
            Some(format!("http://sandbox:{sandbox_port}").as_str()),
            "{name} shares the sandbox process"
        );
        assert_eq!(
            settings.providers.datamart.callback_url.as_deref(),
            Some(format!("http://proxy:{proxy_port}/api/webhooks/datamart").as_str()),
            "{name} has DataMart's webhooks sent through the proxy"
        );
        assert!(
            settings.limits.trusted_proxies.contains(&proxy_ip.parse().unwrap()),
            "{name} trusts the proxy's X-Forwarded-For"
        );
        assert_eq!(
            settings.limits.store,
            LimitStoreKind::Redis,
            "{name} counts limits with the others"
        );
        assert_eq!(
            settings
                .limits
                .redis_url
                .as_ref()
                .map(|u| u.expose_secret().to_string()),
            Some("redis://redis:6379".to_string()),
            "{name} counts them in the compose file's Redis"
        );
        assert!(
            3 * settings.database.max_connections < 100,
            "three pools fit PostgreSQL's 100"
        );
        databases.insert(settings.database_url.clone());
        instances.insert(format!("{name}:{}", port_of(&settings.listen)));
    }
    assert_eq!(databases.len(), 1, "one database for all instances");
    assert_eq!(upstreams, instances, "nginx balances over the instances at their ports");
    assert!(
        compose["services"]["redis"]["profiles"].is_null(),
        "Redis starts with the instances, which need it"
    );
}
