// The tokenizer's side of a GGUF file: the tokenizer.ggml.* keys an exporter writes (model/gguf_model.h
// export_gguf takes them). Tokenizer::load_gguf reads them back.
#pragma once
#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

#include <string>

namespace r1 {

// tokenizer.ggml.* keys for `tok` in a model of `n_vocab` embedding rows, as convert_hf_to_gguf.py writes them
// for a byte-level BPE ("gpt2") tokenizer: model, pre, tokens (padded with "[PAD<i>]" to n_vocab, holes
// likewise), token_type, merges, bos/eos ids (falling back to `default_bos` / `default_eos`, the model config's,
// when the tokenizer has none) and add_bos_token. Throws r1::Error naming `where` if tok has more than n_vocab
// tokens.
GGUFMetadata gguf_tokenizer_metadata(const Tokenizer& tok, int n_vocab, int default_bos, int default_eos,
                                     const std::string& where);

}  // namespace r1
