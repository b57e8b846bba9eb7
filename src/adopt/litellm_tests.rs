//! The importer on ten real LiteLLM configs (tests/fixtures/litellm): each
//! becomes a config switchyard loads, with what it carried and what it
//! left named.

use super::litellm::{Import, import};
use super::litellm_render::{render, summary};
use std::path::Path;

fn fixture(name: &str) -> (Import, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/litellm")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let imported = import(&text).unwrap();
    let toml = render(&imported, name);
    if let Err(e) = super::validate(&toml, Path::new("/tmp/imported.toml")) {
        panic!("{name}: the imported config does not load:\n{e}\n---\n{toml}");
    }
    (imported, toml)
}

fn model<'a>(i: &'a Import, name: &str) -> &'a super::litellm::Model {
    i.models
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no model {name} in {:?}", i.models))
}

fn skipped(i: &Import, path_part: &str) -> bool {
    i.skipped.iter().any(|s| s.path.contains(path_part))
}

#[test]
fn every_fixture_imports_into_a_config_that_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/litellm");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".yaml") {
            let (imported, _) = fixture(&name);
            assert!(!imported.models.is_empty(), "{name}: no model carried");
            n += 1;
        }
    }
    assert!(n >= 10, "{n} fixtures");
}

#[test]
fn claude_code_quickstart_carries_every_model_and_the_master_key() {
    let (i, toml) = fixture("01-claude-code-quickstart.yaml");
    assert_eq!(i.models.len(), 3);
    assert!(i.models.iter().all(|m| m.provider == "anthropic"));
    assert_eq!(
        model(&i, "claude-haiku-4-5-20251001").id.as_deref(),
        Some("claude-haiku-4-5-20251001")
    );
    assert_eq!(
        i.providers[0].api_key.as_deref(),
        Some("${ANTHROPIC_API_KEY}")
    );
    assert_eq!(i.master_key.as_deref(), Some("${LITELLM_MASTER_KEY}"));
    assert!(i.skipped.is_empty(), "{:?}", i.skipped);
    assert!(toml.contains("master_key = \"${LITELLM_MASTER_KEY}\""));
}

#[test]
fn azure_and_catch_all_models_are_named_as_left_behind() {
    let (i, _) = fixture("02-configs-quick-start.yaml");
    let names: Vec<&str> = i.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["bedrock-claude-v1", "anthropic-claude", "vllm-models"]
    );
    assert!(i.skipped.iter().filter(|s| s.why.contains("azure")).count() == 2);
    assert!(skipped(&i, "model_list[5] (*)"));
    assert!(skipped(&i, "litellm_settings.success_callback"));
    assert!(skipped(&i, "general_settings.alerting"));
    let vllm = i.providers.iter().find(|p| p.kind == "openai").unwrap();
    assert_eq!(vllm.base_url.as_deref(), Some("http://0.0.0.0:4000/v1"));
    assert_eq!(vllm.api_key, None, "api_key: none is no key");
    assert_eq!(i.literal_secrets, ["general_settings.master_key"]);
    // The default region and us-east-1 are two Bedrock providers.
    assert_eq!(
        i.providers.iter().filter(|p| p.kind == "bedrock").count(),
        2
    );
}

#[test]
fn retries_timeouts_cooldowns_aliases_and_fallbacks_map() {
    let (i, toml) = fixture("03-configs-load-balancing.yaml");
    assert_eq!(
        i.retries,
        Some(2),
        "router_settings win over litellm_settings"
    );
    assert_eq!(i.timeout_s, Some(30.0));
    assert_eq!(i.allowed_fails, Some(3));
    assert_eq!(model(&i, "gpt-4o").aliases, ["gpt-4"]);
    assert!(skipped(&i, "model_list[0] (zephyr-beta)"), "huggingface");
    assert!(skipped(&i, "litellm_settings.fallbacks[0].zephyr-beta"));
    assert!(skipped(&i, "litellm_settings.context_window_fallbacks"));
    assert!(skipped(&i, "Redis"));
    assert!(toml.contains("[retry]\nretries = 2"));
    assert!(toml.contains("[timeouts]\ntotal = \"30s\""));
}

#[test]
fn a_redis_cache_with_a_ttl_carries_and_embeddings_do_not() {
    let (i, toml) = fixture("04-caching-redis.yaml");
    assert_eq!(
        i.cache,
        Some(Some("${REDIS_URL:-redis://127.0.0.1:6379}".into()))
    );
    assert_eq!(i.cache_ttl_s, Some(600.0));
    assert!(skipped(&i, "text-embedding-ada-002"));
    assert!(toml.contains("[cache]\nbackend = \"redis\"\nttl     = \"600s\""));
}

