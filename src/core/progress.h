// A single-line progress display for long work: step/total, rate, elapsed and time left.
// Writes to stderr; on a terminal it rewrites the line, otherwise it prints a line every `every_s` seconds.
#pragma once
#include <chrono>
#include <string>

namespace r1 {

class Progress {
 public:
  Progress(std::string what, long total, double every_s = 2.0);
  // `done` units finished; `extra` is appended (e.g. "loss 2.31").
  void update(long done, const std::string& extra = "", bool force = false);
  void finish(const std::string& extra = "");
  double elapsed() const;

 private:
  std::string what_;
  long total_;
  double every_s_;
  bool tty_;
  std::chrono::steady_clock::time_point t0_, last_;
};

std::string format_duration(double seconds);

}  // namespace r1
