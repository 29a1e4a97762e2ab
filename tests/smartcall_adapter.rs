//! The Smartcall adapter against its simulator over real HTTP on loopback.

mod common;

use recarga::domain::catalog::{Catalog, ProductKind};
use recarga::domain::provider::{Enquiry, Outcome, Provider, UpstreamTopup};
use recarga::providers::executor::Executor;
use recarga::providers::smartcall::adapter::{CatalogFetch, SmartcallAdapter};
use recarga::sandbox::smartcall::{self as simulator, Fault, ReportedExpiry, Scripted, SimState, Status, DEALER};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

const SECOND: Duration = Duration::from_secs(1);

fn adapter_for(api1: &str, api2: &str, timeout: Duration) -> SmartcallAdapter {
    adapter_with_password(api1, api2, timeout, "secret")
}

fn adapter_with_password(api1: &str, api2: &str, timeout: Duration, password: &str) -> SmartcallAdapter {
    SmartcallAdapter::new(
        Executor::new(),
        api1,
        api2,
        "user".into(),
        SecretString::from(password.to_string()),
        DEALER.into(),
        timeout,
        dec!(1000),
    )
}

async fn setup() -> (SmartcallAdapter, SimState) {
    let (addr, sim) = simulator::spawn(Duration::ZERO).await.unwrap();
    let base = format!("http://{addr}");
    (adapter_for(&base, &base, 2 * SECOND), sim)
}

fn topup(reference: &str, msisdn: &str, amount: Decimal) -> UpstreamTopup {
    UpstreamTopup {
        upstream_reference: reference.into(),
        msisdn: msisdn.into(),
        upstream_product: "62".into(),
        amount,
        currency: "ZAR".into(),
        operator: Some("Vodacom".into()),
        service: None,
        sku: None,
        network_auto_correct: false,
        upstream_transaction_id: None,
    }
}

/// A loopback address nothing listens on: connecting is refused.
fn refused_host() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn script(status_code: Option<i64>, error_code: Option<i64>, record_as: Status) -> Option<Scripted> {
    Some(Scripted {
        http: 200,
        status_code,
        error_code,
        message: format!("scripted {error_code:?}"),
        record_as,
    })
}

#[tokio::test]
async fn status_0_succeeds_and_records_the_float() {
    let (adapter, sim) = setup().await;
    let outcome = adapter.topup(&topup("ok-1", "0821234567", dec!(50))).await;
    assert!(
        matches!(
            outcome,
            Outcome::Success {
                upstream_id: Some(_),
                ..
            }
        ),
        "{outcome:?}"
    );
    // R50 at 5.5 % discount costs the dealer R47.25.
    assert_eq!(adapter.float(), Some(dec!(99952.75)));
    assert_eq!(sim.balance(), dec!(99952.75));
    assert_eq!(sim.calls_for("ok-1"), 1);
}

#[tokio::test]
async fn status_1_is_a_definite_failure_without_retry() {
    let (adapter, sim) = setup().await;
    sim.script(script(Some(1), Some(2), Status::Failed));
    let outcome = adapter.topup(&topup("s1", "27821000001", dec!(20))).await;
    assert!(
        matches!(&outcome, Outcome::Failed { retryable: false, code: Some(c), .. } if c == "2"),
        "{outcome:?}"
    );
    assert_eq!(sim.recharge_calls(), 1);
}

#[tokio::test]
async fn status_2_r11_business_failure() {
    let (adapter, sim) = setup().await;
    let outcome = adapter.topup(&topup("r11", "27821000002", dec!(11))).await;
    assert!(
        matches!(&outcome, Outcome::Failed { retryable: false, code: Some(c), .. } if c == "1003"),
        "{outcome:?}"
    );
    assert_eq!(sim.balance(), dec!(100000), "nothing charged");
}

