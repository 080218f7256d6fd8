//! `POST /v1/models/{name}/predict` and `POST /v1/predict/batch`: validation of the history,
//! windows handed to the model's compute thread, answers cut to the asked horizon.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{FromRequest, Path, Request, State};
use axum::Json;
use nt_core::Forecast;

use crate::api::{
    BatchRequest, BatchResponse, ColumnForecast, History, JsonBody, PredictRequest, PredictResponse,
};
use crate::batcher::{ArrivingGuard, Batcher, OwnedInputs};
use crate::error::{ApiError, Error, Result};
use crate::model_ref::ModelRef;
use crate::state::{AppState, Loaded};

/// A validated request: the model's input windows (one per target column, in target order)
/// and how to shape the answer.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) windows: Vec<OwnedInputs>,
    /// Column names of the windows when the history came as columns.
    columns: Option<Vec<String>>,
    pub(crate) horizon: usize,
    levels: Vec<f64>,
    timestamps: Option<Vec<i64>>,
    /// Whether the answer carries the forecasts' sample paths.
    paths: bool,
}

/// Values must be finite and inside f32's range (the networks compute in f32).
fn check_values(values: &[f64], field: &str, min_len: usize, max_len: usize) -> Result<()> {
    if values.len() < min_len {
        return Err(Error::invalid(
            field,
            format!(
                "the model reads the last {min_len} values, got {}",
                values.len()
            ),
        ));
    }
    if values.len() > max_len {
        return Err(Error::invalid(
            field,
            format!("at most {max_len} values, got {}", values.len()),
        ));
    }
    if let Some((i, v)) = values
        .iter()
        .enumerate()
        .find(|(_, v)| !v.is_finite() || v.abs() > f64::from(f32::MAX))
    {
        return Err(Error::invalid(
            format!("{field}[{i}]"),
            format!("{v} is not a finite number in f32 range"),
        ));
    }
    Ok(())
}

/// Checks `history`, `horizon` and `quantiles` against `loaded` and the limits; `prefix` is
/// prepended to field names (`items[3].`).
pub(crate) fn prepare(
    state: &AppState,
    loaded: &Loaded,
    history: &History,
    horizon: Option<usize>,
    quantiles: Option<&[f64]>,
    prefix: &str,
) -> Result<Prepared> {
    let f = |s: &str| format!("{prefix}{s}");
    let model = &loaded.model;
    let l = model.min_history();
    let max_len = state.config().max_history.max(l);
    // A neural model reads its last `window` values; a classical one the whole history.
    let keep = |values: &[f64]| -> Vec<f64> {
        let n = model.window().unwrap_or(values.len()).min(values.len());
        values[values.len() - n..].to_vec()
    };
    let (windows, columns, len) = match (&history.values, &history.columns) {
        (Some(values), None) => {
            check_values(values, &f("history.values"), l, max_len)?;
            (vec![keep(values)], None, values.len())
        }
        (None, Some(cols)) => {
            let targets = model.targets();
            if let Some(extra) = cols.keys().find(|c| !targets.contains(c)) {
                return Err(Error::invalid(
                    f(&format!("history.columns.{extra}")),
                    format!(
                        "not a column of the model (it needs exactly: {})",
                        targets.join(", ")
                    ),
                ));
            }
            let mut windows = Vec::with_capacity(targets.len());
            let mut len = None;
            for t in targets {
                let field = f(&format!("history.columns.{t}"));
                let values = cols.get(t).ok_or_else(|| {
                    Error::invalid(
                        field.clone(),
                        format!(
                            "missing: the model needs exactly the columns {} ({} given)",
                            targets.join(", "),
                            cols.len()
                        ),
                    )
                })?;
                match len {
                    Some(n) if n != values.len() => {
                        return Err(Error::invalid(
                            field,
                            format!("has {} values, the other columns {n}", values.len()),
                        ))
                    }
                    _ => len = Some(values.len()),
                }
                check_values(values, &field, l, max_len)?;
                windows.push(keep(values));
            }
            (windows, Some(targets.to_vec()), len.unwrap_or(0))
        }
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                f("history"),
                "give either `values` or `columns`, not both",
            ))
        }
        (None, None) => {
            return Err(Error::invalid(
                f("history"),
                "needs `values` (one series) or `columns` (named series)",
            ))
        }
    };
    // Models without a longest horizon (most classical ones) forecast up to `max_history`
    // steps, 24 unless asked.
    let (h_max, h_default) = match model.max_horizon() {
        Some(h) => (h, h),
        None => (
            state.config().max_history,
            24.min(state.config().max_history),
        ),
    };
    let horizon = horizon.unwrap_or(h_default);
    if horizon == 0 || horizon > h_max {
        return Err(Error::invalid(
            f("horizon"),
            format!("the model forecasts 1 to {h_max} steps, {horizon} asked"),
        ));
    }
    let model_levels = model.quantile_levels();
    let model_levels = model_levels.as_slice();
    let levels = match quantiles {
        None => model_levels.to_vec(),
        Some(asked) => {
            let mut out = Vec::with_capacity(asked.len());
            for (i, q) in asked.iter().enumerate() {
                match model_levels.iter().find(|&&m| (m - q).abs() < 1e-9) {
                    Some(&m) => out.push(m),
                    None => {
                        return Err(Error::invalid(
                            f(&format!("quantiles[{i}]")),
                            if model_levels.is_empty() {
                                "the model predicts no quantiles".to_string()
                            } else {
                                format!("{q} is not one of the model's levels {model_levels:?}")
                            },
                        ))
                    }
                }
            }
            out
        }
    };
    let windows = with_exog(model.as_ref(), history, windows, len, &f)?;
    let timestamps = match &history.timestamps {
        None => None,
        Some(ts) => Some(future_timestamps(
            ts,
            len,
            horizon,
            &f("history.timestamps"),
        )?),
    };
    Ok(Prepared {
        windows,
        columns,
        horizon,
        levels,
        timestamps,
        paths: false,
    })
}

