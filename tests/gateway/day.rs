//! The simulated Claude Code day (`switchyard bench --day`), shortened:
//! every request leaves one ledger row, every escalation path fires, no
//! request fails, and the ledger's savings against all-Sonnet reach the
//! product's bar.

use rust_decimal::Decimal;
use switchyard::bench::day::{DayArgs, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shortened_day_saves_sixty_percent_and_exercises_every_escalation() {
    let args = DayArgs {
        developers: 3,
        hours: 4,
        speed: 2000,
        ..DayArgs::default()
    };
    let o = run::day(&args).await.unwrap();
    let report = o.report.as_ref().unwrap();
    let s = &report.summary;
    assert_eq!(o.errors, 0, "{o:?}");
    assert_eq!(
        (s.requests + s.count_calls) as usize,
        o.requests,
        "one ledger row per request"
    );
    for (_, path) in run::PATHS {
        assert!(
            o.decisions.get(*path).copied().unwrap_or(0) > 0,
            "the escalation path '{path}' never fired: {:?}",
            o.decisions
        );
    }
    assert!(s.fallbacks > 0, "overloaded Haiku answers fell back");
    let saved = s.savings_pct.unwrap();
    assert!(
        saved >= Decimal::from(60),
        "saved {saved}% (cost {} of {})",
        s.cost_usd,
        s.baseline_usd
    );
    assert!(
        o.premium_plans_below.len() * 10 <= o.premium_plans,
        "premium tasks planned below premium: {:?} of {}",
        o.premium_plans_below,
        o.premium_plans
    );
}
