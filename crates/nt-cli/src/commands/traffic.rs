//! `nt registry route`, `nt registry compare` and `nt registry rollback`: a model's canary and
//! shadow routes, two versions' live scores side by side with a Diebold–Mariano test on their
//! paired errors, and the return to the previous production version.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use nt_registry::{
    parse_exact_ref, CanaryRoute, LiveScores, ModelVersion, PairedPoint, Registry, ScoreWindow,
    ShadowRoute, TrafficPolicy,
};
use serde_json::{json, Value};

use crate::cli::CompareLoss;
use crate::exit::UsageError;

/// Fewest forecast origins both versions forecast (with actuals) before the Diebold–Mariano
/// test is run: below it the variance estimate means little.
const MIN_ORIGINS: usize = 10;

/// The significance level the comparison reports at.
const ALPHA: f64 = 0.05;

/// What `nt registry route` was asked to change.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteChange<'a> {
    /// `--canary NAME@V:P%`.
    pub(crate) canary: Option<&'a str>,
    /// `--shadow NAME@V`.
    pub(crate) shadow: Option<&'a str>,
    /// `--no-canary`.
    pub(crate) no_canary: bool,
    /// `--no-shadow`.
    pub(crate) no_shadow: bool,
    /// `--clear`.
    pub(crate) clear: bool,
    /// `--seed N`.
    pub(crate) seed: Option<u64>,
}

impl RouteChange<'_> {
    fn is_empty(&self) -> bool {
        self.canary.is_none()
            && self.shadow.is_none()
            && !self.no_canary
            && !self.no_shadow
            && !self.clear
            && self.seed.is_none()
    }
}

/// `NAME@V` of `flag`, which must name the model `name`.
fn version_of(name: &str, text: &str, flag: &str) -> Result<u32> {
    let (n, v) = parse_exact_ref(text)
        .map_err(|e| UsageError(format!("{flag} {text}: {e}; expected {name}@VERSION")))?;
    if n != name {
        return Err(UsageError(format!(
            "{flag} {text}: routes belong to {name}; name one of its versions ({name}@VERSION)"
        ))
        .into());
    }
    Ok(v)
}

/// Parses `--canary NAME@V:P%` (or `NAME@V:P`) for model `name`.
pub(crate) fn parse_canary(name: &str, text: &str) -> Result<CanaryRoute> {
    let Some((reference, share)) = text.rsplit_once(':') else {
        return Err(UsageError(format!(
            "--canary {text}: expected NAME@VERSION:PERCENT, e.g. {name}@2:10% (10% of the requests)"
        ))
        .into());
    };
    let version = version_of(name, reference, "--canary")?;
    let number = share.trim().trim_end_matches('%').trim();
    let percent: f64 = number.parse().map_err(|_| {
        UsageError(format!(
            "--canary {text}: `{share}` is not a percentage; expected a number with 0 < percent < 100, e.g. 10%"
        ))
    })?;
    Ok(CanaryRoute { version, percent })
}

/// A registry refusal of a policy, said in terms of the flags.
fn flag_error(e: nt_registry::Error) -> anyhow::Error {
    match e {
        nt_registry::Error::InvalidInput { field, reason } => {
            let flag = match field.as_str() {
                "canary.version" | "canary.percent" => "--canary",
                "shadow.version" => "--shadow",
                other => other,
            };
            UsageError(format!("{flag}: {reason}")).into()
        }
        other => other.into(),
    }
}