/// Adds the exogenous columns a model reads to each target window: historic and future columns
/// over the history rows (`history.exog`, the same `len` rows, the model's window of them) and
/// the future columns' next H values (`history.future`). 422 names a missing, unknown or
/// misshapen column.
fn with_exog(
    model: &dyn nt_models::Forecaster,
    history: &History,
    targets: Vec<Vec<f64>>,
    len: usize,
    f: &dyn Fn(&str) -> String,
) -> Result<Vec<OwnedInputs>> {
    let (hist_names, futr_names) = (model.hist_exog(), model.futr_exog());
    if hist_names.is_empty() && futr_names.is_empty() {
        if let Some(extra) = history
            .exog
            .iter()
            .chain(&history.future)
            .flat_map(|m| m.keys())
            .next()
        {
            return Err(Error::invalid(
                f(&format!("history.exog.{extra}")),
                "the model reads no exogenous columns",
            ));
        }
        return Ok(targets.into_iter().map(OwnedInputs::target).collect());
    }
    let empty = BTreeMap::new();
    let exog = history.exog.as_ref().unwrap_or(&empty);
    let future = history.future.as_ref().unwrap_or(&empty);
    let known = |c: &String| hist_names.contains(c) || futr_names.contains(c);
    if let Some(extra) = exog.keys().find(|c| !known(c)) {
        return Err(Error::invalid(
            f(&format!("history.exog.{extra}")),
            format!(
                "not an exogenous column of the model (historic: {}; future: {})",
                hist_names.join(", "),
                futr_names.join(", ")
            ),
        ));
    }
    if let Some(extra) = future.keys().find(|c| !futr_names.contains(c)) {
        return Err(Error::invalid(
            f(&format!("history.future.{extra}")),
            format!(
                "not a future column of the model ({})",
                futr_names.join(", ")
            ),
        ));
    }
    let window = model.window().unwrap_or(len).min(len);
    let column = |name: &String| -> Result<Vec<f64>> {
        let field = f(&format!("history.exog.{name}"));
        let values = exog.get(name).ok_or_else(|| {
            Error::invalid(
                field.clone(),
                format!(
                    "missing: the model reads this exogenous column over the {len} history rows"
                ),
            )
        })?;
        if values.len() != len {
            return Err(Error::invalid(
                field,
                format!("has {} values, the history {len}", values.len()),
            ));
        }
        check_values(values, &field, 0, usize::MAX)?;
        Ok(values[len - window..].to_vec())
    };
    let hist: Vec<Vec<f64>> = hist_names.iter().map(column).collect::<Result<_>>()?;
    let h = model.max_horizon().unwrap_or(0);
    let futr: Vec<Vec<f64>> = futr_names
        .iter()
        .map(|name| {
            let mut v = column(name)?;
            let field = f(&format!("history.future.{name}"));
            let next = future.get(name).ok_or_else(|| {
                Error::invalid(
                    field.clone(),
                    format!("missing: the model needs this column's next {h} values"),
                )
            })?;
            if next.len() < h {
                return Err(Error::invalid(
                    field,
                    format!(
                        "needs at least {h} values (the model's horizon), got {}",
                        next.len()
                    ),
                ));
            }
            check_values(&next[..h], &field, 0, usize::MAX)?;
            v.extend_from_slice(&next[..h]);
            Ok(v)
        })
        .collect::<Result<_>>()?;
    Ok(targets
        .into_iter()
        .map(|target| OwnedInputs {
            target,
            hist: hist.clone(),
            futr: futr.clone(),
        })
        .collect())
}

