"""Torch policies: ``ImplicitPolicy`` (the argmin of an energy net) and ``ExplicitPolicy`` (every kind whose
net gives the action: ``mse``, ``mdn``, users' own). Same surface: raw observation in, action out, for one
observation or a batch; same checkpoint format; ``load_policy`` opens either. Both act through their policy
kind's act path (:mod:`implicit_policy.kinds`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn

from implicit_policy.config import EnergyPolicyConfig, InferenceConfig, VisionConfig
from implicit_policy.kinds.base import PolicyConfig
from implicit_policy.models.device import resolve_device
from implicit_policy.models.energy import EnergyModel
from implicit_policy.models.normalize import Normalizer
from implicit_policy.models.observation_encoder import EncodedPolicyNet, ObservationEncoder, kind_net
from implicit_policy.policies import hub
from implicit_policy.policies.checkpoint import CheckpointError, CheckpointHeader, read_checkpoint, write_checkpoint
from implicit_policy.runtime.control_loop import ControlLoopPolicy, NoiseInputs
from implicit_policy.runtime.input_spec import InputSpec
from implicit_policy.runtime.pretrained import HUB_PREFIX, pretrained_folder


def build_policy_model(policy: PolicyConfig, vision: VisionConfig, spec: InputSpec) -> nn.Module:
    """The untrained network of a policy kind for what ``spec`` describes: the kind's net over flattened
    observation windows, behind an :class:`ObservationEncoder` (one vision encoder per camera) when the spec
    has image parts."""
    chunk = spec.action_size * spec.horizon
    if not spec.images:
        return policy.build_model(spec.obs_size * spec.n_obs_steps, chunk)
    encoder = ObservationEncoder(spec.observation, vision, spec.n_obs_steps)
    return EncodedPolicyNet(encoder, policy.build_model(encoder.output_size, chunk))


class TorchPolicy(ControlLoopPolicy):
    """What both torch policies share: the checkpoint header, the normaliser, loading and saving.

    The network comes from the header's policy kind (:meth:`build_model`), and so does the map from
    normalised observations to normalised actions (:meth:`normalized_argmin`), which the exported ONNX graph
    runs too.
    """

    model: nn.Module

    def __init__(
        self, header: CheckpointHeader, model: nn.Module, device: str | torch.device = "cpu", seed: int = 0
    ) -> None:
        self.header = header
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.encoder = model.encoder if isinstance(model, EncodedPolicyNet) else None
        self.net = kind_net(model)
        self.torch_normalizer = Normalizer(**header.normalizer.model_dump()).to(self.device)
        self.obs_size, self.action_size, self.n_obs_steps = header.obs_size, header.action_size, header.n_obs_steps
        self.horizon, self.n_action_steps = header.horizon, header.n_action_steps
        self.temporal_ensemble = header.temporal_ensemble
        self.chunk_size = self.horizon * self.action_size  # what the net decides: the chunk, flattened
        self.env_id, self.env_kwargs = header.env_id, header.env_kwargs  # env_id empty: trained with no env
        self.run_dir: Path | None = None  # the run folder it was loaded from, for push_to_hub
        self.inference = header.policy.acting.model_dump()
        # What it eats (keys, order, sizes, window); None for checkpoints written before 0.4.
        self.input_spec = InputSpec.from_dict(header.input_spec) if header.input_spec is not None else None
        self.normalizer = header.normalizer.model_dump()
        self.action_low = np.asarray(header.action_low, dtype=np.float32)
        self.action_high = np.asarray(header.action_high, dtype=np.float32)
        if self.encoder is not None and self.input_spec is not None:
            self.obs_size = self.input_spec.obs_size  # the flat observation: vectors and frames
        super().__init__(seed)
        self.act_path = header.policy.actor(self.net, self.chunk_size, self.torch_normalizer.action_bound)

    @staticmethod
    def build_model(header: CheckpointHeader) -> nn.Module:
        """The (untrained) network a checkpoint's header describes, ready for its weights."""
        spec = InputSpec.from_dict(header.input_spec) if header.input_spec is not None else None
        if spec is not None and spec.images:
            return build_policy_model(header.policy, header.train.vision if header.train else VisionConfig(), spec)
        return header.policy.build_model(header.obs_size * header.n_obs_steps, header.action_size * header.horizon)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu", seed: int = 0, **options):
        """Load a checkpoint folder, or a run folder's best-validated checkpoint (its newest if it never
        validated); never unpickles."""
        _, header, weights = read_checkpoint(path)
        policy_class = policy_class_for(header)
        if not issubclass(policy_class, cls):
            raise CheckpointError(f"{path} holds an {policy_class.__name__}, not an {cls.__name__}; use load_policy")
        model = policy_class.build_model(header)
        try:
            model.load_state_dict(weights, strict=True)
        except RuntimeError as err:
            raise CheckpointError(f"weights in {path} do not match the recorded sizes: {err}") from err
        policy = policy_class(header, model, device, seed, **options)
        folder = Path(path)
        policy.run_dir = next((f for f in (folder, folder.parent) if (f / "train_config.json").is_file()), None)
        return policy

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_path: str | os.PathLike,
        revision: str | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
        **options,
    ):
        """:meth:`load` from a local checkpoint or run folder, or from a Hugging Face Hub repo written by
        :meth:`push_to_hub` (downloaded or from the cache; ``HF_HUB_OFFLINE=1`` reads the cache only),
        verified by the checkpoint's own digests."""
        return cls.load(pretrained_folder(repo_id_or_path, revision), device=device, seed=seed, **options)

    def push_to_hub(self, repo_id: str, private: bool = False, revision: str | None = None) -> str:
        """Upload this checkpoint, its run's config, metrics and results, the ONNX argmin if the run exported
        one (``RUN/policy.onnx``) and a model card to the Hub repo ``repo_id``; the commit's URL."""
        return hub.push_to_hub(self, repo_id, private=private, revision=revision)

    def save(self, path: str | os.PathLike) -> None:
        """Write a checkpoint folder (config.json + model.safetensors) atomically."""
        write_checkpoint(path, self.header, self.model.state_dict())

    def normalized_argmin(self, obs: torch.Tensor, noise: dict[str, torch.Tensor]) -> torch.Tensor:
        """Normalised observation windows, flattened oldest first ``(B, n_obs_steps * O)``, to normalised
        chunks, flattened ``(B, horizon * A)``: the policy kind's act path."""
        return self.act_path(obs, noise)

    def raw_chunk(self, normalized: torch.Tensor) -> torch.Tensor:
        """Normalised chunks ``(B, horizon * A)`` in raw units ``(B, horizon, A)``; the exported graph runs this too."""
        return self.torch_normalizer.denormalize_actions(normalized.unflatten(1, (self.horizon, self.action_size)))

    def normalize_window(self, window: torch.Tensor) -> torch.Tensor:
        """Raw windows ``(B, n_obs_steps, O)`` to the net's input ``(B, n_obs_steps * F)``: normalised vectors,
        and with image parts each camera's features (:class:`ObservationEncoder`). Single observations
        ``(B, O)`` stand for the window at an episode's start (the observation repeated), as diagnostics and
        energy landscapes of a history policy use them."""
        if window.dim() == 2:
            window = window.unsqueeze(1).expand(-1, self.n_obs_steps, -1)
        if self.encoder is None:
            return self.torch_normalizer.normalize_obs(window).flatten(1)  # flatten keeps B symbolic for export
        vectors, frames = self.encoder.split(window)
        return self.encoder(self.torch_normalizer.normalize_obs(vectors), frames)

    def features_from_parts(self, parts: dict[str, torch.Tensor]) -> torch.Tensor:
        """Raw windows of each part by name (``(B, n_obs_steps, ...)``: vectors float, frames uint8) to the net's
        input ``(B, n_obs_steps * F)``, as :meth:`normalize_window` from the flat windows: what the exported graph
        of a policy with image parts runs, its parts as separate inputs."""
        assert self.encoder is not None and self.input_spec is not None
        vectors = [parts[part.name].float() for part in self.input_spec.vectors]
        first = next(iter(parts.values()))
        vector = torch.cat(vectors, dim=-1) if vectors else first.new_zeros((*first.shape[:2], 0), dtype=torch.float32)
        frames = {part.name: parts[part.name] for part in self.input_spec.images}
        return self.encoder(self.torch_normalizer.normalize_obs(vector), frames)

    def noise_inputs(self, batch: int) -> NoiseInputs:
        return self.header.policy.noise_inputs(batch, self.chunk_size)

    @torch.no_grad()
    def argmin(self, window: np.ndarray, noise: dict[str, np.ndarray]) -> np.ndarray:
        """Raw chunks ``(B, horizon, A)`` for raw windows ``(B, n_obs_steps, O)`` (not clipped: ``act`` clips)."""
        obs_t = self.normalize_window(torch.as_tensor(window, device=self.device))
        noise_t = {k: torch.as_tensor(v, device=self.device) for k, v in noise.items()}
        return self.raw_chunk(self.normalized_argmin(obs_t, noise_t)).cpu().numpy()