#[tokio::test]
async fn status_3_r13_network_pending_then_enquiry_success() {
    let (adapter, sim) = setup().await;
    sim.set_network_pending(Duration::from_secs(3600), Status::Successful);
    let request = topup("r13", "27821000003", dec!(13));
    let outcome = adapter.topup(&request).await;
    assert!(
        matches!(outcome, Outcome::Pending { upstream_id: Some(_) }),
        "{outcome:?}"
    );
    assert!(matches!(
        adapter.enquire(&request).await,
        Enquiry::Known(Outcome::Pending { .. })
    ));
    // The network answers later.
    sim.set_network_pending(Duration::ZERO, Status::Successful);
    assert!(matches!(
        adapter.enquire(&request).await,
        Enquiry::Known(Outcome::Success { .. })
    ));
    // Or fails, and the dealer is refunded.
    sim.set_network_pending(Duration::from_secs(3600), Status::Failed);
    let request = topup("r13-fails", "27821000013", dec!(13));
    assert!(matches!(adapter.topup(&request).await, Outcome::Pending { .. }));
    let charged = sim.balance();
    sim.set_network_pending(Duration::ZERO, Status::Failed);
    assert!(matches!(
        adapter.enquire(&request).await,
        Enquiry::Known(Outcome::Failed { retryable: false, .. })
    ));
    assert!(sim.balance() > charged);
}

#[tokio::test]
async fn code_15_is_retryable_and_records_the_float() {
    let (adapter, sim) = setup().await;
    sim.set_balance(dec!(10));
    let outcome = adapter.topup(&topup("c15", "27821000015", dec!(50))).await;
    assert_eq!(
        outcome,
        Outcome::Failed {
            retryable: true,
            code: Some("15".into()),
            message: "provider temporarily unavailable".into()
        }
    );
    assert_eq!(adapter.float(), Some(dec!(10)));
    let health = adapter.health().await;
    assert!(health.up && health.float_low, "{health:?}");
}

#[tokio::test]
async fn code_16_same_number_and_amount_within_five_minutes() {
    let (adapter, sim) = setup().await;
    let first = adapter.topup(&topup("c16-a", "27821000016", dec!(20))).await;
    assert!(matches!(first, Outcome::Success { .. }));
    let second = adapter.topup(&topup("c16-b", "27821000016", dec!(20))).await;
    assert!(
        matches!(&second, Outcome::Failed { retryable: false, code: Some(c), message } if c == "16" && message.contains("5 minutes")),
        "{second:?}"
    );
    assert_eq!(sim.calls_for("c16-b"), 1);
}

#[tokio::test]
async fn code_1001_duplicate_reference_is_unknown_and_the_enquiry_finds_the_original() {
    let (adapter, sim) = setup().await;
    let request = topup("dup", "27821001001", dec!(30));
    let Outcome::Success { upstream_id, .. } = adapter.topup(&request).await else {
        panic!("first send succeeds")
    };
    let again = adapter.topup(&request).await;
    assert!(matches!(again, Outcome::Unknown { .. }), "{again:?}");
    let found = adapter.enquire(&request).await;
    assert!(
        matches!(&found, Enquiry::Known(Outcome::Success { upstream_id: id, .. }) if *id == upstream_id),
        "{found:?}"
    );
    assert_eq!(sim.calls_for("dup"), 2);
    assert_eq!(sim.balance(), dec!(100000) - dec!(28.35), "charged once");
}

#[tokio::test]
async fn codes_1004_1006_are_unknown_and_1002_pending_without_an_enquiry_of_their_own() {
    let (adapter, sim) = setup().await;
    sim.script(script(Some(3), Some(1002), Status::Pending));
    let o = adapter.topup(&topup("c1002", "27821001002", dec!(20))).await;
    assert!(matches!(o, Outcome::Pending { .. }), "{o:?}");
    sim.script(script(Some(1), Some(1004), Status::Successful));
    let c1004 = topup("c1004", "27821001004", dec!(20));
    let o = adapter.topup(&c1004).await;
    assert!(matches!(o, Outcome::Unknown { .. }), "{o:?}");
    sim.script(script(Some(1), Some(1006), Status::Failed));
    let c1006 = topup("c1006", "27821001006", dec!(20));
    let o = adapter.topup(&c1006).await;
    assert!(matches!(o, Outcome::Unknown { .. }), "{o:?}");
    assert_eq!(sim.enquiry_calls(), 0, "the purchase service makes the enquiry");
    assert!(matches!(
        adapter.enquire(&c1004).await,
        Enquiry::Known(Outcome::Success { .. })
    ));
    assert!(matches!(
        adapter.enquire(&c1006).await,
        Enquiry::Known(Outcome::Failed { retryable: false, .. })
    ));
}