/// The `horizon` timestamps after `ts` (which must have `len` strictly increasing entries), on the
/// calendar inferred from them ([`nt_core::Calendar::infer`], the rule the CLI uses): business
/// days for daily timestamps without weekend rows, inside the session for intraday timestamps
/// with the same daily gap every day, the most common step otherwise. UTC; holidays not modelled.
fn future_timestamps(ts: &[i64], len: usize, horizon: usize, field: &str) -> Result<Vec<i64>> {
    if ts.len() != len {
        return Err(Error::invalid(
            field,
            format!("{} timestamps for {len} history rows", ts.len()),
        ));
    }
    if let Some(i) = ts.windows(2).position(|w| w[1] <= w[0]) {
        return Err(Error::invalid(
            format!("{field}[{}]", i + 1),
            "timestamps must be strictly increasing",
        ));
    }
    let Some(&last) = ts.last().filter(|_| ts.len() >= 2) else {
        return Err(Error::invalid(field, "needs at least two timestamps"));
    };
    nt_core::Calendar::infer(ts)
        .and_then(|calendar| calendar.extend(last, horizon))
        .map_err(|_| Error::invalid(field, "the forecast's timestamps overflow the date range"))
}

/// The answer for one prepared request from its windows' forecasts (full horizon each).
fn respond(
    loaded: &Loaded,
    p: Prepared,
    forecasts: Vec<Forecast>,
    prefix: &str,
    role: nt_registry::ServedRole,
) -> Result<PredictResponse> {
    let h = p.horizon;
    let shape = |f: &Forecast| -> Result<ColumnForecast> {
        let point = f.point_values().get(..h).unwrap_or_default().to_vec();
        let quantiles = if p.levels.is_empty() {
            None
        } else {
            let mut bands = BTreeMap::new();
            for &q in &p.levels {
                let band = f
                    .quantile(q)
                    .and_then(|b| b.get(..h))
                    .ok_or_else(|| Error::internal(format!("no band for level {q}")))?;
                bands.insert(format!("{q}"), band.to_vec());
            }
            Some(bands)
        };
        let finite = point.iter().all(|v| v.is_finite())
            && quantiles
                .as_ref()
                .is_none_or(|b| b.values().flatten().all(|v| v.is_finite()));
        if !finite {
            return Err(Error::invalid(
                format!("{prefix}history"),
                "the forecast is not finite: values too large for the model's f32 arithmetic",
            ));
        }
        let paths = p.paths.then(|| {
            f.paths()
                .iter()
                .map(|path| path.get(..h).unwrap_or_default().to_vec())
                .collect::<Vec<_>>()
        });
        if paths
            .as_ref()
            .is_some_and(|ps| ps.iter().flatten().any(|v| !v.is_finite()))
        {
            return Err(Error::invalid(
                format!("{prefix}history"),
                "a sample path is not finite: values too large for the model's f32 arithmetic",
            ));
        }
        Ok(ColumnForecast {
            point,
            quantiles,
            paths,
        })
    };
    let shaped = forecasts.iter().map(shape).collect::<Result<Vec<_>>>()?;
    let first = shaped
        .first()
        .cloned()
        .ok_or_else(|| Error::internal("no forecast produced"))?;
    let columns = match &p.columns {
        Some(names) if names.len() > 1 => Some(names.iter().cloned().zip(shaped).collect()),
        _ => None,
    };
    Ok(PredictResponse {
        model: loaded.info.name.clone(),
        version: loaded.info.version,
        horizon: h,
        point: first.point,
        quantiles: first.quantiles,
        paths: first.paths,
        timestamps: p.timestamps,
        columns,
        role,
    })
}

