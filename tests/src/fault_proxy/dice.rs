//! The per-request fault decision. Kept apart from the networking so that "same seed, same fault
//! sequence" is a property of this small piece alone and can be tested without sockets.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{FaultConfig, FaultKind};

/// What one request gets: a fault or none, plus the config values the fault needs, copied out so
/// the connection does not hold the lock while it sleeps or relays.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub fault: Option<FaultKind>,
    pub latency: Duration,
    pub stall_for: Option<Duration>,
    pub retry_after_secs: u64,
}

/// The active config, its seeded RNG, and the record of every decision made so far.
#[derive(Debug)]
pub(crate) struct FaultDice {
    config: FaultConfig,
    rng: StdRng,
    /// One entry per request seen, in the order the decisions were made.
    log: Vec<Option<FaultKind>>,
}

impl FaultDice {
    pub(crate) fn new(config: FaultConfig) -> FaultDice {
        FaultDice {
            rng: StdRng::seed_from_u64(config.seed),
            config,
            log: Vec::new(),
        }
    }

    /// Replaces the config and restarts the RNG from its seed; the log keeps running.
    pub(crate) fn reconfigure(&mut self, config: FaultConfig) {
        self.rng = StdRng::seed_from_u64(config.seed);
        self.config = config;
    }

    pub(crate) fn log(&self) -> Vec<Option<FaultKind>> {
        self.log.clone()
    }

    pub(crate) fn decide(&mut self, method: &str) -> Decision {
        let targeted = match &self.config.only_methods {
            None => true,
            Some(methods) => methods.iter().any(|m| m.eq_ignore_ascii_case(method)),
        };
        // Requests outside `only_methods` draw nothing, so the faults that the targeted requests
        // get do not depend on how many other requests were interleaved with them.
        let fault = if targeted { self.roll() } else { None };
        self.log.push(fault);
        Decision {
            fault,
            latency: self.config.latency,
            stall_for: self.config.stall_for,
            retry_after_secs: self.config.retry_after_secs,
        }
    }

    fn roll(&mut self) -> Option<FaultKind> {
        let draw: f64 = self.rng.random();
        let mut threshold = 0.0;
        for (kind, share) in self.config.shares() {
            threshold += share;
            if draw < threshold {
                return Some(kind);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mixed(seed: u64) -> FaultConfig {
        FaultConfig {
            reset_before: 0.1,
            reset_after: 0.1,
            stall: 0.1,
            status_503: 0.1,
            status_429: 0.1,
            seed,
            ..FaultConfig::default()
        }
    }

    fn sequence(dice: &mut FaultDice, n: usize) -> Vec<Option<FaultKind>> {
        (0..n).map(|_| dice.decide("POST").fault).collect()
    }

    #[test]
    fn same_seed_gives_the_same_fault_sequence() {
        let first = sequence(&mut FaultDice::new(mixed(7)), 200);
        let second = sequence(&mut FaultDice::new(mixed(7)), 200);
        assert_eq!(first, second);
        assert_ne!(first, sequence(&mut FaultDice::new(mixed(8)), 200));
    }

    #[test]
    fn every_kind_shows_up_at_roughly_its_share() {
        let faults = sequence(&mut FaultDice::new(mixed(1)), 10_000);
        for kind in [
            FaultKind::ResetBefore,
            FaultKind::ResetAfter,
            FaultKind::Stall,
            FaultKind::Status503,
            FaultKind::Status429,
        ] {
            let count = faults.iter().filter(|f| **f == Some(kind)).count();
            assert!(
                (800..1200).contains(&count),
                "{kind:?} came {count} times in 10000"
            );
        }
    }

    #[test]
    fn default_config_never_faults_and_share_one_always_does() {
        assert!(sequence(&mut FaultDice::new(FaultConfig::default()), 1000)
            .iter()
            .all(Option::is_none));
        let always = FaultConfig {
            status_503: 1.0,
            ..FaultConfig::default()
        };
        assert!(sequence(&mut FaultDice::new(always), 1000)
            .iter()
            .all(|f| *f == Some(FaultKind::Status503)));
    }

    #[test]
    fn untargeted_methods_pass_and_do_not_shift_the_sequence() {
        let config = FaultConfig {
            only_methods: Some(vec!["post".to_string()]),
            ..mixed(3)
        };
        let mut plain = FaultDice::new(config.clone());
        let mut interleaved = FaultDice::new(config);
        let mut posts = Vec::new();
        for _ in 0..100 {
            assert_eq!(interleaved.decide("GET").fault, None);
            posts.push(interleaved.decide("POST").fault);
        }
        assert_eq!(posts, sequence(&mut plain, 100));
    }

    #[test]
    fn reconfigure_restarts_the_sequence_from_the_new_seed() {
        let mut dice = FaultDice::new(mixed(5));
        let first = sequence(&mut dice, 50);
        dice.reconfigure(mixed(5));
        assert_eq!(sequence(&mut dice, 50), first);
        assert_eq!(dice.log().len(), 100);
    }
}
