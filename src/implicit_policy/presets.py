"""Named, tuned training recipes: ``implicit-policy train --preset NAME`` with no other flag reproduces
the documented results (docs: Results). Each is a plain :class:`TrainConfig`; ``--config FILE`` takes any other
(``implicit-policy config --preset NAME`` prints one to start from).

Tuned on this project's 2-core CPU for a 15-minute budget (docs: Results, the tuning notes): observation
history of two steps (``n_obs_steps=2``, as Implicit BC's particle config), a 128-unit energy net (Ta et al.'s
256 trains about 3x slower per step for no gain within the budget), the learning rate halved every 60
epochs, closed-loop validation on 100 episodes every 1000 steps, and the best-validated weights kept.
"""

from __future__ import annotations

from implicit_policy.config import (
    BatchConfig,
    DFOConfig,
    EnergyNetConfig,
    EnergyPolicyConfig,
    LangevinConfig,
    LossConfig,
    MarginalLossConfig,
    MarginalSamplerConfig,
    MDNConfig,
    MDNPolicyConfig,
    MSEPolicyConfig,
    NetConfig,
    NormalizerConfig,
    OptimConfig,
    ProposalConfig,
    StepSchedule,
    TrainConfig,
    UniformSamplerConfig,
    VisionConfig,
)

_COMMON = dict(
    n_obs_steps=2,
    eval_every=1000,
    eval_episodes=100,
    checkpoint_every=1000,
)
_NET_128 = EnergyNetConfig(hidden_size=128)
_LANGEVIN_INFERENCE = LangevinConfig(rule="ibc", num_samples=64, iterations=10, noise_scale=0.01)

PRESETS: dict[str, TrainConfig] = {
    # IBC's recipe: negatives from 8 short chains of IBC-rule Langevin (sigma 0.1; 30 iterations, which with
    # history gave the best success per minute here), Langevin inference as gradient descent (sigma 0.01),
    # appendix D's schedule and clipping; three observations (86 % +- 1.5 over 3 seeds, two: 83-84 %).
    "ibc-langevin": TrainConfig(
        policy=EnergyPolicyConfig(
            energy=_NET_128,
            sampler=LangevinConfig(rule="ibc", num_samples=8, iterations=30, noise_scale=0.1),
            inference=_LANGEVIN_INFERENCE,
        ),
        optim=OptimConfig(batch_size=256, lr_decay=0.5, lr_decay_every_epochs=60),
        steps=6_000,
        **(_COMMON | {"n_obs_steps": 3}),
    ),
    # Uniform negatives (InfoNCE's unbiased proposal), many per example, with derivative-free inference.
    "dfo": TrainConfig(
        policy=EnergyPolicyConfig(
            energy=_NET_128,
            sampler=UniformSamplerConfig(num_samples=256),
            inference=DFOConfig(num_samples=256, iterations=3),
        ),
        optim=OptimConfig(batch_size=64, lr_decay=0.5, lr_decay_every_epochs=60),
        steps=12_000,
        **_COMMON,
    ),
    # The textbook Langevin rule (eq. 8) for negatives; everything else as ibc-langevin.
    "correct-langevin": TrainConfig(
        policy=EnergyPolicyConfig(
            energy=_NET_128,
            sampler=LangevinConfig(rule="correct", num_samples=8, iterations=30),
            inference=_LANGEVIN_INFERENCE,
        ),
        optim=OptimConfig(batch_size=256, lr_decay=0.5, lr_decay_every_epochs=60),
        steps=6_000,
        **_COMMON,
    ),
}


