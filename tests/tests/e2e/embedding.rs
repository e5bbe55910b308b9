//! The engine as an application embeds it, without the `godwit` command: the guarantees the
//! command gives hold there too, because the engine enforces them.

use godwit::lock_file::{PinChange, PinError};
use godwit::pack::Pack;
use godwit::{ConnectOptions, Error, Migrator, NoReport, Request};
use godwit_tests::{Project, on_both};

/// A project with a component and a pack, both pinned by `godwit lock`.
fn pinned_project(p: &Project) {
    p.component("rust-schema", "0002_observers.wasm");
    p.migration("0001_birds.sql", "create table birds (id int);", Some("drop table birds;"));
    p.write("godwit.toml", "[[pack]]\npath = \"packs/billing\"\n");
    p.write("packs/billing/godwit-pack.toml", "name = \"billing\"\nversion = \"1.0.0\"\n");
    p.write(
        "packs/billing/0001_invoices.sql",
        "-- godwit:up\ncreate table billing_invoices (id int);\n",
    );
    p.godwit(&["lock"]).ok();
}

/// The project as an application loads it: its migrations, its pack, and the godwit.lock
/// found from the migrations directory up.
fn load(p: &Project) -> Migrator {
    let pack = Pack::load(&p.path("packs/billing"), None).unwrap();
    Migrator::loader(p.path("migrations")).packs(vec![pack]).load(&mut NoReport).unwrap()
}

fn refused(p: &Project, migrator: &Migrator) -> PinError {
    let mut db = godwit::connect(&p.url, &ConnectOptions::default()).unwrap();
    let before = p.db().fingerprint();
    for request in [Request::up(), Request::down(godwit::plan::DownTarget::Steps(1))] {
        match migrator.run(&mut db, &request, &mut NoReport) {
            Err(Error::Pins(_)) => {}
            other => panic!("{request:?} was not refused: {other:?}"),
        }
    }
    let Err(Error::Pins(error)) = migrator.validate(&mut db) else {
        panic!("validate did not refuse");
    };
    assert_eq!(p.db().fingerprint(), before, "nothing may run");
    error
}

fn a_tampered_component_is_refused_by_the_library(p: &Project) {
    pinned_project(p);
    p.component("rust-backfill", "0002_observers.wasm");
    let error = refused(p, &load(p));
    assert!(error.to_string().contains("0002_observers) does not match"), "{error}");
    let PinError::Mismatch { changes, .. } = error else { panic!("{error}") };
    assert!(matches!(changes[..], [PinChange::Component(_)]), "{changes:?}");
    // Without naming the pack or the lock file, the pins are still found and checked.
    let plain = Migrator::load(p.path("migrations")).unwrap();
    let mut db = godwit::connect(&p.url, &ConnectOptions::default()).unwrap();
    let error = plain.run(&mut db, &Request::up(), &mut NoReport).unwrap_err();
    assert!(error.to_string().contains("godwit.lock: locked sha256"), "{error}");
}

fn a_tampered_pack_is_refused_by_the_library(p: &Project) {
    pinned_project(p);
    p.write(
        "packs/billing/0001_invoices.sql",
        "-- godwit:up\ncreate table billing_invoices (id int);\ndrop table birds;\n",
    );
    let error = refused(p, &load(p));
    assert!(error.to_string().contains("pack `billing`"), "{error}");
    let PinError::Mismatch { changes, .. } = error else { panic!("{error}") };
    assert!(matches!(changes[..], [PinChange::Pack(_)]), "{changes:?}");
}

fn an_unpinned_pack_is_refused_and_pins_allow_the_rest(p: &Project) {
    pinned_project(p);
    let mut db = godwit::connect(&p.url, &ConnectOptions::default()).unwrap();
    let migrator = load(p);
    let report = migrator.run(&mut db, &Request::up(), &mut NoReport).unwrap();
    let labels: Vec<&str> = report.steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["billing:0001_invoices", "0001_birds", "0002_observers"]);
    p.remove("godwit.lock");
    let error = refused(p, &load(p));
    assert!(matches!(error, PinError::PackUnlocked { .. }), "{error}");
}

on_both!(
    a_tampered_component_is_refused_by_the_library,
    a_tampered_pack_is_refused_by_the_library,
    an_unpinned_pack_is_refused_and_pins_allow_the_rest,
);
