"""Reader and writer for the IDX format of (Fashion-)MNIST, plain or gzip-compressed.

We read IDX ourselves instead of through torchvision because torchvision only accepts the
decompressed files under ``FashionMNIST/raw`` and its md5 check rejects Debian's ``.gz`` files
(see NOTES-AVALANCHE.md); a direct gzip + numpy read is also fast (~0.5 s for 60000 images).

Layout: two zero bytes, a type code, the number of dimensions, one big-endian uint32 per
dimension, then the data in big-endian C order.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from dcbench.errors import DcbenchError

# type code -> big-endian numpy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def idx_magic(type_code: int, ndim: int) -> int:
    """The 32-bit magic number for a type code and rank (2049 = uint8 1-D, 2051 = uint8 3-D)."""
    return (type_code << 8) | ndim


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise DcbenchError(f"IDX file {path} does not exist") from None
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DcbenchError(f"cannot decompress IDX file {path}: {exc}") from None
    return raw


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into a native-endian array; errors name ``source``."""
    if len(raw) < 4:
        raise DcbenchError(f"IDX file {source} is truncated ({len(raw)} bytes)")
    zero, type_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or type_code not in IDX_DTYPES or ndim == 0:
        magic = struct.unpack(">I", raw[:4])[0]
        raise DcbenchError(f"{source} is not an IDX file (bad magic number {magic:#010x})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DcbenchError(f"IDX file {source} is truncated inside its header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = IDX_DTYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        what = "truncated" if actual < expected else "longer than its header says"
        raise DcbenchError(
            f"IDX file {source} is {what}: {actual} data bytes for shape {dims}, "
            f"expected {expected}"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    if dtype.byteorder == ">":
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def read_idx(path: str | Path, expect_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` decompressed on the fly); corrupt files raise DcbenchError.

    ``expect_magic`` (e.g. 2051 for uint8 images) rejects a file of the wrong kind, such as a
    label file given where images were expected. The array is read-only when it is uint8 (it
    views the decompressed bytes; callers convert to float anyway).
    """
    path = Path(path)
    raw = _read_bytes(path)
    arr = parse_idx(raw, str(path))
    if expect_magic is not None:
        magic = struct.unpack(">I", raw[:4])[0]
        if magic != expect_magic:
            raise DcbenchError(f"IDX file {path} has magic number {magic}, expected {expect_magic}")
    return arr


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as IDX (gzip-compressed when ``path`` ends in ``.gz``); for fixtures."""
    path = Path(path)
    arr = np.asarray(array)
    native = {d.newbyteorder("="): c for c, d in IDX_DTYPES.items()}
    code = native.get(arr.dtype)
    if code is None:
        raise ValueError(f"IDX cannot store dtype {arr.dtype}")
    dtype = IDX_DTYPES[code]
    header = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + np.ascontiguousarray(arr, dtype=dtype).tobytes()
    path.write_bytes(gzip.compress(data, compresslevel=6) if path.suffix == ".gz" else data)
    return path
