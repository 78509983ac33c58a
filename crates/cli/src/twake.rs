//! `twake-upload login | logout | whoami | ls`: the Twake Drive account commands. `login`
//! asks the server how it signs people in: with a password, read from a no-echo prompt on a
//! terminal or from the first line of stdin when it is not one, never stored; or through its
//! organisation's sign-in page, opened in the browser, the address printed and a pasted-back
//! redirect taken too. Tokens go to the account store's secret store.

use anyhow::Context;
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;
use std::time::Duration;
use upload_engine::accounts::browser::{BrowserOpener, NoBrowser, SystemBrowser};
use upload_engine::accounts::{
    AccountKind, Accounts, BrowserSteps, Detected, SecretsLocation, ServerKind, SignIn,
};
use upload_engine::targets::twake::{self, api::Company};
use upload_engine::targets::HttpSettings;

pub fn http() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_secs(10),
        stall_timeout: Duration::from_secs(30),
        network: crate::network::settings(),
    }
}

/// The accounts service on the store every front end shares: one per process, so the
/// destination check and the engine of one command share its sessions.
pub fn accounts() -> anyhow::Result<Arc<Accounts>> {
    static ONE: std::sync::OnceLock<Result<Arc<Accounts>, twake::TwakeError>> =
        std::sync::OnceLock::new();
    Ok(ONE.get_or_init(|| Accounts::open_default(http())).clone()?)
}

fn read_password(email: &str, server: &str) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Password for {email} on {server}: "))
            .context("cannot read the password from the terminal")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    anyhow::ensure!(!password.is_empty(), "no password given for {email}");
    Ok(password)
}

pub async fn login(
    address: &str,
    email: Option<&str>,
    company: Option<&str>,
    no_browser: bool,
) -> anyhow::Result<()> {
    let accounts = accounts()?;
    let company = company.map(str::to_string);
    let detected = accounts.detect(address).await;
    let signed = match detected {
        Ok(Detected {
            server,
            kind: ServerKind::TwakeOidc(_),
            ..
        }) => accounts
            .sign_in(SignIn::TwakeBrowser {
                server: server.clone(),
                company,
                steps: browser_steps(&server, no_browser),
            })
            .await
            .map_err(hinted)?,
        Ok(Detected {
            server,
            kind: ServerKind::Cozy,
            ..
        }) => return crate::cozy::login(&server, no_browser).await,
        // A server with its own passwords, or one that did not say (the password sign-in
        // tells what is wrong with it).
        other => {
            let (server, typed_email) = match other {
                Ok(d) => (d.server, d.email),
                Err(e) if email.is_none() => return Err(hinted(e)),
                Err(_) => (twake::session::normalize_server(address)?, None),
            };
            let email = email.map(str::to_string).or(typed_email).with_context(|| {
                format!("{server} signs in with an email and password: add --email EMAIL")
            })?;
            let password = read_password(&email, &server)?;
            accounts
                .sign_in(SignIn::Password {
                    server,
                    email,
                    password,
                    company,
                })
                .await
                .map_err(hinted)?
        }
    };
    let server = &signed.account.server;
    let account = &signed.account;
    let chosen = account
        .companies
        .iter()
        .find(|c| c.id == account.company_id);
    println!(
        "Signed in to {server} as {}, company {}",
        account.email,
        chosen.map_or_else(|| account.company_id.clone(), describe_company)
    );
    if account.companies.len() > 1 {
        println!(
            "Companies of {} (pick another with `login --company ID`):",
            account.email
        );
        for c in &account.companies {
            let mark = if c.id == account.company_id { "*" } else { " " };
            println!("  {mark} {}", describe_company(c));
        }
    }
    say_where_kept(&signed.kept);
    Ok(())
}

/// Where a sign-in put its secrets, in a line.
pub fn say_where_kept(kept: &SecretsLocation) {
    match kept {
        SecretsLocation::Keyring => println!("Session kept in the OS keyring."),
        SecretsLocation::File { path, .. } => println!(
            "Session kept in {} (readable only by you; no OS keyring was reachable).",
            path.display()
        ),
    }
}