#[test]
fn deployments_of_one_name_become_an_ordered_route() {
    let (i, _) = fixture("05-load-balancer.yaml");
    let r = &i.routes[0];
    assert_eq!(r.model, "gpt-3.5-turbo");
    assert_eq!(
        r.targets,
        ["gpt-3.5-turbo", "gpt-3.5-turbo-2", "gpt-3.5-turbo-3"]
    );
    assert_eq!(model(&i, "gpt-3.5-turbo-3").provider, "openrouter");
    // Two literal keys: two OpenAI providers, and both named as secrets in the file.
    assert_eq!(
        i.providers
            .iter()
            .filter(|p| p.name.starts_with("openai"))
            .count(),
        2
    );
    assert_eq!(i.literal_secrets.len(), 2);
    assert!(skipped(&i, "mistral-7b-instruct"));
    assert!(skipped(&i, "environment_variables.REDIS_PASSWORD"));
    assert!(
        !summary(&i).contains("sk-uj6F"),
        "the summary never shows a secret"
    );
}

#[test]
fn ollama_models_share_one_provider_and_defaults_are_named() {
    let (i, _) = fixture("06-aliases-ollama.yaml");
    assert_eq!(i.providers.len(), 1);
    assert_eq!(i.providers[0].kind, "ollama");
    assert_eq!(model(&i, "gpt-4").id.as_deref(), Some("llama2"));
    assert!(skipped(&i, "litellm_params.temperature"));
    assert!(skipped(&i, "litellm_params.max_tokens"));
}

#[test]
fn a_disk_cache_becomes_memory_and_gemini_is_left() {
    let (i, _) = fixture("07-macos-optimized.yaml");
    assert_eq!(i.cache, Some(None));
    assert_eq!(i.cache_ttl_s, Some(3600.0));
    assert!(skipped(&i, "cache_params.type"));
    assert!(skipped(&i, "gemini-pro"));
    let ollama = i.providers.iter().find(|p| p.kind == "ollama").unwrap();
    assert_eq!(ollama.base_url.as_deref(), Some("http://localhost:11434"));
    assert_eq!((i.retries, i.timeout_s), (Some(2), Some(600.0)));
}

#[test]
fn the_aws_deployment_keeps_its_database_and_cooldowns() {
    let (i, _) = fixture("08-aws-deploy.yaml");
    assert_eq!(i.models.len(), 6);
    assert_eq!(i.database_url.as_deref(), Some("${DATABASE_URL}"));
    assert_eq!(i.master_key.as_deref(), Some("${PROXY_MASTER_KEY}"));
    assert_eq!(
        (i.allowed_fails, i.cooldown_s, i.timeout_s),
        (Some(3), Some(60.0), Some(300.0))
    );
    let fake = i
        .providers
        .iter()
        .find(|p| p.name.starts_with("exampleopenaiendpoint"))
        .unwrap();
    assert_eq!(
        fake.base_url.as_deref(),
        Some("https://exampleopenaiendpoint-production.up.railway.app")
    );
}

#[test]
fn bedrock_claude_models_carry_and_nova_is_named() {
    let (i, toml) = fixture("09-agent-sdk-bedrock.yaml");
    assert_eq!(i.models.len(), 4);
    assert_eq!(i.providers.len(), 1);
    assert_eq!(i.providers[0].name, "bedrock-us-east-1");
    assert!(skipped(&i, "bedrock-nova-premier"));
    assert!(
        toml.contains("[models.\"bedrock-claude-sonnet-4.5\"]"),
        "{toml}"
    );
}

#[test]
fn the_proxys_own_test_config_carries_what_switchyard_can_serve() {
    let (i, _) = fixture("10-proxy-server-config.yaml");
    let any = i.models.iter().find(|m| m.aliases == ["*"]).unwrap();
    assert_eq!((any.provider.as_str(), any.id.as_deref()), ("openai", None));
    let r = i
        .routes
        .iter()
        .find(|r| r.model == "fake-openai-endpoint-3")
        .unwrap();
    assert_eq!(
        r.targets,
        ["fake-openai-endpoint-3", "fake-openai-endpoint-3-2"]
    );
    assert_eq!(
        model(&i, "fake-openai-endpoint-3").aliases,
        ["my-special-fake-model-alias-name"]
    );
    let large = i
        .providers
        .iter()
        .find(|p| p.total_s == Some(300.0))
        .unwrap();
    assert_eq!(large.first_byte_s, Some(60.0));
    for left in [
        "anthropic/*",
        "groq/*",
        "sagemaker",
        "gpt-instruct",
        "pass_through_endpoints",
        "default_team_settings",
    ] {
        assert!(skipped(&i, left), "{left} should be named");
    }
    assert_eq!(i.retries, Some(5));
}

#[test]
fn what_is_not_a_litellm_config_gets_a_clear_error() {
    assert!(
        import("model_list: [")
            .unwrap_err()
            .contains("not valid YAML")
    );
    assert!(
        import("general_settings: {}\n")
            .unwrap_err()
            .contains("no model_list")
    );
    assert!(import("- a\n- b\n").unwrap_err().contains("not a mapping"));
    assert!(import("").is_err());
}