/// `nt registry route NAME [...]`: changes the policy as asked (the routes not named are kept),
/// or with no flags prints it.
pub(crate) fn route(
    reg: &Registry,
    name: &str,
    change: &RouteChange<'_>,
    json: bool,
) -> Result<()> {
    nt_registry::validate_name(name)?;
    if change.clear && (change.canary.is_some() || change.shadow.is_some()) {
        return Err(UsageError(
            "--clear removes every route; give it alone, or --canary/--shadow alone".into(),
        )
        .into());
    }
    if change.no_canary && change.canary.is_some() || change.no_shadow && change.shadow.is_some() {
        return Err(UsageError(
            "--no-canary with --canary (or --no-shadow with --shadow): give one of them".into(),
        )
        .into());
    }
    let current = reg.traffic(name)?;
    if !change.is_empty() {
        if change.clear {
            reg.clear_traffic(name)?;
        } else {
            let mut policy = current.unwrap_or(TrafficPolicy {
                seed: TrafficPolicy::default_seed(name),
                ..TrafficPolicy::default()
            });
            if let Some(c) = change.canary {
                policy.canary = Some(parse_canary(name, c)?);
            }
            if let Some(s) = change.shadow {
                policy.shadow = Some(ShadowRoute {
                    version: version_of(name, s, "--shadow")?,
                });
            }
            if change.no_canary {
                policy.canary = None;
            }
            if change.no_shadow {
                policy.shadow = None;
            }
            if let Some(seed) = change.seed {
                policy.seed = seed;
            }
            if policy.is_empty() && current.is_none() && change.seed.is_some() {
                return Err(UsageError(format!(
                    "--seed: {name} has no canary or shadow to route; give --canary or --shadow with it"
                ))
                .into());
            }
            reg.set_traffic(name, policy).map_err(flag_error)?;
        }
    }
    print_policy(reg, name, json)
}

fn policy_json(reg: &Registry, name: &str) -> Result<Value> {
    let policy = reg.traffic(name)?;
    let production = reg.list()?.into_iter().find(|m| m.name == name);
    Ok(json!({
        "name": name,
        "production": production.and_then(|m| m.production),
        "canary": policy.and_then(|p| p.canary),
        "shadow": policy.and_then(|p| p.shadow),
        "seed": policy.map(|p| p.seed),
    }))
}

fn print_policy(reg: &Registry, name: &str, json: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&policy_json(reg, name)?)?
        );
        return Ok(());
    }
    let production = reg
        .list()?
        .into_iter()
        .find(|m| m.name == name)
        .and_then(|m| m.production);
    match production {
        Some(p) => println!("{name}: production {name}@{p}"),
        None => println!("{name}: no production version (requests for {name} get 404)"),
    }
    for line in policy_lines(name, reg.traffic(name)?) {
        println!("  {line}");
    }
    Ok(())
}

/// The policy in words, one line per route (`no canary, no shadow` without one).
fn policy_lines(name: &str, policy: Option<TrafficPolicy>) -> Vec<String> {
    let Some(p) = policy.filter(|p| !p.is_empty()) else {
        return vec!["traffic      all requests to production (no canary, no shadow)".into()];
    };
    let mut out = Vec::new();
    if let Some(c) = p.canary {
        out.push(format!(
            "canary       {name}@{} answers {}% of the requests for {name} (sticky on route_key)",
            c.version, c.percent
        ));
    }
    if let Some(s) = p.shadow {
        out.push(format!(
            "shadow       {name}@{} forecasts every request for {name}, never answers",
            s.version
        ));
    }
    out.push(format!("route seed   {}", p.seed));
    out
}

/// The traffic lines `nt registry show` prints for `v`'s model.
pub(crate) fn show_lines(reg: &Registry, v: &ModelVersion) -> Result<Vec<String>> {
    Ok(policy_lines(&v.name, reg.traffic(&v.name)?))
}

/// The traffic policy `nt registry show --format json` adds (`null` without one).
pub(crate) fn show_json(reg: &Registry, v: &ModelVersion) -> Result<Value> {
    Ok(serde_json::to_value(reg.traffic(&v.name)?)?)
}

/// `nt registry rollback NAME`.
pub(crate) fn rollback(reg: &Registry, name: &str, json: bool) -> Result<()> {
    nt_registry::validate_name(name)?;
    let (from, to) = reg
        .rollback(name)
        .map_err(|e| match e {
            nt_registry::Error::InvalidInput { reason, .. } => UsageError(reason).into(),
            other => anyhow::Error::from(other),
        })
        .with_context(|| format!("rolling back {name}"))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"name": name, "from": from, "to": to}))?
        );
        return Ok(());
    }
    println!(
        "{name}: production is {name}@{to} again ({name}@{from} archived); servers switch at their next reload"
    );
    Ok(())
}

