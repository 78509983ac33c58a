//! The double's "remote console" mode: the Twake Drive backend configured with an OpenID
//! provider (`console.type: remote`). As the real server does, it tells the web client which
//! provider and client id to use (`GET /internal/services/general/v1/server`), and its sign-in
//! route takes `{"oidc_id_token": …}`: the token must be an RS256 JWT signed by a key of the
//! provider's JWKS (fetched from the configured `jwks_uri`), with the client id in `aud`, not
//! expired, and with a `sid` claim; the issuer is not compared (the real verifier has that check
//! commented out). A user the server has not seen is created at sign-in from the token's
//! `email`, in the one company remote mode knows. Password sign-in finds no local password for
//! such users.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

/// The company every user of a remote-console server belongs to.
pub const REMOTE_COMPANY: (&str, &str) = ("00000000-0000-4000-0000-000000000000", "Tdrive");

/// How the double's console signs people in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConsoleMode {
    /// Email and password kept by the server itself (the default).
    #[default]
    Internal,
    /// An OpenID provider: `authority` is what the web client is told, `jwks_uri` where the
    /// server fetches the keys that sign the tokens.
    Remote {
        authority: String,
        client_id: String,
        jwks_uri: String,
    },
}

/// The answer of `GET /internal/services/general/v1/server` (no sign-in needed). The real
/// server picks these fields from its configuration; its defaults fill the remote part even in
/// internal mode.
pub fn server_info(mode: &ConsoleMode) -> Value {
    let (kind, authority, client_id) = match mode {
        ConsoleMode::Internal => ("internal", "http://auth.example.com/", "tdriveweb"),
        ConsoleMode::Remote {
            authority,
            client_id,
            ..
        } => ("remote", authority.as_str(), client_id.as_str()),
    };
    json!({
        "status": "ready",
        "version": {"current": "2024.1.0", "minimal": {"web": "2024.1.0", "mobile": "2024.1.0"}},
        "configuration": {
            "help_url": false,
            "pricing_plan_url": "",
            "app_download_url": "https://twake.app/download",
            "mobile": {},
            "app_grid": [],
            "accounts": {
                "type": kind,
                "remote": {
                    "authority": authority,
                    "client_id": client_id,
                    "account_management_url": "",
                    "company_management_url": "",
                    "collaborators_management_url": "",
                },
                "internal": {"disable_account_creation": false},
            },
        },
    })
}

/// Why a token was refused, with the status the real server answers.
#[derive(Debug)]
pub struct Refusal {
    /// 400 for a token without `sid`, 500 for what the JWT verifier throws (the controller
    /// does not catch it).
    pub status: u16,
    pub message: String,
}

fn refused(status: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// The claims of `token` once its signature, audience and lifetime are checked.
pub async fn verify(
    token: &str,
    client_id: &str,
    jwks_uri: &str,
    now: i64,
) -> Result<Value, Refusal> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(refused(500, "Jwt cannot be parsed"));
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| refused(500, "Jwt cannot be parsed"))
    };
    let head: Value = serde_json::from_slice(&decode(header)?)
        .map_err(|_| refused(500, "Jwt cannot be parsed"))?;
    if head["alg"] != "RS256" {
        return Err(refused(500, "Unexpected signature algorithm"));
    }
    let kid = head["kid"]
        .as_str()
        .ok_or_else(|| refused(500, "No KID specified"))?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| refused(500, e.to_string()))?;
    let keys: Value = client
        .get(jwks_uri)
        .send()
        .await
        .map_err(|e| refused(500, format!("Unable to fetch the signing keys: {e}")))?
        .json()
        .await
        .map_err(|e| refused(500, format!("Unable to read the signing keys: {e}")))?;
    let key = keys["keys"]
        .as_array()
        .and_then(|ks| ks.iter().find(|k| k["kid"] == kid))
        .ok_or_else(|| {
            refused(
                500,
                format!("Unable to find a signing key that matches '{kid}'"),
            )
        })?;
    let component = |name: &str| {
        key[name]
            .as_str()
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or_else(|| refused(500, "Signing key is not an RSA key"))
    };
    let public = ring::signature::RsaPublicKeyComponents {
        n: component("n")?,
        e: component("e")?,
    };
    public
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            format!("{header}.{payload}").as_bytes(),
            &decode(signature)?,
        )
        .map_err(|_| refused(500, "Signature verification failed"))?;
    let claims: Value = serde_json::from_slice(&decode(payload)?)
        .map_err(|_| refused(500, "Jwt cannot be parsed"))?;
    if claims["exp"].as_i64().is_some_and(|exp| exp <= now) {
        return Err(refused(500, "Jwt is expired"));
    }
    let audience_ok = match &claims["aud"] {
        Value::String(a) => a == client_id,
        Value::Array(list) => list.iter().any(|a| a == client_id),
        _ => false,
    };
    if !audience_ok {
        return Err(refused(
            500,
            format!(
                "audience claim {} does not match expected audience: {client_id}",
                claims["aud"]
            ),
        ));
    }
    if claims["sid"].as_str().is_none_or(str::is_empty) {
        return Err(refused(400, "Missing sid claim"));
    }
    Ok(claims)
}
