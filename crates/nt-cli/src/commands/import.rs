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
    let spec: NeuralSpec = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "--config {}: line {} column {}: {e}; expected {{\"model\": \"nhits\", \"config\": {{...}}}}",
            args.config.display(),
            e.line(),
            e.column()
        ))
    })?;
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
