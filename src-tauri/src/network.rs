//! The Settings fields "Extra certificate authority (file)" and "Proxy": checked when saved,
//! turned into the engine's network settings at start, and the proxy password kept in the
//! OS keyring (never in `settings.json`, never sent back to the window).

use crate::ipc::UserError;
use crate::settings::AppSettings;
use upload_engine::targets::network::{self, ManualProxy, NetworkError, NetworkSettings};
use upload_engine::targets::twake::secret::Secret;

/// The settings' own part: the authority file and the proxy, without its password.
fn from_fields(settings: &AppSettings) -> NetworkSettings {
    let url = settings.proxy_url.trim();
    let user = settings.proxy_user.trim();
    NetworkSettings {
        ca_file: Some(settings.ca_file.trim())
            .filter(|f| !f.is_empty())
            .map(Into::into),
        proxy: (!url.is_empty()).then(|| ManualProxy {
            url: url.to_string(),
            user: (!user.is_empty()).then(|| user.to_string()),
            password: None,
        }),
    }
}

/// The engine's network settings from the app's, with the saved proxy password. Blocking
/// (the keyring).
pub fn engine_settings(settings: &AppSettings) -> NetworkSettings {
    let mut network = from_fields(settings);
    if let Some(proxy) = network.proxy.as_mut() {
        if let Some(user) = &proxy.user {
            proxy.password = network::load_proxy_password(&proxy.url, user);
        }
    }
    network
}

/// Refuses a certificate file or proxy address that cannot be used, naming the field.
pub fn check(settings: &AppSettings) -> Result<(), UserError> {
    from_fields(settings).check().map_err(|e| match e {
        NetworkError::CaFile { path, reason } => UserError::new(
            format!(
                "The extra certificate authority file {} cannot be used: {reason}.",
                path.display()
            ),
            "Choose the PEM file your administrator gave you (it holds \
             -----BEGIN CERTIFICATE----- lines), or empty the field.",
        )
        .on_field("ca_file"),
        NetworkError::Proxy { url, reason } => UserError::new(
            format!("The proxy address {url} cannot be used: {reason}."),
            "Type it as http://host:port; the user name and password have their own fields.",
        )
        .on_field("proxy_url"),
        NetworkError::Client(reason) => UserError::new(
            format!("The network settings cannot be used: {reason}."),
            "Check the certificate file and the proxy address.",
        ),
    })
}

/// Keeps the proxy password typed in Settings in the OS keyring; an empty one forgets it.
#[tauri::command]
pub async fn save_proxy_password(
    url: String,
    user: String,
    password: String,
) -> Result<(), UserError> {
    let (url, user) = (url.trim().to_string(), user.trim().to_string());
    tauri::async_runtime::spawn_blocking(move || {
        if password.is_empty() {
            network::delete_proxy_password(&url, &user);
            return Ok(());
        }
        network::save_proxy_password(&url, &user, &Secret::new(password)).map_err(|why| {
            UserError::new(
                format!("The proxy password could not be saved: {why}."),
                "Without a keyring, put the proxy in HTTPS_PROXY (http://user:password@host:port) \
                 before starting Twake Uploader.",
            )
            .on_field("proxy_password")
        })
    })
    .await
    .map_err(|e| UserError::new(format!("Internal error: {e}"), "Try again."))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_saved_before_these_fields_load_without_authority_or_proxy() {
        let old: AppSettings = serde_json::from_str(r#"{"parallel_chunks": 4}"#).unwrap();
        assert_eq!(old.parallel_chunks, 4);
        assert_eq!(engine_settings(&old), NetworkSettings::default());
        assert!(check(&old).is_ok());
    }

    #[test]
    fn a_file_or_proxy_that_cannot_be_used_is_refused_on_its_field() {
        let missing = AppSettings {
            ca_file: "/nonexistent/company.pem".into(),
            ..AppSettings::default()
        };
        let e = check(&missing).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("ca_file"));
        assert!(
            e.message.contains("/nonexistent/company.pem"),
            "{}",
            e.message
        );
        let with_password = AppSettings {
            proxy_url: "http://bob:pw@proxy:3128".into(),
            ..AppSettings::default()
        };
        let e = check(&with_password).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("proxy_url"));
        assert!(!e.message.contains("pw@"), "{}", e.message);
    }
}