def _marginal(rule: str, max_entropy_weight: float = 0.0, positive_l2_weight: float = 0.0) -> TrainConfig:
    """Ta et al.'s Marginal Action Sampler trials (appendix D): negatives from a 64-unit marginal EBM
    trained by ``rule`` Langevin; everything else as ``ibc-langevin``."""
    langevin = LangevinConfig(rule=rule, num_samples=8, iterations=10, noise_scale=0.1)
    loss = MarginalLossConfig(max_entropy_weight=max_entropy_weight, positive_l2_weight=positive_l2_weight)
    sampler = MarginalSamplerConfig(energy=EnergyNetConfig(hidden_size=64), langevin=langevin, loss=loss)
    base = PRESETS["ibc-langevin"]
    return base.updated(policy=base.policy.model_copy(update={"sampler": sampler}), steps=12_000)


PRESETS |= {
    "ibc-mas": _marginal("ibc"),
    "correct-mas": _marginal("correct"),
    "correct-mas-maxent": _marginal("correct", max_entropy_weight=0.1, positive_l2_weight=0.1),
    # The explicit baseline: an MLP regression from observation to action by MSE, with the same net size,
    # optimiser, budget and validation as the implicit presets.
    "mse": PRESETS["ibc-langevin"].updated(policy=MSEPolicyConfig(net=NetConfig(hidden_size=128))),
    # The explicit mixture-density baseline: the most probable of 4 Gaussians' means, trained by likelihood,
    # otherwise as mse (decision points oversampled, as the proposal recipe does, since its start choice is
    # what a density model gets wrong).
    "mdn": PRESETS["ibc-langevin"].updated(
        policy=MDNPolicyConfig(mdn=MDNConfig(components=4, hidden_size=256)),
        batch=BatchConfig(decision_fraction=0.25),
    ),
}

# The mixture-density baseline for arm tasks: its components' means also trained by squared error (likelihood
# alone leaves them imprecise where the pushes are hard to fit: 34 % on FetchPush-v4 (seed 0), 79 % with the term;
# on Particle2D the term costs it, 70 -> 59 %).
PRESETS["mdn-arm"] = PRESETS["mdn"].updated(
    policy=MDNPolicyConfig(mdn=MDNConfig(components=4, hidden_size=256), mean_weight=1000.0)
)

PRESETS["proposal"] = TrainConfig(
    # One recipe for every N: a learned proposal (4-Gaussian MDN) beside a 256x2 energy net; negatives from
    # the proposal, from Gaussians around the demonstration at four scales and uniform (plain InfoNCE: the
    # ranking-NCE correction is loss.proposal_correction); half of every batch from decision points; one
    # observation (with history the nets copy the motion, not the goal); acting by the proposal's means and
    # samples refined by 10 normalised-gradient steps on E; no MCMC in training. On arm tasks (FetchPush) the
    # recipe to use is proposal-arm, below.
    n_obs_steps=1,
    policy=EnergyPolicyConfig(
        energy=EnergyNetConfig(hidden_size=256, proposal=MDNConfig(components=4, hidden_size=256)),
        sampler=ProposalConfig(
            proposal_samples=8, local_scales=[0.005, 0.02, 0.05, 0.2], local_samples=2, uniform_samples=8
        ),
        inference=ProposalConfig(num_samples=32),
        loss=LossConfig(kind="info_nce"),
    ),
    optim=OptimConfig(batch_size=256, lr_decay=0.5, lr_decay_every_steps=3000),
    batch=BatchConfig(decision_fraction=0.5),
    steps=8_000,
    eval_every=1000,
    eval_episodes=100,
    checkpoint_every=1000,
)

# The proposal recipe for arm tasks (FetchPush-v4, FetchPushTwoGoals-v0): three observations (the block's and
# gripper's motion matter there, where the particle's goal does not move); a one-Gaussian proposal (with
# four components, unimodal pushes are split between them and the policy jumps from one to another: the
# explicit mixture scores 79 % on FetchPush-v4 with four, 86 % with one); its mean trained by squared error
# beside its likelihood (loss.proposal_mean_weight: likelihood alone leaves it imprecise where the pushes are
# hard to fit). The docs' Robot arm page has the measurements.
PRESETS["proposal-arm"] = PRESETS["proposal"].updated(
    n_obs_steps=3,
    policy=PRESETS["proposal"].policy.model_copy(
        update={
            "energy": EnergyNetConfig(hidden_size=256, proposal=MDNConfig(components=1, hidden_size=256)),
            "loss": LossConfig(kind="info_nce", proposal_mean_weight=1000.0),
        }
    ),
)


