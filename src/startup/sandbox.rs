//! `recarga sandbox`: every simulator in one process, for several sandbox instances of
//! `recarga serve` to share (`sandbox.simulators_url`).

use crate::config::Settings;

/// Serve the simulators and their control API on `sandbox.listen` until `shutdown`.
#[cfg(feature = "sandbox")]
pub async fn run(
    settings: &Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use crate::sandbox::standalone::Sandbox;
    use anyhow::Context;
    let listen = &settings.sandbox.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let sandbox = Sandbox::new(&settings.sandbox, settings.providers.latcom.enquire_by_dist_transid);
    let addr = listener.local_addr()?;
    tracing::warn!(%addr, "SANDBOX SIMULATORS: LATCOM, Smartcall, DataMart and Evolution, simulated; no real top-ups");
    axum::serve(listener, sandbox.router())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// A production build has no simulators to serve.
#[cfg(not(feature = "sandbox"))]
pub async fn run(_: &Settings, _: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    anyhow::bail!("recarga was built without the sandbox feature: it has no simulators to serve")
}
