#include "core/progress.h"

#include <cstdio>
#include <unistd.h>

namespace r1 {

std::string format_duration(double s) {
  if (s < 0 || s != s) return "?";
  long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

Progress::Progress(std::string what, long total, double every_s)
    : what_(std::move(what)), total_(total), every_s_(every_s), tty_(::isatty(2)) {
  t0_ = last_ = std::chrono::steady_clock::now();
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

void Progress::update(long done, const std::string& extra, bool force) {
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_).count();
  if (!force && since < (tty_ ? 0.2 : every_s_) && done < total_) return;
  last_ = now;
  double el = elapsed();
  double rate = done > 0 ? done / el : 0;
  double left = (done > 0 && total_ > 0) ? (total_ - done) / rate : -1;
  std::fprintf(stderr, "%s[%s] %ld/%ld  %.2f/s  elapsed %s  left %s  %s%s", tty_ ? "\r\033[K" : "",
               what_.c_str(), done, total_, rate, format_duration(el).c_str(), format_duration(left).c_str(),
               extra.c_str(), tty_ ? "" : "\n");
  std::fflush(stderr);
}

void Progress::finish(const std::string& extra) {
  update(total_, extra, true);
  if (tty_) std::fputc('\n', stderr);
}

}  // namespace r1