#[tokio::test]
async fn enquiry_maps_status_ids_and_1005() {
    let (adapter, sim) = setup().await;
    let request = topup("enq", "27821002000", dec!(20));
    assert_eq!(adapter.enquire(&request).await, Enquiry::NotFound);
    assert!(adapter.not_found_is_final_after().is_some());
    adapter.topup(&request).await;
    for (id, expect) in [
        ("SUCCESSFUL", "success"),
        ("SUCCESS", "success"),
        ("FAILED", "failed"),
        ("CANCELLED", "failed"),
        ("PENDING", "pending"),
        ("WHATEVER", "unknown"),
    ] {
        sim.set_status_id("enq", id);
        let got = match adapter.enquire(&request).await {
            Enquiry::Known(Outcome::Success { .. }) => "success",
            Enquiry::Known(Outcome::Failed { retryable: false, .. }) => "failed",
            Enquiry::Known(Outcome::Pending { .. }) => "pending",
            Enquiry::Known(Outcome::Unknown { .. }) => "unknown",
            other => panic!("{other:?}"),
        };
        assert_eq!(got, expect, "{id}");
    }
}

#[tokio::test]
async fn timeout_is_unknown_and_the_enquiry_settles_it() {
    let (addr, sim) = simulator::spawn(Duration::ZERO).await.unwrap();
    let base = format!("http://{addr}");
    let adapter = adapter_for(&base, &base, Duration::from_millis(300));
    sim.set_fault(Fault::HangAfterProcessing(2 * SECOND));
    let request = topup("hang", "27821003000", dec!(20));
    let outcome = adapter.topup(&request).await;
    assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
    assert_eq!(sim.enquiry_calls(), 0);
    assert!(matches!(
        adapter.enquire(&request).await,
        Enquiry::Known(Outcome::Success { .. })
    ));
    assert_eq!(sim.calls_for("hang"), 1);
}

#[tokio::test]
async fn html_500_is_unknown_until_the_enquiry_answers() {
    let (adapter, sim) = setup().await;
    sim.set_fault(Fault::ServerErrorAfterProcessing);
    let after = topup("500-after", "27821004000", dec!(20));
    assert!(matches!(adapter.topup(&after).await, Outcome::Unknown { .. }));
    assert!(matches!(
        adapter.enquire(&after).await,
        Enquiry::Known(Outcome::Success { .. })
    ));
    sim.set_fault(Fault::ServerErrorBeforeProcessing);
    let before = topup("500-before", "27821004001", dec!(20));
    assert!(matches!(adapter.topup(&before).await, Outcome::Unknown { .. }));
    assert_eq!(adapter.enquire(&before).await, Enquiry::NotFound);
    assert_eq!(sim.calls_for("500-before"), 0);
}

#[tokio::test]
async fn refused_api1_moves_to_api2() {
    let (addr, sim) = simulator::spawn(Duration::ZERO).await.unwrap();
    let adapter = adapter_for(&refused_host(), &format!("http://{addr}"), 2 * SECOND);
    let outcome = adapter.topup(&topup("failover", "27821005000", dec!(20))).await;
    assert!(matches!(outcome, Outcome::Success { .. }), "{outcome:?}");
    assert_eq!((sim.calls_for("failover"), sim.login_calls()), (1, 1));
}

/// Issue 18.4: a 503 from a host that received the recharge is an unknown outcome. Nothing
/// goes to api2 until an enquiry has shown that api1 never took it; then the same
/// clientReference may go to api2 (and Smartcall would refuse it as a duplicate had api1
/// taken it after all).
#[tokio::test]
async fn api1_503_on_a_recharge_is_unknown_and_not_sent_to_api2_before_an_enquiry() {
    let sim = SimState::default();
    let (a1, host1) = simulator::serve(sim.clone()).await.unwrap();
    let (a2, host2) = simulator::serve(sim.clone()).await.unwrap();
    let adapter = adapter_for(&format!("http://{a1}"), &format!("http://{a2}"), 2 * SECOND);
    assert!(adapter.balance().await.is_ok(), "logged in on api1");
    host1.set_unavailable(true);
    let request = topup("503", "27821005001", dec!(20));
    let outcome = adapter.topup(&request).await;
    assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
    assert_eq!((host2.requests(), sim.received()), (0, 0), "no recharge anywhere else");
    // The enquiry goes to the host that answers; it never arrived.
    assert_eq!(adapter.enquire(&request).await, Enquiry::NotFound);
    assert_eq!(host2.requests(), 1);
    let again = adapter.topup(&request).await;
    assert!(matches!(again, Outcome::Success { .. }), "{again:?}");
    assert_eq!(sim.calls_for("503"), 1);
    assert_eq!(host2.requests(), 2);
}

