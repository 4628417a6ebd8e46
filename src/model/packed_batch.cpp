#include "model/packed_batch.h"

#include "core/check.h"

namespace r1 {

int PackedBatch::add(const std::vector<int>& seq_ids, const std::vector<int>& seq_targets, int prefix) {
  R1_ASSERT(seq_ids.size() == seq_targets.size());
  R1_ASSERT(prefix < (int)seqs.size());
  const int off = N;
  seqs.push_back({off, (int)seq_ids.size(), prefix});
  ids.insert(ids.end(), seq_ids.begin(), seq_ids.end());
  targets.insert(targets.end(), seq_targets.begin(), seq_targets.end());
  N += (int)seq_ids.size();
  return off;
}

}  // namespace r1
