//! What the CPU at hand can do, detected once at run time: the instruction sets the kernels
//! choose between (AVX-512 with its BF16 and VNNI extensions, AVX2 + FMA, or plain scalar code).
//! The same binary runs on every x86-64 machine; `pulp` (our kernels) and `gemm` (its matmul
//! microkernels) pick their code paths from the same checks. `nt bench` prints this, and the
//! int8 work reuses it.

use std::sync::OnceLock;

use serde::Serialize;

/// The instruction-set extensions the kernels care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpuFeatures {
    /// AVX2 (256-bit integer and float vectors).
    pub avx2: bool,
    /// Fused multiply-add.
    pub fma: bool,
    /// AVX-512 Foundation (512-bit vectors).
    pub avx512f: bool,
    /// AVX512-BF16: `vdpbf16ps`, bfloat16 dot products accumulated in f32.
    pub avx512_bf16: bool,
    /// AVX512-VNNI: int8 dot products accumulated in i32.
    pub avx512_vnni: bool,
}

impl CpuFeatures {
    /// The widest f32 vector path the kernels use here: `avx512`, `avx2+fma` or `scalar`.
    pub fn f32_path(&self) -> &'static str {
        if self.avx512f {
            "avx512"
        } else if self.avx2 && self.fma {
            "avx2+fma"
        } else {
            "scalar"
        }
    }

    /// The extensions present, space-separated (`avx2 fma`), or `none`.
    pub fn summary(&self) -> String {
        let names: Vec<&str> = [
            (self.avx2, "avx2"),
            (self.fma, "fma"),
            (self.avx512f, "avx512f"),
            (self.avx512_bf16, "avx512_bf16"),
            (self.avx512_vnni, "avx512_vnni"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(" ")
        }
    }
}

/// The features of this CPU (detected on the first call, then cached).
pub fn features() -> CpuFeatures {
    static FEATURES: OnceLock<CpuFeatures> = OnceLock::new();
    *FEATURES.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> CpuFeatures {
    CpuFeatures {
        avx2: std::arch::is_x86_feature_detected!("avx2"),
        fma: std::arch::is_x86_feature_detected!("fma"),
        avx512f: std::arch::is_x86_feature_detected!("avx512f"),
        avx512_bf16: std::arch::is_x86_feature_detected!("avx512bf16"),
        avx512_vnni: std::arch::is_x86_feature_detected!("avx512vnni"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> CpuFeatures {
    CpuFeatures {
        avx2: false,
        fma: false,
        avx512f: false,
        avx512_bf16: false,
        avx512_vnni: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_is_stable_and_consistent() {
        let f = features();
        assert_eq!(f, features());
        // AVX-512 extensions imply the foundation.
        assert!(!(f.avx512_bf16 || f.avx512_vnni) || f.avx512f);
        assert!(!f.summary().is_empty());
    }
}
