//! `nt import --from neuralforecast`: turn weights trained in Python into an `nt` model directory.

use anyhow::{Context, Result};
use nt_neural::NeuralSpec;

use crate::cli::ImportArgs;
use crate::exit::UsageError;

/// Runs `nt import`.
pub(crate) fn run(args: &ImportArgs) -> Result<()> {
    if args.from != "neuralforecast" {
        return Err(UsageError(format!(
            "--from {}: only `neuralforecast` weights can be imported",
            args.from
        ))
        .into());
    }
    crate::settings::check_out_dir(&args.out)?;
    let text = crate::settings::read_text_file(&args.config, "--config")?;
    let spec = parse_spec(&text, args)?;
    let model = nt_neural::import_neuralforecast(&args.weights, &spec)
        .with_context(|| format!("importing {}", args.weights.display()))?;
    model
        .save(&args.out)
        .with_context(|| format!("saving {}", args.out.display()))?;
    println!(
        "imported {} ({} inputs, horizon {}) from {} into {}",
        spec.name(),
        model.input_size(),
        model.horizon(),
        args.weights.display(),
        args.out.display()
    );
    Ok(())
}

/// The spec in `--config`: a full spec (`{"model": "nhits", ...}`), or a bare config (the
/// architecture's fields only) with the architecture from `--model`.
fn parse_spec(text: &str, args: &ImportArgs) -> Result<NeuralSpec> {
    let flag = format!("--config {}", args.config.display());
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        UsageError(format!(
            "{flag}: line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let Some(fields) = value.as_object_mut() else {
        return Err(UsageError(format!(
            "{flag}: expected a JSON object such as {{\"model\": \"nhits\", \"input_size\": 24, \"horizon\": 12}}"
        ))
        .into());
    };
    match (fields.get("model").and_then(|m| m.as_str()), &args.model) {
        (Some(named), Some(flag_model)) if named != flag_model.to_ascii_lowercase() => {
            return Err(UsageError(format!(
                "--model {flag_model} disagrees with the config's model `{named}`"
            ))
            .into())
        }
        (Some(_), _) => {}
        (None, Some(m)) => {
            fields.insert("model".into(), m.to_ascii_lowercase().into());
        }
        (None, None) => {
            return Err(UsageError(format!(
                "{flag} names no model: add \"model\": \"nhits\" (or nbeats, dlinear, nlinear) to it, or pass --model NAME; known: {}",
                NeuralSpec::NAMES.join(", ")
            ))
            .into())
        }
    }
    NeuralSpec::from_json(value).map_err(|e| UsageError(format!("{flag}: {e}")).into())
}
