// Every stage kind r1.cpp has (core/stage.h), gathered from the layers that implement them. `r1 <command>` and
// `r1 pipeline` both read this list.
#pragma once
#include "core/stage.h"

#include <string>
#include <vector>

namespace r1 {

const std::vector<StageKind>& all_stages();
// The kind named `name`, or nullptr.
const StageKind* find_stage(const std::string& name);
// The kind whose role is kEvaluator: what the pipeline runs on a trainer's model.
const StageKind& evaluator_stage();
// "pretrain | sft | ...": for error messages.
std::string stage_names(const std::string& sep = " | ");

}  // namespace r1
