//! The adversary campaign (`host-sim dst --workload adversary`): hostile insiders at every door
//! break no governance invariant — and each invariant is not vacuous: with one of the kernel's
//! checks switched off, the campaign finds the bypass that check prevents (a mutation test).
//!
//! One test in this file: switching checks off is process-wide, so nothing else may run beside it.

mod common;

use aiclearance::clearance::kernel::{self, Check};
use host_sim::dst::{self, workload};
use host_sim::runtime::native::NativeEngine;
use host_sim::sim::default_manifest;

fn options() -> dst::Options {
    let mut o = dst::default_options(&common::site_dir(), &default_manifest());
    o.workload = workload::Kind::Adversary;
    o
}

/// The governance invariants a run broke (the platform's own invariants are other tests').
fn governance_breaks(seed: u64) -> Vec<String> {
    let (report, _) = dst::run_seed(&options(), Box::new(NativeEngine), seed).unwrap();
    report
        .breaks
        .into_iter()
        .map(|b| format!("{}: {}", b.invariant, b.detail))
        .collect()
}

// covers: CL-037, CL-060, CL-075, CL-200
#[test]
fn the_adversary_breaks_nothing_and_finds_each_bypass_when_its_check_is_off() {
    kernel::switch_off(None);
    for seed in 0..12 {
        let b = governance_breaks(seed);
        assert!(b.is_empty(), "seed {seed}: {b:#?}");
    }
    // Each check, off on its own: some seed breaks the invariant it protects.
    let cases: [(Check, &[&str]); 7] = [
        (Check::Authority, &["justified"]),
        (Check::Beneficiary, &["own", "justified"]),
        (Check::PinnedRoute, &["justified"]),
        (Check::PathReview, &["justified"]),
        (Check::AutoApproval, &["justified"]),
        (Check::Cumulative, &["extensions stay within"]),
        (Check::ActiveAccount, &["deactivated"]),
    ];
    let mut missed = Vec::new();
    for (check, wanted) in cases {
        kernel::switch_off(Some(&[check]));
        // The search stops at the first seed that finds it; 60 seeds leave room for the
        // campaign's random stream to move when the app's behaviour changes.
        let found = (0..60u64).find_map(|seed| {
            governance_breaks(seed)
                .into_iter()
                .find(|b| wanted.iter().any(|w| b.contains(w)))
                .map(|b| (seed, b))
        });
        kernel::switch_off(None);
        match found {
            Some((seed, b)) => eprintln!("{check:?} off: seed {seed} finds it: {b}"),
            None => missed.push(check),
        }
    }
    assert!(
        missed.is_empty(),
        "the campaign did not notice these checks switched off: {missed:?}"
    );
}
