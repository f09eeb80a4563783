//! `seed_ensemble` and `bagging`: deep ensembles of M networks (Lakshminarayanan, Pritzel &
//! Blundell 2017, "Simple and scalable predictive uncertainty estimation using deep ensembles",
//! NeurIPS) and bagging (Breiman 1996). Member m trains as a point method from its own initial
//! weights and batch order (the streams of chain m: member 0 is the point method of the same
//! model exactly); a bagging member trains on a bootstrap resample of the training part (Efron
//! 1979), n rows drawn with replacement from the shared `bootstrap/member<m>` stream. The
//! predictive is the equal mixture of the members',
//!
//! ```text
//! p(y | x) = 1/M Σ_m p(y | x, θ_m)
//! ```
//!
//! scored after 1, 2, 4, … members and after all M (`samples` column).
//!
//! Members are trained one after the other. After each, its outputs on the validation and test
//! parts and the grid go to the run's [`MemberStore`] (the runner keeps them in
//! `checkpoints/<run_id>/`), so a run stopped at member 9 of 10 and run again trains one member,
//! not nine, and gives the same bits as an uninterrupted run: a stored member's outputs are the
//! exact f32/f64 values it predicted.

use crate::data::bootstrap;
use crate::nn::HeadOutput;
use crate::optim::{Optimizer, OptimizerConfig};
use crate::rng::rng_from_seed;
use crate::spec::{ConfigMember, MethodConfig, RunConfig};

use super::driver::{self, Chain, Evaluation};
use super::{Evaluator, MethodOutput, RunError, RunInput, Trainer};

/// Keeps the outputs of finished members between attempts at a run.
pub trait MemberStore: Sync {
    /// The bytes saved for `member`, if any.
    fn load(&self, member: usize) -> Option<Vec<u8>>;
    /// Saves `bytes` for `member`; a failure only costs retraining it.
    fn save(&self, member: usize, bytes: &[u8]);
}

/// What each member trains on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resampling {
    /// The whole training part (seed ensemble).
    None,
    /// A bootstrap resample of it (bagging).
    Bootstrap,
}

/// One member of an ensemble: the configuration it trains with (the run's own, or for a config
/// ensemble the run's with the member's model, training and optimizer).
pub struct Member<'a> {
    pub config: std::borrow::Cow<'a, RunConfig>,
    pub optimizer: &'a OptimizerConfig,
}

/// `count` members with the run's own configuration and `optimizer` (seed ensembles, bagging).
pub fn same_members<'a>(
    config: &'a RunConfig,
    optimizer: &'a OptimizerConfig,
    count: usize,
) -> Vec<Member<'a>> {
    (0..count)
        .map(|_| Member {
            config: std::borrow::Cow::Borrowed(config),
            optimizer,
        })
        .collect()
}

/// The members of a config ensemble: the run's configuration with each member's model,
/// training section and optimizer.
pub fn config_members<'a>(config: &RunConfig, members: &'a [ConfigMember]) -> Vec<Member<'a>> {
    members
        .iter()
        .map(|member| Member {
            config: std::borrow::Cow::Owned(RunConfig {
                model: member.model.clone(),
                train: member.train.clone(),
                method_config: MethodConfig::Point {
                    optimizer: member.optimizer.clone(),
                },
                ..config.clone()
            }),
            optimizer: &member.optimizer,
        })
        .collect()
}

/// Trains the members (or reads them back from `input.members`) and scores their mixture.
pub fn run(
    input: &RunInput,
    members: &[Member],
    resampling: Resampling,
) -> Result<MethodOutput, RunError> {
    let (config, data) = (input.config, input.data);
    let mut eval = Evaluator::new(data, input.grid, config.predictions);
    // The parameter count is the first member's (all members of a seed ensemble or bagging
    // have the same shape).
    let mut output = MethodOutput {
        n_params: members.first().map_or(0, |first| {
            Trainer::new(&first.config, &data.train, first.optimizer.lr())
                .params
                .len() as u64
        }),
        ..MethodOutput::default()
    };
    let mut steps = 0;
    for (m, member) in members.iter().enumerate() {
        let member_config: &RunConfig = &member.config;
        let stored = input
            .members
            .and_then(|store| store.load(m))
            .and_then(|bytes| decode(&bytes))
            // Outputs for other parts (the spec's OOD parts changed) are trained again.
            .filter(|outputs| outputs.len() == eval.n_parts());
        let train_len = data.train.len();
        let outputs = match stored {
            Some(outputs) => {
                for _ in 0..member_config.train.epochs {
                    (input.on_epoch)();
                }
                outputs
            }
            None => {
                let resampled;
                let member_data = match resampling {
                    Resampling::None => data,
                    Resampling::Bootstrap => {
                        let key = config.shared_stream_seed(&format!("bootstrap/member{m}"));
                        let rows = bootstrap(train_len, &mut rng_from_seed(key));
                        resampled = crate::data::Prepared {
                            train: data.train.select(&rows),
                            valid: data.valid.select(&[]),
                            test: data.test.select(&[]),
                            scaler: data.scaler.clone(),
                            ood: Vec::new(),
                        };
                        &resampled
                    }
                };
                let trainer =
                    Trainer::for_chain(member_config, &member_data.train, member.optimizer.lr(), m);
                let rule = Box::new(Optimizer::new(member.optimizer, trainer.params.len()));
                let mut chains = [Chain { trainer, rule }];
                let member_input = RunInput {
                    config: member_config,
                    data: member_data,
                    grid: None,
                    members: None,
                    ..*input
                };
                driver::train(&member_input, &mut chains, &Evaluation::TrainOnly)?;
                let trainer = &mut chains[0].trainer;
                let outputs = eval.outputs(&mut trainer.network, &trainer.params, data, input.grid);
                if let Some(store) = input.members {
                    store.save(m, &encode(&outputs));
                }
                outputs
            }
        };
        eval.add_outputs(&outputs);
        // Every member takes its own configuration's updates (a resample has the part's length).
        steps += Trainer::steps_of(member_config, &data.train);
        let kept = m + 1;
        if kept.is_power_of_two() || kept == members.len() {
            output
                .metrics
                .extend(eval.metric_rows(config.train.epochs, steps));
        }
    }
    output.n_samples = members.len() as u64;
    if config.predictions {
        output.predictions = eval.prediction_rows(data, input.grid);
    }
    Ok(output)
}

