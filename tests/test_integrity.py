"""Nothing a policy reads can be edited silently: checkpoint headers and exported ONNX metadata carry
digests over everything, and a deliberate change of inference settings goes through the API."""

import hashlib
import json
import shutil

import onnx
import pytest
from pydantic_core import to_json

from implicit_policy import ImplicitPolicy, OnnxPolicy, export_argmin, load_policy
from implicit_policy.config import LangevinConfig
from implicit_policy.policies.checkpoint import CheckpointError, resolve_checkpoint
from implicit_policy.training.trainer import train
from tiny import tiny_config

EDITS = {
    "config field": lambda c: c["train"].update(seed=7),
    "normaliser": lambda c: c["normalizer"].update(obs_max=[v + 1 for v in c["normalizer"]["obs_max"]]),
    "bounds": lambda c: c.update(action_high=[0.1, 0.1]),
    "inference settings": lambda c: c["policy"]["inference"].update(num_samples=1),
    "history": lambda c: c.update(n_obs_steps=3),
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, demos_2d):
    run = tmp_path_factory.mktemp("run")
    config = tiny_config()
    train(config, demos_2d, run, progress=False)
    return resolve_checkpoint(run)


@pytest.mark.parametrize("what", list(EDITS))
def test_an_edited_checkpoint_header_is_refused_naming_the_file(checkpoint, tmp_path, what):
    copy = tmp_path / "c"
    shutil.copytree(checkpoint, copy)
    header = json.loads((copy / "config.json").read_text())
    EDITS[what](header)
    (copy / "config.json").write_text(json.dumps(header, indent=2))
    with pytest.raises(CheckpointError, match=r"config\.json was changed after it was written"):
        ImplicitPolicy.load(copy)


def test_inference_settings_change_through_the_api(checkpoint, tmp_path):
    policy = ImplicitPolicy.load(checkpoint, inference=LangevinConfig(num_samples=4, iterations=1))
    assert policy.header.policy.inference.num_samples == 4
    policy.save(tmp_path / "saved")  # a deliberate change, saved: a new, consistent checkpoint
    assert ImplicitPolicy.load(tmp_path / "saved").header.policy.inference.num_samples == 4


@pytest.mark.parametrize(
    "key, value",
    [("action_high", "[0.1, 0.1]"), ("inference", '{"kind": "langevin"}'), ("normalizer", "{}"), ("n_obs_steps", "1")],
)
def test_edited_onnx_metadata_is_refused(checkpoint, tmp_path, key, value):
    path = export_argmin(ImplicitPolicy.load(checkpoint), tmp_path / "p.onnx")
    model = onnx.load(str(path))
    entry = next(p for p in model.metadata_props if p.key == f"implicit_policy.{key}")
    entry.value = value if entry.value != value else value + " "
    onnx.save(model, str(tmp_path / "edited.onnx"))
    with pytest.raises(ValueError, match="metadata .* was changed after export"):
        OnnxPolicy(tmp_path / "edited.onnx")


def test_a_second_training_into_a_locked_folder_is_refused_and_a_dead_holder_does_not_block(demos_2d, tmp_path):
    import subprocess
    import sys

    from implicit_policy.training.run_lock import RunFolderBusy, run_folder_lock

    config = tiny_config()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom implicit_policy.training.run_lock import "
            f"run_folder_lock\nwith run_folder_lock({str(tmp_path / 'run')!r}):\n"
            "    print('held', flush=True); sys.stdin.read()",  # holds until killed, however slow the test
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderBusy, match=rf"being trained by process {holder.pid} "):
            train(config, demos_2d, tmp_path / "run", progress=False)
        assert not (tmp_path / "run" / "latest").exists()  # the refused run wrote nothing
    finally:
        holder.kill()  # dies holding the lock, as kill -9 would leave it
        holder.wait()
    assert train(config, demos_2d, tmp_path / "run", progress=False).steps == 4
    with run_folder_lock(tmp_path / "run"):  # released when the training returned
        pass


def test_an_unedited_export_loads(checkpoint, tmp_path):
    policy = OnnxPolicy(export_argmin(ImplicitPolicy.load(checkpoint), tmp_path / "p.onnx"))
    assert policy.act([0.5] * 8).shape == (2,)


def test_a_checkpoint_written_before_a_config_field_existed_still_verifies(checkpoint, tmp_path):
    """An older version wrote no ``batch`` section, ``energy.proposal`` nor chunk fields: its digest covered the
    fields it had. Such a checkpoint loads (the new fields take their defaults); tampering with it is still
    refused."""
    old = tmp_path / "old"
    shutil.copytree(checkpoint, old)
    stored = json.loads((old / "config.json").read_text())
    del (
        stored["train"]["batch"],
        stored["policy"]["energy"]["proposal"],
        stored["train"]["policy"]["energy"]["proposal"],
    )
    del stored["horizon"], stored["train"]["horizon"]
    stored["header_sha256"] = ""
    stored["header_sha256"] = hashlib.sha256(to_json(stored)).hexdigest()
    (old / "config.json").write_text(json.dumps(stored))
    loaded = load_policy(old)
    assert loaded.header.train.batch.decision_fraction == 0.0 and loaded.horizon == 1
    stored["train"]["steps"] += 1
    (old / "config.json").write_text(json.dumps(stored))
    with pytest.raises(CheckpointError, match="changed after it was written"):
        load_policy(old)
