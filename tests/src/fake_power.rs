//! Stand-ins for NetworkManager and UPower on a private D-Bus bus, for the tests of the app's
//! metered and battery pauses: the two services' names, objects and interfaces, serving only
//! the property the app reads (`Metered`, an `NMMetered` number; `OnBattery`) and emitting
//! `PropertiesChanged` when a test changes it, as the real daemons do. `PrivateBus` runs a
//! `dbus-daemon` of the test's own (Debian package `dbus`), gone when dropped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use zbus::fdo::Properties;
use zbus::object_server::Interface;
use zbus::zvariant::Value;
use zbus::Connection;

const NM_PATH: &str = "/org/freedesktop/NetworkManager";
const UPOWER_PATH: &str = "/org/freedesktop/UPower";

/// A `dbus-daemon` with a session configuration, on its own socket.
pub struct PrivateBus {
    child: Child,
    address: String,
}

impl PrivateBus {
    /// Starts one and waits for its address.
    pub fn start() -> std::io::Result<PrivateBus> {
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // It only complains that an unprivileged fd limit cannot be raised.
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot run dbus-daemon ({e}): install the Debian package dbus"),
                )
            })?;
        let mut line = String::new();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        BufReader::new(stdout).read_line(&mut line)?;
        let address = line.trim().to_string();
        if address.is_empty() {
            let _ = child.kill();
            return Err(std::io::Error::other("dbus-daemon printed no address"));
        }
        Ok(PrivateBus { child, address })
    }

    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct NetworkManager {
    metered: u32,
}

#[zbus::interface(name = "org.freedesktop.NetworkManager")]
impl NetworkManager {
    #[zbus(property)]
    fn metered(&self) -> u32 {
        self.metered
    }
}

struct UPower {
    on_battery: bool,
}

#[zbus::interface(name = "org.freedesktop.UPower")]
impl UPower {
    #[zbus(property)]
    fn on_battery(&self) -> bool {
        self.on_battery
    }
}

/// A change a test makes to what the services say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// NetworkManager's `Metered`: 1 yes, 2 no, 3 guessed yes, 4 guessed no, 0 unknown.
    Metered(u32),
    /// UPower's `OnBattery`.
    OnBattery(bool),
}

/// Both services, owned by one connection to the bus.
pub struct FakePower {
    connection: Connection,
}

impl FakePower {
    /// Serves both on the bus at `address`, starting with these values.
    pub async fn serve(address: &str, metered: u32, on_battery: bool) -> zbus::Result<FakePower> {
        let connection = zbus::connection::Builder::address(address)?
            .serve_at(NM_PATH, NetworkManager { metered })?
            .serve_at(UPOWER_PATH, UPower { on_battery })?
            .name("org.freedesktop.NetworkManager")?
            .name("org.freedesktop.UPower")?
            .build()
            .await?;
        Ok(FakePower { connection })
    }

    /// Changes what one service says, and announces it on the bus as the daemon would.
    pub async fn set(&self, change: Change) -> zbus::Result<()> {
        match change {
            Change::Metered(n) => {
                let edit = move |nm: &mut NetworkManager| nm.metered = n;
                self.change(NM_PATH, "Metered", Value::U32(n), edit).await
            }
            Change::OnBattery(on) => {
                let edit = move |up: &mut UPower| up.on_battery = on;
                self.change(UPOWER_PATH, "OnBattery", Value::Bool(on), edit)
                    .await
            }
        }
    }

    /// Changes the object at `path` with `edit`, then announces `property`'s new `value`.
    async fn change<I: Interface>(
        &self,
        path: &str,
        property: &str,
        value: Value<'_>,
        edit: impl FnOnce(&mut I),
    ) -> zbus::Result<()> {
        let iface = self
            .connection
            .object_server()
            .interface::<_, I>(path)
            .await?;
        edit(&mut *iface.get_mut().await);
        let changed = HashMap::from([(property, value)]);
        Properties::properties_changed(
            iface.signal_emitter(),
            I::name(),
            changed,
            Cow::Borrowed(&[]),
        )
        .await
    }

    /// Leaves the bus, as the daemons do when they stop.
    pub async fn stop(self) {
        let _ = self.connection.close().await;
    }
}