/// Forecast from a model's recent history. `{name}` is a model reference: `NAME` (the
/// production version, or the body's `version`), `NAME@3`, `NAME@latest`, `NAME@production`;
/// a body `version` that contradicts the reference is a 422.
#[utoipa::path(
    post,
    path = "/v1/models/{name}/predict",
    tag = "predict",
    params(("name" = String, Path, description = "Model reference: `NAME` (production), `NAME@3`, `NAME@latest` or `NAME@production`")),
    request_body = PredictRequest,
    responses(
        (status = 200, description = "The forecast", body = PredictResponse),
        (status = 400, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 404, description = "Unknown model or version", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid field (named in `field`)", body = crate::error::ErrorBody),
        (status = 503, description = "Overloaded or timed out", body = crate::error::ErrorBody),
    )
)]
pub(crate) async fn predict(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    request: Request,
) -> std::result::Result<Json<PredictResponse>, ApiError> {
    let model_ref = ModelRef::parse(&reference, "name")?;
    let name = &model_ref.name;
    // Counted while its body is parsed, so the model's compute thread may wait for it.
    let arriving = if state.is_known(name) {
        Some(ArrivingGuard::new(state.arriving(name)?))
    } else {
        None
    };
    let JsonBody(req) = JsonBody::<PredictRequest>::from_request(request, &()).await?;
    let sel = model_ref.with_version(req.version, "version")?;
    crate::traffic::check_route_key(req.route_key.as_deref(), "route_key")?;
    let mut routed = state.route(name, sel, req.route_key.as_deref());
    let loaded = state.routed_model(name, &mut routed).await?;
    let mut p = prepare(
        &state,
        &loaded,
        &req.history,
        req.horizon,
        req.quantiles.as_deref(),
        "",
    )?;
    let forecasts = match req.paths {
        None => {
            let rx = loaded
                .batcher
                .submit(p.windows.clone(), p.horizon, arriving)?;
            Batcher::wait(rx).await?
        }
        Some(samples) => {
            let request = path_request(&state, &loaded, samples, req.seed)?;
            p.paths = true;
            let (model, windows, h) = (loaded.model.clone(), p.windows.clone(), p.horizon);
            // Paths are never gathered with other requests: each request has its own seed and
            // count, and its draws must not depend on its neighbours.
            crate::state::blocking(move || {
                let views: Vec<_> = windows.iter().map(OwnedInputs::view).collect();
                model
                    .forecast_paths(&views, h, request)
                    .map_err(Error::from)
            })
            .await?
        }
    };
    // The answer is ready: the shadow (if any) forecasts the same history off this path.
    state.spawn_shadow(name, &routed, &req.history, req.horizon, log_shadow);
    let answer = respond(&loaded, p, forecasts, "", routed.role)?;
    crate::live::log_answer(&state, &loaded, &req.history, &answer);
    Ok(Json(answer))
}

/// Hands a shadow version's forecast to the forecast log (role `shadow`), shaped as an answer
/// would be; never sent to the client.
fn log_shadow(
    state: &AppState,
    loaded: &Loaded,
    history: &History,
    p: Prepared,
    forecasts: Vec<Forecast>,
) -> Result<()> {
    let answer = respond(loaded, p, forecasts, "", nt_registry::ServedRole::Shadow)?;
    crate::live::log_answer(state, loaded, history, &answer);
    Ok(())
}

/// The sample paths a request asks for: 422 naming `paths` for a model without them or a count
/// outside 1 to the server's `max_paths`.
fn path_request(
    state: &AppState,
    loaded: &Loaded,
    samples: usize,
    seed: Option<u64>,
) -> Result<nt_models::PathRequest> {
    if !loaded.model.has_paths() {
        return Err(Error::invalid(
            "paths",
            format!(
                "model {} ({}) does not forecast by sample paths",
                loaded.info.name,
                loaded.model.name()
            ),
        ));
    }
    let max = state.config().max_paths;
    if samples == 0 || samples > max {
        return Err(Error::invalid(
            "paths",
            format!("expected 1 to {max} sample paths, got {samples}"),
        ));
    }
    nt_models::PathRequest::new(samples, seed.unwrap_or(1), "paths").map_err(Error::from)
}

