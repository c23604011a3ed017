//! The chain's resilience and accounting, driven through the OpenAI-compatible client and a fake server.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use providers::{
    chain::{CallOptions, Chain, Link},
    pricing::cost_micros,
    Text,
};
use shared::breaker::{BreakerConfig, CircuitBreaker};
use wiremock::{
    matchers::{header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use crate::support::{
    completion, context, link, openai, policy, title_request, Harness, OfflineTitles,
};

fn ok_title(title: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(completion(
        &format!(r#"{{"title":"{title}"}}"#),
        1200,
        200,
        380,
    ))
}

async fn requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .map(|r| r.len())
        .unwrap_or(0)
}

fn chain(harness: &Harness, links: Vec<Link<Text>>, budget: u32) -> Chain<Text> {
    Chain::new(links, policy(budget), harness.layer.clone())
}

#[tokio::test]
async fn a_reply_is_parsed_validated_and_priced_exactly_from_the_table() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test"))
        .respond_with(ok_title("Night lake"))
        .mount(&server)
        .await;
    let chain = chain(&harness, vec![link(openai(&server)?, 3)], 6);
    let ctx = context();
    let done = chain
        .call(&ctx, &title_request("lakes"), CallOptions::default())
        .await?;
    assert_eq!(done.reply.json["title"], "Night lake");
    assert_eq!(
        (done.provider.as_str(), done.model.as_str()),
        ("openai", "gpt-4o-mini")
    );
    // 1,000 uncached × $0.15/M + 200 cached × $0.075/M + 380 × $0.60/M = 150 + 15 + 228 micro-dollars.
    let price =
        harness
            .layer
            .prices
            .price("openai", "gpt-4o-mini", chrono::Utc::now().date_naive());
    let expected = price
        .map(|p| cost_micros(p, &done.units))
        .unwrap_or(u64::MAX);
    assert_eq!(expected, 393);
    assert_eq!(done.cost_micros, 393);
    let usage = harness.usage(1).await?;
    assert_eq!(usage.len(), 1);
    let entry = &usage[0];
    assert_eq!(
        (
            entry.provider.as_str(),
            entry.outcome.as_str(),
            entry.cost_micros
        ),
        ("openai", "ok", 393)
    );
    assert_eq!(
        (
            entry.units.input_tokens,
            entry.units.cached_tokens,
            entry.units.output_tokens
        ),
        (1200, 200, 380)
    );
    assert_eq!(
        (
            entry.run_id,
            entry.tenant.as_str(),
            entry.capability.as_str()
        ),
        (ctx.run_id, "acme", "text")
    );
    assert!(entry.priced && !entry.cache_hit);
    // The request asked for JSON matching the schema.
    let received = server.received_requests().await.unwrap_or_default();
    let body: serde_json::Value = serde_json::from_slice(&received[0].body)?;
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(
        body["response_format"]["json_schema"]["schema"]["required"][0],
        "title"
    );
    Ok(())
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says() -> anyhow::Result<()> {
    for (name, value, wait) in [
        ("retry-after", "1", Duration::from_secs(1)),
        ("retry-after-ms", "400", Duration::from_millis(400)),
    ] {
        let harness = Harness::new().await?;
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429).insert_header(name, value).set_body_json(
                serde_json::json!({ "error": { "message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded" } }),
            ))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ok_title("After the wait"))
            .mount(&server)
            .await;
        let chain = chain(&harness, vec![link(openai(&server)?, 3)], 6);
        let started = Instant::now();
        let done = chain
            .call(&context(), &title_request("waits"), CallOptions::default())
            .await?;
        let elapsed = started.elapsed();
        assert_eq!(done.reply.json["title"], "After the wait");
        assert!(
            elapsed >= wait,
            "{name}: waited {elapsed:?}, asked {wait:?}"
        );
        assert!(
            elapsed < wait + Duration::from_millis(800),
            "{name}: waited {elapsed:?}, far beyond {wait:?}"
        );
        let outcomes: Vec<String> = harness
            .usage(2)
            .await?
            .into_iter()
            .map(|e| e.outcome)
            .collect();
        assert_eq!(outcomes, ["transient", "ok"]);
    }
    Ok(())
}

