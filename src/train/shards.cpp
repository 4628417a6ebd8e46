#include "train/shards.h"

#include "core/check.h"
#include "core/dist.h"
#include "kernels/kernels.h"

#include <chrono>
#include <cstring>

namespace r1 {

void check_shards(int S, const std::string& who, const std::string& field) {
  R1_CHECK(S >= 1 && (S & (S - 1)) == 0, who, ": field '", field, "' must be a power of two (1, 2, 4, 8 ...), got ", S,
           " (the shard gradients are summed in a fixed pairwise tree)");
  const int N = dist::size();
  R1_CHECK(S % N == 0, who, ": ", N, " ranks do not divide ", field, " = ", S,
           "; run with a number of ranks that divides it (1, 2, 4 ... up to ", S, ") or change ", field);
}

int effective_shards(int shards, long units) {
  if (shards > 0) return shards;
  int s = 8;
  while (s > 1 && units % s != 0) s /= 2;
  return s;
}

ShardTree::ShardTree(int S, size_t n, const std::string& who) : S_(S), n_(n) {
  check_shards(S, who);
  const int per = S / dist::size();
  first_ = dist::rank() * per;
  last_ = first_ + per;
}

void ShardTree::add(const float* g) {
  std::vector<float> buf;
  if (!spare_.empty()) {
    buf = std::move(spare_.back());
    spare_.pop_back();
  }
  buf.assign(g, g + n_);
  stack_.push_back({1, std::move(buf)});
  // a binary counter: two partial sums of equal size are the two halves of the next tree node (left + right)
  while (stack_.size() >= 2 && stack_[stack_.size() - 1].first == stack_[stack_.size() - 2].first) {
    auto right = std::move(stack_.back());
    stack_.pop_back();
    auto& left = stack_.back();
    add_inplace(left.second.data(), right.second.data(), n_);
    left.first *= 2;
    spare_.push_back(std::move(right.second));
  }
}

void ShardTree::reduce(float* out) {
  R1_CHECK(stack_.size() == 1 && stack_[0].first == last_ - first_, "ShardTree: ", stack_.empty() ? 0 : stack_[0].first,
           " of this rank's ", last_ - first_, " shard gradients were added");
  const int N = dist::size();
  if (N == 1) {
    std::memcpy(out, stack_[0].second.data(), sizeof(float) * n_);
  } else {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<float> all(n_ * (size_t)N);
    dist::allgather(stack_[0].second.data(), sizeof(float) * n_, all.data());
    comm_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // the tree's remaining levels over the ranks' subtrees, pairwise in rank order
    for (int width = 1; width < N; width *= 2)
      for (int r = 0; r + width < N; r += 2 * width)
        add_inplace(all.data() + (size_t)r * n_, all.data() + (size_t)(r + width) * n_, n_);
    std::memcpy(out, all.data(), sizeof(float) * n_);
  }
  spare_.push_back(std::move(stack_[0].second));
  stack_.clear();
}

}  // namespace r1