/// One origin's loss for each version: the mean loss over the steps both forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OriginLoss {
    a: f64,
    b: f64,
}

/// The per-origin losses of paired points (in origin order) and the Diebold–Mariano `h`:
/// `ceil(H / spacing)`, the horizon over the spacing of the origins in steps (overlapping
/// forecasts share errors up to `h - 1` origins apart).
fn origin_losses(pairs: &[PairedPoint], loss: CompareLoss) -> (Vec<OriginLoss>, usize) {
    let f = |e: f64| match loss {
        CompareLoss::Squared => e * e,
        CompareLoss::Absolute => e.abs(),
    };
    let mut by_origin: BTreeMap<(i64, &str), (f64, f64, usize)> = BTreeMap::new();
    for p in pairs {
        let e = by_origin.entry((p.origin_ms, &p.target)).or_default();
        e.0 += f(p.error_a());
        e.1 += f(p.error_b());
        e.2 += 1;
    }
    let losses = by_origin
        .values()
        .map(|&(a, b, n)| OriginLoss {
            a: a / n as f64,
            b: b / n as f64,
        })
        .collect();
    let horizon = pairs.iter().map(|p| p.step).max().unwrap_or(1);
    let median = |mut v: Vec<i64>| -> Option<i64> {
        v.sort_unstable();
        v.get(v.len() / 2).copied()
    };
    let step_ms = median(
        pairs
            .iter()
            .map(|p| (p.ts - p.origin_ms) / p.step.max(1) as i64)
            .filter(|&d| d > 0)
            .collect(),
    );
    let mut origins: Vec<i64> = by_origin.keys().map(|(o, _)| *o).collect();
    origins.dedup();
    let spacing_ms = median(origins.windows(2).map(|w| w[1] - w[0]).collect());
    let h = match (step_ms, spacing_ms) {
        (Some(step), Some(spacing)) if step > 0 && spacing > 0 => {
            let spacing_steps = ((spacing as f64 / step as f64).round() as usize).max(1);
            horizon.div_ceil(spacing_steps)
        }
        _ => horizon,
    };
    (losses, h.clamp(1, horizon.max(1)))
}

/// The comparison's verdict, in numbers and in words.
#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    paired_points: usize,
    origins: usize,
    mean_loss_a: Option<f64>,
    mean_loss_b: Option<f64>,
    dm: Option<nt_eval::DieboldMariano>,
    better: Option<String>,
    significant: bool,
    text: String,
}

fn verdict(a: &str, b: &str, pairs: &[PairedPoint], loss: CompareLoss) -> Verdict {
    let (losses, h) = origin_losses(pairs, loss);
    let n = losses.len();
    let mean =
        |f: fn(&OriginLoss) -> f64| (n > 0).then(|| losses.iter().map(f).sum::<f64>() / n as f64);
    let (mean_a, mean_b) = (mean(|l| l.a), mean(|l| l.b));
    let base = Verdict {
        paired_points: pairs.len(),
        origins: n,
        mean_loss_a: mean_a,
        mean_loss_b: mean_b,
        dm: None,
        better: None,
        significant: false,
        text: String::new(),
    };
    if n < MIN_ORIGINS {
        return Verdict {
            text: format!(
                "not enough paired points: {} paired points over {n} forecast origins (the test needs at least {MIN_ORIGINS} origins that both versions forecast and whose actuals were sent: POST /v1/models/NAME/actuals)",
                pairs.len()
            ),
            ..base
        };
    }
    let d: Vec<f64> = losses.iter().map(|l| l.a - l.b).collect();
    let name = loss.as_str();
    let Some(dm) = nt_eval::diebold_mariano(&d, h, name) else {
        return Verdict {
            text: format!(
                "the Diebold–Mariano test is undefined on these {n} origins (a constant, non-zero loss difference, or too few origins for h = {h})"
            ),
            ..base
        };
    };
    let better = match (mean_a, mean_b) {
        (Some(x), Some(y)) if x < y => Some(a.to_string()),
        (Some(x), Some(y)) if y < x => Some(b.to_string()),
        _ => None,
    };
    let significant = better.is_some() && dm.p_value < ALPHA;
    let text = match &better {
        None => format!("{a} and {b} have the same mean {name} loss on the {n} paired origins"),
        Some(w) if significant => format!(
            "{w} is better: lower mean {name} loss, significant at 5% (p = {:.4})",
            dm.p_value
        ),
        Some(w) => format!(
            "{w} has the lower mean {name} loss, but the difference is not significant at 5% (p = {:.4})",
            dm.p_value
        ),
    };
    Verdict {
        dm: Some(dm),
        better,
        significant,
        text,
        ..base
    }
}

