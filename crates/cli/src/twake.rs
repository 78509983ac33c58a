//! `twake-upload login | logout | whoami | ls`: the Twake Drive account commands. The
//! password is read from a no-echo prompt on a terminal, or from the first line of stdin
//! when it is not one, and is never stored; tokens go to the account store's secret store.

use anyhow::Context;
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;
use std::time::Duration;
use upload_engine::targets::twake::{
    self, account::StoreSink, session, Account, AccountStore, Drive, SecretsLocation, Session,
};
use upload_engine::targets::HttpSettings;

const TIMEOUT: Duration = Duration::from_secs(30);

pub fn http() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_secs(10),
        stall_timeout: Duration::from_secs(30),
        network: crate::network::settings(),
    }
}

/// Runs blocking account-store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, twake::TwakeError> + Send + 'static,
) -> anyhow::Result<T> {
    Ok(tokio::task::spawn_blocking(work).await??)
}

pub async fn store() -> anyhow::Result<AccountStore> {
    blocking(AccountStore::open_default).await
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

pub async fn login(server: &str, email: &str, company: Option<&str>) -> anyhow::Result<()> {
    let server = session::normalize_server(server)?;
    let password = read_password(email, &server)?;
    let client = twake::http_client(&http())?;
    let tokens = session::login(&client, &server, email, &password, TIMEOUT).await?;
    drop(password);
    let name = Account::name_for(email, &server);
    let session = Session::new(
        client,
        &server,
        &name,
        tokens.clone(),
        Arc::new(session::NoSink),
        TIMEOUT,
    );
    let me = session.me().await?;
    let companies: Vec<twake::api::Company> =
        me.companies.iter().map(|c| c.company.clone()).collect();
    let chosen = match company {
        Some(id) => companies
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .with_context(|| {
                format!(
                    "{email} is not in company '{id}' on {server}; its companies: {}",
                    list_companies(&companies)
                )
            })?,
        None => companies
            .first()
            .cloned()
            .ok_or(twake::TwakeError::NoCompany {
                server: server.clone(),
                account: email.to_string(),
            })?,
    };
    let account = Account {
        name: name.clone(),
        server: server.clone(),
        email: email.to_string(),
        user_id: me.id.clone(),
        company_id: chosen.id.clone(),
        companies: companies.clone(),
        signed_out: None,
    };
    let store = store().await?;
    let where_ = {
        let store = store.clone();
        let account = account.clone();
        blocking(move || {
            store.save(&account)?;
            store.save_tokens(&account.name, &tokens)
        })
        .await?
    };
    println!(
        "Signed in to {server} as {email} (account {}), company {}",
        account.name,
        describe_company(&chosen)
    );
    if companies.len() > 1 {
        println!("Companies of {email} (pick another with `login --company ID`):");
        for c in &companies {
            let mark = if c.id == chosen.id { "*" } else { " " };
            println!("  {mark} {}", describe_company(c));
        }
    }
    match where_ {
        SecretsLocation::Keyring => println!("Session kept in the OS keyring."),
        SecretsLocation::File { path, .. } => println!(
            "Session kept in {} (readable only by you; no OS keyring was reachable).",
            path.display()
        ),
    }
    Ok(())
}

fn describe_company(c: &twake::api::Company) -> String {
    match &c.name {
        Some(n) => format!("{n} ({})", c.id),
        None => c.id.clone(),
    }
}

fn list_companies(companies: &[twake::api::Company]) -> String {
    companies
        .iter()
        .map(describe_company)
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn logout() -> anyhow::Result<()> {
    let store = store().await?;
    let account = {
        let store = store.clone();
        blocking(move || store.current()).await?
    };
    let name = account.name.clone();
    blocking(move || store.remove(&name)).await?;
    println!("Signed out of {} as {}.", account.server, account.email);
    Ok(())
}

/// The current account with a live session (renewed tokens are kept in the store).
pub async fn open_session(store: &AccountStore) -> anyhow::Result<(Account, Arc<Session>)> {
    let (account, tokens) = {
        let store = store.clone();
        blocking(move || {
            let account = store.current()?;
            let tokens = store.load_tokens(&account.name)?;
            Ok((account, tokens))
        })
        .await?
    };
    if let Some(reason) = &account.signed_out {
        return Err(twake::TwakeError::SignedOut {
            server: account.server.clone(),
            account: account.email.clone(),
            reason: reason.clone(),
        }
        .into());
    }
    let sink = Arc::new(StoreSink {
        store: store.clone(),
        account: account.name.clone(),
    });
    let session = Session::new(
        twake::http_client(&http())?,
        &account.server,
        &account.name,
        tokens,
        sink,
        TIMEOUT,
    );
    Ok((account, Arc::new(session)))
}

pub async fn whoami() -> anyhow::Result<()> {
    let store = store().await?;
    let (account, session) = open_session(&store).await?;
    let me = session.me().await?;
    println!("{} on {}", account.email, account.server);
    println!("account: {}", account.name);
    println!("user id: {}", me.id);
    let company = account.company_name().unwrap_or("?");
    println!("company: {company} ({})", account.company_id);
    Ok(())
}

pub async fn ls(path: &str) -> anyhow::Result<()> {
    let store = store().await?;
    let (account, session) = open_session(&store).await?;
    let drive = Drive::new(
        session,
        &account.company_id,
        &account.user_id,
        "",
        twake::CollisionPolicy::default(),
    );
    let (_, details) = drive.resolve(path).await?;
    let mut children = details.children;
    children.retain(|c| !c.is_in_trash);
    children.sort_by(|a, b| (!a.is_directory, &a.name).cmp(&(!b.is_directory, &b.name)));
    for c in children {
        if c.is_directory {
            println!("{}/", c.name);
        } else {
            println!("{}\t{}", c.name, c.size.unwrap_or(0));
        }
    }
    Ok(())
}
