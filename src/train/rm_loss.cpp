#include "train/rm_loss.h"
#include "core/check.h"

#include <cmath>

namespace r1 {

// softplus(y) = log(1 + e^y) without overflow: −log σ(x) = softplus(−x).
static double softplus(double y) { return y > 0 ? y + std::log1p(std::exp(-y)) : std::log1p(std::exp(y)); }
// σ(y) without overflow.
static double sigmoid(double y) {
  if (y >= 0) return 1.0 / (1.0 + std::exp(-y));
  double e = std::exp(y);
  return e / (1.0 + e);
}

double bt_loss(float* drc, float* drr, const float* rc, const float* rr, const float* margin, int P, double center,
               double denom) {
  R1_CHECK(P >= 0, "bt_loss: negative pair count ", P);
  R1_CHECK(denom > 0, "bt_loss: the denominator must be positive, got ", denom);
  double loss = 0;
  for (int p = 0; p < P; p++) {
    const double x = (double)rc[p] - rr[p] - (margin ? margin[p] : 0.0);
    const double sum = (double)rc[p] + rr[p];
    loss += softplus(-x) + center * sum * sum;
    // ∂/∂x softplus(−x) = −σ(−x); x = rc − rr − m
    const double gx = -sigmoid(-x), gc = 2 * center * sum;
    drc[p] = (float)((gx + gc) / denom);
    drr[p] = (float)((-gx + gc) / denom);
  }
  return loss / denom;
}

}  // namespace r1