#[tokio::test]
async fn server_errors_are_retried_then_the_chain_falls_back() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let chain = chain(
        &harness,
        vec![link(openai(&server)?, 2), link(Arc::new(OfflineTitles), 1)],
        6,
    );
    let done = chain
        .call(&context(), &title_request("storms"), CallOptions::default())
        .await?;
    assert_eq!(done.provider, "offline");
    assert_eq!(done.reply.json["title"], "Offline: storms");
    assert_eq!(done.attempts, 3);
    assert_eq!(
        requests(&server).await,
        2,
        "two attempts on the failing provider"
    );
    let outcomes: Vec<String> = harness
        .usage(3)
        .await?
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes, ["transient", "transient", "ok"]);
    Ok(())
}

#[tokio::test]
async fn a_401_moves_on_at_once_and_the_breaker_counts_it() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            serde_json::json!({ "error": { "message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key" } }),
        ))
        .mount(&server)
        .await;
    let breaker = Arc::new(CircuitBreaker::new(BreakerConfig {
        window_ms: 60_000,
        min_requests: 1,
        failure_ratio: 1.0,
        cooldown_ms: 60_000,
    }));
    let openai_link = Link {
        client: openai(&server)?,
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        breaker: breaker.clone(),
    };
    let chain = chain(
        &harness,
        vec![openai_link, link(Arc::new(OfflineTitles), 1)],
        6,
    );
    let started = Instant::now();
    let done = chain
        .call(&context(), &title_request("keys"), CallOptions::default())
        .await?;
    assert_eq!(done.provider, "offline");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "no backoff after a 401"
    );
    assert_eq!(requests(&server).await, 1, "a 401 is not retried");
    assert_eq!(breaker.state(), "open");
    let again = chain
        .call(
            &context(),
            &title_request("keys again"),
            CallOptions::default(),
        )
        .await?;
    assert_eq!(again.provider, "offline");
    assert_eq!(
        requests(&server).await,
        1,
        "the open breaker skips the provider"
    );
    let outcomes: Vec<String> = harness
        .usage(3)
        .await?
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes, ["auth", "ok", "ok"]);
    Ok(())
}

#[tokio::test]
async fn malformed_and_off_schema_output_is_retried_priced_and_falls_back() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            "this is not JSON",
            100,
            0,
            50,
        )))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            r#"{"headline":"wrong field"}"#,
            100,
            0,
            50,
        )))
        .mount(&server)
        .await;
    let chain = chain(
        &harness,
        vec![link(openai(&server)?, 2), link(Arc::new(OfflineTitles), 1)],
        6,
    );
    let done = chain
        .call(
            &context(),
            &title_request("schemas"),
            CallOptions::default(),
        )
        .await?;
    assert_eq!(done.provider, "offline");
    assert_eq!(requests(&server).await, 2);
    // Both unusable replies were still paid for: 2 × (100 × 0.15 + 50 × 0.60) = 2 × 45 micro-dollars.
    assert_eq!(done.cost_micros, 90);
    let usage = harness.usage(3).await?;
    let outcomes: Vec<&str> = usage.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(outcomes, ["invalid_output", "invalid_output", "ok"]);
    assert_eq!(usage.iter().map(|e| e.cost_micros).sum::<u64>(), 90);
    Ok(())
}

