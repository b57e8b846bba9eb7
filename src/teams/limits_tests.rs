use super::*;
use crate::config::{BudgetConfig, BudgetScope, BudgetWindow, RateLimitConfig};
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
        time_zone: None,
        redis_down: RedisDown::Open,
        step_down: false,
    }
}

fn limits(budgets: Vec<BudgetConfig>, rates: Vec<RateLimitConfig>) -> Limits {
    Limits::of(rules_of(&budgets, &rates), HashMap::new(), true, None).unwrap()
}

const USD: i64 = 1_000_000_000;
/// 2026-12-05T10:00:00Z, a Saturday.
const NOW: i64 = 1_796_464_800_000;

/// A budget's refusal: its message and retry-after.
#[derive(Debug, PartialEq)]
struct Refused {
    message: String,
    retry_after_secs: Option<u64>,
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// Admit a request of `who` that may cost `most` (local counters).
fn admit(
    l: &Limits,
    id: &str,
    who: &Identity,
    most: i64,
    now: i64,
) -> Result<Option<Soft>, Refused> {
    block_on(l.admit(id, who, &[], most, 0, now)).map_err(|r| match r {
        Refusal::Budget {
            message,
            retry_after_secs,
        } => Refused {
            message,
            retry_after_secs,
        },
        other => panic!("not a budget refusal: {other:?}"),
    })
}

fn counted(l: &Limits, rule: usize) -> (i64, i64) {
    let rule = l.rules[rule].clone();
    l.local().usage(&rule, NOW)
}

#[test]
fn windows_start_at_local_midnight_monday_and_the_first() {
    let rule = |window, offset_secs: i32| {
        let mut b = budget(BudgetScope::User("u".into()), 0, window);
        b.utc_offset_secs = offset_secs;
        rules_of(&[b], &[]).remove(0)
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
fn named_time_zones_follow_daylight_saving() {
    let rule = |window, zone: &str| {
        let mut b = budget(BudgetScope::User("u".into()), 0, window);
        b.time_zone = Some(zone.into());
        rules_of(&[b], &[]).remove(0)
    };
    // Berlin in winter is UTC+1: the 5th began at 23:00 UTC on the 4th.
    let (s, e) = rule(BudgetWindow::Day, "Europe/Berlin").window_of(NOW);
    assert_eq!(
        (when(s), when(e)),
        ("2026-12-04T23:00:00Z".into(), "2026-12-05T23:00:00Z".into())
    );
    // 2026-03-29 is 23 hours long there (clocks go forward at 02:00).
    let march_29 = 1_774_778_400_000; // 2026-03-29T10:00:00Z
    let (s, e) = rule(BudgetWindow::Day, "Europe/Berlin").window_of(march_29);
    assert_eq!(
        (when(s), when(e)),
        ("2026-03-28T23:00:00Z".into(), "2026-03-29T22:00:00Z".into())
    );
    // New York's week and month.
    let (s, _) = rule(BudgetWindow::Week, "America/New_York").window_of(NOW);
    assert_eq!(when(s), "2026-11-30T05:00:00Z");
    let (s, e) = rule(BudgetWindow::Month, "America/New_York").window_of(NOW);
    assert_eq!(
        (when(s), when(e)),
        ("2026-12-01T05:00:00Z".into(), "2027-01-01T05:00:00Z".into())
    );
}

#[test]
fn reserve_refuses_what_could_pass_the_limit_and_settle_counts_the_cost() {
    let b = limits(
        vec![budget(
            BudgetScope::User("alice".into()),
            1,
            BudgetWindow::Day,
        )],
        vec![],
    );
    let alice = who("k1", "alice", "web");
    // Three requests that may cost up to $0.40 each: the third could pass $1.
    assert_eq!(admit(&b, "r1", &alice, 4 * USD / 10, NOW), Ok(None));
    assert_eq!(admit(&b, "r2", &alice, 4 * USD / 10, NOW), Ok(None));
    let refused = admit(&b, "r3", &alice, 4 * USD / 10, NOW).unwrap_err();
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
    b.settle("r1", Some(&alice), USD / 10, 0, NOW);
    b.settle("r2", Some(&alice), USD / 10, 0, NOW);
    assert_eq!(counted(&b, 0), (2 * USD / 10, 0));
    assert_eq!(admit(&b, "r3", &alice, 4 * USD / 10, NOW), Ok(None));
    // Others and $0 requests are not counted.
    let bob = who("k2", "bob", "web");
    assert_eq!(admit(&b, "r4", &bob, 100 * USD, NOW), Ok(None));
    assert_eq!(admit(&b, "r6", &alice, 0, NOW), Ok(None));
    // The next day starts from nothing.
    b.settle("r3", Some(&alice), 9 * USD / 10, 0, NOW);
    assert!(admit(&b, "r7", &alice, USD / 10, NOW).is_err());
    assert_eq!(
        admit(&b, "r8", &alice, USD / 10, NOW + 14 * 3_600_000),
        Ok(None)
    );
}

#[test]
fn every_budget_of_a_key_holds_and_soft_limits_warn() {
    let mut team = budget(BudgetScope::Team("web".into()), 10, BudgetWindow::Month);
    team.soft = Some(Decimal::from(1));
    let b = limits(
        vec![
            team,
            budget(BudgetScope::Key("k1".into()), 2, BudgetWindow::Total),
        ],
        vec![],
    );
    let k1 = who("k1", "alice", "web");
    let warning = admit(&b, "r1", &k1, 15 * USD / 10, NOW).unwrap();
    let warning = warning.unwrap();
    assert!(warning.message.contains("monthly budget of team web"));
    assert!(!warning.step_down);
    let refused = admit(&b, "r2", &k1, USD, NOW).unwrap_err();
    assert!(
        refused.message.contains("total budget of key k1"),
        "{}",
        refused.message
    );
    assert_eq!(refused.retry_after_secs, None);
    // Another key of the same team still has the team's room.
    assert!(admit(&b, "r3", &who("k9", "carol", "web"), USD, NOW).is_ok());
}

#[test]
fn concurrent_reservations_never_pass_the_limit() {
    let b = std::sync::Arc::new(limits(
        vec![budget(
            BudgetScope::Team("web".into()),
            1,
            BudgetWindow::Day,
        )],
        vec![],
    ));
    let granted = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (b, granted) = (b.clone(), granted.clone());
            std::thread::spawn(move || {
                let me = who(&format!("k{t}"), "u", "web");
                for i in 0..100 {
                    let id = format!("{t}-{i}");
                    if admit(&b, &id, &me, 3 * USD / 100, NOW).is_ok() {
                        granted.fetch_add(3 * USD / 100, std::sync::atomic::Ordering::Relaxed);
                        b.settle(&id, Some(&me), 3 * USD / 100, 0, NOW);
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let spent = granted.load(std::sync::atomic::Ordering::Relaxed);
    assert!(spent <= USD && spent > USD - 3 * USD / 100, "{spent}");
    assert_eq!(counted(&b, 0).0, spent);
}

fn rate(scope: BudgetScope, rpm: Option<u64>, tpm: Option<u64>) -> RateLimitConfig {
    RateLimitConfig {
        scope,
        requests_per_minute: rpm,
        tokens_per_minute: tpm,
        redis_down: RedisDown::Open,
    }
}

/// A rate refusal's retry-after, or None when admitted.
fn rate_wait(l: &Limits, id: &str, who: &Identity, tokens: i64, now: i64) -> Option<u64> {
    match block_on(l.admit(id, who, &[], 0, tokens, now)) {
        Ok(_) => None,
        Err(Refusal::Rate {
            retry_after_secs, ..
        }) => Some(retry_after_secs),
        Err(other) => panic!("not a rate refusal: {other:?}"),
    }
}

#[test]
fn requests_per_minute_slide_and_say_when_there_is_room() {
    let l = limits(
        vec![],
        vec![rate(BudgetScope::Key("k1".into()), Some(3), None)],
    );
    let k1 = who("k1", "alice", "web");
    assert_eq!(rate_wait(&l, "a", &k1, 0, NOW), None);
    assert_eq!(rate_wait(&l, "b", &k1, 0, NOW + 20_000), None);
    assert_eq!(rate_wait(&l, "c", &k1, 0, NOW + 40_000), None);
    // The fourth within the minute waits for the first to leave it.
    assert_eq!(rate_wait(&l, "d", &k1, 0, NOW + 45_000), Some(15));
    assert_eq!(rate_wait(&l, "d", &k1, 0, NOW + 60_000), None);
    assert_eq!(rate_wait(&l, "e", &k1, 0, NOW + 61_000), Some(19));
    // Another key is not counted.
    assert_eq!(rate_wait(&l, "f", &who("k2", "bob", "web"), 0, NOW), None);
    let Err(Refusal::Rate { message, .. }) = block_on(l.admit("g", &k1, &[], 0, 0, NOW + 61_000))
    else {
        panic!("refused")
    };
    assert!(
        message.contains("request rate limit of key k1 is reached: 3 requests"),
        "{message}"
    );
}

#[test]
fn tokens_per_minute_count_the_prompt_first_and_the_answer_when_it_ends() {
    let l = limits(
        vec![],
        vec![rate(BudgetScope::Team("web".into()), None, Some(1_000))],
    );
    let alice = who("k1", "alice", "web");
    assert_eq!(rate_wait(&l, "a", &alice, 600, NOW), None);
    // 600 prompt tokens counted; 400 more fit.
    assert_eq!(rate_wait(&l, "b", &alice, 500, NOW + 1_000), Some(59));
    // The first request's answer brings it to 900.
    l.settle("a", Some(&alice), 0, 900, NOW + 2_000);
    assert_eq!(counted(&l, 0).0, 900);
    assert_eq!(rate_wait(&l, "c", &alice, 200, NOW + 3_000), Some(57));
    assert_eq!(rate_wait(&l, "c", &alice, 100, NOW + 3_000), None);
}

#[test]
fn without_reserving_concurrent_requests_overshoot() {
    let rules = rules_of(
        &[budget(
            BudgetScope::Team("web".into()),
            1,
            BudgetWindow::Day,
        )],
        &[],
    );
    let alice = who("k1", "alice", "web");
    for (reserve, admitted) in [(true, 2), (false, 10)] {
        let l = Limits::of(rules.clone(), HashMap::new(), reserve, None).unwrap();
        // Ten requests at once, each up to $0.40, each costing $0.30.
        let ids: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
        let ok: Vec<&String> = ids
            .iter()
            .filter(|id| admit(&l, id, &alice, 4 * USD / 10, NOW).is_ok())
            .collect();
        assert_eq!(ok.len(), admitted, "reserve = {reserve}");
        for id in ok {
            l.settle(id, Some(&alice), 3 * USD / 10, 0, NOW);
        }
        let spent = counted(&l, 0).0;
        assert_eq!(spent, admitted as i64 * 3 * USD / 10);
        // Once spent, both refuse.
        assert!(admit(&l, "late", &alice, 4 * USD / 10, NOW).is_err() || spent < USD);
    }
}

#[test]
fn free_requests_pass_budgets_but_count_against_rates() {
    let l = limits(
        vec![budget(
            BudgetScope::User("alice".into()),
            0,
            BudgetWindow::Day,
        )],
        vec![rate(BudgetScope::User("alice".into()), Some(2), None)],
    );
    let alice = who("k1", "alice", "web");
    assert_eq!(admit(&l, "a", &alice, 0, NOW), Ok(None));
    assert!(
        admit(&l, "b", &alice, 1, NOW).is_err(),
        "a paid one is refused"
    );
    assert_eq!(admit(&l, "c", &alice, 0, NOW), Ok(None));
    assert_eq!(rate_wait(&l, "d", &alice, 0, NOW), Some(60));
}

#[test]
fn a_keys_own_limits_count_beside_the_configured_ones() {
    let l = limits(
        vec![budget(
            BudgetScope::Team("web".into()),
            10,
            BudgetWindow::Day,
        )],
        vec![],
    );
    let own: Vec<Arc<Rule>> = crate::teams::rules::rules_of_key(
        "k1",
        &crate::teams::KeyLimits {
            budget_usd: Some(Decimal::from(1)),
            budget_window: Some("day".into()),
            requests_per_minute: Some(5),
            ..Default::default()
        },
    )
    .into_iter()
    .map(Arc::new)
    .collect();
    assert_eq!(own.len(), 2);
    let k1 = who("k1", "alice", "web");
    let ask = |id: &str, most: i64| block_on(l.admit(id, &k1, &own, most, 0, NOW));
    assert_eq!(ask("a", 6 * USD / 10), Ok(None));
    // The key's own $1 refuses what the team's $10 would allow.
    let Err(Refusal::Budget { message, .. }) = ask("b", 6 * USD / 10) else {
        panic!("refused by the key's budget")
    };
    assert!(message.contains("daily budget of key k1"), "{message}");
    l.settle("a", Some(&k1), USD / 10, 0, NOW);
    for id in ["c", "d", "e"] {
        assert_eq!(ask(id, USD / 10), Ok(None));
    }
    // Five requests a minute: a, b (refused, not counted), c, d, e, then f.
    assert_eq!(ask("f", USD / 10), Ok(None));
    assert!(matches!(ask("g", USD / 10), Err(Refusal::Rate { .. })));
    let used = block_on(l.usage_of(&k1, &own, NOW));
    assert_eq!(used.len(), 3, "the team's budget and the key's two");
    assert_eq!(used[1].reserved, 4 * USD / 10);
}
