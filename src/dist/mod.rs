//! Distributions of MODEL.md §6, each an immutable quantile function u → x.
