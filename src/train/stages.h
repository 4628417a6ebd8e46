// The train layer's stages (core/stage.h): pretrain, sft and grpo, each a trainer whose model the pipeline
// evaluates after it runs, and rm (a reward model: data-parallel, not evaluated by generation).
#pragma once
#include "core/stage.h"

#include <vector>

namespace r1 {

std::vector<StageKind> train_stages();

}  // namespace r1
