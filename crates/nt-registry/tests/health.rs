//! `Registry::health`: a removed or replaced database file is noticed (SQLite itself would
//! keep using the file it holds), with a reason that names no absolute path.

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
