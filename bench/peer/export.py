#!/usr/bin/python3
"""Export a sentence-transformers BERT directory to ONNX for the peer
benchmark (bench/peer.py): the encoder of the PyTorch reference
(test/reference/bert.py, the same weights as our embed() reads) through
torch.onnx.export, and the int8 graph transformers.js ships as "q8":
ONNX Runtime's dynamic quantization, per tensor, of every MatMul with a
constant weight (DynamicQuantizeLinear of the activations, int8 weights,
MatMulInteger, a rescale), written here with the onnx package because
ONNX Runtime's Python quantizer is not packaged in Debian.

    /usr/bin/python3 bench/peer/export.py MODEL_DIR OUT_DIR [SENTENCES_FILE]

Writes OUT_DIR/model.onnx (fp32), OUT_DIR/model_int8.onnx, and
OUT_DIR/reference.json: {"pooling", "normalize", "texts", "embeddings"}
with the reference's embeddings of the texts (one per line of
SENTENCES_FILE, the first 16), which the peer must match before it is
timed. The graph: input_ids, attention_mask int64 [batch, tokens] ->
last_hidden_state float [batch, tokens, hidden]; pooling and normalization
run in JavaScript, as transformers.js does.
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "reference"))
from bert import SentenceEmbedder  # noqa: E402

N_REFERENCE = 16


def export_fp32(embedder, path):
    """torch.onnx.export of the encoder, batch and tokens dynamic."""
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 2088, 102, 0]])
    mask = (ids != 0).long()
    torch.onnx.export(embedder.model, (ids, mask), path, input_names=["input_ids", "attention_mask"],
                      output_names=["last_hidden_state"], opset_version=14,
                      dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                    "attention_mask": {0: "batch", 1: "tokens"},
                                    "last_hidden_state": {0: "batch", 1: "tokens"}})
    onnx.checker.check_model(onnx.load(path))


def quantize_int8(src, dst):
    """Dynamic per-tensor int8 quantization of each MatMul whose second
    input is a 2-D initializer, as onnxruntime.quantization.quantize_dynamic
    (weights QInt8, symmetric, zero point 0; activations uint8 with a zero
    point from DynamicQuantizeLinear). ONNX Runtime fuses each group into
    DynamicQuantizeMatMul when it loads the graph."""
    model = onnx.load(src)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    nodes = []
    quantized = 0
    for node in graph.node:
        w = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if w is None or len(w.dims) != 2:
            nodes.append(node)
            continue
        wf = numpy_helper.to_array(w).astype(np.float32)
        scale = max(float(np.abs(wf).max()), 1e-12) / 127.0
        wq = np.clip(np.round(wf / scale), -127, 127).astype(np.int8)
        base = f"{node.name or node.output[0]}_q"
        graph.initializer.extend([
            numpy_helper.from_array(wq, base + "_w"),
            numpy_helper.from_array(np.array(scale, dtype=np.float32), base + "_w_scale"),
            numpy_helper.from_array(np.array(0, dtype=np.int8), base + "_w_zero"),
        ])
        a = node.input[0]
        nodes += [
            helper.make_node("DynamicQuantizeLinear", [a], [base + "_a", base + "_a_scale", base + "_a_zero"],
                             name=base + "_dql"),
            helper.make_node("MatMulInteger", [base + "_a", base + "_w", base + "_a_zero", base + "_w_zero"],
                             [base + "_i32"], name=base + "_mmi"),
            helper.make_node("Cast", [base + "_i32"], [base + "_f32"], to=TensorProto.FLOAT, name=base + "_cast"),
            helper.make_node("Mul", [base + "_a_scale", base + "_w_scale"], [base + "_scale"], name=base + "_s"),
            helper.make_node("Mul", [base + "_f32", base + "_scale"], [node.output[0]], name=base + "_rescale"),
        ]
        quantized += 1
    del graph.node[:]
    graph.node.extend(nodes)
    # weights now only in int8
    used = {i for n in graph.node for i in n.input}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    return quantized


def main():
    model_dir, out_dir = sys.argv[1], sys.argv[2]
    sentences = sys.argv[3] if len(sys.argv) > 3 else os.path.join(model_dir, "sentences.txt")
    os.makedirs(out_dir, exist_ok=True)
    embedder = SentenceEmbedder(model_dir)
    export_fp32(embedder, os.path.join(out_dir, "model.onnx"))
    n = quantize_int8(os.path.join(out_dir, "model.onnx"), os.path.join(out_dir, "model_int8.onnx"))
    with open(sentences, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f if line.strip()][:N_REFERENCE]
    ref = embedder.embed(texts, batch_size=32)
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump({"pooling": embedder.pooling, "normalize": embedder.normalize, "texts": texts,
                   "max_length": embedder.max_length, "embeddings": ref.tolist()}, f)
    print(f"exported {model_dir} to {out_dir}: fp32 and int8 ({n} MatMuls quantized)")


if __name__ == "__main__":
    main()