/// A host that answers 503 to a login (down for maintenance) is left for the other one,
/// so the recharges that follow go there first.
#[tokio::test]
async fn api1_down_at_login_sends_everything_to_api2() {
    let sim = SimState::default();
    let (a1, host1) = simulator::serve(sim.clone()).await.unwrap();
    let (a2, host2) = simulator::serve(sim.clone()).await.unwrap();
    host1.set_unavailable(true);
    let adapter = adapter_for(&format!("http://{a1}"), &format!("http://{a2}"), 2 * SECOND);
    let outcome = adapter.topup(&topup("down", "27821005004", dec!(20))).await;
    assert!(matches!(outcome, Outcome::Success { .. }), "{outcome:?}");
    assert_eq!(host1.requests(), 1, "only the login tried api1");
    assert_eq!((host2.requests(), sim.calls_for("down")), (2, 1));
}

#[tokio::test]
async fn unknown_outcome_on_api1_is_never_resent_to_api2() {
    let sim = SimState::default();
    let (a1, _) = simulator::serve(sim.clone()).await.unwrap();
    let (a2, host2) = simulator::serve(sim.clone()).await.unwrap();
    let adapter = adapter_for(
        &format!("http://{a1}"),
        &format!("http://{a2}"),
        Duration::from_millis(300),
    );
    sim.set_fault(Fault::ServerErrorAfterProcessing);
    let o = adapter.topup(&topup("500-api1", "27821005002", dec!(20))).await;
    assert!(matches!(o, Outcome::Unknown { .. }), "{o:?}");
    sim.set_fault(Fault::HangAfterProcessing(2 * SECOND));
    let o = adapter.topup(&topup("hang-api1", "27821005003", dec!(20))).await;
    assert!(matches!(o, Outcome::Unknown { .. }), "{o:?}");
    assert_eq!(host2.requests(), 0);
    assert_eq!((sim.calls_for("500-api1"), sim.calls_for("hang-api1")), (1, 1));
}

#[tokio::test]
async fn r17_network_down_is_unknown_until_the_enquiry_says_failed() {
    let sim = SimState::default();
    let (a1, _) = simulator::serve(sim.clone()).await.unwrap();
    let (a2, host2) = simulator::serve(sim.clone()).await.unwrap();
    let adapter = adapter_for(&format!("http://{a1}"), &format!("http://{a2}"), 2 * SECOND);
    let request = topup("r17", "27821005017", dec!(17));
    let outcome = adapter.topup(&request).await;
    // A 503 after api1 took it: not re-sent to api2.
    assert!(matches!(outcome, Outcome::Unknown { .. }), "{outcome:?}");
    assert_eq!((sim.calls_for("r17"), host2.requests()), (1, 0));
    assert!(matches!(
        adapter.enquire(&request).await,
        Enquiry::Known(Outcome::Failed { retryable: false, .. })
    ));
}

#[tokio::test]
async fn twenty_concurrent_recharges_share_one_login() {
    let (addr, sim) = simulator::spawn(Duration::from_millis(50)).await.unwrap();
    let base = format!("http://{addr}");
    let adapter = Arc::new(adapter_for(&base, &base, 2 * SECOND));
    let run = |round: u32| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let adapter = adapter.clone();
                tokio::spawn(async move {
                    let t = topup(&format!("c{round}-{i}"), &format!("278220{round}{i:04}"), dec!(20));
                    adapter.topup(&t).await
                })
            })
            .collect();
        futures::future::join_all(handles)
    };
    for outcome in run(1).await {
        assert!(matches!(outcome.unwrap(), Outcome::Success { .. }));
    }
    assert_eq!(sim.login_calls(), 1);
    // Tokens expire mid-run: every caller gets a 401, exactly one logs in again.
    sim.expire_tokens();
    for outcome in run(2).await {
        assert!(matches!(outcome.unwrap(), Outcome::Success { .. }));
    }
    assert_eq!(sim.login_calls(), 2);
    assert!(sim.rejected_tokens() >= 1);
    assert_eq!(sim.recharge_calls(), 40, "a 401 is not a processed recharge");
}

#[tokio::test]
async fn token_is_refreshed_before_it_expires() {
    let (adapter, sim) = setup().await;
    sim.set_token_ttl(SECOND);
    adapter.topup(&topup("ttl-1", "27821006001", dec!(20))).await;
    // Refresh is due a tenth of the lifetime before expiry.
    tokio::time::sleep(Duration::from_millis(950)).await;
    adapter.topup(&topup("ttl-2", "27821006002", dec!(20))).await;
    assert_eq!((sim.login_calls(), sim.rejected_tokens()), (2, 0));
}

