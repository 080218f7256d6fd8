//! Multi-process reliability: 8 processes registering at once, writers killed with SIGKILL
//! mid-registration, and a backup taken while another process writes.
//!
//! Child processes are this test binary re-executed (`std::env::current_exe()`) on the test
//! `child_process` with `NT_REG_ROLE` set; without that variable `child_process` does nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tiny_model_dir;
use nt_registry::{EventKind, RegisterRequest, Registry};

const WRITERS: usize = 8;
const PER_WRITER: usize = 50;

/// The child side: `register` registers `NT_REG_COUNT` versions of `shared` tagged with its
/// writer id and sequence number; `loop` alternates between two model directories forever
/// (until killed).
#[test]
fn child_process() {
    let Ok(role) = std::env::var("NT_REG_ROLE") else {
        return;
    };
    let dir = std::env::var("NT_REG_DIR").unwrap();
    let model_a = std::path::PathBuf::from(std::env::var("NT_REG_MODEL").unwrap());
    let reg = Registry::open(&dir).unwrap();
    match role.as_str() {
        "register" => {
            let writer = std::env::var("NT_REG_WRITER").unwrap();
            let count: usize = std::env::var("NT_REG_COUNT").unwrap().parse().unwrap();
            for seq in 0..count {
                let req = RegisterRequest {
                    tags: BTreeMap::from([
                        ("writer".to_string(), writer.clone()),
                        ("seq".to_string(), seq.to_string()),
                    ]),
                    ..RegisterRequest::default()
                };
                reg.register("shared", &model_a, req).unwrap();
            }
        }
        "loop" => {
            let model_b = std::path::PathBuf::from(std::env::var("NT_REG_MODEL_B").unwrap());
            for i in 0.. {
                let m = if i % 2 == 0 { &model_a } else { &model_b };
                reg.register("looped", m, RegisterRequest::default())
                    .unwrap();
            }
        }
        other => panic!("unknown NT_REG_ROLE {other}"),
    }
}

fn spawn_child(envs: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child_process",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn wait_for_generation(dir: &Path, above: u64) {
    let start = Instant::now();
    loop {
        if let Ok(reg) = Registry::open(dir) {
            if reg.generation().unwrap() > above {
                return;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "writer made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Opens the registry, lists it, loads every visible version, and checks that versions are
/// numbered 1..=n without gaps and that each has exactly one `registered` event.
fn check_consistent(dir: &Path, name: &str) -> usize {
    let reg = Registry::open(dir).unwrap();
    let list = reg.list().unwrap();
    let Some(summary) = list.iter().find(|s| s.name == name) else {
        return 0;
    };
    let versions = reg.versions(name).unwrap();
    let numbers: Vec<u32> = versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, (1..=summary.latest).collect::<Vec<_>>());
    for v in &versions {
        reg.load(name, v.version).unwrap();
    }
    let registered: Vec<u32> = reg
        .events(Some(name), 0)
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::Registered)
        .filter_map(|e| e.version)
        .collect();
    assert_eq!(registered, numbers);
    versions.len()
}

#[test]
fn eight_processes_register_400_versions_none_lost_none_duplicated() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model_dir(tmp.path(), 1);
    let dir = tmp.path().join("reg");
    let start = Instant::now();
    // The children also race to create the registry itself.
    let children: Vec<Child> = (0..WRITERS)
        .map(|w| {
            spawn_child(&[
                ("NT_REG_ROLE", "register".into()),
                ("NT_REG_DIR", dir.display().to_string()),
                ("NT_REG_MODEL", model.display().to_string()),
                ("NT_REG_WRITER", w.to_string()),
                ("NT_REG_COUNT", PER_WRITER.to_string()),
            ])
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "writer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!(
        "{WRITERS}×{PER_WRITER} registrations took {:?}",
        start.elapsed()
    );
    let reg = Registry::open(&dir).unwrap();
    let versions = reg.versions("shared").unwrap();
    // Every registration got its own number, 1..=400, and every (writer, seq) appears once.
    assert_eq!(versions.len(), WRITERS * PER_WRITER);
    let numbers: BTreeSet<u32> = versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, (1..=(WRITERS * PER_WRITER) as u32).collect());
    let pairs: BTreeSet<(String, String)> = versions
        .iter()
        .map(|v| (v.tags["writer"].clone(), v.tags["seq"].clone()))
        .collect();
    assert_eq!(pairs.len(), WRITERS * PER_WRITER);
    assert_eq!(check_consistent(&dir, "shared"), WRITERS * PER_WRITER);
}

#[test]
fn a_writer_killed_mid_registration_leaves_a_consistent_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tiny_model_dir(tmp.path(), 1);
    let b = tiny_model_dir(tmp.path(), 2);
    let dir = tmp.path().join("reg");
    Registry::open(&dir).unwrap();
    let mut seen = 0;
    for round in 0..5u64 {
        let g = Registry::open(&dir).unwrap().generation().unwrap();
        let mut child = spawn_child(&[
            ("NT_REG_ROLE", "loop".into()),
            ("NT_REG_DIR", dir.display().to_string()),
            ("NT_REG_MODEL", a.display().to_string()),
            ("NT_REG_MODEL_B", b.display().to_string()),
        ]);
        // Let it commit a few versions, then kill it at a varying point of its loop.
        wait_for_generation(&dir, g + 2);
        std::thread::sleep(Duration::from_micros(1000 + round * 1700));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let n = check_consistent(&dir, "looped");
        assert!(n > seen, "round {round}: {n} versions after {seen}");
        seen = n;
    }
    // gc keeps the referenced blobs, each model's weights and optimizer state (young temp
    // files of killed writers are left alone).
    let report = Registry::open(&dir).unwrap().gc().unwrap();
    assert_eq!(report.kept_blobs, 4);
    assert_eq!(report.removed_blobs, 0);
}

#[test]
fn backup_while_another_process_writes_opens_and_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tiny_model_dir(tmp.path(), 1);
    let b = tiny_model_dir(tmp.path(), 2);
    let dir = tmp.path().join("reg");
    let reg = Registry::open(&dir).unwrap();
    let g = reg.generation().unwrap();
    let mut child = spawn_child(&[
        ("NT_REG_ROLE", "loop".into()),
        ("NT_REG_DIR", dir.display().to_string()),
        ("NT_REG_MODEL", a.display().to_string()),
        ("NT_REG_MODEL_B", b.display().to_string()),
    ]);
    wait_for_generation(&dir, g + 3);
    let dest = tmp.path().join("backup");
    reg.backup(&dest).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // The copy holds a gap-free prefix of the versions and loads each of them.
    let n = check_consistent(&dest, "looped");
    assert!(n >= 3, "backup holds {n} versions");
    assert!(n <= check_consistent(&dir, "looped"));
}
