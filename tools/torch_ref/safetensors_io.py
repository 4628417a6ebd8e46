"""Minimal safetensors writer/reader (json + struct), no external dependencies.

Layout: 8-byte little-endian unsigned header length N, then N bytes of UTF-8 JSON
(padded with spaces so that N is a multiple of 8), then the raw little-endian
tensor bytes. Each JSON entry: {"dtype", "shape", "data_offsets": [begin, end]}
with offsets relative to the start of the data section. "__metadata__" holds
string->string metadata.
"""
import json
import struct

import torch

_DTYPES = {
    torch.float32: ("F32", 4),
    torch.float64: ("F64", 8),
    torch.int64: ("I64", 8),
    torch.int32: ("I32", 4),
    torch.float16: ("F16", 2),
    torch.bfloat16: ("BF16", 2),
}
_BY_NAME = {v[0]: (k, v[1]) for k, v in _DTYPES.items()}


def save_file(tensors, path, metadata=None):
    """Write dict name->tensor to `path`. Tensors are written in sorted name order."""
    header = {"__metadata__": dict(metadata or {"format": "pt"})}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in _DTYPES:
            raise ValueError(f"{name}: unsupported dtype {t.dtype}")
        code, size = _DTYPES[t.dtype]
        # Reinterpret as bytes (little-endian host assumed, checked below).
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        assert len(raw) == t.numel() * size
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def load_file(path):
    """Read a safetensors file into dict name->tensor (plus '__metadata__' dict if present)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            out[name] = info
            continue
        dtype, size = _BY_NAME[info["dtype"]]
        b, e = info["data_offsets"]
        shape = info["shape"]
        numel = 1
        for s in shape:
            numel *= s
        assert e - b == numel * size, name
        buf = bytearray(data[base + b:base + e])
        t = torch.frombuffer(buf, dtype=torch.uint8) if numel else torch.empty(0, dtype=torch.uint8)
        out[name] = t.view(dtype).reshape(shape).clone()
    return out


assert struct.pack("=I", 1) == struct.pack("<I", 1), "big-endian hosts are not supported"
