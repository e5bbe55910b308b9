//! The runtime: one wasmtime `Engine` and `Linker` for every component of a run, a `Store`
//! per guest call (or per batched transform), the epoch ticker that enforces time limits,
//! and the compile cache. wasmtime's types stay in this file and its siblings.

use super::bindings::exports::godwit::migration::migration::Descriptor;
use super::bindings::{MigrationComponent, MigrationComponentPre};
use super::host::GuestState;
use super::{Batch, GuestError, GuestInfo, Inspection, Limits, RuntimeError, TICK, cache};
use crate::driver::Driver;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, StoreLimitsBuilder};

/// Compiles and runs migration components.
pub struct Runtime {
    engine: Engine,
    linker: Linker<GuestState>,
    ticker: Arc<AtomicBool>,
    cache: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime that keeps compiled components in `cache` (none: compile on every load).
    pub fn new(cache: Option<PathBuf>) -> Result<Runtime, RuntimeError> {
        let failed = |e: wasmtime::Error| RuntimeError { reason: e.to_string() };
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(failed)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(failed)?;
        MigrationComponent::add_to_linker::<GuestState, wasmtime::component::HasSelf<GuestState>>(
            &mut linker,
            |state| state,
        )
        .map_err(failed)?;
        // One thread advances the epoch for every store of this engine; it stops with the
        // runtime.
        let stop = Arc::new(AtomicBool::new(false));
        let ticking = engine.clone();
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("godwit-epoch".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| RuntimeError { reason: e.to_string() })?;
        Ok(Runtime { engine, linker, ticker: stop, cache })
    }

    /// What a component is, imports and exports, and whether it is a godwit migration.
    pub fn inspect(&self, bytes: &[u8], limits: Limits) -> Result<Inspection, GuestError> {
        let component = self.compile_cached(bytes)?;
        let ty = component.component_type();
        let imports = ty.imports(&self.engine).map(|(name, _)| name.to_owned()).collect();
        let exports = ty.exports(&self.engine).map(|(name, _)| name.to_owned()).collect();
        let world = self
            .check(&component)
            .and_then(|()| self.describe(&component, limits))
            .map_err(|e| e.to_string());
        Ok(Inspection {
            size: bytes.len(),
            sha256: crate::Checksum::of_bytes(bytes),
            imports,
            exports,
            world,
        })
    }

    /// Compiles a component, checks that it implements godwit's world and asks it to describe
    /// itself, before anything runs.
    pub(crate) fn compile(
        self: &Arc<Runtime>,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<Compiled, GuestError> {
        let component = self.compile_cached(bytes)?;
        self.check(&component)?;
        let info = self.describe(&component, limits)?;
        Ok(Compiled { runtime: self.clone(), component, info })
    }

    fn check(&self, component: &Component) -> Result<(), GuestError> {
        // A component built against another version of the contract: say so, rather than
        // which function of it does not match.
        let ty = component.component_type();
        let names = ty.imports(&self.engine).chain(ty.exports(&self.engine)).map(|(n, _)| n);
        for name in names {
            let Some(rest) = name.strip_prefix("godwit:migration/") else { continue };
            let version = rest.split_once('@').map_or("", |(_, version)| version);
            if !crate::contract::compatible(version) {
                let found = if version.is_empty() { "(none)" } else { version };
                return Err(GuestError::OtherContract {
                    found: found.to_owned(),
                    interface: name.to_owned(),
                });
            }
        }
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| GuestError::Rejected(format!("{e:#}")))?;
        MigrationComponentPre::new(pre).map_err(|e| GuestError::Rejected(format!("{e:#}")))?;
        Ok(())
    }

    fn compile_cached(&self, bytes: &[u8]) -> Result<Component, GuestError> {
        let cached = self.cache.as_deref().and_then(|dir| cache::load(dir, &self.engine, bytes));
        let component = match cached {
            Some(component) => component,
            None => {
                let component = Component::new(&self.engine, bytes)
                    .map_err(|e| GuestError::Rejected(format!("{e:#}")))?;
                if let Some(dir) = &self.cache {
                    cache::store(dir, &self.engine, bytes, &component);
                }
                component
            }
        };
        Ok(component)
    }

    /// Calls `describe`; the guest has no database during it.
    fn describe(&self, component: &Component, limits: Limits) -> Result<GuestInfo, GuestError> {
        let (result, mut state) = self.call(component, None, limits, |bindings, store| {
            bindings.godwit_migration_migration().call_describe(store).map(Ok)
        });
        let Descriptor { description, reversible, batched } = result?;
        let options = state.take_declared().unwrap_or_default();
        if let Some(problem) = options.problem() {
            return Err(GuestError::Options(problem));
        }
        Ok(GuestInfo { description, reversible, batched, options })
    }

    fn store(&self, driver: Option<Box<dyn Driver>>, limits: Limits) -> Store<GuestState> {
        let store_limits =
            StoreLimitsBuilder::new().memory_size(limits.memory).trap_on_grow_failure(true).build();
        let state = GuestState::new(driver, store_limits, limits.output);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(limits.ticks());
        store
    }