# Push-T from Diffusion Policy's human demonstrations (docs: Push-T): the proposal recipe deciding 16-action
# chunks and executing 8 (Diffusion Policy's horizons), two observations. The energy is a residual on a strong
# proposal: a 16-Gaussian mixture over the chunk from a 3 x 512 trunk, its means also regressed winner-takes-all
# (each on the chunks nearest it: sharp modes; 5 components scored 0.71, 16 0.76 as the mixture alone), minus
# its log-density held fixed (energy.proposal_prior), plus a 64-unit head over the same trunk's features
# (energy.head_on_proposal), so the head costs little per candidate. Acting: the proposal picks the mode (its
# most probable component) and the energy refines the chunk within it; the energy's own choice among the
# means was the worse one on the validation seeds (0.70 against 0.75), and refining by steps from 0.05 cost
# success (25-35 % against 33-41 % unrefined on 500 validation episodes; from 0.01: level with unrefined).
# Cosine decay and an EMA of the weights (Diffusion Policy's schedule); no observation noise (the mixture's
# final weights scored 0.782 without, 0.752 / 0.772 / 0.708 / 0.545 with 0.01 / 0.03 / 0.05 / 0.1, on 500
# validation episodes). Validated closed-loop on PushTKeypoints-v0 by Diffusion Policy's score every 2000
# steps (50 episodes, seeds 200000+).
PRESETS["pusht"] = PRESETS["proposal"].updated(
    policy=PRESETS["proposal"].policy.model_copy(
        update={
            "energy": EnergyNetConfig(
                head_size=64,
                head_on_proposal=True,
                proposal_prior=1.0,
                proposal=MDNConfig(components=16, hidden_size=512, hidden_layers=3, mean_assignment="nearest"),
            ),
            "sampler": ProposalConfig(
                proposal_samples=8,
                local_scales=[0.005, 0.02, 0.05, 0.2],
                local_samples=2,
                uniform_samples=8,
                mean_negatives=True,
            ),
            "inference": ProposalConfig(
                num_samples=0, choose="proposal_mode", refine_step=StepSchedule(start=0.01, end=0.001)
            ),
            "loss": LossConfig(kind="info_nce", proposal_mean_weight=10.0),
        }
    ),
    n_obs_steps=2,
    horizon=16,
    n_action_steps=8,
    batch=BatchConfig(),
    optim=OptimConfig(batch_size=256, schedule="cosine", ema_decay=0.999),
    steps=20_000,
    eval_every=2000,
    eval_episodes=50,
    eval_metric="mean_max_reward",
    checkpoint_every=2000,
)


