//! The conditions of the machine that make uploads wait: NetworkManager's metered state and
//! UPower's on-battery state, read over D-Bus and followed through `PropertiesChanged` (and
//! the services starting or stopping). The system bus normally; `TWAKE_UPLOADER_SYSTEM_BUS`
//! (a bus address) points at another one, so tests run their own services. A bus or service
//! that is not there means "not metered, not on battery", logged at debug only: many machines
//! have neither. What the conditions do to the queue is `AppState::set_conditions`.

use futures::StreamExt;
use tokio::sync::watch;
use upload_engine::HoldReason;
use zbus::zvariant::Value;
use zbus::Connection;

/// The variable naming the bus to read the conditions from instead of the system bus.
pub const BUS_VARIABLE: &str = "TWAKE_UPLOADER_SYSTEM_BUS";

/// What the machine says now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    /// The connection is metered (NetworkManager: yes, or guessed yes).
    pub metered: bool,
    /// The computer runs on its battery (UPower).
    pub on_battery: bool,
}

impl Conditions {
    /// Which reasons hold the queue given what the person chose: each condition counts only
    /// while its setting ("Pause on a metered connection", "Pause on battery") is on.
    pub fn holds(self, pause_on_metered: bool, pause_on_battery: bool) -> [(HoldReason, bool); 2] {
        [
            (HoldReason::Metered, self.metered && pause_on_metered),
            (HoldReason::OnBattery, self.on_battery && pause_on_battery),
        ]
    }
}

/// One property of one service, and when its value counts as the condition.
struct Watched {
    service: &'static str,
    path: &'static str,
    interface: &'static str,
    property: &'static str,
    holds: fn(&Value<'_>) -> bool,
    set: fn(&mut Conditions, bool),
}

/// NetworkManager's `NMMetered`: 1 yes, 3 guessed yes (0 unknown, 2 no, 4 guessed no).
const METERED: Watched = Watched {
    service: "org.freedesktop.NetworkManager",
    path: "/org/freedesktop/NetworkManager",
    interface: "org.freedesktop.NetworkManager",
    property: "Metered",
    holds: |v| matches!(inner(v), Value::U32(1 | 3)),
    set: |c, on| c.metered = on,
};

const ON_BATTERY: Watched = Watched {
    service: "org.freedesktop.UPower",
    path: "/org/freedesktop/UPower",
    interface: "org.freedesktop.UPower",
    property: "OnBattery",
    holds: |v| matches!(inner(v), Value::Bool(true)),
    set: |c, on| c.on_battery = on,
};

/// A value, unwrapped from any variant around it.
fn inner<'a>(v: &'a Value<'a>) -> &'a Value<'a> {
    match v {
        Value::Value(boxed) => inner(boxed),
        other => other,
    }
}

/// Follows the conditions on the bus `TWAKE_UPLOADER_SYSTEM_BUS` names, else the system bus,
/// for as long as the receiver is kept.
pub async fn follow() -> watch::Receiver<Conditions> {
    follow_on(std::env::var(BUS_VARIABLE).ok().filter(|a| !a.is_empty())).await
}

/// Follows the conditions on the bus at `address` (`None`: the system bus), and returns once
/// both were read the first time (or `FIRST_READ` passed), so the receiver holds what the
/// machine says from the start. Never fails: with no bus the conditions stay the default.
pub async fn follow_on(address: Option<String>) -> watch::Receiver<Conditions> {
    let (tx, rx) = watch::channel(Conditions::default());
    // Each follower drops its sender once it has read its property (or given up).
    let (read_tx, mut read_rx) = tokio::sync::mpsc::channel::<()>(1);
    let bus = address.as_deref().unwrap_or("the system bus");
    match connect(address.as_deref()).await {
        Ok(connection) => {
            for watched in [METERED, ON_BATTERY] {
                let (connection, tx, read) = (connection.clone(), tx.clone(), read_tx.clone());
                tokio::spawn(async move {
                    if let Err(e) = follow_one(&connection, &watched, &tx, read).await {
                        tracing::debug!(
                            "stopped following {} of {}: {e}",
                            watched.property,
                            watched.service
                        );
                    }
                    // Nothing tells it any more: the condition does not hold.
                    tell(&tx, &watched, false);
                });
            }
        }
        Err(e) => tracing::debug!(
            "no D-Bus at {bus} ({e}): uploads do not wait for a metered connection or the battery"
        ),
    }
    drop(read_tx);
    if tokio::time::timeout(FIRST_READ, read_rx.recv())
        .await
        .is_err()
    {
        tracing::debug!("{bus} did not answer within {FIRST_READ:?}; following it meanwhile");
    }
    rx
}

/// How long the app's start waits for the first answers of NetworkManager and UPower.
const FIRST_READ: std::time::Duration = std::time::Duration::from_secs(1);

async fn connect(address: Option<&str>) -> zbus::Result<Connection> {
    match address {
        Some(a) => zbus::connection::Builder::address(a)?.build().await,
        None => Connection::system().await,
    }
}

