//! DeepAR's sample paths: the encoder once per window, its state replicated per path, then per
//! horizon step one draw per path from that path's own step distribution, fed back.

use candle_core::Tensor;

use super::DeepAr;
use crate::arch::Network;
use crate::distribution::Params;
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
    let device = net.layers[0].w_ih.device().clone();
    let l1 = net.input_size();
    let dist = net.distribution;
    let p = dist.n_params();
    let mut out = vec![0f32; n * samples * h];
    for (i, (row, &seed)) in x.chunks_exact(w).zip(seeds).enumerate() {
        let mut rng = Rng::new(seed);
        let xt = Tensor::from_slice(row, (1, w), &device)?;
        let input = net.encoder_input(&xt, h, None)?;
        let (top, states) = net.encode(&input, None, None)?;
        // The first step's distribution is the same for every path.
        let raw: Vec<f32> = net
            .decode(&top.narrow(1, l1 - 1, 1)?.squeeze(1)?)?
            .flatten_all()?
            .to_vec1()?;
        let first = dist.params(&raw);
        let paths = &mut out[i * samples * h..(i + 1) * samples * h];
        let mut draws: Vec<f32> = (0..samples).map(|_| draw(&first, &mut rng)).collect();
        for (s, &d) in draws.iter().enumerate() {
            paths[s * h] = d;
        }
        let mut states = states
            .into_iter()
            .map(|(hs, cs)| -> Result<(Tensor, Tensor)> {
                let hid = hs.dim(1)?;
                Ok((
                    hs.broadcast_as((samples, hid))?.contiguous()?,
                    cs.broadcast_as((samples, hid))?.contiguous()?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        for k in 1..h {
            let y = Tensor::from_slice(&draws, (samples, 1), &device)?;
            let inp = net.step_input(&xt, &y, l1 + k)?;
            let (top, st) = net.step(&inp, states)?;
            states = st;
            let raw: Vec<f32> = net.decode(&top)?.flatten_all()?.to_vec1()?;
            for (s, d) in draws.iter_mut().enumerate() {
                *d = draw(&dist.params(&raw[s * p..(s + 1) * p]), &mut rng);
                paths[s * h + k] = *d;
            }
        }
    }
    Ok(out)
}

/// One draw as the `f32` the network is fed.
fn draw(params: &Params, rng: &mut Rng) -> f32 {
    params.sample(rng) as f32
}
