//! Drives every public call of the published `nt-agentdb-client` 1.0 against the AgentDB
//! routes of a running nt-server, and checks what each call returns:
//! `nt-agentdb-compat http://127.0.0.1:PORT/agentdb`.
//!
//! The client never sends its API key (`with_api_key` stores it and no request uses it), so the
//! server must run with key-less AgentDB writes (`nt serve --agentdb-open-writes`, loopback
//! only). Prints one JSON line per call; exits 1 at the first call that fails or answers
//! something else than expected, saying which and why.

use std::process::ExitCode;
use std::time::Duration;

use nt_agentdb_client::client::{BatchDocument, CollectionConfig};
use nt_agentdb_client::queries::{Filter, MetadataQuery, SortBy, SortOrder, VectorQuery};
use nt_agentdb_client::schema::{
    DecisionType, Direction, Observation, Order, OrderSide, Provenance, ReflexionTrace, Signal,
    Verdict,
};
use nt_agentdb_client::{AgentDBClient, AgentDBError};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

/// Embedding length of every collection.
const DIM: usize = 4;

/// A vector pointing mostly along axis `i`.
fn axis(i: usize) -> Vec<f32> {
    let mut v = vec![0.1; DIM];
    v[i % DIM] = 1.0;
    v
}

/// Records a call's outcome: one JSON line, and an error when `ok` is false.
fn check(call: &str, ok: bool, got: impl std::fmt::Debug) -> Result<(), String> {
    println!("{}", json!({"call": call, "ok": ok}));
    if ok {
        Ok(())
    } else {
        Err(format!("{call}: unexpected answer {got:?}"))
    }
}

