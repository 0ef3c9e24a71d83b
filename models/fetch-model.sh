#!/bin/bash
# Download a Hugging Face checkpoint as the extension reads it, on a machine
# with internet access (the build machines have none, so this script is not
# exercised by the tests; the loading code is, on the project's own models).
#
#   models/fetch-model.sh Helsinki-NLP/opus-mt-en-de  [DEST_DIR]
#   models/fetch-model.sh sentence-transformers/all-MiniLM-L6-v2  [DEST_DIR]
#
# Then, in SQL (DEST_DIR inside transformer.model_directory):
#   SELECT transformer.load_model('opus-mt-en-de', 'opus-mt-en-de');
set -euo pipefail
repo=${1:?usage: fetch-model.sh OWNER/NAME [DEST_DIR]}
dest=${2:-$(basename "$repo")}
base="https://huggingface.co/$repo/resolve/main"
files=(config.json model.safetensors
       generation_config.json source.spm target.spm vocab.json target_vocab.json tokenizer_config.json
       vocab.txt tokenizer.json special_tokens_map.json modules.json sentence_bert_config.json
       1_Pooling/config.json)
mkdir -p "$dest/1_Pooling"
for f in "${files[@]}"; do
    if curl -fsSL "$base/$f" -o "$dest/$f.part"; then
        mv "$dest/$f.part" "$dest/$f"
        echo "fetched $f"
    else
        rm -f "$dest/$f.part"     # optional files are simply absent
    fi
done
[ -f "$dest/config.json" ] && [ -f "$dest/model.safetensors" ] || {
    echo "$repo: no config.json or model.safetensors (only safetensors checkpoints are supported)" >&2; exit 1; }
rmdir "$dest/1_Pooling" 2>/dev/null || true
