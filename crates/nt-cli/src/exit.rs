//! Exit codes: which errors are the user's input (2) and which are ours (1).

/// Exit code for bad input: a file, column or parameter the user can fix.
pub(crate) const BAD_INPUT: u8 = 2;
/// Exit code for an internal error.
pub(crate) const INTERNAL: u8 = 1;

/// An error in the command line's values that clap cannot catch (e.g. `--train-window sliding:x`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// The exit code for `err`: [`BAD_INPUT`] when any error in its chain is the user's to fix.
pub(crate) fn code_for(err: &anyhow::Error) -> u8 {
    let bad_input = err.chain().any(|cause| {
        if cause.is::<UsageError>() {
            return true;
        }
        if let Some(e) = cause.downcast_ref::<nt_data::Error>() {
            return e.is_bad_input();
        }
        if let Some(e) = cause.downcast_ref::<nt_core::Error>() {
            return core_is_bad_input(e);
        }
        if let Some(e) = cause.downcast_ref::<nt_eval::Error>() {
            return e.is_bad_input();
        }
        if let Some(e) = cause.downcast_ref::<nt_neural::Error>() {
            return neural_is_bad_input(e);
        }
        if let Some(e) = cause.downcast_ref::<nt_server::Error>() {
            return e.status().is_client_error();
        }
        if let Some(e) = cause.downcast_ref::<nt_registry::Error>() {
            return registry_is_bad_input(e);
        }
        if let Some(e) = cause.downcast_ref::<nt_classical::Error>() {
            return classical_is_bad_input(e);
        }
        if let Some(e) = cause.downcast_ref::<nt_models::Error>() {
            return models_is_bad_input(e);
        }
        false
    });
    if bad_input {
        BAD_INPUT
    } else {
        INTERNAL
    }
}

/// Whether a model-crate error is the user's to fix, judged by the crate it comes from.
fn models_is_bad_input(e: &nt_models::Error) -> bool {
    match e {
        nt_models::Error::Core(c) => core_is_bad_input(c),
        nt_models::Error::Classical(c) => classical_is_bad_input(c),
        nt_models::Error::Neural(n) => neural_is_bad_input(n),
        other => other.is_bad_input(),
    }
}

/// Whether a core error describes the user's data or parameters rather than a bug or a model's
/// numerical failure.
pub(crate) fn core_is_bad_input(e: &nt_core::Error) -> bool {
    !matches!(e, nt_core::Error::Model { .. })
}

/// Whether a classical-model error is the user's to fix (a parameter, too little or non-positive
/// data, an unknown model name) rather than a numerical failure.
fn classical_is_bad_input(e: &nt_classical::Error) -> bool {
    use nt_classical::Error as E;
    match e {
        E::InvalidParameter { .. }
        | E::InsufficientHistory { .. }
        | E::NonPositive { .. }
        | E::HorizonTooLong { .. }
        | E::UnknownModel { .. } => true,
        E::Core(core) => core_is_bad_input(core),
        _ => false,
    }
}

/// Whether a neural-model error is the user's to fix: a parameter, too little history, an
/// unreadable or corrupted model file, a config that does not match the weights.
fn neural_is_bad_input(e: &nt_neural::Error) -> bool {
    use nt_neural::Error as E;
    match e {
        E::InvalidParameter { .. }
        | E::InsufficientHistory { .. }
        | E::Json { .. }
        | E::Checkpoint { .. } => true,
        E::Io { source, .. } => matches!(
            source.kind(),
            std::io::ErrorKind::NotFound
                | std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::InvalidData
        ),
        E::Core(core) => core_is_bad_input(core),
        _ => false,
    }
}

/// Whether a registry error is the user's to fix: an unknown model or version, a malformed
/// reference or argument, an existing backup destination, a corrupted weights file, a model
/// directory that cannot be read.
fn registry_is_bad_input(e: &nt_registry::Error) -> bool {
    use nt_registry::Error as E;
    match e {
        E::Corrupt { .. } => true,
        E::Io { source, .. } => matches!(
            source.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
        ),
        E::Neural(n) => neural_is_bad_input(n),
        E::Core(c) => core_is_bad_input(c),
        E::Models(m) => models_is_bad_input(m),
        other => other.is_bad_input() || other.is_not_found() || other.is_conflict(),
    }
}

/// The error and its causes on one line, outermost first, without repeating a cause whose text the
/// outer message already contains.
pub(crate) fn describe(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
