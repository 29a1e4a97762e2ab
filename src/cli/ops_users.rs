//! `recarga ops-user create --email …`: an ops user for /dashboard. The password is
//! generated, printed once, and only its argon2 hash is stored.

use crate::domain::password;
use crate::store::ops_users;
use anyhow::bail;
use clap::Subcommand;
use serde_json::{json, Value};
use sqlx::PgPool;

#[derive(Subcommand)]
pub enum OpsUserCommand {
    /// Create an ops user; prints the generated password once (only its hash is stored).
    Create {
        /// Login name at /dashboard/login; recorded with every action the user takes.
        #[arg(long)]
        email: String,
    },
}

pub async fn run(pool: &PgPool, command: OpsUserCommand) -> anyhow::Result<Value> {
    match command {
        OpsUserCommand::Create { email } => {
            let email = email.trim().to_string();
            if email.len() > 254
                || !email
                    .split_once('@')
                    .is_some_and(|(u, d)| !u.is_empty() && d.contains('.'))
            {
                bail!("--email must be an email address");
            }
            let password = password::generate();
            let hash = password::hash(&password).map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
            let Some(id) = ops_users::create(pool, &email, &hash).await? else {
                bail!("an ops user with email {email:?} exists already");
            };
            Ok(json!({"id": id, "email": email, "password": password,
                      "note": "the password is shown once; only its argon2 hash is stored"}))
        }
    }
}
