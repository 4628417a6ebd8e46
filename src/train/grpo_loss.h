// The GRPO objective (DeepSeekMath / DeepSeek-R1) and the variants users rely on, as pure functions of per-token
// log-probs. No model here: the trainer runs Model::forward for lp (and entropy), calls grpo_loss() for
// ∂loss/∂lp and ∂loss/∂entropy, and hands those to Model::backward.
//
// What is computed (defaults = R1's choices; every choice is a named GrpoConfig field):
//   advantage   Â_i = (r_i − mean_G(r)) / (std_G(r) + adv_eps)        [std_norm = true; false: Â_i = r_i − mean]
//               the same Â_i for every token of completion i; a group whose rewards are all equal gets Â = 0.
//   ratio       ρ_it = exp(lp_it − old_lp_it)                          [ratio_level = token]
//               GSPO (ratio_level = sequence): s_i = exp(mean_t(lp_it − old_lp_it)) for every token of i
//   surrogate   min(ρ Â, clip(ρ, 1 − clip_eps_low, 1 + clip_eps_high) Â)   [0.2, 0.2; DAPO clip-higher 0.2, 0.28]
//   KL penalty  β · D_it with D from kl_estimator on x = lp − ref_lp (clamped to ±20):
//               k3 (default) = e^(−x) + x − 1,  k2 = x²/2,  k1 = x     [β = 0.001; β = 0 needs no ref_lp]
//   entropy     − entropy_coef · H_it                                   [0: off]
//   per-token   ℓ_it = −surrogate_it + β D_it − entropy_coef H_it
//   aggregation [loss_agg]
//     seq-mean-token-mean      (GRPO)     mean_i ( (1/|o_i|) Σ_t ℓ_it )
//     token-mean               (DAPO)     Σ_i Σ_t ℓ_it / Σ_i |o_i|
//     seq-mean-token-sum-norm  (Dr. GRPO) Σ_i Σ_t ℓ_it / (num_seqs · max_len)   (max_len = GrpoConfig::max_len)
//   truncated completions contribute nothing when mask_truncated is true.
#pragma once
#include <string>
#include <vector>

namespace r1 {

struct GrpoConfig {
  float beta = 0.001f;                              // KL weight (R1: 0.001)
  std::string kl_estimator = "k3";                  // k1 | k2 | k3
  float clip_eps_low = 0.2f, clip_eps_high = 0.2f; // clip range [1−low, 1+high]
  std::string loss_agg = "seq-mean-token-mean";     // | token-mean | seq-mean-token-sum-norm
  int max_len = 0;                                  // Dr. GRPO normaliser (0: the longest completion in the batch, masked or not)
  bool std_norm = true;                             // divide advantages by the group std
  float adv_eps = 1e-6f;                            // added to the std
  std::string ratio_level = "token";                // token | sequence (GSPO)
  float entropy_coef = 0.0f;                        // entropy bonus weight
  bool mask_truncated = false;                      // drop truncated completions from the loss
  void validate() const;                            // r1::Error naming the field on a bad value
};

// Group-normalised advantages for rewards laid out group by group (G consecutive rewards per prompt).
// std is the sample standard deviation (n − 1 denominator, as torch.std in TRL and verl).
std::vector<float> group_advantages(const std::vector<float>& rewards, int G, bool std_norm, float eps);

// One completion inside the flat [N] token arrays of a training batch.
struct SeqSpan {
  int offset = 0;        // index of its first completion token in the flat arrays
  int length = 0;        // completion tokens
  float advantage = 0;   // Â_i
  bool truncated = false;
};

struct GrpoLossResult {
  double loss = 0;
  double kl_mean = 0;          // mean D over counted tokens
  double entropy_mean = 0;     // mean H over counted tokens (when ent given)
  double clip_frac_low = 0;    // fraction of counted tokens clipped at 1 − ε_low (with Â < 0)
  double clip_frac_high = 0;   // fraction clipped at 1 + ε_high (with Â > 0)
  double ratio_mean = 0, ratio_max = 0;
  long tokens = 0;             // tokens counted
};

// lp, old_lp, ref_lp, ent: per-token arrays of the batch ([N]); ref_lp may be nullptr when beta == 0, ent may be
// nullptr when entropy_coef == 0. `num_seqs_norm` is the number of sequences the loss is averaged over (the whole
// batch when it is split into mini-batches; <= 0: seqs.size()). Writes dlp[N] = ∂loss/∂lp and, when dent is not
// nullptr, dent[N] = ∂loss/∂H; positions outside every span get 0.
GrpoLossResult grpo_loss(const GrpoConfig& cfg, const float* lp, const float* old_lp, const float* ref_lp,
                         const float* ent, const std::vector<SeqSpan>& seqs, int N, float* dlp, float* dent,
                         int num_seqs_norm = 0, long num_tokens_norm = 0);

}  // namespace r1