class ImplicitPolicy(TorchPolicy):
    """An energy net, its normaliser and an optimiser over actions (DFO or Langevin), in torch.

    ``act`` normalises the observation, finds ``argmin_a E(obs, a)``, maps it back to raw units and clips it
    to the env's action box. Noise comes from a numpy generator seeded with ``seed`` (shared with
    ``OnnxPolicy``, so both give the same actions for the same seed). Langevin uses the energy net's
    explicit action gradient, as the exported graph does. ``inference`` replaces the recorded optimiser.
    """

    def __init__(
        self,
        header: CheckpointHeader,
        energy: nn.Module,
        device: str | torch.device = "cpu",
        seed: int = 0,
        inference: InferenceConfig | None = None,
    ) -> None:
        if not isinstance(header.policy, EnergyPolicyConfig):
            raise ValueError(f"an ImplicitPolicy needs an energy model, not policy kind {header.policy.kind!r}")
        if inference is not None:
            header = header.model_copy(update={"policy": header.policy.model_copy(update={"inference": inference})})
        super().__init__(header, energy, device, seed)
        self.energy = cast(EnergyModel, self.net)  # the same module, moved to the device in place

    def raw_energy(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``E(raw obs (B, O) or windows (B, n_obs_steps, O), raw actions (B, M, horizon * A)) -> (B, M)``: the
        normaliser folded in; the exported energy graph runs this too."""
        chunks = actions.unflatten(-1, (self.horizon, self.action_size))
        return self.energy(self.normalize_window(obs), self.torch_normalizer.normalize_actions(chunks).flatten(-2))

    def action_gradient(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``dE/d actions (B, M, A)`` by the energy net's explicit backward pass, which exports to ONNX."""
        return self.energy.energy_and_action_gradient(obs, actions)[1]


class ExplicitPolicy(TorchPolicy):
    """A policy whose net gives the action (kinds ``mse``, ``mdn`` and every other kind but the energy
    model), behind the same surface as ``ImplicitPolicy`` (``act``, ``reset``, ``save``/``load``, ONNX export)."""

    def __init__(
        self, header: CheckpointHeader, net: nn.Module, device: str | torch.device = "cpu", seed: int = 0
    ) -> None:
        if isinstance(header.policy, EnergyPolicyConfig):
            raise ValueError("an energy model acts by an argmin: load it as an ImplicitPolicy")
        super().__init__(header, net, device, seed)


def policy_class_for(header: CheckpointHeader) -> type[TorchPolicy]:
    """An implicit policy for an energy model, an explicit one for every kind whose net gives the action."""
    return ImplicitPolicy if isinstance(header.policy, EnergyPolicyConfig) else ExplicitPolicy


def load_policy(
    path: str | os.PathLike, device: str | torch.device = "cpu", seed: int = 0, revision: str | None = None
) -> TorchPolicy:
    """The policy a checkpoint or run folder holds, or (``hf:ID``) a Hugging Face Hub repo: an
    ``ImplicitPolicy`` or an ``ExplicitPolicy``."""
    if os.fspath(path).startswith(HUB_PREFIX):
        return TorchPolicy.from_pretrained(path, revision, device=device, seed=seed)
    return TorchPolicy.load(path, device=device, seed=seed)
