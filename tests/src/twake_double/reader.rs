//! Reads uploads back from a Twake Drive server through its API, as a person would check
//! them: walk the Drive tree by name, then download the item's current version.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// A signed-in reader of one account's Drive.
#[derive(Clone)]
pub struct DriveReader {
    pub base: String,
    pub token: String,
    pub company_id: String,
    pub user_id: String,
    client: reqwest::Client,
}

impl DriveReader {
    /// Signs in with email and password.
    pub async fn login(base: &str, email: &str, password: &str) -> DriveReader {
        let client = reqwest::Client::new();
        let answer: Value = client
            .post(format!("{base}/internal/services/console/v1/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login request")
            .json()
            .await
            .expect("login answer");
        let token = answer["access_token"]["value"]
            .as_str()
            .expect("access token")
            .to_string();
        let me: Value = client
            .get(format!("{base}/internal/services/users/v1/users/me"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("users/me")
            .json()
            .await
            .expect("users/me answer");
        DriveReader {
            base: base.to_string(),
            token,
            company_id: me["resource"]["companies"][0]["company"]["id"]
                .as_str()
                .expect("company id")
                .to_string(),
            user_id: me["resource"]["id"].as_str().expect("user id").to_string(),
            client,
        }
    }

    async fn get(&self, path: &str) -> Option<reqwest::Response> {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .ok()?;
        resp.status().is_success().then_some(resp)
    }

    /// The file id of the current version of the Drive file at `rel` under My Drive.
    pub async fn file_id(&self, rel: &str) -> Option<String> {
        let mut id = format!("user_{}", self.user_id);
        let mut item = Value::Null;
        for name in rel.split('/').filter(|s| !s.is_empty()) {
            let path = format!(
                "/internal/services/documents/v1/companies/{}/item/{id}",
                self.company_id
            );
            let details: Value = self.get(&path).await?.json().await.ok()?;
            item = details["children"]
                .as_array()?
                .iter()
                .find(|c| c["name"] == name)?
                .clone();
            id = item["id"].as_str()?.to_string();
        }
        item["last_version_cache"]["file_metadata"]["external_id"]
            .as_str()
            .map(str::to_string)
    }

    /// sha256 of the Drive file at `rel`, downloaded through the API.
    pub async fn sha256(&self, rel: &str) -> Option<String> {
        let file_id = self.file_id(rel).await?;
        let path = format!(
            "/internal/services/files/v1/companies/{}/files/{file_id}/download",
            self.company_id
        );
        let mut resp = self.get(&path).await?;
        let mut h = Sha256::new();
        while let Some(piece) = resp.chunk().await.ok()? {
            h.update(&piece);
        }
        Some(hex::encode(h.finalize()))
    }

    /// Like `sha256`, from sync code running on a multi-threaded tokio runtime.
    pub fn sha256_blocking(&self, rel: &str) -> Option<String> {
        tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(self.sha256(rel)))
    }
}
