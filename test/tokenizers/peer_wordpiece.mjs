// peer_wordpiece.mjs: token ids of Hugging Face's JavaScript tokenizer
// (@huggingface/transformers, reading bert-base-uncased's tokenizer.json)
// for every line of test/data/wordpiece_corpus.txt, the reference that
// test/unit/test_wordpiece.c compares the C tokenizer with.
//
//   cd test/tokenizers && npm install --ignore-scripts
//   node test/tokenizers/peer_wordpiece.mjs [--data test/data] [--corpus FILE] [--out FILE]
//
// --data holds tokenizers/bert-base-uncased and, unless --corpus and --out
// say otherwise, the corpus and the output.
// Output, test/data/wordpiece_peer_ids.txt: line i holds the ids of corpus
// line i, space-separated, WITHOUT the [CLS]/[SEP] the tokenizer would add
// (add_special_tokens: false); an empty line where there are no tokens.
// The corpus is split on "\n" only; a final "\n" ends the last line.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { env, AutoTokenizer } from '@huggingface/transformers';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
};
const dataDir = resolve(opt('--data', join(root, 'test', 'data')));
const corpusPath = opt('--corpus', join(dataDir, 'wordpiece_corpus.txt'));
const outPath = opt('--out', join(dataDir, 'wordpiece_peer_ids.txt'));

// Local files only: tokenizers/bert-base-uncased/{tokenizer.json,tokenizer_config.json}
env.allowRemoteModels = false;
env.localModelPath = join(dataDir, 'tokenizers') + '/';
const tokenizer = await AutoTokenizer.from_pretrained('bert-base-uncased');

// fatal: the corpus must be valid UTF-8, or the comparison would be moot
const text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(corpusPath));
const lines = text.split('\n');
if (lines.at(-1) === '')
    lines.pop();

const out = lines.map(line => tokenizer.encode(line, { add_special_tokens: false }).join(' '));
writeFileSync(outPath, out.map(l => l + '\n').join(''));
console.log(`wrote ${out.length} lines to ${outPath} (${tokenizer.constructor.name})`);