def _ibc_reference() -> TrainConfig:
    """Implicit BC's small particle config, ``ibc/configs/particle/mlp_ebm_langevin.gin`` in google-research/ibc
    (96 % at 10k steps there), as faithfully as this package expresses it. Setting by setting:

    - ``n_obs_steps=2``: ``train_eval.sequence_length = 2``.
    - ResNet energy net, width 256, one pre-activation block, no dropout, N(0, 0.05) init:
      ``MLPEBM.layers = 'ResNetPreActivation'``, ``width = 256``, ``depth = 2`` (two layers = one block),
      ``rate = 0.0``; Keras' ``'normal'`` initialiser has standard deviation 0.05.
    - Observations standardised, actions min-max: ``get_normalizers`` (per-key mean/std) and
      ``compute_dataset_statistics.min_max_actions = True``.
    - Sampling box [-1, 1]: ``uniform_boundary_buffer = 0.05`` widens the demonstrated range and the result is
      clipped to the env's action bounds; the particle demonstrations span the env's box, so the widened box
      is clipped back to the demonstrated range: ``action_margin=0``.
    - 8 negatives per example from 100 iterations of IBC-rule Langevin, step 0.1 -> 1e-5 (power 2), noise
      scale 1.0, each move clipped to 0.1 normalised units (``delta_clip`` 0.05 of the range of 2):
      ``num_counter_examples = 8``, ``langevin_actions_given_obs.num_iterations = 100`` and the defaults of
      ``langevin_actions_given_obs`` in ``ibc/agents/mcmc.py``.
    - Inference: the same Langevin from 512 uniform samples, then the lowest energy:
      ``IbcPolicy.num_action_samples = 512``, ``use_langevin = True``, ``optimize_again = False``.
    - InfoNCE plus the gradient penalty on all 9 actions of each example, margin 1, max-norm, squared, weight 1:
      ``grad_penalty.grad_margin = 1.0``, ``only_apply_final_grad_penalty = True`` and its defaults.
    - Adam, lr 1e-3, batch 512, x0.99 every 100 steps: ``train_eval.learning_rate``, ``batch_size`` and its
      ``ExponentialDecay(decay_steps=100, decay_rate=0.99)`` (staircase here).
    - 10000 steps: the step count at which the 96 % is reported (the gin file runs 100000).

    Not expressible or not the recipe's: IBC trains on 2000 demonstrations (the data is the user's), its
    ``goal_tolerance = 0.02`` is an env setting (our Particle env's goal distance is 0.05 and success also
    checks the goal order), and it evaluates 20 episodes every 10000 steps. Expensive: 100 Langevin
    iterations for every training step and every action (docs: Results).
    """
    langevin = dict(
        rule="ibc", iterations=100, noise_scale=1.0, step=StepSchedule(start=0.1, end=1e-5, power=2.0), delta_clip=0.05
    )
    return TrainConfig(
        n_obs_steps=2,
        policy=EnergyPolicyConfig(
            energy=EnergyNetConfig(kind="resnet", hidden_size=256, residual_blocks=1, init_std=0.05),
            sampler=LangevinConfig(num_samples=8, **langevin),
            inference=LangevinConfig(num_samples=512, **langevin),
            loss=LossConfig(
                kind="info_nce",
                gradient_penalty_weight=1.0,
                gradient_penalty_margin=1.0,
                gradient_penalty_actions="all",
            ),
        ),
        normalizer=NormalizerConfig(action_margin=0.0, observations="standard"),
        optim=OptimConfig(learning_rate=1e-3, batch_size=512, lr_decay=0.99, lr_decay_every_steps=100),
        steps=10_000,
        eval_every=10_000,
        eval_episodes=20,
        checkpoint_every=500,
    )


PRESETS["ibc-reference"] = _ibc_reference()


def _ibc_pusht() -> TrainConfig:
    """Implicit BC as Diffusion Policy ran it for its Push-T table (``train_ibc_dfo_lowdim_workspace.yaml`` and
    ``policy/ibc_dfo_lowdim_policy.py`` in real-stanford/diffusion_policy; 0.90 max / 0.84 mean published):

    - two observations, one action per decision (no chunk); observations and actions min-max to [-1, 1],
      negatives and DFO within the demonstrated action range (``action_margin=0``);
    - a 4 x 1024 ReLU MLP over concat(observations, action) with dropout 0.1 (``init_std=0.02``: about the
      spread of torch's default init for 1024-wide layers, which that code keeps);
    - InfoNCE against 1024 uniform negatives per example;
    - DFO acting: 1024 uniform samples, five energy passes with four rounds of resampling by the softmax and
      Gaussian noise of 0.03 (no shrinking), then the lowest energy (that code samples the last pick from
      the softmax);
    - lr 1e-4 with cosine decay, batch 256, 5000 epochs: 222,000 steps on its 90 training episodes (11,356
      steps, 45 batches an epoch). AdamW there, Adam here (no weight decay either way).

    Every step scores 256 x 1025 candidates through the 4 x 1024 MLP, and every action 5 x 1024: minutes per
    step on one CPU thread, a GPU recipe (docs: Push-T). ``--set time_limit_minutes=M`` stops it within a
    budget.
    """
    return TrainConfig(
        n_obs_steps=2,
        policy=EnergyPolicyConfig(
            energy=EnergyNetConfig(hidden_size=1024, hidden_layers=4, dropout=0.1, init_std=0.02),
            sampler=UniformSamplerConfig(num_samples=1024),
            inference=DFOConfig(num_samples=1024, iterations=4, noise_scale=0.03, noise_shrink=1.0),
            loss=LossConfig(kind="info_nce"),
        ),
        normalizer=NormalizerConfig(action_margin=0.0),
        optim=OptimConfig(learning_rate=1e-4, batch_size=256, schedule="cosine"),
        steps=222_000,
        eval_every=2250,  # every 50 epochs, as there
        eval_episodes=50,
        eval_metric="mean_max_reward",
        checkpoint_every=2250,
    )


