//! The connections themselves: a client that sends part of a request and stalls is cut
//! off after `server.header_read_timeout_secs`, while normal and pipelined requests
//! are served; a shutdown lets the request in flight finish, then stops serving.

mod common;

use common::{test_settings, TestApp};
use recarga::domain::clock::SystemClock;
use recarga::startup::Application;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Everything the server sends until it closes the connection (within `bound`, so a
/// server that never closes fails the test instead of hanging it).
async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> String {
    let mut received = Vec::new();
    tokio::time::timeout(bound, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .expect("reading from the server");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_stalled_request_is_cut_off_and_others_are_served() {
    let app = TestApp::spawn_with(|s| s.server.header_read_timeout_secs = 1, None).await;
    let addr = app.base.trim_start_matches("http://").to_string();

    // Half a request line, then nothing: the connection is closed (or answered 408).
    let mut stalled = TcpStream::connect(&addr).await.unwrap();
    stalled.write_all(b"GET /health/li").await.unwrap();
    // Bounded well under the default timeout (10 s): the configured 1 s is what cuts it.
    let answer = read_until_closed(&mut stalled, Duration::from_secs(8)).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "stalled client got: {answer}"
    );

    // Two requests in one write on a keep-alive connection: both answered, in order.
    let mut pipelined = TcpStream::connect(&addr).await.unwrap();
    pipelined
        .write_all(
            b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\nGET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let answers = read_until_closed(&mut pipelined, Duration::from_secs(30)).await;
    assert_eq!(answers.matches("HTTP/1.1 200").count(), 2, "{answers}");
    let (live, ready) = (answers.find("\"ok\"").unwrap(), answers.find("\"ready\"").unwrap());
    assert!(live < ready, "answered in order: {answers}");

    // The usual client, over a fresh connection, is served too.
    let response = app.client.get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish() {
    let settings = test_settings().await;
    let app = Application::build(settings.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    let latcom = app.simulators.latcom.clone().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let drain = common::create_customer(&settings, "DRAIN_1", "100", |_| {}).await;
    let client = reqwest::Client::new();
    // Delivered, answered by the simulator after 1 s (the 77OD numbers).
    let in_flight = tokio::spawn(
        client
            .post(format!("{base}/api/enviadespensa/topup"))
            .header("x-api-key", &drain.api_key)
            .header("x-customer-id", "DRAIN_1")
            .json(&json!({"phone": "5512347701", "amount": 50}))
            .send(),
    );
    while latcom.received() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();

    let response = in_flight.await.unwrap().expect("the request in flight is answered");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["transaction"]["status"], "SUCCESS", "{body}");
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the server stops once the request is answered")
        .unwrap()
        .unwrap();
    let after = reqwest::Client::new().get(format!("{base}/health/live")).send().await;
    assert!(after.is_err(), "nothing is served after shutdown");
}