/// Issue 18.7: a login whose `expiresAt` is already past (or absent) must not make every
/// call log in again: the token is used until Smartcall refuses it, then replaced once.
#[tokio::test]
async fn token_with_a_past_or_missing_expiry_is_reused_until_refused() {
    for (round, reported) in [ReportedExpiry::Past, ReportedExpiry::Missing].into_iter().enumerate() {
        let (adapter, sim) = setup().await;
        sim.set_reported_expiry(reported);
        for i in 0..120 {
            let t = topup(&format!("reuse-{i}"), &format!("2782400{round}{i:03}"), dec!(20));
            assert!(
                matches!(adapter.topup(&t).await, Outcome::Success { .. }),
                "{reported:?} {i}"
            );
        }
        assert_eq!(sim.login_calls(), 1, "{reported:?}: one token for 120 recharges");
        sim.expire_tokens();
        let t = topup(&format!("reuse-after-{round}"), &format!("2782410{round}000"), dec!(20));
        assert!(
            matches!(adapter.topup(&t).await, Outcome::Success { .. }),
            "{reported:?}"
        );
        assert_eq!((sim.login_calls(), sim.rejected_tokens()), (2, 1), "{reported:?}");
        assert_eq!(sim.recharge_calls(), 121);
    }
}

#[tokio::test]
async fn session_limit_flushes_and_logs_in_again() {
    let (adapter, sim) = setup().await;
    sim.set_token_limit(1);
    sim.issue_token();
    let outcome = adapter.topup(&topup("limit", "27821007000", dec!(20))).await;
    assert!(matches!(outcome, Outcome::Success { .. }), "{outcome:?}");
    assert_eq!((sim.login_calls(), sim.live_tokens()), (2, 1));
}

#[tokio::test]
async fn invalidate_token_gives_it_back() {
    let (adapter, sim) = setup().await;
    adapter.topup(&topup("inv", "27821008000", dec!(20))).await;
    assert_eq!(sim.live_tokens(), 1);
    adapter.invalidate_token().await;
    assert_eq!(sim.live_tokens(), 0);
    adapter.topup(&topup("inv-2", "27821008001", dec!(20))).await;
    assert_eq!(sim.login_calls(), 2);
}

/// A session shared through the database (as start-up wires it): the login lease of an
/// instance that died logging in lapses (the next instance waits for it, then logs in),
/// and a stored token sealed under other credentials (the password changed) is
/// replaced, not used.
#[tokio::test]
async fn a_dead_instances_login_lease_lapses_and_a_token_sealed_with_other_credentials_is_replaced() {
    use recarga::domain::upstream_session::SessionStore;
    use recarga::store::upstream_sessions::PgSessions;

    let url = common::fresh_database_url().await;
    let pool = recarga::store::connect(&url, 4, SECOND * 5).await.unwrap();
    let store: Arc<dyn SessionStore> = Arc::new(PgSessions::new(pool));
    let (addr, sim) = simulator::spawn(Duration::ZERO).await.unwrap();
    let base = format!("http://{addr}");
    // A one-second timeout: a login lease of two seconds.
    let adapter = |password| adapter_with_password(&base, &base, SECOND, password).sharing_session(Arc::clone(&store));

    // An instance took the lease on the first login for one second, and died.
    assert!(store.claim_login("smartcall", 0, SECOND).await.unwrap());
    let started = std::time::Instant::now();
    let outcome = adapter("old password")
        .topup(&topup("lease-1", "27821110001", dec!(20)))
        .await;
    assert!(matches!(outcome, Outcome::Success { .. }), "{outcome:?}");
    assert!(started.elapsed() >= SECOND * 9 / 10, "waited for the lease");
    assert_eq!(sim.login_calls(), 1);

    // Another instance with a new password cannot open the stored token: it logs in.
    let outcome = adapter("new password")
        .topup(&topup("sealed-1", "27821110002", dec!(20)))
        .await;
    assert!(matches!(outcome, Outcome::Success { .. }), "{outcome:?}");
    assert_eq!(sim.login_calls(), 2);
    assert_eq!(store.current("smartcall").await.unwrap().generation, 2);
}

