//! The sign-in service without HTTP: device codes, who may sign in, what a
//! session token stands for, revocation.

use super::*;

fn config(teams: &[&str], groups: &[&str], domains: &[&str]) -> SignInConfig {
    let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    SignInConfig {
        issuer: "https://idp.example".into(),
        client_id: "switchyard".into(),
        client_secret: None,
        public_url: Some("https://llm.example".into()),
        session_secret: Some("s3cret".to_string().into()),
        session_ttl: Duration::from_secs(3600),
        refresh_ttl: Duration::from_secs(86_400),
        user_claim: "email".into(),
        groups_claim: "groups".into(),
        teams: list(teams),
        allowed_groups: list(groups),
        allowed_domains: list(domains),
        scopes: list(&["openid"]),
        login_notice: None,
        policies: Vec::new(),
        telemetry_forward_to: Vec::new(),
        telemetry_headers: Vec::new(),
    }
}

fn person(user: &str, groups: &[&str]) -> Person {
    Person {
        user: user.into(),
        email: Some(user.into()),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

async fn device_code_steps(s: &SignIn) {
    let (device, user) = s.start_device().await.unwrap();
    assert_eq!(user.len(), 9);
    assert!(
        user.chars()
            .all(|c| c == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{user}"
    );
    assert_eq!(s.poll(&device).await, Err("authorization_pending"));
    assert_eq!(
        s.poll(&device).await,
        Err("slow_down"),
        "polled again at once"
    );
    assert!(
        s.deny(&user.to_lowercase()).await,
        "codes are read case-blind"
    );
    assert_eq!(s.poll(&device).await, Err("access_denied"));
    assert_eq!(s.poll(&device).await, Err("expired_token"), "used up");
    assert_eq!(s.poll("made-up").await, Err("expired_token"));
    assert!(
        !s.deny(&user).await,
        "a settled code cannot be settled again"
    );
    // Approved: handed over once, as the person who approved it.
    let (device, user) = s.start_device().await.unwrap();
    let key = s.pending_key(&user).await.expect("pending");
    let ada = person("ada@example.com", &["payments"]);
    assert!(s.settle(&key, Some((&ada, "sid-9", Some("prt")))).await);
    assert!(!s.settle(&key, None).await, "settled once");
    let grant = s.poll(&device).await.unwrap();
    let who = s.authenticate(&grant.access_token).unwrap();
    assert_eq!(who.identity.user.as_deref(), Some("ada@example.com"));
    assert_eq!(s.poll(&device).await, Err("expired_token"));
}

#[tokio::test]
async fn a_device_code_is_pending_then_slowed_then_settled_once() {
    let s = SignIn::new(&config(&[], &[], &[])).unwrap();
    device_code_steps(&s).await;
}

#[tokio::test]
async fn sign_ins_in_progress_kept_in_the_database_behave_the_same() {
    let dir = std::env::temp_dir().join(format!("sy-signin-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = crate::store::Store::connect(&crate::store::sqlite_url(&dir.join("l.db")))
        .await
        .unwrap();
    let s = SignIn::new(&config(&[], &[], &[])).unwrap();
    s.share_through(store.clone());
    device_code_steps(&s).await;
    // A flow kept by one instance is taken by another sharing the secret
    // and the database, once.
    let other = SignIn::new(&config(&[], &[], &[])).unwrap();
    other.share_through(store);
    let flow = Flow {
        device_key: "k".into(),
        redirect_uri: "https://llm.example/oauth/callback".into(),
        verifier: "v".into(),
        nonce: "n".into(),
        browser_hash: "b".into(),
    };
    s.keep_flow("state-1".into(), flow).await.unwrap();
    assert_eq!(other.take_flow("state-1").await.unwrap().verifier, "v");
    assert!(s.take_flow("state-1").await.is_none());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn groups_and_domains_decide_who_may_sign_in() {
    let s = SignIn::new(&config(&[], &["eng"], &["example.com"])).unwrap();
    assert!(s.may_sign_in(&person("ada@example.com", &["eng"])).is_ok());
    assert!(
        s.may_sign_in(&person("ada@example.com", &["sales"]))
            .is_err()
    );
    assert!(
        s.may_sign_in(&person("ada@elsewhere.com", &["eng"]))
            .is_err()
    );
    let open = SignIn::new(&config(&[], &[], &[])).unwrap();
    assert!(open.may_sign_in(&person("anyone", &[])).is_ok());
}

#[test]
fn claims_name_the_user_and_groups_either_way_providers_write_them() {
    let s = SignIn::new(&config(&[], &[], &[])).unwrap();
    let p = s
        .person(&serde_json::json!({"sub": "u1", "email": "ada@example.com", "groups": ["a", "b"]}))
        .unwrap();
    assert_eq!(p, person("ada@example.com", &["a", "b"]));
    let p = s
        .person(&serde_json::json!({"sub": "u2", "groups": "a b"}))
        .unwrap();
    assert_eq!(
        (p.user.as_str(), p.groups.len()),
        ("u2", 2),
        "no e-mail: the subject"
    );
    assert!(s.person(&serde_json::json!({})).is_err());
}

#[test]
fn a_session_token_stands_for_its_person_until_revoked() {
    let s = SignIn::new(&config(&["platform", "payments"], &[], &[])).unwrap();
    let grant = s.grant(
        &person("ada@example.com", &["payments", "platform"]),
        "sid-1",
        Some("the-providers-refresh-token"),
    );
    // The provider's refresh token rides in the refresh token only, sealed.
    for t in [&grant.access_token, &grant.refresh_token] {
        let payload = t.split('.').nth(1).unwrap();
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(!text.contains("the-providers-refresh-token"), "{text}");
    }
    let sealed = s
        .signer
        .check(&grant.refresh_token, "refresh")
        .unwrap()
        .prt
        .unwrap();
    assert_eq!(
        s.sealer.open(&sealed).as_deref(),
        Some("the-providers-refresh-token")
    );
    assert_eq!(
        s.signer.check(&grant.access_token, "access").unwrap().prt,
        None
    );
    let key = s.authenticate(&grant.access_token).unwrap();
    assert_eq!(key.identity.user.as_deref(), Some("ada@example.com"));
    assert_eq!(
        key.identity.team.as_deref(),
        Some("platform"),
        "teams' order decides"
    );
    assert!(
        s.authenticate(&grant.refresh_token).is_err(),
        "a refresh token is no bearer"
    );
    let other = s.grant(&person("bob@example.com", &[]), "sid-2", None);
    assert_eq!(
        s.authenticate(&other.access_token).unwrap().identity.team,
        None
    );
    s.revoke_token(&grant.refresh_token);
    assert!(
        s.authenticate(&grant.access_token)
            .unwrap_err()
            .contains("revoked")
    );
    assert!(
        s.authenticate(&other.access_token).is_ok(),
        "only that sign-in"
    );
    s.revoke_user("bob@example.com");
    assert!(s.authenticate(&other.access_token).is_err());
}
