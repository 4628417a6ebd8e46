// Warnings that can fire on every step of a long run (entropy collapse, a KL spike ...): printed in full the first
// time, then counted, with one line per window of steps in which they fired again:
//   [grpo] warning: step 12: mean entropy 0.0412 is below 0.0500 (entropy collapse?); repeats are counted
//   [grpo] warning: entropy below 0.05 on 212 of the last 250 steps
#pragma once
#include <string>

namespace r1 {

class RepeatedWarning {
 public:
  // tag: "[grpo]"; what: the condition in a few words ("entropy below 0.05"); every: steps per counted window.
  RepeatedWarning(std::string tag, std::string what, long every = 250);
  // One step's check: `fired` tells whether the condition held; `detail` is the full message for its first time.
  void step(long step, bool fired, const std::string& detail);
  // Prints the count of the window so far (at the end of a run), if it fired in it.
  void flush();
  long total() const { return total_; }  // steps on which it fired

 private:
  std::string tag_, what_;
  long every_, window_steps_ = 0, window_fired_ = 0, total_ = 0;
  bool shown_ = false;
};

}  // namespace r1