const MAGIC: &[u8; 8] = b"BLMEMB02";

/// The bytes of a member's outputs: a magic number, the number of parts (u64), then per part a
/// tag (1 Gaussian with n means and n variances in f32, 2 categorical with rows × classes
/// probabilities in f64), little-endian.
pub fn encode(outputs: &[HeadOutput]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend((outputs.len() as u64).to_le_bytes());
    for part in outputs {
        match part {
            HeadOutput::Gaussian { mean, var } => {
                out.push(1);
                out.extend((mean.len() as u64).to_le_bytes());
                mean.iter().for_each(|v| out.extend(v.to_le_bytes()));
                var.iter().for_each(|v| out.extend(v.to_le_bytes()));
            }
            HeadOutput::Categorical { probs } => {
                out.push(2);
                out.extend((probs.nrows() as u64).to_le_bytes());
                out.extend((probs.ncols() as u64).to_le_bytes());
                probs.iter().for_each(|v| out.extend(v.to_le_bytes()));
            }
        }
    }
    out
}

/// [`encode`] undone; `None` for bytes it did not write (the member is then trained again).
pub fn decode(bytes: &[u8]) -> Option<Vec<HeadOutput>> {
    let mut rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        rest = tail;
        Some(head)
    };
    let count = u64::from_le_bytes(take(8)?.try_into().ok()?) as usize;
    // Each part takes at least 9 bytes, so a damaged count cannot reserve much.
    let mut parts = Vec::with_capacity(count.min(bytes.len() / 9));
    for _ in 0..count {
        parts.push(match take(1)?[0] {
            1 => {
                let n = u64::from_le_bytes(take(8)?.try_into().ok()?) as usize;
                let floats = |b: &[u8]| -> Vec<f32> {
                    b.chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                        .collect()
                };
                let mean = floats(take(n.checked_mul(4)?)?);
                let var = floats(take(n.checked_mul(4)?)?);
                HeadOutput::Gaussian { mean, var }
            }
            2 => {
                let rows = u64::from_le_bytes(take(8)?.try_into().ok()?) as usize;
                let cols = u64::from_le_bytes(take(8)?.try_into().ok()?) as usize;
                let values: Vec<f64> = take(rows.checked_mul(cols)?.checked_mul(8)?)?
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect();
                HeadOutput::Categorical {
                    probs: ndarray::Array2::from_shape_vec((rows, cols), values).ok()?,
                }
            }
            _ => return None,
        });
    }
    rest.is_empty().then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn member_outputs_round_trip_bit_for_bit_and_damage_is_refused() {
        let outputs = [
            HeadOutput::Gaussian {
                mean: vec![0.1, -2.5e-30, f32::MAX],
                var: vec![1e-7, 3.0, 0.5],
            },
            HeadOutput::Categorical {
                probs: array![[0.1, 0.9], [1.0 / 3.0, 2.0 / 3.0]],
            },
        ];
        let bytes = encode(&outputs);
        let back = decode(&bytes).unwrap();
        assert_eq!(format!("{back:?}"), format!("{outputs:?}"));
        assert!(decode(&bytes[..bytes.len() - 1]).is_none(), "truncated");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_none(), "trailing bytes");
        assert!(decode(b"not a checkpoint").is_none());
        assert!(decode(b"BLMEMB01\x00").is_none(), "an older format");
        assert_eq!(decode(&encode(&[])).unwrap().len(), 0);
    }
}