/// Reads the property, then reads it again at each change of it or of the service's owner,
/// until the bus goes away.
async fn follow_one(
    connection: &Connection,
    watched: &Watched,
    tx: &watch::Sender<Conditions>,
    first_read: tokio::sync::mpsc::Sender<()>,
) -> zbus::Result<()> {
    let properties = zbus::fdo::PropertiesProxy::builder(connection)
        .destination(watched.service)?
        .path(watched.path)?
        .build()
        .await?;
    let bus = zbus::fdo::DBusProxy::new(connection).await?;
    let mut changes = properties.receive_properties_changed().await?;
    let mut owners = bus
        .receive_name_owner_changed_with_args(&[(0, watched.service)])
        .await?;
    tell(tx, watched, read(&properties, watched).await);
    drop(first_read);
    loop {
        tokio::select! {
            change = changes.next() => {
                let Some(change) = change else { return Ok(()) };
                let Ok(args) = change.args() else { continue };
                if args.interface_name().as_str() != watched.interface {
                    continue;
                }
                if let Some(value) = args.changed_properties().get(watched.property) {
                    tell(tx, watched, (watched.holds)(value));
                } else if args.invalidated_properties().contains(&watched.property) {
                    tell(tx, watched, read(&properties, watched).await);
                }
            }
            owner = owners.next() => {
                if owner.is_none() {
                    return Ok(());
                }
                // The service started or stopped: what it says now (nothing: not held).
                tell(tx, watched, read(&properties, watched).await);
            }
        }
    }
}

/// Says whether `watched`'s condition holds now; receivers hear only of a change.
fn tell(tx: &watch::Sender<Conditions>, watched: &Watched, on: bool) {
    tx.send_if_modified(|c| {
        let before = *c;
        (watched.set)(c, on);
        before != *c
    });
}

/// The property's value now; false when the service is not there or does not say.
async fn read(properties: &zbus::fdo::PropertiesProxy<'_>, watched: &Watched) -> bool {
    let interface = match zbus::names::InterfaceName::try_from(watched.interface) {
        Ok(i) => i,
        Err(_) => return false,
    };
    match properties.get(interface, watched.property).await {
        Ok(value) => (watched.holds)(&value),
        Err(e) => {
            tracing::debug!(
                "{} of {} not read ({e}): taken as no",
                watched.property,
                watched.service
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use e2e_tests::fake_power::{Change, FakePower, PrivateBus};
    use std::time::Duration;

    async fn until(
        rx: &mut watch::Receiver<Conditions>,
        what: &str,
        want: impl Fn(&Conditions) -> bool,
    ) {
        let seen = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|c| want(c)))
            .await
            .map(|found| found.is_ok());
        assert_eq!(seen, Ok(true), "{what}: still {:?}", *rx.borrow());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_watcher_follows_network_manager_s_metered_state_and_upower_s_battery() {
        let bus = PrivateBus::start().expect("dbus-daemon starts");
        // Started metered (NetworkManager's "guessed yes") and on mains power.
        let fake = FakePower::serve(bus.address(), 3, false).await.unwrap();
        let mut rx = follow_on(Some(bus.address().to_string())).await;
        // Read before `follow_on` returns: the app knows it before its queue opens.
        let at_start = Conditions {
            metered: true,
            on_battery: false,
        };
        assert_eq!(*rx.borrow_and_update(), at_start);

        fake.set(Change::Metered(2)).await.unwrap(); // no
        until(&mut rx, "metered → not metered", |c| !c.metered).await;
        fake.set(Change::Metered(1)).await.unwrap(); // yes
        until(&mut rx, "metered again", |c| c.metered).await;
        fake.set(Change::Metered(4)).await.unwrap(); // guessed no
        until(&mut rx, "a guessed no is not metered", |c| !c.metered).await;

        fake.set(Change::OnBattery(true)).await.unwrap();
        until(&mut rx, "on battery", |c| c.on_battery).await;
        fake.set(Change::OnBattery(false)).await.unwrap();
        until(&mut rx, "battery → AC", |c| !c.on_battery).await;
        assert_eq!(*rx.borrow(), Conditions::default());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn services_that_come_late_are_followed_and_gone_ones_hold_nothing() {
        let bus = PrivateBus::start().expect("dbus-daemon starts");
        // Nothing on the bus yet: no condition, and no error.
        let mut rx = follow_on(Some(bus.address().to_string())).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(*rx.borrow(), Conditions::default());

        let fake = FakePower::serve(bus.address(), 0, true).await.unwrap();
        until(&mut rx, "a battery found when UPower starts", |c| {
            c.on_battery
        })
        .await;
        assert!(
            !rx.borrow().metered,
            "NetworkManager's 'unknown' is not metered"
        );
        // Its changes are followed like those of a service that was there first.
        fake.set(Change::OnBattery(false)).await.unwrap();
        until(&mut rx, "a late service's change", |c| !c.on_battery).await;
        fake.set(Change::Metered(1)).await.unwrap();
        fake.set(Change::OnBattery(true)).await.unwrap();
        until(&mut rx, "metered and on battery", |c| {
            c.metered && c.on_battery
        })
        .await;
        fake.stop().await;
        until(&mut rx, "both gone: no condition", |c| {
            *c == Conditions::default()
        })
        .await;
    }

    #[tokio::test]
    async fn no_bus_at_all_means_no_condition() {
        let dir = tempfile::tempdir().unwrap();
        let address = format!("unix:path={}", dir.path().join("none").display());
        let rx = follow_on(Some(address)).await;
        assert_eq!(*rx.borrow(), Conditions::default());
    }

    #[test]
    fn a_condition_holds_only_while_its_setting_is_on() {
        let both = Conditions {
            metered: true,
            on_battery: true,
        };
        assert_eq!(
            both.holds(true, false),
            [(HoldReason::Metered, true), (HoldReason::OnBattery, false)]
        );
        assert_eq!(
            Conditions::default().holds(true, true),
            [(HoldReason::Metered, false), (HoldReason::OnBattery, false)]
        );
    }
}