/// The browser sign-in as a command line does it: the address printed, the browser opened
/// (unless `--no-browser`), and a redirect address pasted on stdin taken as well.
fn browser_steps(server: &str, no_browser: bool) -> BrowserSteps {
    let opener: Arc<dyn BrowserOpener> = if no_browser {
        Arc::new(NoBrowser)
    } else {
        Arc::new(SystemBrowser)
    };
    let (paste, pasted) = tokio::sync::oneshot::channel();
    // Blocks on stdin until a line comes; the process ends without waiting for it.
    std::thread::spawn(move || {
        let mut line = String::new();
        while std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0 {
            if !line.trim().is_empty() {
                let _ = paste.send(line.trim().to_string());
                return;
            }
            line.clear();
        }
    });
    let server = server.to_string();
    let mut steps = BrowserSteps::system();
    steps.opener = opener;
    steps.pasted = Some(pasted);
    steps.on_url = Box::new(move |url| {
        println!("To sign in to {server}, open this address in a browser:\n  {url}");
        println!(
            "Waiting for the sign-in to finish there. On a machine without a browser, sign in \
             elsewhere, then paste here the address that browser ended on (it cannot load) and \
             press Enter."
        );
    });
    steps
}

fn describe_company(c: &Company) -> String {
    match &c.name {
        Some(n) => format!("{n} ({})", c.id),
        None => c.id.clone(),
    }
}

/// The engine's error with what to type next, in this command line's words.
pub fn hinted(e: twake::TwakeError) -> anyhow::Error {
    use twake::TwakeError as E;
    let hint = match &e {
        E::WrongCredentials { server } => Some(format!(
            "check them, then run `twake-upload login --server {server} --email EMAIL`"
        )),
        E::NeedsBrowser { server } => Some(format!("run `twake-upload login {server}`")),
        E::BrowserFlow { server, .. } | E::SignInCancelled { server } => Some(format!(
            "run `twake-upload login {server}` again (add --no-browser to paste the address \
             back instead)"
        )),
        E::SignedOut {
            server, account, ..
        } => Some(format!(
            "run `twake-upload login --server {server} --email {account}`"
        )),
        E::NotSignedIn { .. } => {
            Some("run `twake-upload login --server URL --email EMAIL` first".to_string())
        }
        E::FolderNotFound { .. } => Some("`twake-upload ls` shows the folders".to_string()),
        E::NotInCompany { .. } => Some("pick one with `twake-upload login --company ID`".into()),
        _ => None,
    };
    match hint {
        Some(h) => anyhow::anyhow!("{e}\n{h}"),
        None => e.into(),
    }
}

pub async fn logout() -> anyhow::Result<()> {
    let accounts = accounts()?;
    let current = accounts.current().await.map_err(hinted)?;
    let account = accounts.sign_out(&current.name).await.map_err(hinted)?;
    println!("Signed out of {} as {}.", account.server, account.email);
    Ok(())
}

pub async fn whoami() -> anyhow::Result<()> {
    let accounts = accounts()?;
    let current = accounts.current().await.map_err(hinted)?;
    if current.kind == AccountKind::Cozy {
        // An instance is one person's: its address says who; the listing of the root proves
        // the session still works.
        accounts
            .list_folder(&current.name, "")
            .await
            .map_err(hinted)?;
        println!("Twake Drive on cozy-stack at {}", current.server);
        return Ok(());
    }
    let (account, session) = accounts.session(&current.name).await.map_err(hinted)?;
    let me = session.me().await.map_err(hinted)?;
    println!("{} on {}", account.email, account.server);
    println!("user id: {}", me.id);
    let company = account.company_name().unwrap_or("?");
    println!("company: {company} ({})", account.company_id);
    Ok(())
}

/// The folder's contents: folders first (with a `/`), then files with their sizes.
pub async fn ls(path: &str) -> anyhow::Result<()> {
    let accounts = accounts()?;
    let current = accounts.current().await.map_err(hinted)?;
    let entries = accounts
        .list_folder(&current.name, path)
        .await
        .map_err(hinted)?;
    for e in entries {
        if e.is_folder {
            println!("{}/", e.name);
        } else {
            println!("{}\t{}", e.name, e.size.unwrap_or(0));
        }
    }
    Ok(())
}
