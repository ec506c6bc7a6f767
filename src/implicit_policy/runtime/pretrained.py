"""Policies by Hugging Face Hub repo id or by local path: what every ``from_pretrained`` resolves.

A local folder or file is used as it is. Anything else is a Hub repo id, fetched with
``huggingface_hub.snapshot_download`` (optional extra: ``pip install "implicit-policy[hub]"``), which keeps a
local cache and honours ``HF_HUB_OFFLINE=1`` (the cache only) and ``HF_HUB_CACHE``. Nothing downloaded is
trusted more than a local file: checkpoints and ONNX files are verified by their own digests on load.
Torch-free, so the robot runtime can use it.
"""

from __future__ import annotations

import os
from pathlib import Path

from implicit_policy.extras import require

HUB_PREFIX = "hf:"
"""``--policy hf:ID`` on the command line: a Hub repo rather than a path."""


def pretrained_folder(repo_id_or_path: str | os.PathLike, revision: str | None = None) -> Path:
    """The local folder (or file) of ``repo_id_or_path``: the path itself when it exists, else the Hub repo's
    snapshot at ``revision`` (a branch, tag or commit; default ``main``), downloaded or from the cache.
    ``ValueError`` in one line when neither is found."""
    text = os.fspath(repo_id_or_path)
    if text.startswith(HUB_PREFIX):
        text = text[len(HUB_PREFIX) :]
    elif Path(text).exists():
        return Path(text)
    snapshot_download = require(
        "huggingface_hub", f"{text!r} is not a local path; fetching it from the Hub"
    ).snapshot_download

    try:
        return Path(snapshot_download(repo_id=text, revision=revision))
    except Exception as err:  # offline cache misses, unknown repos, invalid ids: one line, not a traceback
        where = f" at revision {revision!r}" if revision else ""
        message = " ".join(str(err).split())
        raise ValueError(f"cannot get {text!r}{where} from the Hugging Face Hub or its cache: {message}") from None
