//! The Twake Drive commands of the UI: sign in, pick the company, browse folders, choose
//! where files go, sign out. The work is in `crate::twake`; here it meets the settings (the
//! chosen folder becomes a saved target) and the engine (a new sign-in restarts the uploads
//! that waited for it).

use crate::ipc::UserError;
use crate::settings::SavedTarget;
use crate::state::AppState;
use crate::targets::{saved_id, TargetInfo, TargetList};
use crate::twake::{TwakeAccountInfo, TwakeFolders, TwakeServer};
use std::sync::Arc;
use tauri::State;

type Shared<'a> = State<'a, Arc<AppState>>;
type Reply<T> = Result<T, UserError>;

/// Signs in with the password typed in the dialog; it is not kept, logged or sent back.
#[tauri::command]
pub async fn twake_sign_in(
    state: Shared<'_>,
    server: String,
    email: String,
    password: String,
) -> Reply<TwakeAccountInfo> {
    sign_in(&state, &server, &email, password).await
}

/// The sign-in, callable without a window (tests).
pub async fn sign_in(
    state: &AppState,
    server: &str,
    email: &str,
    password: String,
) -> Reply<TwakeAccountInfo> {
    let account = state.targets.twake.sign_in(server, email, password).await?;
    // Signing in again after a sign-out: the uploads that waited continue, and have been
    // told so by the time the dialog moves on.
    state.engine.restart_signed_out(&account.name).await?;
    Ok(account)
}

/// "Continue" in the dialog: which sign-in the address (or email) needs.
#[tauri::command]
pub async fn twake_detect(state: Shared<'_>, address: String) -> Reply<TwakeServer> {
    state.targets.twake.detect(&address).await
}

/// Signs in through the browser and answers once the person is done there (or cancelled).
#[tauri::command]
pub async fn twake_sign_in_browser(state: Shared<'_>, server: String) -> Reply<TwakeAccountInfo> {
    sign_in_browser(&state, &server).await
}

/// The browser sign-in, callable without a window (tests).
pub async fn sign_in_browser(state: &AppState, server: &str) -> Reply<TwakeAccountInfo> {
    let account = state.targets.twake.sign_in_browser(server).await?;
    state.engine.restart_signed_out(&account.name).await?;
    Ok(account)
}

/// Cancel while the dialog waits for the browser: the sign-in stops listening.
#[tauri::command]
pub fn twake_cancel_sign_in(state: Shared<'_>) {
    state.targets.twake.cancel_sign_in();
}

#[tauri::command]
pub async fn twake_choose_company(
    state: Shared<'_>,
    account: String,
    company_id: String,
) -> Reply<TwakeAccountInfo> {
    state
        .targets
        .twake
        .choose_company(&account, &company_id)
        .await
}

#[tauri::command]
pub async fn twake_accounts(state: Shared<'_>) -> Reply<Vec<TwakeAccountInfo>> {
    state.targets.twake.accounts().await
}

/// The sub-folders of `path` ("" for My Drive's root) for the folder chooser.
#[tauri::command]
pub async fn twake_folders(
    state: Shared<'_>,
    account: String,
    path: String,
) -> Reply<TwakeFolders> {
    state.targets.twake.folders(&account, &path).await
}

/// "New folder…" in the folder chooser: creates `name` in `parent`, answers `parent`'s listing.
#[tauri::command]
pub async fn twake_create_folder(
    state: Shared<'_>,
    account: String,
    parent: String,
    name: String,
) -> Reply<TwakeFolders> {
    state
        .targets
        .twake
        .create_folder(&account, &parent, &name)
        .await
}

#[tauri::command]
pub async fn twake_choose_folder(
    state: Shared<'_>,
    account: String,
    folder: String,
) -> Reply<TargetInfo> {
    choose_folder(&state, &account, &folder)
}

/// Saves `account`'s Drive `folder` as a target and makes it where new files go.
pub fn choose_folder(state: &AppState, account: &str, folder: &str) -> Reply<TargetInfo> {
    let not_signed_in = || {
        UserError::new(
            format!(
                "Not signed in to Twake Drive as {}.",
                crate::targets::account_email(account)
            ),
            "Sign in again, then choose the folder.",
        )
    };
    let known = state.targets.twake.accounts_now();
    if !known.iter().any(|a| a.name == account) {
        return Err(not_signed_in());
    }
    let saved = SavedTarget::Twake {
        account: account.to_string(),
        folder: crate::twake::normal_folder(folder),
    };
    crate::commands::save_as_default(state, saved)?.ok_or_else(not_signed_in)
}

/// Signs out of `account`: its tokens are deleted and its folders leave the target list.
/// Files already queued to it stop with "not signed in" until the next sign-in.
#[tauri::command]
pub async fn twake_sign_out(state: Shared<'_>, account: String) -> Reply<TargetList> {
    sign_out(&state, &account).await
}

/// The sign-out, callable without a window (tests).
pub async fn sign_out(state: &AppState, account: &str) -> Reply<TargetList> {
    state.targets.twake.sign_out(account).await?;
    let s = state.edit_settings(|s| {
        s.saved_targets
            .retain(|t| !matches!(t, SavedTarget::Twake { account: a, .. } if a == account));
        if !s
            .saved_targets
            .iter()
            .any(|t| saved_id(t) == s.default_target)
        {
            s.default_target = crate::targets::LOCAL_ID.into();
        }
    })?;
    Ok(state.targets.list(&s))
}

#[cfg(test)]
mod tests;
