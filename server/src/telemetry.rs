//! Logs and spans. JSON lines when LOG_FORMAT=json (production), readable text otherwise.

use crate::config::LogFormat;
use tracing_subscriber::{fmt, EnvFilter};

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn,fred=warn"));
    let builder = fmt().with_env_filter(filter).with_target(true);
    // try_init: tests start several servers in one process.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
