//! NetworkManager's metered state and UPower's battery, faked on a bus for the desktop test:
//! `fake-power ADDRESS` serves both (not metered, on mains power), prints `ready`, then takes
//! one line at a time on stdin (`metered N` with an `NMMetered` number, `battery on`,
//! `battery off`) and answers `ok` once the change is announced on the bus.

use e2e_tests::fake_power::{Change, FakePower};
use std::process::ExitCode;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(address) = std::env::args().nth(1) else {
        eprintln!("usage: fake-power BUS-ADDRESS");
        return ExitCode::FAILURE;
    };
    let fake = match FakePower::serve(&address, 2, false).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fake-power: cannot serve on {address}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("ready");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        let change = match words.as_slice() {
            ["metered", n] => n.parse().ok().map(Change::Metered),
            ["battery", "on"] => Some(Change::OnBattery(true)),
            ["battery", "off"] => Some(Change::OnBattery(false)),
            _ => None,
        };
        let Some(change) = change else {
            eprintln!("fake-power: unknown command {line:?} (metered N, battery on, battery off)");
            continue;
        };
        match fake.set(change).await {
            Ok(()) => println!("ok"),
            Err(e) => {
                eprintln!("fake-power: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    fake.stop().await;
    ExitCode::SUCCESS
}
