// worker.mjs: the ONNX Runtime peer of bench/peer.py, a long-lived process
// that embeds sentences when asked, so that each repeat can run ours and
// then this back to back. ONNX Runtime (onnxruntime-node, its CPU library
// shipped inside the npm package) runs the graphs bench/peer/export.py
// writes; Hugging Face's JavaScript tokenizer (@huggingface/transformers)
// tokenizes; pooling and normalization are done here, as transformers.js's
// feature-extraction pipeline does them. One thread: intraOpNumThreads and
// interOpNumThreads 1 (BENCH_PEER_THREADS to change), sequential execution,
// every graph optimization on (ONNX Runtime fuses the int8 graph's
// DynamicQuantizeLinear + MatMulInteger into DynamicQuantizeMatMul).
//
//   cd bench/peer && npm ci --ignore-scripts
//   node bench/peer/worker.mjs MODEL_DIR ONNX_DIR
//
// MODEL_DIR: the sentence-transformers directory (tokenizer.json);
// ONNX_DIR: export.py's model.onnx, model_int8.onnx and reference.json.
// Requests, one JSON object per line on stdin, each answered by one line:
//   {"op": "check"}  -> {"ort", "threads", "fp32": max |peer - reference|,
//                        "int8": the same, "int8_min_cos": least cosine}
//   {"op": "embed", "variant": "fp32" | "int8", "texts": [...], "batch": B}
//                    -> {"wall", "cpu"}: seconds to tokenize and embed the
//                       texts B at a time (padded to the longest of each B)
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import * as ort from 'onnxruntime-node';
import { env, AutoTokenizer } from '@huggingface/transformers';

const [modelDir, onnxDir] = process.argv.slice(2).map(p => resolve(p));
const threads = Number(process.env.BENCH_PEER_THREADS || 1);
const reference = JSON.parse(readFileSync(join(onnxDir, 'reference.json'), 'utf8'));

env.allowRemoteModels = false;
env.localModelPath = dirname(modelDir) + '/';
const tokenizer = await AutoTokenizer.from_pretrained(basename(modelDir));
const options = {
    intraOpNumThreads: threads, interOpNumThreads: threads, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
};
const sessions = {
    fp32: await ort.InferenceSession.create(join(onnxDir, 'model.onnx'), options),
    int8: await ort.InferenceSession.create(join(onnxDir, 'model_int8.onnx'), options),
};

// Embeddings of texts (one forward pass), as arrays of floats.
async function embedBatch(session, texts) {
    const enc = tokenizer(texts, { padding: true, truncation: true, max_length: reference.max_length });
    const [n, len] = enc.input_ids.dims;
    const mask = enc.attention_mask.data;
    const out = await session.run({
        input_ids: new ort.Tensor('int64', enc.input_ids.data, [n, len]),
        attention_mask: new ort.Tensor('int64', mask, [n, len]),
    });
    const h = out.last_hidden_state.data;
    const dim = out.last_hidden_state.dims[2];
    const result = [];
    for (let i = 0; i < n; i++) {
        const e = new Float32Array(dim);
        let count = 0;
        for (let t = 0; t < len; t++) {
            if (!mask[i * len + t])
                continue;
            const row = h.subarray((i * len + t) * dim, (i * len + t + 1) * dim);
            if (reference.pooling === 'cls' && t > 0)
                break;
            for (let j = 0; j < dim; j++)
                e[j] = reference.pooling === 'max' ? (count ? Math.max(e[j], row[j]) : row[j]) : e[j] + row[j];
            count++;
        }
        if (reference.pooling === 'mean')
            for (let j = 0; j < dim; j++)
                e[j] /= count;
        if (reference.normalize) {
            let sq = 0;
            for (let j = 0; j < dim; j++)
                sq += e[j] * e[j];
            const norm = Math.max(Math.sqrt(sq), 1e-12);
            for (let j = 0; j < dim; j++)
                e[j] /= norm;
        }
        result.push(e);
    }
    return result;
}

async function embedAll(session, texts, batch) {
    const out = [];
    for (let i = 0; i < texts.length; i += batch)
        out.push(...await embedBatch(session, texts.slice(i, i + batch)));
    return out;
}

// Largest |a - b| over all components, and the least cosine, of two lists
// of embeddings.
function compare(ours, theirs) {
    let maxDiff = 0, minCos = 1;
    ours.forEach((u, i) => {
        let dot = 0, uu = 0, vv = 0;
        u.forEach((a, j) => {
            const b = theirs[i][j];
            maxDiff = Math.max(maxDiff, Math.abs(a - b));
            dot += a * b, uu += a * a, vv += b * b;
        });
        minCos = Math.min(minCos, dot / Math.sqrt(uu * vv));
    });
    return { maxDiff, minCos };
}

const handlers = {
    async check() {
        const fp32 = compare(await embedAll(sessions.fp32, reference.texts, 32), reference.embeddings);
        const int8 = compare(await embedAll(sessions.int8, reference.texts, 32), reference.embeddings);
        return { ort: ort.env.versions.node, threads, fp32: fp32.maxDiff, int8: int8.maxDiff,
                 int8_min_cos: int8.minCos };
    },
    async embed({ variant, texts, batch }) {
        const cpu = process.cpuUsage();
        const start = process.hrtime.bigint();
        await embedAll(sessions[variant], texts, batch);
        const wall = Number(process.hrtime.bigint() - start) / 1e9;
        const used = process.cpuUsage(cpu);
        return { wall, cpu: (used.user + used.system) / 1e6 };
    },
};

for await (const line of createInterface({ input: process.stdin })) {
    const request = JSON.parse(line);
    let reply;
    try {
        reply = await handlers[request.op](request);
    } catch (e) {
        reply = { error: String(e) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
}
