// Reward-model training loss on preference pairs (chosen, rejected).
#pragma once

namespace r1 {

// Bradley-Terry pairwise loss (InstructGPT; TRL RewardTrainer): over P pairs,
//   loss = Σ_p [ −log σ(rc_p − rr_p − m_p) + center · (rc_p + rr_p)² ] / denom
// (TRL: mean over the batch; denom = the mini-batch's pair count, so shard losses sum to it). margin may be nullptr (0).
// Writes drc[P], drr[P] = ∂loss/∂rc, ∂loss/∂rr; returns the loss (double).
double bt_loss(float* drc, float* drr, const float* rc, const float* rr, const float* margin, int P, double center,
               double denom);

}  // namespace r1
