use super::*;
use rust_decimal::Decimal;

fn who(key: &str, user: &str, team: &str) -> Identity {
    Identity {
        key_id: key.into(),
        name: "n".into(),
        user: Some(user.into()),
        team: Some(team.into()),
    }
}

fn budget(scope: BudgetScope, limit: i64, window: BudgetWindow) -> BudgetConfig {
    BudgetConfig {
        scope,
        limit: Decimal::from(limit),
        soft: None,
        window,
        utc_offset_secs: 0,
    }
}

const USD: i64 = 1_000_000_000;
/// 2026-12-05T10:00:00Z, a Saturday.
const NOW: i64 = 1_796_464_800_000;

#[test]
fn windows_start_at_local_midnight_monday_and_the_first() {
    let rule = |window, offset_secs: i32| Rule {
        scope: BudgetScope::User("u".into()),
        limit: 0,
        soft: None,
        window,
        offset_ms: i64::from(offset_secs) * 1000,
    };
    let at = |ms: i64| when(ms);
    let (s, e) = rule(BudgetWindow::Day, 0).window_of(NOW);
    assert_eq!(
        (at(s), at(e)),
        ("2026-12-05T00:00:00Z".into(), "2026-12-06T00:00:00Z".into())
    );
    // At UTC-5 it is still 05:00 on the 5th; the day began at 05:00 UTC.
    let (s, _) = rule(BudgetWindow::Day, -5 * 3600).window_of(NOW);
    assert_eq!(at(s), "2026-12-05T05:00:00Z");
    let (s, e) = rule(BudgetWindow::Week, 0).window_of(NOW);
    assert_eq!(
        (at(s), at(e)),
        ("2026-11-30T00:00:00Z".into(), "2026-12-07T00:00:00Z".into())
    );
    let (s, e) = rule(BudgetWindow::Month, 0).window_of(NOW);
    assert_eq!(
        (at(s), at(e)),
        ("2026-12-01T00:00:00Z".into(), "2027-01-01T00:00:00Z".into())
    );
    assert_eq!(
        rule(BudgetWindow::Total, 0).window_of(NOW),
        (i64::MIN, i64::MAX)
    );
}

#[test]
fn reserve_refuses_what_could_pass_the_limit_and_settle_counts_the_cost() {
    let b = Budgets::new(
        &[budget(
            BudgetScope::User("alice".into()),
            1,
            BudgetWindow::Day,
        )],
        HashMap::new(),
    );
    let alice = who("k1", "alice", "web");
    // Three requests that may cost up to $0.40 each: the third could pass $1.
    assert_eq!(b.reserve("r1", Some(&alice), 4 * USD / 10, NOW), Ok(None));
    assert_eq!(b.reserve("r2", Some(&alice), 4 * USD / 10, NOW), Ok(None));
    let refused = b
        .reserve("r3", Some(&alice), 4 * USD / 10, NOW)
        .unwrap_err();
    assert!(
        refused.message.contains("daily budget of user alice"),
        "{}",
        refused.message
    );
    assert!(
        refused.message.contains("resets at 2026-12-06T00:00:00Z"),
        "{}",
        refused.message
    );
    assert_eq!(refused.retry_after_secs, Some(14 * 3600));
    // They cost far less than reserved: the room comes back.
    b.settle("r1", Some(&alice), USD / 10, NOW);
    b.settle("r2", Some(&alice), USD / 10, NOW);
    assert_eq!((b.usage(NOW)[0].1, b.usage(NOW)[0].2), (2 * USD / 10, 0));
    assert_eq!(b.reserve("r3", Some(&alice), 4 * USD / 10, NOW), Ok(None));
    // Others, requests with no key, and $0 requests are not counted.
    let bob = who("k2", "bob", "web");
    assert_eq!(b.reserve("r4", Some(&bob), 100 * USD, NOW), Ok(None));
    assert_eq!(b.reserve("r5", None, 100 * USD, NOW), Ok(None));
    assert_eq!(b.reserve("r6", Some(&alice), 0, NOW), Ok(None));
    // The next day starts from nothing.
    b.settle("r3", Some(&alice), 9 * USD / 10, NOW);
    assert!(b.reserve("r7", Some(&alice), USD / 10, NOW).is_err());
    assert_eq!(
        b.reserve("r8", Some(&alice), USD / 10, NOW + 14 * 3_600_000),
        Ok(None)
    );
}

#[test]
fn every_budget_of_a_key_holds_and_soft_limits_warn() {
    let mut team = budget(BudgetScope::Team("web".into()), 10, BudgetWindow::Month);
    team.soft = Some(Decimal::from(1));
    let b = Budgets::new(
        &[
            team,
            budget(BudgetScope::Key("k1".into()), 2, BudgetWindow::Total),
        ],
        HashMap::new(),
    );
    let k1 = who("k1", "alice", "web");
    let warning = b.reserve("r1", Some(&k1), 15 * USD / 10, NOW).unwrap();
    assert!(warning.unwrap().contains("monthly budget of team web"));
    let refused = b.reserve("r2", Some(&k1), USD, NOW).unwrap_err();
    assert!(
        refused.message.contains("total budget of key k1"),
        "{}",
        refused.message
    );
    assert_eq!(refused.retry_after_secs, None);
    // Another key of the same team still has the team's room.
    assert!(
        b.reserve("r3", Some(&who("k9", "carol", "web")), USD, NOW)
            .is_ok()
    );
}

#[test]
fn concurrent_reservations_never_pass_the_limit() {
    let b = std::sync::Arc::new(Budgets::new(
        &[budget(
            BudgetScope::Team("web".into()),
            1,
            BudgetWindow::Day,
        )],
        HashMap::new(),
    ));
    let granted = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (b, granted) = (b.clone(), granted.clone());
            std::thread::spawn(move || {
                let me = who(&format!("k{t}"), "u", "web");
                for i in 0..100 {
                    let id = format!("{t}-{i}");
                    if b.reserve(&id, Some(&me), 3 * USD / 100, NOW).is_ok() {
                        granted.fetch_add(3 * USD / 100, std::sync::atomic::Ordering::Relaxed);
                        b.settle(&id, Some(&me), 3 * USD / 100, NOW);
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let spent = granted.load(std::sync::atomic::Ordering::Relaxed);
    assert!(spent <= USD && spent > USD - 3 * USD / 100, "{spent}");
    assert_eq!(b.usage(NOW)[0].1, spent);
}
