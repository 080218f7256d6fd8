//! `Registry::health`: a removed or replaced database file is noticed (SQLite itself would
//! keep using the file it holds), with a reason that names no absolute path.
#![allow(clippy::unwrap_used, clippy::panic)]

use nt_registry::{Registry, RegistryHealth, DB_FILE};

#[test]
fn a_removed_or_replaced_database_file_makes_the_registry_unavailable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reg");
    let reg = Registry::open(&dir).unwrap();
    let id = reg.db_file_id().unwrap();
    assert_eq!(reg.health(id), RegistryHealth::Healthy);
    let db = dir.join(DB_FILE);
    assert_eq!(reg.db_path(), db);

    let backup = tmp.path().join("backup.db");
    std::fs::copy(&db, &backup).unwrap();
    std::fs::remove_file(&db).unwrap();
    // The connection still answers from the removed file: only the identity check sees it.
    assert!(reg.generation().is_ok());
    match reg.health(id) {
        RegistryHealth::Unavailable { reason } => {
            assert!(reason.contains("missing"), "{reason}");
            assert!(!reason.contains(tmp.path().to_str().unwrap()), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(reg.db_file_id().is_err());

    // Another file at the path (a restored copy) is not the file the connection holds.
    std::fs::copy(&backup, &db).unwrap();
    match reg.health(id) {
        RegistryHealth::Unavailable { reason } => assert!(reason.contains("replaced"), "{reason}"),
        other => panic!("{other:?}"),
    }
    drop(reg);
    let reopened = Registry::open(&dir).unwrap();
    let id = reopened.db_file_id().unwrap();
    assert_eq!(reopened.health(id), RegistryHealth::Healthy);
}

#[test]
fn the_wal_of_a_removed_file_is_not_applied_to_the_file_put_in_its_place() {
    use nt_registry::{remove_stale_sidecars, CollectionSpec};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reg");
    let backup = tmp.path().join("backup.db");
    {
        let reg = Registry::open(&dir).unwrap();
        drop(reg); // the last connection checkpoints: the file alone holds everything
    }
    std::fs::copy(dir.join(DB_FILE), &backup).unwrap();
    let reg = Registry::open(&dir).unwrap();
    let files = reg.db_files().unwrap();
    let spec = CollectionSpec {
        name: "after-backup".into(),
        dimension: 2,
        index_type: "flat".into(),
        metadata_schema: None,
    };
    reg.create_collection(&spec).unwrap(); // committed into the WAL
    std::fs::remove_file(dir.join(DB_FILE)).unwrap();
    drop(reg);
    // The removed file's WAL is still there: SQLite did not checkpoint or delete it.
    assert!(dir.join(format!("{DB_FILE}-wal")).exists());
    std::fs::copy(&backup, dir.join(DB_FILE)).unwrap();
    assert!(remove_stale_sidecars(&dir, &files).unwrap() >= 1);
    let reopened = Registry::open(&dir).unwrap();
    assert!(
        reopened
            .collection("after-backup")
            .unwrap_err()
            .is_not_found(),
        "the old WAL was applied to the restored file"
    );
}

#[test]
fn the_same_file_moved_back_keeps_its_wal() {
    use nt_registry::{remove_stale_sidecars, CollectionSpec};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reg");
    let reg = Registry::open(&dir).unwrap();
    let files = reg.db_files().unwrap();
    let spec = CollectionSpec {
        name: "kept".into(),
        dimension: 2,
        index_type: "flat".into(),
        metadata_schema: None,
    };
    reg.create_collection(&spec).unwrap();
    let aside = tmp.path().join("aside.db");
    std::fs::rename(dir.join(DB_FILE), &aside).unwrap();
    drop(reg);
    std::fs::rename(&aside, dir.join(DB_FILE)).unwrap();
    assert_eq!(remove_stale_sidecars(&dir, &files).unwrap(), 0);
    let reopened = Registry::open(&dir).unwrap();
    assert_eq!(reopened.collection("kept").unwrap().count, 0);
}