/// A client error as this program's error, naming the call.
fn failed(call: &'static str) -> impl Fn(AgentDBError) -> String {
    move |e| format!("{call}: {e}")
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(base) = std::env::args().nth(1) else {
        eprintln!("usage: nt-agentdb-compat http://HOST:PORT/agentdb");
        return ExitCode::from(2);
    };
    match run(&base).await {
        Ok(()) => {
            println!("{}", json!({"all": "ok"}));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("nt-agentdb-compat: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(base: &str) -> Result<(), String> {
    // The key is stored and never sent: the server's opt-in is what lets the writes through.
    let client = AgentDBClient::new(base.to_string())
        .with_api_key("never-sent-by-this-client".into())
        .with_timeout(Duration::from_secs(30));

    let h = client
        .health_check()
        .await
        .map_err(failed("health_check"))?;
    check(
        "health_check",
        h.status == "ok" && !h.version.is_empty(),
        &h,
    )?;

    for name in [
        "notes",
        "observations",
        "signals",
        "orders",
        "reflexion_traces",
    ] {
        let config = CollectionConfig {
            name: name.into(),
            dimension: DIM,
            index_type: "hnsw".into(),
            metadata_schema: None,
        };
        client
            .create_collection(config)
            .await
            .map_err(failed("create_collection"))?;
    }
    check("create_collection", true, ())?;
    // An existing collection is a 409, which the client reads as success.
    let again = CollectionConfig {
        name: "notes".into(),
        dimension: DIM,
        index_type: "flat".into(),
        metadata_schema: Some(json!({"type": "object"})),
    };
    let r = client.create_collection(again).await;
    check("create_collection (exists)", r.is_ok(), &r)?;

    generic_calls(&client).await?;
    templates(&client).await
}

/// insert, batch_insert, vector_search, metadata_search, get, delete on `notes`.
async fn generic_calls(client: &AgentDBClient) -> Result<(), String> {
    let r = client
        .insert(
            "notes",
            &[0x0a],
            &axis(0),
            Some(&json!({"kind": "a", "n": 1})),
        )
        .await
        .map_err(failed("insert"))?;
    check("insert", r.success && r.id == "0a", &r)?;
    let r = client
        .insert::<Value>("notes", &[0x0b], &axis(1), None)
        .await
        .map_err(failed("insert (no metadata)"))?;
    check("insert (no metadata)", r.success && r.id == "0b", &r)?;

    let docs = vec![
        BatchDocument {
            id: vec![0x0c],
            embedding: axis(2),
            metadata: Some(json!({"kind": "c", "n": 3})),
        },
        BatchDocument {
            id: vec![0x0d],
            embedding: axis(3),
            metadata: Some(json!({"kind": "d", "n": 4})),
        },
    ];
    let b = client
        .batch_insert("notes", docs)
        .await
        .map_err(failed("batch_insert"))?;
    check("batch_insert", (b.inserted, b.failed) == (2, 0), &b)?;

    let q = VectorQuery::new("notes".into(), axis(2), 3)
        .with_filter(Filter::gte("n", 2))
        .with_min_score(-1.0);
    let hits: Vec<Value> = client
        .vector_search(q)
        .await
        .map_err(failed("vector_search"))?;
    check(
        "vector_search",
        hits.len() == 2 && hits[0]["kind"] == "c" && hits[1]["kind"] == "d",
        &hits,
    )?;
    let q = VectorQuery::new("notes".into(), axis(0), 4).with_filter(Filter::or(vec![
        Filter::eq("kind", "a"),
        Filter::In {
            field: "kind".into(),
            values: vec![json!("c")],
        },
    ]));
    let hits: Vec<Value> = client
        .vector_search(q)
        .await
        .map_err(failed("vector_search (or, in)"))?;
    check(
        "vector_search (or, in)",
        hits.len() == 2 && hits[0]["kind"] == "a",
        &hits,
    )?;

    let q = MetadataQuery {
        collection: "notes".into(),
        filters: vec![
            Filter::Ne {
                field: "kind".into(),
                value: json!("a"),
            },
            Filter::and(vec![
                Filter::Gt {
                    field: "n".into(),
                    value: json!(0),
                },
                Filter::Lt {
                    field: "n".into(),
                    value: json!(10),
                },
                Filter::lte("n", 4),
            ]),
        ],
        limit: Some(2),
        sort_by: Some(SortBy {
            field: "n".into(),
            order: SortOrder::Desc,
        }),
    };
    let docs: Vec<Value> = client
        .metadata_search(q)
        .await
        .map_err(failed("metadata_search"))?;
    check(
        "metadata_search",
        docs == vec![json!({"kind": "d", "n": 4}), json!({"kind": "c", "n": 3})],
        &docs,
    )?;

    let d: Option<Value> = client.get("notes", &[0x0a]).await.map_err(failed("get"))?;
    check("get", d == Some(json!({"kind": "a", "n": 1})), &d)?;
    let d: Option<Value> = client
        .get("notes", &[0x0b])
        .await
        .map_err(failed("get (no metadata)"))?;
    check("get (no metadata)", d == Some(json!({})), &d)?;
    client
        .delete("notes", &[0x0a])
        .await
        .map_err(failed("delete"))?;
    check("delete", true, ())?;
    let d: Option<Value> = client
        .get("notes", &[0x0a])
        .await
        .map_err(failed("get (deleted)"))?;
    check("get (deleted)", d.is_none(), &d)?;
    let r = client.delete("notes", &[0x0a]).await;
    check(
        "delete (absent)",
        matches!(r, Err(AgentDBError::NotFound(_))),
        &r,
    )
}

fn trace(score: f64, sharpe: f64) -> ReflexionTrace {
    ReflexionTrace {
        id: Uuid::new_v4(),
        decision_id: Uuid::new_v4(),
        decision_type: DecisionType::Signal,
        trajectory: vec![],
        verdict: Verdict {
            score,
            roi: 0.1,
            sharpe,
            max_drawdown: 0.05,
            explanation: "test".into(),
            successes: vec![],
            failures: vec![],
        },
        learned_patterns: vec![],
        counterfactuals: vec![],
        embedding: axis(1),
        provenance: Provenance::new("nt-agentdb-compat"),
    }
}

/// The client's query templates over observations, signals, orders and reflexion traces.
async fn templates(client: &AgentDBClient) -> Result<(), String> {
    let aapl = Observation::new("AAPL".into(), Decimal::new(15025, 2), Decimal::new(1000, 0))
        .with_embedding(axis(0));
    let msft = Observation::new("MSFT".into(), Decimal::new(41010, 2), Decimal::new(500, 0))
        .with_embedding(axis(0));
    for o in [&aapl, &msft] {
        client
            .insert("observations", o.id.as_bytes(), &o.embedding, Some(o))
            .await
            .map_err(failed("insert (observation)"))?;
    }
    let near = client
        .find_similar_conditions(&aapl, 5, Some(1))
        .await
        .map_err(failed("find_similar_conditions"))?;
    check(
        "find_similar_conditions",
        near.len() == 1 && near[0].id == aapl.id && near[0].price == aapl.price,
        near.iter()
            .map(|o| (&o.symbol, o.price))
            .collect::<Vec<_>>(),
    )?;
    let range = client
        .get_observations_in_range("AAPL", aapl.timestamp_us - 1, aapl.timestamp_us + 1)
        .await
        .map_err(failed("get_observations_in_range"))?;
    check(
        "get_observations_in_range",
        range.len() == 1 && range[0].id == aapl.id,
        range.len(),
    )?;

    let s1 =
        Signal::new("momentum".into(), "AAPL".into(), Direction::Long, 0.9).with_embedding(axis(1));
    let s2 = Signal::new("momentum".into(), "AAPL".into(), Direction::Short, 0.6)
        .with_embedding(axis(2));
    let s3 =
        Signal::new("meanrev".into(), "AAPL".into(), Direction::Long, 0.95).with_embedding(axis(3));
    for s in [&s1, &s2, &s3] {
        client
            .insert("signals", s.id.as_bytes(), &s.embedding, Some(s))
            .await
            .map_err(failed("insert (signal)"))?;
    }
    let by = client
        .get_signals_by_strategy("momentum", 0.5, 10)
        .await
        .map_err(failed("get_signals_by_strategy"))?;
    let ids: Vec<Uuid> = by.iter().map(|s| s.id).collect();
    check("get_signals_by_strategy", ids == vec![s1.id, s2.id], &ids)?;
    let sim = client
        .find_similar_decisions(&s1, 2)
        .await
        .map_err(failed("find_similar_decisions"))?;
    check(
        "find_similar_decisions",
        sim.len() == 2 && sim[0].id == s1.id,
        sim.iter().map(|s| s.id).collect::<Vec<_>>(),
    )?;
    let recent = client
        .get_recent_signals("AAPL", 2)
        .await
        .map_err(failed("get_recent_signals"))?;
    check("get_recent_signals", recent.len() == 2, recent.len())?;

    let orders = [
        Order::new(s1.id, "AAPL".into(), OrderSide::Buy, 100).with_embedding(axis(0)),
        Order::new(s1.id, "AAPL".into(), OrderSide::Sell, 50).with_embedding(axis(1)),
        Order::new(s2.id, "AAPL".into(), OrderSide::Buy, 10).with_embedding(axis(2)),
    ];
    let docs = orders
        .iter()
        .map(|o| BatchDocument {
            id: o.id.as_bytes().to_vec(),
            embedding: o.embedding.clone(),
            metadata: Some(o.clone()),
        })
        .collect();
    let b = client
        .batch_insert("orders", docs)
        .await
        .map_err(failed("batch_insert (orders)"))?;
    check(
        "batch_insert (orders)",
        (b.inserted, b.failed) == (3, 0),
        &b,
    )?;
    let got = client
        .get_orders_for_signal(s1.id)
        .await
        .map_err(failed("get_orders_for_signal"))?;
    let mut ids: Vec<Uuid> = got.iter().map(|o| o.id).collect();
    ids.sort();
    let mut want = vec![orders[0].id, orders[1].id];
    want.sort();
    check("get_orders_for_signal", ids == want, &ids)?;

    for t in [trace(0.8, 1.5), trace(0.3, 2.0)] {
        client
            .insert("reflexion_traces", t.id.as_bytes(), &t.embedding, Some(&t))
            .await
            .map_err(failed("insert (reflexion trace)"))?;
    }
    let top = client
        .get_top_strategies(0.5, 3)
        .await
        .map_err(failed("get_top_strategies"))?;
    check(
        "get_top_strategies",
        top.len() == 1 && (top[0].1 - 0.8).abs() < 1e-12,
        &top,
    )
}
