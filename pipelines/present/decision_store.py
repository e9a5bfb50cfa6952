"""A flow's disclosure decision, kept on disk beside the warehouse, by the cells it was taken on.

Deciding which cells of a flow to hide audits every relation of each financial year at once
(`pipelines.disclosure.grain_masks`): about five seconds a measure. The decision is a function
of the cells alone, so it is kept under a digest of the cells, the threshold and the code
that decides: the dashboard after a restart, the report from the CLI and a second process
reading the same counts then take it from disk, and new counts (or new rules) are decided
afresh, never served an old mask. Nothing here holds a count; a mask says which cells are
hidden, so it is kept where the warehouse is, under the same protection.

A mask read back is used only when it has one entry per cell and hides every count from 1 to
the threshold (a damaged or foreign file is decided again). Keeping a decision is best
effort: a full disk or a read-only folder costs the next reader the five seconds, nothing
more.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from pipelines import disclosure, disclosure_linked

#: Set to a folder to keep decisions there (tests share one across their processes); set to
#: "" to keep none. Unset: the folder ``decisions`` beside the warehouse.
ENV = "RP_IMPACT_DECISIONS"


def _code_digest() -> str:
    """A digest of the code that decides, so a change to the rules decides everything again."""
    digest = hashlib.sha256()
    for module in (disclosure, disclosure_linked):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


CODE_DIGEST = _code_digest()


def folder_for(warehouse_path: str | os.PathLike) -> Path | None:
    """Where decisions on the warehouse at `warehouse_path` are kept (None: nowhere)."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    return Path(warehouse_path).resolve().parent / "decisions"


def key_for(content_key: str, threshold: int) -> str:
    """The file name of one decision: the cells' digest, the threshold and the code's."""
    text = f"{content_key}:{threshold}:{CODE_DIGEST}"
    return hashlib.sha256(text.encode()).hexdigest()


def load(folder: Path | None, key: str, values: np.ndarray, threshold: int) -> np.ndarray | None:
    """The mask kept under `key`, when it fits `values` (one entry per cell, every count from
    1 to `threshold` hidden); None when there is none or it does not fit."""
    if folder is None:
        return None
    try:
        mask = np.load(folder / f"{key}.npy", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if mask.dtype != bool or mask.shape != values.shape:
        return None
    small = (values >= 1) & (values <= threshold)
    if (small & ~mask).any():
        return None
    return mask


def save(folder: Path | None, key: str, mask: np.ndarray) -> bool:
    """Keep `mask` under `key` (written whole, then renamed into place); False when it could
    not be kept."""
    if folder is None:
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                np.save(out, np.asarray(mask, dtype=bool), allow_pickle=False)
            os.replace(temporary, folder / f"{key}.npy")
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except OSError:
        return False
    return True