    fn call<T>(
        &self,
        component: &Component,
        driver: Option<Box<dyn Driver>>,
        limits: Limits,
        body: impl FnOnce(
            &MigrationComponent,
            &mut Store<GuestState>,
        ) -> wasmtime::Result<Result<T, String>>,
    ) -> (Result<T, GuestError>, GuestState) {
        let mut store = self.store(driver, limits);
        let result = MigrationComponent::instantiate(&mut store, component, &self.linker)
            .and_then(|bindings| body(&bindings, &mut store));
        let outcome = match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(GuestError::Returned(message)),
            Err(error) => Err(classify(error, limits)),
        };
        (outcome, store.into_data())
    }
}

/// A component compiled by a runtime, with what it said about itself.
pub(crate) struct Compiled {
    runtime: Arc<Runtime>,
    component: Component,
    info: GuestInfo,
}

/// What a guest call gives back: the connection it was lent, what the guest wrote, and the
/// outcome. The connection is missing only if the host lost it, which does not happen.
pub(crate) struct Outcome<T> {
    pub driver: Option<Box<dyn Driver>>,
    pub output: Vec<String>,
    pub result: Result<T, GuestError>,
    /// The first error the database reported to the guest during the call.
    pub database: Option<crate::driver::DbError>,
    /// The distinct statements it sent to change the database (`up` and `down` only).
    pub sent: Vec<String>,
}

impl Compiled {
    pub(crate) fn info(&self) -> &GuestInfo {
        &self.info
    }

    /// Calls `up` (or `down`) with the database lent to the guest; returns it with the outcome.
    pub(crate) fn migrate(
        &self,
        driver: Box<dyn Driver>,
        down: bool,
        limits: Limits,
    ) -> Outcome<()> {
        let runtime = &self.runtime;
        let (result, mut state) =
            runtime.call(&self.component, Some(driver), limits, |bindings, store| {
                store.data_mut().keep_sent();
                let migration = bindings.godwit_migration_migration();
                match down {
                    false => migration.call_up(store),
                    true => migration.call_down(store),
                }
            });
        let (output, driver) = state.give_back();
        let database = state.take_first_error();
        let sent = state.take_sent();
        Outcome { driver, output, result, database, sent }
    }

    /// Instantiates a batched migration once for all the batches of this run: its memory and
    /// allocator stay warm from one batch to the next. A guest carries its progress only in
    /// the cursor, since a resumed run starts from a new instance.
    pub(crate) fn transformer(
        &self,
        limits: Limits,
    ) -> Result<Transformer, (Vec<String>, GuestError)> {
        let mut store = self.runtime.store(None, limits);
        match MigrationComponent::instantiate(&mut store, &self.component, &self.runtime.linker) {
            Ok(bindings) => Ok(Transformer { store, bindings, limits }),
            Err(error) => Err((store.data_mut().take_output(), classify(error, limits))),
        }
    }
}

/// The instance of a batched migration that serves its batches, one `transform` call each.
pub(crate) struct Transformer {
    store: Store<GuestState>,
    bindings: MigrationComponent,
    limits: Limits,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer").finish_non_exhaustive()
    }
}

impl Transformer {
    /// Calls `transform` once with the database lent to the guest; each call gets the whole
    /// time limit. After an error the instance must not be called again.
    pub(crate) fn batch(
        &mut self,
        driver: Box<dyn Driver>,
        cursor: Option<&str>,
        batch_size: u32,
    ) -> Outcome<Batch> {
        self.store.data_mut().lend(driver);
        self.store.set_epoch_deadline(self.limits.ticks());
        let result = self.bindings.godwit_migration_migration().call_transform(
            &mut self.store,
            cursor,
            batch_size,
        );
        let (output, driver) = self.store.data_mut().give_back();
        let database = self.store.data_mut().take_first_error();
        let batch = match result {
            Ok(Ok(progress)) => Ok(Batch {
                next_cursor: progress.next_cursor,
                processed: progress.processed,
                estimated_total: progress.estimated_total,
            }),
            Ok(Err(message)) => Err(GuestError::Returned(message)),
            Err(error) => Err(classify(error, self.limits)),
        };
        Outcome { driver, output, result: batch, database, sent: Vec::new() }
    }
}

/// Turns wasmtime's error into what the user is told; the debug form keeps the guest's
/// backtrace when wasmtime has one.
fn classify(error: wasmtime::Error, limits: Limits) -> GuestError {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => GuestError::Timeout(limits.timeout),
        Some(wasmtime::Trap::AllocationTooLarge) => GuestError::Memory(limits.memory),
        // StoreLimits with trap_on_grow_failure reports a refused memory.grow this way.
        _ if format!("{error:#}").contains("forcing trap when growing memory") => {
            GuestError::Memory(limits.memory)
        }
        _ => GuestError::Trap(format!("{error:?}")),
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker.store(true, Ordering::Relaxed);
    }
}
