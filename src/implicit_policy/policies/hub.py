"""Sharing a trained policy on the Hugging Face Hub (optional extra ``pip install "implicit-policy[hub]"``).

A Hub repo holds what loading needs, in the same files a checkpoint folder has (``config.json``,
``model.safetensors``, so ``from_pretrained`` reads it as a local checkpoint and checks its digests), and what
a reader wants to know: the ONNX argmin if the run exported one, the training config, the run's metrics
and results, and a model card (``README.md`` with the Hub's metadata).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol

from implicit_policy.extras import require
from implicit_policy.policies.checkpoint import CheckpointHeader
from implicit_policy.runtime.input_spec import InputSpec
from implicit_policy.version import __version__

RUN_FILES = ("train_config.json", "metrics.jsonl", "run_identity.json", "eval.json", "training_curves.png")
"""Files of the run folder uploaded beside the checkpoint, where the run has them."""
ONNX_FILE = "policy.onnx"
"""The argmin's name in a repo: ``export --out RUN/`` writes ``RUN/policy.onnx``; ``RUN.onnx`` beside the run
folder (the README's ``export_argmin(policy, "runs/p2d.onnx")``) is uploaded under this name too."""


class Shareable(Protocol):
    """What a policy offers for sharing (the torch policies do)."""

    header: CheckpointHeader
    run_dir: Path | None

    def save(self, path: Any) -> None: ...


def _hub() -> Any:
    return require("huggingface_hub", "sharing on the Hugging Face Hub")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def model_card(header: CheckpointHeader, run_dir: Path | None, repo_id: str) -> str:
    """The repo's ``README.md``: Hub metadata (library, tags, the env), then what the policy is, its data
    digest, validation and test results, how to use it and the command that reproduces it."""
    env = header.env_id or "no env (trained on recorded data)"
    identity = _read_json(run_dir / "run_identity.json") if run_dir else {}
    test = _read_json(run_dir / "eval.json") if run_dir else {}
    tags = ["implicit-policy", "robotics", "behavior-cloning", "energy-based-model"]
    tags += [header.env_id] if header.env_id else []
    rows = [
        ("policy", f"kind `{header.policy.kind}`, acting by `{header.policy.acting.kind}`"),
        ("env", f"`{env}`" + (f", kwargs `{json.dumps(header.env_kwargs)}`" if header.env_kwargs else "")),
        ("observation / action size", f"{header.obs_size} / {header.action_size}, window {header.n_obs_steps}"),
        (
            "inputs",
            f"`{InputSpec.from_dict(header.input_spec)}`" if header.input_spec is not None else "not recorded",
        ),
        ("demonstrations sha256", f"`{identity.get('demonstrations_sha256', 'not recorded')}`"),
        ("checkpoint", f"step {header.step}"),
    ]
    if header.validation_success_rate is not None:
        rows.append(("validation success", f"{header.validation_success_rate:.1%}"))
    if header.validation_action_mse is not None:
        rows.append(("held-out action error (MSE)", f"{header.validation_action_mse:.4g}"))
    if test.get("success_rate") is not None:
        seeds = f"seeds {test['seed']}..{test['seed'] + test['episodes'] - 1}"
        rows.append(("test success", f"{test['success_rate']:.1%} over {test['episodes']} episodes ({seeds})"))
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    front = "library_name: implicit-policy\npipeline_tag: robotics\ntags:\n" + "\n".join(
        f"- {json.dumps(t)}" for t in tags
    )
    return f"""---
{front}
---

# {repo_id.split("/")[-1]}

A behaviour-cloned policy trained with [implicit-policy](https://github.com/implicit-policy/implicit-policy)
{__version__}.

| | |
|---|---|
{table}

## Use

```python
from implicit_policy import ImplicitPolicy, OnnxPolicy, load_policy

policy = load_policy("hf:{repo_id}")  # torch; ImplicitPolicy.from_pretrained("{repo_id}") for an energy model
action = policy.act(observation)
robot_policy = OnnxPolicy.from_pretrained("{repo_id}")  # numpy + onnxruntime only, if policy.onnx is here
```

```bash
implicit-policy eval --policy hf:{repo_id} --episodes 100
```

## Reproduce

```bash
implicit-policy train --config train_config.json --data YOUR_DEMONSTRATIONS --out run
```

`train_config.json` is the full training config; the data must have the digest above.
"""


def hub_folder(policy: Shareable, folder: Path, repo_id: str) -> Path:
    """Write into ``folder`` everything :func:`push_to_hub` uploads. The exported argmin is copied as it is:
    export again after retraining, or the repo's ONNX file is the older policy's."""
    policy.save(folder)  # config.json + model.safetensors, with their digests
    run_dir = policy.run_dir
    if run_dir is not None:
        for name in RUN_FILES:
            if (run_dir / name).is_file():
                shutil.copyfile(run_dir / name, folder / name)
        exported = next((f for f in (run_dir / ONNX_FILE, run_dir.with_suffix(".onnx")) if f.is_file()), None)
        if exported is not None:
            shutil.copyfile(exported, folder / ONNX_FILE)
    (folder / "README.md").write_text(model_card(policy.header, run_dir, repo_id))
    return folder


def push_to_hub(policy: Shareable, repo_id: str, private: bool = False, revision: str | None = None) -> str:
    """Create ``repo_id`` if needed (``private`` then) and upload the policy's checkpoint, its run's files and
    a model card as one commit; the commit's URL. Credentials are huggingface_hub's (``hf auth login`` or
    ``HF_TOKEN``)."""
    hub = _hub()
    api = hub.HfApi()
    with tempfile.TemporaryDirectory(prefix="implicit-policy-hub-") as staging:
        folder = hub_folder(policy, Path(staging), repo_id)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            commit = api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                revision=revision,
                commit_message=f"implicit-policy {__version__}: policy for {policy.header.env_id or 'recorded data'}",
            )
        except Exception as err:  # no token, no network, no rights: one line that says which
            raise ValueError(f"cannot push to the Hub repo {repo_id!r}: {' '.join(str(err).split())}") from None
    return str(getattr(commit, "commit_url", commit))
