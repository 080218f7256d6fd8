//! Test helpers shared by the engine tests (`engine/tests.rs`) and the architectures' own
//! engine tests (`patchtst/engine_tests.rs`, `tcn/engine_tests.rs`): a candle network over
//! random weights, with the same weights as the flat buffer a native graph takes.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};

use crate::arch::{Network, NeuralSpec};
use crate::rng::Rng;

/// A candle network built from `spec`, with its variables in name order (the order of the
/// native graph's [`ParamLayout`](super::ParamLayout), as training initializes them) and the
/// same values concatenated in that order.
pub(crate) struct RandomWeights {
    pub(crate) net: Box<dyn Network>,
    pub(crate) vars: Vec<(String, Var)>,
    pub(crate) flat: Vec<f32>,
}

/// Builds `spec`'s candle network and sets every weight element to `value(name, u)`, `u`
/// uniform in [-0.5, 0.5) drawn from `Rng::new(seed)`, one draw per element in name order.
pub(crate) fn random_weights(
    spec: &NeuralSpec,
    seed: u64,
    mut value: impl FnMut(&str, f32) -> f32,
) -> RandomWeights {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let net = spec
        .build(VarBuilder::from_varmap(&varmap, DType::F32, &dev))
        .unwrap();
    let mut vars: Vec<_> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rng = Rng::new(seed);
    let mut flat = Vec::new();
    for (name, v) in &vars {
        let dims = v.as_tensor().dims().to_vec();
        let n: usize = dims.iter().product();
        let vals: Vec<f32> = (0..n)
            .map(|_| value(name, rng.next_f64() as f32 - 0.5))
            .collect();
        flat.extend_from_slice(&vals);
        v.set(&Tensor::from_vec(vals, dims.as_slice(), &dev).unwrap())
            .unwrap();
    }
    RandomWeights { net, vars, flat }
}
