"""Read a PyTorch state dict saved in torch's legacy (pre-1.6, non-zip) format, without torch.

Some pretrained weights reach us only as a `.pth` file. Installing PyTorch (hundreds of MB) to
read 18 MB of numbers is too much for a classroom, and `torch.load` of an untrusted file can run
any code it names: a pickle is a small program. So the kit reads the format itself, refusing
every name a state dict does not need. The legacy format is five pickles, then raw bytes:

1. the magic number 0x1950a86a20f9469cfc6c;  2. the protocol version, 1001;
3. system info (byte order, C type sizes);
4. the state dict: an OrderedDict of name → `torch._utils._rebuild_tensor_v2(storage, offset,
   size, stride, ...)`, each storage a persistent id ('storage', torch.FloatStorage, key,
   location, number of elements, None);
5. the storage keys, in the order their bytes follow;

then for each key an int64 element count and that many little-endian values.

    >>> weights = read_state_dict("efficientnet-lite0-57934424.pth")   # doctest: +SKIP
    >>> weights["_conv_stem.weight"].shape                              # doctest: +SKIP
    (32, 3, 3, 3)
"""

from __future__ import annotations

import collections
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import WeightsError

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
#: torch's typed storages → the NumPy dtype of their bytes (legacy files are little-endian).
STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"), "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"), "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
}


@dataclass(frozen=True)
class _Storage:
    """A storage named in the pickle; its bytes come after the last pickle."""

    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    """What `_rebuild_tensor_v2` was asked to build: a strided view of a storage, made once the bytes are read."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                    metadata=None) -> _TensorRef:
    """Stands in for torch._utils._rebuild_tensor_v2: records the view, reads nothing."""
    if not isinstance(storage, _Storage):
        raise WeightsError(f"A tensor in this file is built from {type(storage).__name__}, not a storage: "
                           "it is not a plain PyTorch state dict.")
    return _TensorRef(storage, int(storage_offset), tuple(int(n) for n in size), tuple(int(s) for s in stride))


#: Every global a state dict may name, and what stands in for it. Anything else is refused.
_ALLOWED = {("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
            **{("torch", name): dtype for name, dtype in STORAGE_DTYPES.items()}}


class _StateDictUnpickler(pickle.Unpickler):
    """An unpickler that builds only what a state dict holds, and never imports or calls anything else."""

    def __init__(self, file: BinaryIO, path: Path):
        super().__init__(file)
        self.path = path

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise WeightsError(
                f"{self.path} asks to load {module}.{name}, which a PyTorch state dict never needs, so it was "
                "refused without running it (a pickle can run any code it names). Use weights from a source you "
                "trust.") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"
                and isinstance(pid[1], np.dtype)):
            raise WeightsError(f"{self.path} refers to {pid!r}, which is not a tensor storage this reader knows.")
        if len(pid) == 6 and pid[5] is not None:
            raise WeightsError(f"{self.path} uses storage views (PyTorch before 0.4), which this reader does not "
                               "support. Re-save the weights with a recent PyTorch.")
        return _Storage(str(pid[2]), pid[1], int(pid[4]))


def _materialise(ref: _TensorRef, data: np.ndarray, name: str, path: Path) -> np.ndarray:
    """The tensor as a NumPy array of its own, after checking that its view lies inside its storage."""
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride) if n > 0)
    if ref.offset < 0 or min(ref.stride, default=0) < 0 or (0 not in ref.shape and last >= data.size):
        raise WeightsError(f"{path}: tensor {name!r} (shape {ref.shape}) reaches past its storage of {data.size} "
                           "values; the file is corrupt.")
    strides = tuple(s * data.itemsize for s in ref.stride)
    view = np.lib.stride_tricks.as_strided(data[ref.offset:], ref.shape, strides, writeable=False)
    return np.array(view, dtype=data.dtype.newbyteorder("="))


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """A PyTorch state dict in the legacy format → {name: NumPy array}, without torch and without running code.

    Only the globals in `_ALLOWED` may be named; any other (os.system, say) raises WeightsError
    before anything is called. A truncated or malformed file raises WeightsError too. Check the
    file's hash first when you know it: this reader proves the file is harmless, not that it is
    the one you meant.
    """
    path = Path(path)
    bad = f"{path} is not a PyTorch state dict in the legacy format, or it is truncated or corrupt"
    try:
        with open(path, "rb") as f:
            load = lambda: _StateDictUnpickler(f, path).load()  # noqa: E731
            if load() != MAGIC_NUMBER or load() != PROTOCOL_VERSION:
                raise WeightsError(f"{bad} (its first bytes are not torch's legacy header).")
            sys_info = load()
            if not (isinstance(sys_info, dict) and sys_info.get("little_endian") is True):
                raise WeightsError(f"{bad} (it was saved on a big-endian machine, which this reader does not support).")
            state, keys = load(), load()
            if not isinstance(state, dict) or not isinstance(keys, list):
                raise WeightsError(f"{bad} (it holds a {type(state).__name__}, not a dict of tensors).")
            storages = {ref.storage.key: ref.storage for ref in state.values() if isinstance(ref, _TensorRef)}
            data = {}
            for key in keys:
                storage = storages.get(key)
                raw = f.read(8)
                numel = struct.unpack("<q", raw)[0] if len(raw) == 8 else -1
                if storage is None or numel != storage.numel:
                    raise WeightsError(f"{bad} (storage {key!r} is not the size its tensors say).")
                values = f.read(numel * storage.dtype.itemsize)
                if len(values) != numel * storage.dtype.itemsize:
                    raise WeightsError(f"{bad} (it ends inside storage {key!r}: truncated).")
                data[key] = np.frombuffer(values, storage.dtype)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, struct.error) as err:
        raise WeightsError(f"{bad} ({err}).") from err
    missing = sorted(set(storages) - set(data))
    if missing:
        raise WeightsError(f"{bad} (no bytes for storages {missing[:3]}).")
    return {name: _materialise(ref, data[ref.storage.key], name, path)
            for name, ref in state.items() if isinstance(ref, _TensorRef)}
