#include "train/grpo_loss.h"
#include "core/check.h"

#include <algorithm>
#include <cmath>

namespace r1 {

void GrpoConfig::validate() const {
  R1_CHECK(beta >= 0 && std::isfinite(beta), "grpo.beta must be finite and >= 0, got ", beta);
  R1_CHECK(kl_estimator == "k1" || kl_estimator == "k2" || kl_estimator == "k3", "grpo.kl_estimator: '", kl_estimator,
           "' is unknown; expected k1, k2 or k3");
  R1_CHECK(clip_eps_low >= 0 && clip_eps_low < 1, "grpo.clip_eps_low must be in [0, 1), got ", clip_eps_low);
  R1_CHECK(clip_eps_high >= 0 && std::isfinite(clip_eps_high), "grpo.clip_eps_high must be finite and >= 0, got ",
           clip_eps_high);
  R1_CHECK(loss_agg == "seq-mean-token-mean" || loss_agg == "token-mean" || loss_agg == "seq-mean-token-sum-norm",
           "grpo.loss_agg: '", loss_agg, "' is unknown; expected seq-mean-token-mean, token-mean or seq-mean-token-sum-norm");
  R1_CHECK(ratio_level == "token" || ratio_level == "sequence", "grpo.ratio_level: '", ratio_level,
           "' is unknown; expected token or sequence");
  R1_CHECK(adv_eps >= 0 && std::isfinite(adv_eps), "grpo.adv_eps must be finite and >= 0, got ", adv_eps);
  R1_CHECK(std::isfinite(entropy_coef), "grpo.entropy_coef must be finite, got ", entropy_coef);
  R1_CHECK(max_len >= 0, "grpo.max_len must be >= 0, got ", max_len);
}

std::vector<float> group_advantages(const std::vector<float>& r, int G, bool std_norm, float eps) {
  R1_CHECK(G > 0 && r.size() % G == 0, "group_advantages: ", r.size(), " rewards do not split into groups of ", G);
  std::vector<float> a(r.size());
  for (size_t g0 = 0; g0 < r.size(); g0 += G) {
    double mean = 0;
    for (int i = 0; i < G; i++) {
      R1_CHECK(std::isfinite(r[g0 + i]), "group_advantages: reward ", g0 + i, " is ", r[g0 + i], "; expected a finite number");
      mean += r[g0 + i];
    }
    mean /= G;
    double var = 0;
    for (int i = 0; i < G; i++) var += (r[g0 + i] - mean) * (r[g0 + i] - mean);
    double sd = G > 1 ? std::sqrt(var / (G - 1)) : 0.0;
    for (int i = 0; i < G; i++) {
      double d = r[g0 + i] - mean;
      a[g0 + i] = (float)(std_norm ? d / (sd + eps) : d);
      if (var == 0) a[g0 + i] = 0.f;  // all-equal group: no signal (exactly 0, whatever eps)
    }
  }
  return a;
}

// KL estimator D(x) with x = lp − ref_lp, and dD/dx.
// Outside the ±20 clamp D is constant, so dD/dx = 0 there (as autograd through torch.clamp gives).
static inline void kl_term(const std::string& est, double x, double* D, double* dD) {
  const bool clamped = x < -20.0 || x > 20.0;
  x = std::max(-20.0, std::min(20.0, x));
  if (est == "k1") {
    *D = x;
    *dD = 1;
  } else if (est == "k2") {
    *D = 0.5 * x * x;
    *dD = x;
  } else {  // k3 = π_ref/π − log(π_ref/π) − 1 = e^(−x) + x − 1
    *D = std::exp(-x) + x - 1;
    *dD = 1 - std::exp(-x);
  }
  if (clamped) *dD = 0;
}

GrpoLossResult grpo_loss(const GrpoConfig& c, const float* lp, const float* old_lp, const float* ref_lp,
                         const float* ent, const std::vector<SeqSpan>& seqs, int N, float* dlp, float* dent,
                         int num_seqs_norm, long num_tokens_norm) {
  R1_CHECK(c.beta == 0 || ref_lp, "grpo_loss: beta > 0 needs reference log-probs");
  R1_CHECK(c.entropy_coef == 0 || ent, "grpo_loss: entropy_coef > 0 needs entropies");
  std::fill(dlp, dlp + N, 0.f);
  if (dent) std::fill(dent, dent + N, 0.f);
  GrpoLossResult res;
  const bool seq_ratio = c.ratio_level == "sequence";
  // normalisers
  long counted_tokens = 0;
  int counted_seqs = 0, longest = 0;
  for (const auto& s : seqs) {
    R1_CHECK(s.offset >= 0 && s.length >= 0 && (long)s.offset + s.length <= N, "grpo_loss: sequence span [", s.offset,
             ", ", (long)s.offset + s.length, ") is outside the ", N, " token arrays");
    longest = std::max(longest, s.length);  // Dr. GRPO: the longest completion in the batch, masked or not
    if (s.length <= 0 || (c.mask_truncated && s.truncated)) continue;
    counted_tokens += s.length;
    counted_seqs++;
  }
  if (counted_seqs == 0) return res;
  const int nseq = num_seqs_norm > 0 ? num_seqs_norm : (int)seqs.size();
  const long ntok = num_tokens_norm > 0 ? num_tokens_norm : counted_tokens;
  const int maxlen = c.max_len > 0 ? c.max_len : longest;
  double loss = 0, kl = 0, entsum = 0, rsum = 0, rmax = 0;
  long clip_lo = 0, clip_hi = 0;
  for (const auto& s : seqs) {
    if (s.length <= 0 || (c.mask_truncated && s.truncated)) continue;
    // weight of each token of this sequence in the aggregate
    double w;
    if (c.loss_agg == "seq-mean-token-mean") w = 1.0 / ((double)s.length * nseq);
    else if (c.loss_agg == "token-mean") w = 1.0 / (double)ntok;
    else w = 1.0 / ((double)nseq * maxlen);
    const double A = s.advantage, lo = 1.0 - c.clip_eps_low, hi = 1.0 + c.clip_eps_high;
    // GSPO: one ratio per sequence from the mean log-ratio
    double seq_logr = 0;
    if (seq_ratio) {
      for (int t = 0; t < s.length; t++) seq_logr += (double)lp[s.offset + t] - old_lp[s.offset + t];
      seq_logr /= s.length;
    }
    double seq_grad = 0;  // Σ_t w · ∂(−surrogate_t)/∂logr_seq, spread over tokens below
    for (int t = 0; t < s.length; t++) {
      int n = s.offset + t;
      double logr = seq_ratio ? seq_logr : (double)lp[n] - old_lp[n];
      double rho = std::exp(logr);
      rsum += rho;
      rmax = std::max(rmax, rho);
      // surrogate = min(ρA, clip(ρ)A); its derivative w.r.t. log ρ is ρA unless the clipped branch is active.
      double clipped = std::min(hi, std::max(lo, rho));
      double unc = rho * A, cl = clipped * A;
      double sur, dsur_dlogr;
      if (unc <= cl) {
        sur = unc;
        dsur_dlogr = rho * A;
      } else {
        sur = cl;
        dsur_dlogr = 0;  // clipped: constant in ρ
        if (A < 0) clip_lo++;
        else clip_hi++;
      }
      double tok = -sur;
      double g = 0;  // ∂ℓ_t/∂lp_t (excluding the GSPO spread)
      if (seq_ratio) seq_grad += w * (-dsur_dlogr);
      else g += -dsur_dlogr;
      if (c.beta > 0) {
        double D, dD;
        kl_term(c.kl_estimator, (double)lp[n] - ref_lp[n], &D, &dD);
        tok += c.beta * D;
        g += c.beta * dD;
        kl += D;
      }
      if (ent) entsum += ent[n];
      if (c.entropy_coef != 0) {
        tok -= (double)c.entropy_coef * ent[n];  // in double, like the rest of the loss
        if (dent) dent[n] = (float)(-c.entropy_coef * w);
      }
      loss += w * tok;
      dlp[n] = (float)(w * g);
    }
    if (seq_ratio)  // logr_seq = mean_t(lp − old): each token gets 1/|o_i| of the sequence gradient
      for (int t = 0; t < s.length; t++) dlp[s.offset + t] += (float)(seq_grad / s.length);
  }
  res.loss = loss;
  res.tokens = counted_tokens;
  res.kl_mean = kl / counted_tokens;
  res.entropy_mean = entsum / counted_tokens;
  res.clip_frac_low = (double)clip_lo / counted_tokens;
  res.clip_frac_high = (double)clip_hi / counted_tokens;
  res.ratio_mean = rsum / counted_tokens;
  res.ratio_max = rmax;
  return res;
}

}  // namespace r1
