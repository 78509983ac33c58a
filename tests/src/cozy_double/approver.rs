//! A stand-in for the person at the browser, for engine tests: given the authorize URL, it
//! loads the double's page over HTTP, fills the form's fields as the page gives them (and
//! the passphrase), submits it, and follows the 302 to the uploader's loopback listener, as
//! a browser would. (The app's end-to-end test does the same in a real Chromium.)

use std::sync::{Arc, Mutex};
use upload_engine::accounts::browser::{BrowserError, BrowserOpener};

/// The values of the `<input>`s of a page, by name (enough for the double's own page).
pub fn form_fields(page: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let start = tag.find(&key)? + key.len();
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    };
    page.split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default()))
        })
        .collect()
}

/// Approves (or declines) the double's authorize page.
#[derive(Clone)]
pub struct Approver {
    pub passphrase: String,
    /// Every URL it was asked to open.
    pub opened: Arc<Mutex<Vec<String>>>,
    /// Where the approval ended: the loopback page's text, or what went wrong.
    pub outcome: Arc<Mutex<Option<String>>>,
}

impl Approver {
    pub fn new(passphrase: &str) -> Approver {
        Approver {
            passphrase: passphrase.into(),
            opened: Arc::default(),
            outcome: Arc::default(),
        }
    }

    /// The whole approval, for a URL: the page the loopback listener shows in the end.
    pub async fn approve(url: String, passphrase: String) -> Result<String, String> {
        let location = Approver::redirect_for(&url, &passphrase).await?;
        let landed = reqwest::get(&location).await.map_err(|e| e.to_string())?;
        landed.text().await.map_err(|e| e.to_string())
    }

    /// The approval up to the address the instance sends the browser back to, not followed
    /// (what a person on a machine without a browser pastes back).
    pub async fn redirect_for(url: &str, passphrase: &str) -> Result<String, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let page = http.get(url).send().await.map_err(|e| e.to_string())?;
        let origin = page.url().origin().ascii_serialization();
        let page = page.text().await.map_err(|e| e.to_string())?;
        let mut fields = form_fields(&page);
        for (name, value) in fields.iter_mut() {
            if name == "passphrase" {
                *value = passphrase.to_string();
            }
        }
        let answer = http
            .post(format!("{origin}/auth/authorize"))
            .form(&fields)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(String::from)
            .ok_or_else(|| format!("no redirect after approving ({})", answer.status()))
    }
}

impl BrowserOpener for Approver {
    fn open(&self, url: &str) -> Result<(), BrowserError> {
        if let Ok(mut o) = self.opened.lock() {
            o.push(url.to_string());
        }
        let (url, passphrase, outcome) = (
            url.to_string(),
            self.passphrase.clone(),
            self.outcome.clone(),
        );
        tokio::runtime::Handle::current().spawn(async move {
            let result = Approver::approve(url, passphrase).await;
            if let Ok(mut o) = outcome.lock() {
                *o = Some(result.unwrap_or_else(|e| format!("error: {e}")));
            }
        });
        Ok(())
    }
}