/// Forecasts for many series in one call; items for the same model version share forward
/// passes. Any invalid item fails the call with 422 naming it (`items[3].history.values`).
#[utoipa::path(
    post,
    path = "/v1/predict/batch",
    tag = "predict",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One forecast per item, in order", body = BatchResponse),
        (status = 404, description = "Unknown model or version", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid item (named in `field`)", body = crate::error::ErrorBody),
    )
)]
pub(crate) async fn predict_batch(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<BatchRequest>,
) -> std::result::Result<Json<BatchResponse>, ApiError> {
    let max = state.config().max_batch_items;
    if req.items.len() > max {
        return Err(Error::invalid(
            "items",
            format!("at most {max} items per call, got {}", req.items.len()),
        )
        .into());
    }
    let mut loaded: Vec<Arc<Loaded>> = Vec::with_capacity(req.items.len());
    let mut routed = Vec::with_capacity(req.items.len());
    let mut prepared = Vec::with_capacity(req.items.len());
    for (i, item) in req.items.iter().enumerate() {
        let prefix = format!("items[{i}].");
        let model_ref = ModelRef::parse(&item.model, &format!("{prefix}model"))?;
        let sel = model_ref.with_version(item.version, &format!("{prefix}version"))?;
        crate::traffic::check_route_key(item.route_key.as_deref(), &format!("{prefix}route_key"))?;
        let mut r = state.route(&model_ref.name, sel, item.route_key.as_deref());
        let l = match state.routed_model(&model_ref.name, &mut r).await {
            Ok(l) => l,
            Err(Error::NotFound { what }) => {
                return Err(Error::NotFound {
                    what: format!("{what} (items[{i}].model)"),
                }
                .into())
            }
            Err(e) => return Err(e.into()),
        };
        prepared.push(prepare(
            &state,
            &l,
            &item.history,
            item.horizon,
            item.quantiles.as_deref(),
            &prefix,
        )?);
        loaded.push(l);
        routed.push((model_ref.name, r));
    }
    // One job per model version, all queued before any is awaited.
    let mut groups: Vec<(Arc<Loaded>, Vec<usize>)> = Vec::new();
    for (i, l) in loaded.iter().enumerate() {
        match groups.iter_mut().find(|(g, _)| Arc::ptr_eq(g, l)) {
            Some((_, idx)) => idx.push(i),
            None => groups.push((l.clone(), vec![i])),
        }
    }
    let mut pending = Vec::with_capacity(groups.len());
    for (l, idx) in &groups {
        let windows: Vec<OwnedInputs> = idx
            .iter()
            .flat_map(|&i| prepared[i].windows.iter().cloned())
            .collect();
        let horizon = idx.iter().map(|&i| prepared[i].horizon).max().unwrap_or(1);
        pending.push(l.batcher.submit(windows, horizon, None)?);
    }
    let mut per_item: Vec<Option<Vec<Forecast>>> = (0..prepared.len()).map(|_| None).collect();
    for ((_, idx), rx) in groups.iter().zip(pending) {
        let mut forecasts = Batcher::wait(rx).await?.into_iter();
        for &i in idx {
            let n = prepared[i].windows.len();
            per_item[i] = Some(forecasts.by_ref().take(n).collect());
        }
    }
    let mut results = Vec::with_capacity(prepared.len());
    for (i, (p, f)) in prepared.into_iter().zip(per_item).enumerate() {
        let f = f.ok_or_else(|| Error::internal("batch item without forecast"))?;
        let answer = respond(&loaded[i], p, f, &format!("items[{i}]."), routed[i].1.role)?;
        crate::live::log_answer(&state, &loaded[i], &req.items[i].history, &answer);
        results.push(answer);
    }
    for ((name, r), item) in routed.iter().zip(&req.items) {
        state.spawn_shadow(name, r, &item.history, item.horizon, log_shadow);
    }
    Ok(Json(BatchResponse { results }))
}
