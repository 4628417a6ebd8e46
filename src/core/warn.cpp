#include "core/warn.h"

#include <cstdio>

namespace r1 {

RepeatedWarning::RepeatedWarning(std::string tag, std::string what, long every)
    : tag_(std::move(tag)), what_(std::move(what)), every_(every < 1 ? 1 : every) {}

void RepeatedWarning::step(long step, bool fired, const std::string& detail) {
  if (fired) total_++;
  if (fired && !shown_) {
    std::fprintf(stderr, "\n%s warning: step %ld: %s; repeats are counted\n", tag_.c_str(), step, detail.c_str());
    shown_ = true;
    return;  // the first time is its own message; counting starts with the next step
  }
  if (!shown_) return;
  window_steps_++;
  window_fired_ += fired;
  if (window_steps_ >= every_) flush();
}

void RepeatedWarning::flush() {
  if (window_fired_ > 0)
    std::fprintf(stderr, "\n%s warning: %s on %ld of the last %ld steps\n", tag_.c_str(), what_.c_str(), window_fired_,
                 window_steps_);
  window_steps_ = window_fired_ = 0;
}

}  // namespace r1
