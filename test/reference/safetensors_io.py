"""Minimal safetensors reader/writer (the format: an 8-byte little-endian
header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}, then
the raw little-endian tensor bytes). Debian has no python3-safetensors, and
the format is small enough to write down exactly here."""
import json
import struct

import numpy as np
import torch

_NUMPY = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def _to_bytes(t, dtype):
    t = t.detach().cpu().contiguous()
    if dtype == "BF16":
        # round-to-nearest-even from float32, as torch does
        return t.float().to(torch.bfloat16).view(torch.int16).numpy().tobytes()
    return t.numpy().astype(_NUMPY[dtype]).tobytes()


def write_safetensors(path, tensors, dtype="F32", metadata=None, keep_f32=()):
    """Write {name: tensor} to `path`, floats stored as `dtype` (F32/F16/BF16);
    names listed in keep_f32 stay F32."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        dt = dtype if t.is_floating_point() and name not in keep_f32 else (
            "F32" if t.is_floating_point() else "I64")
        raw = _to_bytes(t, dt)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * (-len(hjson) % 8)  # the spec pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    """Read a safetensors file into {name: float32/int torch tensor}."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=_NUMPY[info["dtype"]])
        t = torch.from_numpy(arr.copy()).reshape(info["shape"])
        out[name] = t.float() if t.is_floating_point() else t
    return out