PRESETS["ibc-pusht"] = _ibc_pusht()

# Push-T from pixels on a CPU (--obs-keys img,agent_pos=state[:2], --env PushTPixels-v0): the state recipe that
# wins (pusht: the 16-Gaussian proposal picks the mode, the energy refines it; 16-action chunks, 8 executed) over
# the small conv encoder's spatial-softmax keypoints of the newest frame, scaled to 72 x 72 and cropped to 63
# (random crops while training), and the agent's last two positions. The encoder has GroupNorm (vision.norm):
# without it its keypoints start flat, and the block's position read from them was still 20 px off after
# 24,000 steps, where with it that took 3,000 (docs: Images). The head reads the proposal trunk's features
# detached: the contrastive gradient in the shared encoder cost the proposal 0.43 -> 0.18 (docs: Images).
# Batch 64, 24,000 steps (about 0.1 s a step on one thread: 40 minutes), a check on 20 episodes every 6,000.
_IMAGE_STEPS = dict(steps=24_000, eval_every=6000, eval_episodes=20, checkpoint_every=3000)
PRESETS["pusht-image"] = (
    PRESETS["pusht"]
    .with_settings(["policy.energy.head_detached=true"])
    .updated(
        vision=VisionConfig(encoder="conv", channels=16, keypoints=32, crop=0.875, resize=72, frames=1),
        optim=OptimConfig(batch_size=64, schedule="cosine", ema_decay=0.999),
        **_IMAGE_STEPS,
    )
)
# Its explicit twin: the same encoder, chunks and schedule, the 16-Gaussian mixture alone (its most probable
# component's mean), as the state table's mdn row.
PRESETS["pusht-image-mdn"] = PRESETS["pusht-image"].updated(
    policy=MDNPolicyConfig(
        mdn=MDNConfig(components=16, hidden_size=512, hidden_layers=3, mean_assignment="nearest"), mean_weight=10.0
    )
)
# The GPU recipe: Diffusion Policy's vision encoder (ResNet-18, GroupNorm, spatial softmax, from scratch) and
# its image Push-T schedule (batch 64, 3000 epochs of the 90 episodes: about 540,000 steps; cut it with
# --steps or --set time_limit_minutes=M); train it with --set device=cuda.
PRESETS["pusht-image-gpu"] = PRESETS["pusht-image"].updated(
    vision=VisionConfig(encoder="resnet18", keypoints=32, crop=0.875),  # both frames, 96 x 96 cropped to 84
    optim=OptimConfig(batch_size=64, schedule="cosine", ema_decay=0.999),
    steps=540_000,
    eval_every=20_000,
    eval_episodes=50,
    checkpoint_every=20_000,
)
DEFAULT_PRESET = "proposal"
"""The recipe ``train`` uses without ``--preset``: the only one that works at every N of the particle task
(docs: Policy quality)."""


def preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
