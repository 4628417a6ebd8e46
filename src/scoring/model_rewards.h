// The rewards that run a model, registered into the rewards layer's registry (rewards/registry.h) under their
// recipe names. The rewards layer itself never includes a model; train/ (GRPO) and cli/ call
// register_model_rewards() before parsing a recipe's `rewards:`.
//
//   reward_model: {weight: 0.5, path: DIR, on: summary | full, normalize: batch | none, tokenizer: DIR}
//       A Bradley-Terry reward model's score (scoring/reward_model.h) of (the policy's prompt, the completion);
//       on: summary (default, as R1 judged helpfulness) reads only the text after </think>, full the whole reply
//       (R1's harmlessness). normalize: batch (default) standardises the scores over the step's batch (every
//       rank's rollouts), so `weight` is in units of the batch's spread whatever the model's scale; none uses
//       the raw score. Metrics keep the raw score (reward/reward_model/mean).
//   judge: {weight: 0.5, model: DIR, template: ..., max_new_tokens: 64, parse: "score: N/10", default: 0,
//           chat: false}   (scoring/judge.h)
// Both load their model once per process (cached by folder) on first use; their params are checked when the
// recipe is parsed, before any work.
#pragma once

namespace r1 {

void register_model_rewards();  // idempotent

}  // namespace r1
