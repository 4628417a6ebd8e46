// Training checkpoints: a folder written whole and swapped in atomically.
//   RUN/checkpoint/            model (config.json, model.safetensors), optimizer.safetensors, state.json, tokenizer
// write_checkpoint_dir() fills RUN/checkpoint.tmp.<pid>/ via `fill`, then renames the old folder aside, renames the
// new one into place and deletes the old one. A crash at any moment leaves a complete checkpoint under
// RUN/checkpoint or RUN/checkpoint.old; find_checkpoint_dir() returns whichever is complete.
#pragma once
#include <functional>
#include <string>

namespace r1 {

void write_checkpoint_dir(const std::string& run_dir, const std::function<void(const std::string& tmp_dir)>& fill);
// "" when there is none. A checkpoint is complete when its state.json exists (written last).
std::string find_checkpoint_dir(const std::string& run_dir);
void remove_tree(const std::string& path);
// On resume: keeps only the lines of a JSONL log whose "step" is <= last_step (and drops a line cut short by a
// crash), so the log matches an uninterrupted run. Rewritten atomically; a missing file is left missing.
void truncate_jsonl_after_step(const std::string& path, long last_step);

}  // namespace r1
