//! DeepAR's sample paths: the encoder once per window, its state replicated per path, then per
//! horizon step one draw per path from that path's own step distribution, fed back.

use candle_core::Tensor;

use super::plain::{decode_rows, step_rows, PlainStack};
use super::DeepAr;
use crate::arch::Network;
use crate::recurrent::State;
use crate::rng::Rng;
use crate::{Error, Result};

/// `samples` paths over the horizon for each of the `n` packed rows of `x`, `[n, samples, H]`
/// flattened, in the scaled space; window `i` draws from `Rng::new(seeds[i])` only (path by
/// path within a step, step by step), and is computed alone, so neither its draws nor its
/// arithmetic depend on the other windows.
pub(super) fn sample_paths(
    net: &DeepAr,
    x: &[f32],
    n: usize,
    samples: usize,
    seeds: &[u64],
) -> Result<Vec<f32>> {
    let w = net.packed_input_size();
    let h = net.horizon();
    if x.len() != n * w || seeds.len() != n {
        return Err(Error::invalid(
            "input",
            format!(
                "{n} windows need {} packed values and {n} seeds, got {} and {}",
                n * w,
                x.len(),
                seeds.len()
            ),
        ));
    }
    if samples == 0 {
        return Err(Error::invalid("samples", "must be at least 1"));
    }
    let l1 = net.input_size();
    let dist = net.distribution;
    let p = dist.n_params();
    let mut stack = PlainStack::new(net)?;
    let mut out = vec![0f32; n * samples * h];
    for (i, (row, &seed)) in x.chunks_exact(w).zip(seeds).enumerate() {
        let mut rng = Rng::new(seed);
        let xt = Tensor::from_slice(row, (1, w), &candle_core::Device::Cpu)?;
        let input: Vec<f32> = net.encoder_input(&xt, h, None)?.flatten_all()?.to_vec1()?;
        let (top, states) = stack.encode(&input, 1, l1)?;
        // The first step's distribution is the same for every path.
        let first = dist.params(&decode_rows(net, &top, 1)?);
        let paths = &mut out[i * samples * h..(i + 1) * samples * h];
        let mut draws: Vec<f32> = (0..samples)
            .map(|_| first.sample(&mut rng) as f32)
            .collect();
        for (s, &d) in draws.iter().enumerate() {
            paths[s * h] = d;
        }
        let mut states: Vec<State> = states
            .into_iter()
            .map(|st| State {
                h: st.h.repeat(samples),
                c: st.c.repeat(samples),
            })
            .collect();
        for k in 1..h {
            let rows = step_rows(net, row, &draws, l1 + k);
            let top = stack.step(&rows, samples, &mut states)?;
            let raw = decode_rows(net, &top, samples)?;
            for (s, d) in draws.iter_mut().enumerate() {
                *d = dist.params(&raw[s * p..(s + 1) * p]).sample(&mut rng) as f32;
                paths[s * h + k] = *d;
            }
        }
    }
    Ok(out)
}
