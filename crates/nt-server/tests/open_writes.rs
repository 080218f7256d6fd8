//! The opt-in for key-less AgentDB writes (`ServerConfig::agentdb_open_writes`,
//! `nt serve --agentdb-open-writes`): refused at startup unless the listener is on loopback
//! (or with `auth_reads`), and on loopback it takes key-less AgentDB writes but not promotion.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::*;
use nt_server::{check_listen_config, serve, AppState, Error, MemoryStore, ServerConfig};

fn open_writes() -> ServerConfig {
    ServerConfig {
        api_key: None,
        agentdb_open_writes: true,
        ..test_config()
    }
}

#[test]
fn open_writes_are_refused_off_loopback() {
    for addr in ["0.0.0.0:8080", "[::]:8080", "192.168.1.5:80", "10.0.0.1:0"] {
        let addr: SocketAddr = addr.parse().unwrap();
        let e = check_listen_config(&open_writes(), addr).unwrap_err();
        assert!(
            matches!(&e, Error::Config { setting, reason }
                if setting == "agentdb_open_writes" && reason.contains("loopback")),
            "{addr}: {e}"
        );
        // Without the opt-in any address is fine.
        check_listen_config(&test_config(), addr).unwrap();
    }
    for addr in ["127.0.0.1:8080", "[::1]:0", "127.0.0.2:1"] {
        check_listen_config(&open_writes(), addr.parse().unwrap()).unwrap();
    }
    let with_auth_reads = ServerConfig {
        auth_reads: true,
        api_key: Some(KEY.into()),
        ..open_writes()
    };
    let e = check_listen_config(&with_auth_reads, "127.0.0.1:1".parse().unwrap()).unwrap_err();
    assert!(e.to_string().contains("auth_reads"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_to_start_open_writes_on_a_wildcard_address() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let state = AppState::new(Arc::new(MemoryStore::new()), open_writes()).unwrap();
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        serve(listener, state, std::future::pending()),
    )
    .await
    .expect("serve returns at once instead of serving");
    assert!(matches!(out, Err(Error::Config { .. })), "{out:?}");
}
