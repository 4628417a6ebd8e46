// Held-out examples drawn from a training set by a seeded shuffle (sft's and rm's eval_fraction). Internal to train/.
#pragma once
#include "core/rng.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

namespace r1 {

// Moves max(1, floor(n · fraction)) examples, the first of a Fisher-Yates shuffle with Rng(seed), from `train` to
// `held`; both keep the file order. Nothing moves when fraction <= 0 or fewer than two examples.
template <class T>
void hold_out(std::vector<T>& train, std::vector<T>& held, double fraction, uint64_t seed) {
  if (!(fraction > 0 && train.size() >= 2)) return;
  std::vector<size_t> idx(train.size());
  std::iota(idx.begin(), idx.end(), 0);
  Rng r(seed);
  for (size_t i = idx.size(); i > 1; i--) std::swap(idx[i - 1], idx[r.below(i)]);
  const size_t n_eval = std::max<size_t>(1, (size_t)std::floor(train.size() * fraction));
  std::vector<uint8_t> is_eval(train.size(), 0);
  for (size_t i = 0; i < n_eval; i++) is_eval[idx[i]] = 1;
  std::vector<T> kept;
  for (size_t i = 0; i < train.size(); i++) (is_eval[i] ? held : kept).push_back(std::move(train[i]));
  train = std::move(kept);
}

}  // namespace r1
