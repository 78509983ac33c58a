//! `--ca-cert` and `--proxy`: the network settings of every command that talks to a server,
//! read once from the flags (or their environment variables) and used by every HTTP client
//! the command builds. The proxy password never comes from a flag (it would show in `ps`):
//! from `TWAKE_UPLOADER_PROXY_PASSWORD`, else the OS keyring where the app saved it.

use std::path::PathBuf;
use std::sync::OnceLock;
use upload_engine::targets::network::{self, ManualProxy, NetworkSettings};
use upload_engine::targets::twake::secret::Secret;

static SETTINGS: OnceLock<NetworkSettings> = OnceLock::new();

/// The flags, as parsed by clap.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct NetworkFlags {
    /// A PEM file of certificate authorities to trust beside the system's (a company or
    /// self-signed authority).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "TWAKE_UPLOADER_CA_CERT"
    )]
    ca_cert: Option<PathBuf>,
    /// A proxy for every request, http://host:port, instead of HTTPS_PROXY / HTTP_PROXY /
    /// ALL_PROXY (NO_PROXY still applies).
    #[arg(long, global = true, value_name = "URL", env = "TWAKE_UPLOADER_PROXY")]
    proxy: Option<String>,
    /// The proxy's user name; the password is TWAKE_UPLOADER_PROXY_PASSWORD, or the one the
    /// app saved in the keyring.
    #[arg(
        long,
        global = true,
        value_name = "USER",
        env = "TWAKE_UPLOADER_PROXY_USER"
    )]
    proxy_user: Option<String>,
}

/// Checks the flags and keeps them for the whole command.
pub fn init(flags: NetworkFlags) -> anyhow::Result<()> {
    let proxy = flags.proxy.filter(|p| !p.trim().is_empty()).map(|url| {
        let user = flags.proxy_user.filter(|u| !u.is_empty());
        let password = match std::env::var("TWAKE_UPLOADER_PROXY_PASSWORD") {
            Ok(password) => Some(Secret::new(password)),
            Err(_) => user
                .as_deref()
                .and_then(|user| network::load_proxy_password(&url, user)),
        };
        ManualProxy {
            url,
            user,
            password,
        }
    });
    let settings = NetworkSettings {
        ca_file: flags.ca_cert,
        proxy,
    };
    settings.check()?;
    let _ = SETTINGS.set(settings);
    Ok(())
}

/// The settings every HTTP client of this command uses.
pub fn settings() -> NetworkSettings {
    SETTINGS.get().cloned().unwrap_or_default()
}
