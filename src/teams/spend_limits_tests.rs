//! Which API-set limit binds whom, and how stored rows are read.

use super::*;

fn row(id: &str, kind: &str, scope: &str, period: &str, cents: Option<i64>) -> SpendLimitRow {
    SpendLimitRow {
        id: id.into(),
        scope_type: kind.into(),
        scope_id: scope.into(),
        period: period.into(),
        amount_cents: cents,
        created_ms: 1_000,
        updated_ms: 2_000,
        deleted_ms: None,
    }
}

fn who(user: &str, team: Option<&str>) -> Identity {
    Identity {
        key_id: format!("signin:{user}"),
        name: user.into(),
        user: Some(user.into()),
        team: team.map(String::from),
    }
}

fn limits(rules: &[Arc<Rule>]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = rules.iter().map(|r| (r.id.clone(), r.limit())).collect();
    out.sort();
    out
}

#[test]
fn the_most_specific_limit_of_each_period_binds() {
    let mut a = AdminLimits::default();
    a.apply(
        &[
            row("spl_org_m", "organization", "", "monthly", Some(100_000)),
            row("spl_org_d", "organization", "", "daily", Some(5_000)),
            row("spl_web_m", "rbac_group", "web", "monthly", Some(20_000)),
            row("spl_alice_m", "user", "alice", "monthly", Some(1_000)),
            row("spl_bob_d", "user", "bob", "daily", None),
        ],
        RedisDown::Open,
    );
    // alice (team web): her own monthly cap, the organization's daily.
    assert_eq!(
        limits(&a.rules_for(&who("alice", Some("web")))),
        vec![
            ("admin:organization=/spend/day".to_string(), 50_000_000_000),
            ("admin:user=alice/spend/month".to_string(), 10_000_000_000),
        ]
    );
    // bob (team web): no daily cap (his explicit null), the team's monthly.
    assert_eq!(
        limits(&a.rules_for(&who("bob", Some("web")))),
        vec![(
            "admin:rbac_group=web/spend/month".to_string(),
            200_000_000_000
        )]
    );
    // What is in force for bob, null included: it is what lifts the fallback.
    let bob: Vec<(String, Option<i64>)> = a
        .effective_for(&who("bob", Some("web")))
        .into_iter()
        .map(|l| (l.id, l.amount_cents))
        .collect();
    assert_eq!(
        bob,
        [
            ("spl_bob_d".to_string(), None),
            ("spl_web_m".to_string(), Some(20_000))
        ]
    );
    // carol, no team: the organization's.
    assert_eq!(a.rules_for(&who("carol", None)).len(), 2);
    assert_eq!(a.rules().len(), 4);
    let listed: Vec<String> = a.list().into_iter().map(|l| l.id).collect();
    assert_eq!(
        listed,
        [
            "spl_org_d",
            "spl_org_m",
            "spl_web_m",
            "spl_alice_m",
            "spl_bob_d"
        ]
    );
}

#[test]
fn a_deletion_removes_only_the_row_it_names() {
    let mut a = AdminLimits::default();
    a.apply(
        &[row("spl_1", "user", "alice", "daily", Some(500))],
        RedisDown::Open,
    );
    let mut gone = row("spl_1", "user", "alice", "daily", Some(500));
    gone.deleted_ms = Some(3_000);
    gone.updated_ms = 3_000;
    a.apply(&[gone.clone()], RedisDown::Open);
    assert!(a.rules_for(&who("alice", None)).is_empty());
    assert_eq!(a.seen_ms, 3_000);
    // A newer limit for the scope survives an old row's deletion read late.
    a.apply(
        &[row("spl_2", "user", "alice", "daily", Some(700))],
        RedisDown::Open,
    );
    a.apply(&[gone], RedisDown::Open);
    assert_eq!(a.rules_for(&who("alice", None))[0].limit(), 7_000_000_000);
}

#[test]
fn scopes_and_periods_are_checked() {
    assert!(LimitScope::of("user", " ").is_err());
    assert!(
        LimitScope::of("seat_tier", "x")
            .unwrap_err()
            .contains("must be one of")
    );
    assert!(window_of_period("yearly").is_err());
    let l = SpendLimit {
        id: "spl_x".into(),
        scope: LimitScope::Group("web".into()),
        window: BudgetWindow::Week,
        amount_cents: Some(50_000),
        created_ms: 0,
        updated_ms: 1_000,
    };
    let v = l.to_json();
    assert_eq!(v["amount"], "50000");
    assert_eq!(v["period"], "weekly");
    assert_eq!(v["scope"]["rbac_group_id"], "web");
    assert_eq!(v["created_at"], "1970-01-01T00:00:00Z");
    assert_eq!(SpendLimit::from_row(&l.to_row()).unwrap(), Some(l));
}