/// `NAME@A` and `NAME@B` resolved (any reference `nt registry show` takes), same model,
/// different versions.
fn resolve_pair(reg: &Registry, a: &str, b: &str) -> Result<(ModelVersion, ModelVersion)> {
    let va = super::registry::resolve_ref(reg, a)?;
    let vb = super::registry::resolve_ref(reg, b)?;
    if va.name != vb.name {
        return Err(UsageError(format!(
            "compare two versions of one model, got {} and {}",
            va.reference(),
            vb.reference()
        ))
        .into());
    }
    if va.version == vb.version {
        return Err(UsageError(format!(
            "{a} and {b} are both {}: compare two different versions",
            va.reference()
        ))
        .into());
    }
    Ok((va, vb))
}

/// `nt registry compare NAME@A NAME@B`.
pub(crate) fn compare(
    reg: &Registry,
    a: &str,
    b: &str,
    loss: CompareLoss,
    json: bool,
) -> Result<()> {
    let (va, vb) = resolve_pair(reg, a, b)?;
    let name = va.name.clone();
    let scores_a = reg.live_scores(&name, va.version)?;
    let scores_b = reg.live_scores(&name, vb.version)?;
    let pairs = reg.paired_errors(&name, va.version, vb.version)?;
    let (ra, rb) = (va.reference(), vb.reference());
    let v = verdict(&ra, &rb, &pairs, loss);
    if json {
        let out = json!({
            "a": {"model": ra, "stage": va.stage, "scores": scores_a},
            "b": {"model": rb, "stage": vb.stage, "scores": scores_b},
            "paired": {"points": v.paired_points, "origins": v.origins,
                       "loss": loss.as_str(), "mean_loss_a": v.mean_loss_a,
                       "mean_loss_b": v.mean_loss_b},
            "diebold_mariano": v.dm,
            "better": v.better,
            "significant": v.significant,
            "alpha": ALPHA,
            "verdict": v.text,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "live scores of {ra} ({}) and {rb} ({}):",
        va.stage, vb.stage
    );
    print_scores(&ra, &rb, &scores_a, &scores_b);
    println!();
    println!(
        "paired: {} points over {} origins forecast by both (mean {} loss: {} {}, {} {})",
        v.paired_points,
        v.origins,
        loss.as_str(),
        ra,
        num(v.mean_loss_a),
        rb,
        num(v.mean_loss_b)
    );
    if let Some(dm) = &v.dm {
        println!(
            "Diebold–Mariano ({} loss, HLN-corrected, {} lags): statistic {:+.3}, p = {:.4} (negative: {ra} lower)",
            dm.loss, dm.lags, dm.statistic, dm.p_value
        );
    }
    println!("{}", v.text);
    Ok(())
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.4}"))
}

/// Reads one metric of a score window.
type Metric = fn(&ScoreWindow) -> Option<f64>;

fn print_scores(ra: &str, rb: &str, a: &LiveScores, b: &LiveScores) {
    let metrics: [(&str, Metric); 8] = [
        ("mae", |w| w.mae),
        ("rmse", |w| w.rmse),
        ("coverage", |w| w.coverage),
        ("nominal coverage", |w| w.nominal_coverage),
        ("pinball", |w| w.mean_pinball),
        ("directional acc.", |w| w.directional_accuracy),
        ("rw mae", |w| w.rw_mae),
        ("skill vs rw", |w| w.skill),
    ];
    let mut rows: Vec<[String; 4]> = Vec::new();
    for wa in &a.windows {
        let wb = b.windows.iter().find(|w| w.window == wa.window);
        rows.push([
            wa.window.clone(),
            "n".into(),
            wa.n.to_string(),
            wb.map_or_else(|| "-".into(), |w| w.n.to_string()),
        ]);
        for (label, get) in metrics {
            rows.push([
                String::new(),
                label.into(),
                num(get(wa)),
                num(wb.and_then(get)),
            ]);
        }
    }
    let header = ["window", "metric", ra, rb];
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(origin_h: i64, step: usize, actual: f64, a: f64, b: f64) -> PairedPoint {
        let hour = 3_600_000;
        PairedPoint {
            target: "y".into(),
            ts: (origin_h + step as i64) * hour,
            step,
            origin_ms: origin_h * hour,
            actual,
            forecast_a: a,
            forecast_b: b,
        }
    }

    #[test]
    fn canary_flags_parse_with_or_without_percent() {
        let c = parse_canary("m", "m@3:10%").unwrap();
        assert_eq!((c.version, c.percent), (3, 10.0));
        assert_eq!(parse_canary("m", "m@3:2.5").unwrap().percent, 2.5);
        for bad in ["m@3", "m@3:ten", "x@3:10", "m:10", "m@latest:10"] {
            let e = parse_canary("m", bad).unwrap_err();
            assert!(e.downcast_ref::<UsageError>().is_some(), "{bad}: {e}");
            assert!(e.to_string().contains("--canary"), "{bad}: {e}");
        }
    }

    #[test]
    fn per_origin_losses_and_the_overlap_lag() {
        // Origins every hour, 3 steps: overlapping forecasts, h = 3.
        let pairs: Vec<PairedPoint> = (0..4)
            .flat_map(|o| (1..=3).map(move |s| pair(o, s, 10.0, 11.0, 10.5)))
            .collect();
        let (losses, h) = origin_losses(&pairs, CompareLoss::Squared);
        assert_eq!(losses.len(), 4);
        assert_eq!(losses[0], OriginLoss { a: 1.0, b: 0.25 });
        assert_eq!(h, 3);
        // Origins every 3 hours: no overlap, h = 1.
        let spaced: Vec<PairedPoint> = (0..4)
            .flat_map(|o| (1..=3).map(move |s| pair(o * 3, s, 10.0, 11.0, 10.5)))
            .collect();
        assert_eq!(origin_losses(&spaced, CompareLoss::Absolute).1, 1);
    }

    #[test]
    fn the_verdict_says_who_is_better_and_whether_it_is_significant() {
        // b is far closer on every origin, with a little variation: significant.
        let pairs: Vec<PairedPoint> = (0..30)
            .map(|o| pair(o * 3, 1, 10.0, 12.0 + (o % 3) as f64 * 0.1, 10.1))
            .collect();
        let v = verdict("m@1", "m@2", &pairs, CompareLoss::Squared);
        assert_eq!(v.better.as_deref(), Some("m@2"));
        assert!(v.significant, "{v:?}");
        assert!(v.text.contains("significant at 5%"), "{}", v.text);
        // Alternating winners: not significant.
        let mixed: Vec<PairedPoint> = (0..30)
            .map(|o| {
                let (a, b) = if o % 2 == 0 {
                    (11.0, 10.9)
                } else {
                    (10.95, 11.0)
                };
                pair(o * 3, 1, 10.0, a, b)
            })
            .collect();
        let v = verdict("m@1", "m@2", &mixed, CompareLoss::Absolute);
        assert!(!v.significant, "{v:?}");
        assert!(v.text.contains("not significant"), "{}", v.text);
        // Too few origins: said plainly, with the count.
        let v = verdict("m@1", "m@2", &pairs[..4], CompareLoss::Squared);
        assert!(v.dm.is_none());
        assert!(
            v.text
                .starts_with("not enough paired points: 4 paired points over 4"),
            "{}",
            v.text
        );
    }
}
