// What a reward model reads: the token ids of (prompt, response), written once for training (`r1 rm`,
// train/rm.h) and for scoring (scoring/reward_model.h: GRPO's reward_model reward, `r1 rm-score`), so both see
// the same sequences.
//
//   prompt ids   = BOS (when the model's config names the tokenizer's BOS) + encode(prompt)
//   response ids = encode(response) + EOS (always: the score is read at the EOS row, the end of the reply, for
//                  finished and truncated replies alike, as a chat template closes an assistant turn)
//
// The prompt is a sequence's shared prefix (PackedSeq::prefix), the response its continuation, and the score is
// taken at the continuation's last row. `on: summary` scores only the text after the last `</think>` (R1 judged
// helpfulness on the final summary); a reply without `</think>` is scored whole.
#pragma once
#include <string>
#include <vector>

namespace r1 {

class Tokenizer;
struct ModelConfig;

enum class RmView { Full, Summary };
RmView parse_rm_view(const std::string& s, const std::string& who);  // "full" | "summary"
// The part of a response the reward model reads.
std::string rm_view_text(const std::string& response, RmView view);

struct RmIds {
  std::vector<int> prompt;    // [Tp] BOS? + encode(prompt)
  std::vector<int> response;  // [Tr >= 1] encode(response) + EOS
};
// eos: the end-of-sequence id appended to every response (the config's eos_token_id, else the tokenizer's); one
// error when there is none.
RmIds rm_ids(const Tokenizer& tok, const ModelConfig& cfg, const std::string& prompt, const std::string& response);
int rm_eos_id(const Tokenizer& tok, const ModelConfig& cfg, const std::string& who);

}  // namespace r1
