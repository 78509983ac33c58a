//! `link-emulator UPSTREAM RTT_MS MBIT [PORT]`: the emulated link of `link_emulator.rs` in
//! front of UPSTREAM (host:port), for the benchmarks. Prints `listening on ADDR`, then runs
//! until killed.

use e2e_tests::link_emulator::{LinkEmulator, LinkProfile};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: link-emulator UPSTREAM RTT_MS MBIT [PORT]");
        std::process::exit(2);
    }
    let number = |s: &str, what: &str| -> u64 {
        s.parse().unwrap_or_else(|_| {
            eprintln!("{what} must be a whole number, not {s:?}");
            std::process::exit(2)
        })
    };
    let upstream: std::net::SocketAddr = args[0].parse().unwrap_or_else(|_| {
        eprintln!(
            "UPSTREAM must be an address like 127.0.0.1:8080, not {:?}",
            args[0]
        );
        std::process::exit(2)
    });
    let profile = LinkProfile::new(number(&args[1], "RTT_MS"), number(&args[2], "MBIT"));
    let port = args.get(3).map_or(0, |p| number(p, "PORT") as u16);
    let link = LinkEmulator::start(upstream, profile, port)
        .await
        .unwrap_or_else(|e| {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1)
        });
    println!("listening on {}", link.addr());
    std::future::pending::<()>().await;
}
