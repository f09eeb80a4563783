//! Gradient-descent optimizers, gradient clipping and learning-rate schedules.
//!
//! This module owns one-step updates over a flat parameter buffer: [`Optimizer::step`] maps
//! `(params, grads, lr)` to new params and nothing else. It must not own a training loop, logging,
//! early stopping or checkpoint files; those live once in the method/runner layer. The learning
//! rate of each step comes from a [`Schedule`], evaluated by the caller.
//!
//! Every update follows PyTorch's `torch.optim` conventions (coupled L2 weight decay, the order of
//! `eps` and square roots, momentum-buffer initialisation), so a number from a PyTorch paper can be
//! reproduced here.

mod clip;
mod config;
pub(crate) mod optimizer;
pub mod schedule;

pub use clip::clip_grad_norm;
pub use config::OptimizerConfig;
pub use optimizer::Optimizer;
pub use schedule::Schedule;
