// Preference pairs for `r1 rm` (train/rm.h): JSONL rows in TRL's conventions, tokenized exactly as the reward
// model reads them when it scores (scoring/rm_input.h rm_ids: prompt ids; response ids + EOS).
//
//   {"prompt": TEXT, "chosen": TEXT, "rejected": TEXT}          standard; "prompt" may be absent (= "")
//   {"prompt": [messages], "chosen": [messages], "rejected": [messages]}
//       conversational: the prompt is rendered with the tokenizer's chat template and add_generation_prompt;
//       chosen and rejected are each one assistant message, whose content is the response
//   {"chosen": [conversation], "rejected": [conversation]}
//       implicit prompt: the messages both conversations share (from the start) are the prompt, and what follows
//       in each must be one assistant message
// Optional: "margin" (a number, read when the recipe's `margin` is on: the loss asks rc − rr to exceed it) and
// "kind" (a string; eval.json reports the pair accuracy per kind). Any other key is ignored.
//
// A pair is packed (model/transformer.h PackedSeq) as the prompt, one sequence with no prefix, and the two
// responses as continuations of it; the scores are read at each continuation's last row (the EOS).
#pragma once
#include "model/packed_batch.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace r1 {

class Tokenizer;
class ChatTemplate;
struct ModelConfig;

// One row's texts, before tokenization.
struct RmRowText {
  std::string prompt, chosen, rejected;
  float margin = 0;
  std::string kind;
};

struct RmPair {
  std::vector<int> prompt;            // BOS? + encode(prompt); empty when the prompt is "" and there is no BOS
  std::vector<int> chosen, rejected;  // encode(response) + EOS
  float margin = 0;
  std::string kind;
  long tokens() const { return (long)(prompt.size() + chosen.size() + rejected.size()); }
  // The longest sequence the model reads: prompt + the longer response.
  long length() const { return (long)(prompt.size() + std::max(chosen.size(), rejected.size())); }
};

// The texts of one JSONL row (forms above); `chat` may be nullptr (then conversational rows are an error);
// `where` ("file:line") starts every error, which names the field and what was expected.
RmRowText rm_row_text(const nlohmann::json& row, const ChatTemplate* chat, bool use_margin, const std::string& where);
RmPair encode_rm_row(const nlohmann::json& row, const Tokenizer& tok, const ModelConfig& cfg, const ChatTemplate* chat,
                     bool use_margin, const std::string& where);

struct RmPairs {
  std::vector<RmPair> pairs;
  long too_long = 0;  // pairs dropped because length() > max_length
};
// Every row of a JSONL file (blank lines skipped); pairs longer than max_length are dropped and counted.
RmPairs read_rm_pairs(const std::string& path, const Tokenizer& tok, const ModelConfig& cfg, const ChatTemplate* chat,
                      bool use_margin, long max_length);

// n pairs into one packed batch: per pair the prompt (when it has tokens), then chosen and rejected continuing it.
// rows[2i] and rows[2i + 1] are the score rows (last rows) of pair i's chosen and rejected response.
void pack_rm_pairs(const RmPair* const* pairs, int n, PackedBatch& batch, std::vector<int>& rows);

}  // namespace r1
