//! `twake-upload login ADDRESS` for a Twake Drive on cozy-stack: the sign-in happens in the
//! browser. The command prints the address to open, opens the browser unless
//! `--no-browser`, and waits for the instance to send the browser back; on a machine with
//! no browser the person opens the address elsewhere and pastes the address the browser
//! ended on (it cannot load there) on stdin.

use crate::twake::{accounts, hinted};
use std::io::BufRead;
use std::sync::Arc;
use upload_engine::accounts::browser::{BrowserOpener, NoBrowser, SystemBrowser};
use upload_engine::accounts::{BrowserSignIn, SignIn};

pub async fn login(address: &str, no_browser: bool) -> anyhow::Result<()> {
    let accounts = accounts()?;
    let opener: Arc<dyn BrowserOpener> = if no_browser {
        Arc::new(NoBrowser)
    } else {
        Arc::new(SystemBrowser)
    };
    let mut how = BrowserSignIn::new(address, opener);
    how.show_url = Some(Box::new(move |url: &str| {
        eprintln!("Open this address in a browser to sign in:\n\n  {url}\n");
        eprintln!(
            "Waiting for the browser… (on a machine without one, sign in elsewhere and paste \
             here the address the browser ends on)"
        );
    }));
    // Lines typed or piped on stdin, read on their own thread (stdin blocks).
    let (lines, pasted) = tokio::sync::mpsc::channel(4);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if !line.trim().is_empty() && lines.blocking_send(line).is_err() {
                break;
            }
        }
    });
    how.pasted = Some(pasted);
    let signed = accounts
        .sign_in(SignIn::CozyBrowser(how))
        .await
        .map_err(hinted)?;
    println!(
        "Signed in to {} (Twake Drive on cozy-stack) as {}",
        signed.account.server, signed.account.name
    );
    crate::twake::say_where_kept(&signed.kept);
    Ok(())
}