#[tokio::test]
async fn refused_login_sends_nothing() {
    let (adapter, sim) = setup().await;
    sim.set_credentials("user", "other");
    let outcome = adapter.topup(&topup("nologin", "27821009000", dec!(20))).await;
    assert!(
        matches!(&outcome, Outcome::Failed { retryable: true, message, .. } if message.contains("Invalid password")),
        "{outcome:?}"
    );
    assert!(!format!("{outcome:?}").contains("secret"));
    assert_eq!(sim.recharge_calls(), 0);
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    let (adapter, sim) = setup().await;
    let o = adapter.topup(&topup("badphone", "5512345678", dec!(20))).await;
    assert!(matches!(o, Outcome::Failed { retryable: false, .. }), "{o:?}");
    let mut t = topup("badproduct", "27821009001", dec!(20));
    t.upstream_product = "VOD-AIR".into();
    assert!(matches!(
        adapter.topup(&t).await,
        Outcome::Failed { retryable: true, .. }
    ));
    assert_eq!(sim.recharge_calls(), 0);
}

#[tokio::test]
async fn product_list_maps_quirks_and_honours_etags() {
    let (adapter, sim) = setup().await;
    let CatalogFetch::Products { etag, products, .. } = adapter.fetch_products(None).await.unwrap() else {
        panic!("first fetch has products")
    };
    let etag = etag.expect("ETag header");
    let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ZA_CELL_C_189",
            "ZA_CELL_C_3101",
            "ZA_CELL_C_3200",
            "ZA_CELL_C_3201",
            "ZA_CELL_C_3202",
            "ZA_CELL_C_3203",
            "ZA_CELL_C_3204",
            "ZA_CELL_C_3205",
            "ZA_CELL_C_3206",
            "ZA_CELL_C_3207",
            "ZA_CELL_C_3208",
            "ZA_CELL_C_3209",
            "ZA_MTN_2101",
            "ZA_MTN_63",
            "ZA_TELKOM_MOBILE_24",
            "ZA_TELKOM_MOBILE_9101",
            "ZA_VODACOM_1101",
            "ZA_VODACOM_1102",
            "ZA_VODACOM_62"
        ],
        "no SMS, voucher, electricity, null-code or Mozambican products, each once"
    );
    let airtime = products.iter().find(|p| p.id == "ZA_VODACOM_62").unwrap();
    assert_eq!(
        (airtime.kind, airtime.min_amount, airtime.max_amount),
        (ProductKind::Airtime, Some(dec!(2)), Some(dec!(1000)))
    );
    let data = products.iter().find(|p| p.id == "ZA_CELL_C_3101").unwrap();
    assert_eq!(
        (data.kind, data.fixed_amount, data.operator.as_str()),
        (ProductKind::Data, Some(dec!(49)), "CELL C")
    );
    assert_eq!(data.routes[0].product, "3101");
    assert!(Catalog::new(products.clone(), recarga::startup::KNOWN_UPSTREAMS).is_ok());

    assert!(matches!(
        adapter.fetch_products(Some(&etag)).await.unwrap(),
        CatalogFetch::NotModified
    ));
    sim.bump_catalog();
    let CatalogFetch::Products {
        etag: new, products, ..
    } = adapter.fetch_products(Some(&etag)).await.unwrap()
    else {
        panic!("changed list is sent again")
    };
    assert_ne!(new.as_deref(), Some(etag.as_str()));
    assert_eq!(products.len(), ids.len() + 1, "one more bundle");
}

#[tokio::test]
async fn sim_network_reports_the_current_operator() {
    let (adapter, sim) = setup().await;
    assert_eq!(adapter.sim_network("083 123 4567").await.as_deref(), Ok("MTN"));
    sim.set_sim_network("27831234567", "Telkom Mobile", true);
    assert_eq!(
        adapter.sim_network("+27831234567").await.as_deref(),
        Ok("TELKOM MOBILE")
    );
    assert!(adapter.sim_network("27991234567").await.is_err());
    assert!(adapter.sim_network("5512345678").await.is_err());
}

#[tokio::test]
async fn health_reports_the_float_against_the_threshold() {
    let (adapter, sim) = setup().await;
    let health = adapter.health().await;
    assert_eq!(
        (health.up, health.float, health.float_low),
        (true, Some(dec!(100000)), false)
    );
    sim.set_balance(dec!(999.99));
    let health = adapter.health().await;
    assert_eq!((health.float, health.float_low), (Some(dec!(999.99)), true));
    // Neither host reachable: down, with the reason.
    let adapter2 = adapter_for(&refused_host(), &refused_host(), SECOND);
    let health = adapter2.health().await;
    assert!(!health.up && health.detail.is_some());
}
