//! The person at the browser for CLI tests: `TWAKE_UPLOADER_BROWSER` points at this program,
//! which the CLI calls with the authorize URL; it approves the cozy-stack double's page over
//! HTTP (the passphrase from `COZY_APPROVE_PASSPHRASE`) and lands on the CLI's listener.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: cozy-approve AUTHORIZE-URL");
        return std::process::ExitCode::FAILURE;
    };
    let passphrase = std::env::var("COZY_APPROVE_PASSPHRASE").unwrap_or_default();
    match e2e_tests::cozy_double::approver::Approver::approve(url, passphrase).await {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cozy-approve: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
