//! Which template text a message uses: the instance's own file, else the server-wide
//! override, else the built-in default (templates/notifications/README.md).

use super::NotifyError;
use crate::domain::notification::template::default_template;
use crate::domain::notification::MessageType;
use std::path::Path;
use uuid::Uuid;

pub async fn load(dir: &Path, instance_id: Uuid, kind: MessageType) -> Result<String, NotifyError> {
    let file = format!("{kind}.txt");
    let candidates = [
        dir.join("instances").join(instance_id.to_string()).join(&file),
        dir.join(&file),
    ];
    for path in candidates {
        match tokio::fs::read_to_string(&path).await {
            Ok(text) => return Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(NotifyError::Template(path, e)),
        }
    }
    Ok(default_template(kind).to_string())
}