#[tokio::test]
async fn a_slow_provider_times_out_and_the_chain_falls_back() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_title("Too late").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let slow = Link {
        client: openai(&server)?,
        timeout: Duration::from_millis(200),
        max_attempts: 1,
        breaker: crate::support::lenient_breaker(),
    };
    let chain = chain(&harness, vec![slow, link(Arc::new(OfflineTitles), 1)], 6);
    let started = Instant::now();
    let done = chain
        .call(
            &context(),
            &title_request("waiting"),
            CallOptions::default(),
        )
        .await?;
    assert_eq!(done.provider, "offline");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let usage = harness.usage(2).await?;
    assert_eq!(usage[0].outcome, "transient");
    assert!(usage[0].latency_ms >= 200);
    Ok(())
}

#[tokio::test]
async fn the_breaker_opens_after_the_threshold_and_recovers_after_the_cooldown(
) -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_title("Recovered"))
        .mount(&server)
        .await;
    let breaker = Arc::new(CircuitBreaker::new(BreakerConfig {
        window_ms: 60_000,
        min_requests: 4,
        failure_ratio: 0.5,
        cooldown_ms: 300,
    }));
    let openai_link = Link {
        client: openai(&server)?,
        timeout: Duration::from_secs(5),
        max_attempts: 1,
        breaker: breaker.clone(),
    };
    let chain = chain(
        &harness,
        vec![openai_link, link(Arc::new(OfflineTitles), 1)],
        6,
    );
    for round in 0..4 {
        let done = chain
            .call(
                &context(),
                &title_request(&format!("round {round}")),
                CallOptions::default(),
            )
            .await?;
        assert_eq!(done.provider, "offline");
    }
    assert_eq!(breaker.state(), "open", "4 failures of 4 requests");
    assert_eq!(requests(&server).await, 4);
    let skipped = chain
        .call(
            &context(),
            &title_request("while open"),
            CallOptions::default(),
        )
        .await?;
    assert_eq!(skipped.provider, "offline");
    assert_eq!(requests(&server).await, 4, "no call while open");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let probe = chain
        .call(
            &context(),
            &title_request("after cooldown"),
            CallOptions::default(),
        )
        .await?;
    assert_eq!(
        (probe.provider.as_str(), probe.reply.json["title"].as_str()),
        ("openai", Some("Recovered"))
    );
    assert_eq!(breaker.state(), "closed", "the successful probe closes it");
    let gauge = harness
        .registry
        .gather()
        .into_iter()
        .find(|f| f.name() == "provider_breaker_state");
    assert!(gauge.is_some(), "breaker state is exported");
    Ok(())
}

#[tokio::test]
async fn a_cache_hit_makes_no_http_call_and_costs_nothing() -> anyhow::Result<()> {
    cache_hits_cost_nothing(Harness::new().await?).await
}

#[tokio::test]
async fn a_cache_hit_makes_no_http_call_and_costs_nothing_on_a_redis_cluster() -> anyhow::Result<()>
{
    cache_hits_cost_nothing(Harness::on(&shared::testing::redis_cluster_url()).await?).await
}

async fn cache_hits_cost_nothing(harness: Harness) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_title("Cached title"))
        .mount(&server)
        .await;
    let chain = chain(&harness, vec![link(openai(&server)?, 1)], 6);
    let first = chain
        .call(
            &context(),
            &title_request("caching"),
            CallOptions::default(),
        )
        .await?;
    let second = chain
        .call(
            &context(),
            &title_request("caching"),
            CallOptions::default(),
        )
        .await?;
    assert_eq!(
        requests(&server).await,
        1,
        "the second identical request is served from Redis"
    );
    assert_eq!(second.reply, first.reply);
    assert!(second.cache_hit && !first.cache_hit);
    assert_eq!(
        (second.cost_micros, second.provider.as_str()),
        (0, "openai")
    );
    let opted_out = chain
        .call(
            &context(),
            &title_request("caching"),
            CallOptions { cache: false },
        )
        .await?;
    assert!(!opted_out.cache_hit);
    assert_eq!(requests(&server).await, 2, "opting out calls the provider");
    let other = chain
        .call(
            &context(),
            &title_request("something else"),
            CallOptions::default(),
        )
        .await?;
    assert!(!other.cache_hit);
    let usage = harness.usage(4).await?;
    let hits: Vec<(bool, u64)> = usage.iter().map(|e| (e.cache_hit, e.cost_micros)).collect();
    assert_eq!(hits, [(false, 393), (true, 0), (false, 393), (false, 393)]);
    Ok(())
}

