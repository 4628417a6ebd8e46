// A packed training batch under construction (the PackedSeq layout of model/transformer.h): sequences appended
// one after another, each optionally continuing an earlier one as its shared prefix, with no padding.
#pragma once
#include "model/transformer.h"

#include <vector>

namespace r1 {

struct PackedBatch {
  int N = 0;                    // rows so far
  std::vector<PackedSeq> seqs;  // [S]
  std::vector<int> ids;         // [N] input token of each row
  std::vector<int> targets;     // [N] token scored at each row (-1: not scored)
  // Appends a sequence (ids and targets of equal length) whose rows continue sequence `prefix` (-1: none);
  // returns the row where it starts.
  int add(const std::vector<int>& seq_ids, const std::vector<int>& seq_targets, int prefix = -1);
  // Index of the last sequence added.
  int last() const { return (int)seqs.size() - 1; }
};

}  // namespace r1
