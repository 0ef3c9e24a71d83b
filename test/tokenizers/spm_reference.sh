#!/bin/sh
# Regenerate the SentencePiece peer outputs that test/unit/test_sentencepiece.c
# compares against: the ids spm_encode gives for every line of
# test/data/spm_corpus.txt (spm_peer_ids.<model>.txt), and the text spm_decode
# gives back for those ids (spm_peer_decoded.<model>.txt), for the
# opus-mt-en-mg source and target models and for the variants of source.spm
# that make_spm_corpus.py describes in test/data/spm_variant_<name>.bin
# (protobuf fields appended to the model). And the text spm_decode gives for
# the random id sequences of test/data/spm_decode_ids.txt with the "extras"
# variant (spm_peer_decoded_ids.extras.txt).
#
# Needs Debian's `sentencepiece` package (spm_encode, spm_decode; 0.1.97 made
# the committed files). Usage: test/tokenizers/spm_reference.sh [TOKENIZER_DIR]
#   TOKENIZER_DIR defaults to test/data/tokenizers/opus-mt-en-mg.
set -eu
cd "$(dirname "$0")/../.."
data=test/data
models=${1:-$data/tokenizers/opus-mt-en-mg}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# peer NAME MODEL: encode the corpus with MODEL, decode the ids again
peer() {
	spm_encode --model="$2" --output_format=id \
		< "$data/spm_corpus.txt" > "$data/spm_peer_ids.$1.txt"
	spm_decode --model="$2" --input_format=id \
		< "$data/spm_peer_ids.$1.txt" > "$data/spm_peer_decoded.$1.txt"
	echo "$1: $(wc -l < "$data/spm_peer_ids.$1.txt") lines"
}

peer source "$models/source.spm"
peer target "$models/target.spm"
for variant in "$data"/spm_variant_*.bin; do
	name=$(basename "$variant" .bin)
	name=${name#spm_variant_}
	cat "$models/source.spm" "$variant" > "$tmp/$name.spm"
	peer "$name" "$tmp/$name.spm"
done
spm_decode --model="$tmp/extras.spm" --input_format=id \
	< "$data/spm_decode_ids.txt" > "$data/spm_peer_decoded_ids.extras.txt"
echo "made with: $(spm_encode --version 2>&1 | head -1)"