#[tokio::test]
async fn free_replies_are_not_cached() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let chain = chain(&harness, vec![link(Arc::new(OfflineTitles), 1)], 6);
    chain
        .call(&context(), &title_request("free"), CallOptions::default())
        .await?;
    let again = chain
        .call(&context(), &title_request("free"), CallOptions::default())
        .await?;
    assert!(!again.cache_hit);
    Ok(())
}

/// The budget bounds the paid providers across the chain; the free last resort still answers.
#[tokio::test]
async fn the_attempt_budget_spans_the_whole_chain() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let first = MockServer::start().await;
    let second = MockServer::start().await;
    for server in [&first, &second] {
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(502))
            .mount(server)
            .await;
    }
    let chain = chain(
        &harness,
        vec![
            link(openai(&first)?, 2),
            link(openai(&second)?, 3),
            link(Arc::new(OfflineTitles), 1),
        ],
        3,
    );
    let answered = chain
        .call(&context(), &title_request("budget"), CallOptions::default())
        .await?;
    assert_eq!((requests(&first).await, requests(&second).await), (2, 1));
    assert_eq!(answered.provider, "offline");
    assert_eq!(
        answered.attempts, 4,
        "three paid attempts, then the last resort"
    );

    // Without a free last resort, the exhausted budget is the answer.
    let paid_only = chain_of_paid(&harness, &first, &second);
    let error = paid_only
        .call(&context(), &title_request("budget"), CallOptions::default())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("every text provider failed") && error.contains("attempt budget exhausted"),
        "{error}"
    );
    Ok(())
}

#[tokio::test]
async fn a_quota_error_opens_the_breaker_for_the_long_cooldown() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_json(serde_json::json!({
            "error": { "message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota" }
        })))
        .mount(&server)
        .await;
    let breaker = crate::support::lenient_breaker();
    let openai_link = Link {
        client: openai(&server)?,
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        breaker: breaker.clone(),
    };
    let chain = chain(
        &harness,
        vec![openai_link, link(Arc::new(OfflineTitles), 1)],
        6,
    );
    let done = chain
        .call(&context(), &title_request("quota"), CallOptions::default())
        .await?;
    assert_eq!(done.provider, "offline");
    assert_eq!(requests(&server).await, 1, "a quota error is not retried");
    assert_eq!(breaker.state(), "open");
    Ok(())
}

#[tokio::test]
async fn with_every_circuit_open_the_chain_fails_fast_and_says_so() -> anyhow::Result<()> {
    let harness = Harness::new().await?;
    let server = MockServer::start().await;
    let breaker = crate::support::lenient_breaker();
    breaker.trip_for(Duration::from_secs(60));
    let openai_link = Link {
        client: openai(&server)?,
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        breaker,
    };
    let chain = chain(&harness, vec![openai_link], 6);
    let started = Instant::now();
    let error = chain
        .call(&context(), &title_request("open"), CallOptions::default())
        .await
        .err();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(
        error.map(|e| e.to_string()).unwrap_or_default(),
        "every text provider failed: openai (circuit open)"
    );
    assert_eq!(requests(&server).await, 0);
    Ok(())
}

fn chain_of_paid(harness: &Harness, first: &MockServer, second: &MockServer) -> Chain<Text> {
    let links = [first, second]
        .into_iter()
        .filter_map(|server| openai(server).ok())
        .enumerate()
        .map(|(i, client)| link(client, if i == 0 { 2 } else { 3 }))
        .collect();
    chain(harness, links, 3)
}
